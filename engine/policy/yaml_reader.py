"""Hostile-input-safe YAML reading with node positions.

Policy files are parsed at the event level (libyaml's C parser when present)
and built into plain Python data here, so that every value keeps the
``line:col`` of the YAML node it came from and nothing dangerous is ever
constructed.  Refused, each with a ``Problem`` naming the line and column:

* by :func:`~engine.policy.yaml_docs.decode`, before parsing: files larger than
  ``MAX_FILE_BYTES``, bytes that are not UTF-8, tab characters in indentation;
* anchors and aliases (``&a`` / ``*a``): this is what makes "billion laughs"
  bombs impossible; policies never need them;
* explicit tags other than the standard scalar ones (``!!python/...`` etc.);
* duplicate mapping keys (PyYAML silently keeps the last one);
* non-scalar mapping keys;
* nesting deeper than ``MAX_DEPTH`` and more than ``MAX_NODES`` nodes per file.

Positions are 1-based.  For a mapping entry the *value* position is stored
under the entry's path and the *key* position under ``KEY_MARK + path``.
What it gives for a policy file is remembered by :mod:`engine.policy.parsed`.
"""
from __future__ import annotations

from typing import Any, Iterator

import yaml

from ..core.errors import Problem
from .yaml_docs import KEY_MARK, Document, YamlError, problem_at as _problem

try:  # the C parser is ~10x faster; fall back to pure Python where it is missing
    from yaml import CSafeLoader as _Loader
except ImportError:  # pragma: no cover
    from yaml import SafeLoader as _Loader  # type: ignore[assignment]

MAX_DEPTH = 64
MAX_NODES = 2_000_000

_STANDARD_TAGS = {
    None, "!",
    "tag:yaml.org,2002:str", "tag:yaml.org,2002:int", "tag:yaml.org,2002:float",
    "tag:yaml.org,2002:bool", "tag:yaml.org,2002:null", "tag:yaml.org,2002:map",
    "tag:yaml.org,2002:seq", "tag:yaml.org,2002:timestamp",
}
_resolver = yaml.resolver.Resolver()
_constructor = yaml.constructor.SafeConstructor()
_AS_TEXT = {"tag:yaml.org,2002:str", "tag:yaml.org,2002:timestamp"}
_CONSTRUCT = {
    "tag:yaml.org,2002:int": _constructor.construct_yaml_int,
    "tag:yaml.org,2002:float": _constructor.construct_yaml_float,
    "tag:yaml.org,2002:bool": _constructor.construct_yaml_bool,
    "tag:yaml.org,2002:null": _constructor.construct_yaml_null,
}
# YAML 1.1 turns plain yes/no/on/off into booleans: the "Norway problem".
_YAML11_BOOLS = {"yes", "no", "on", "off", "y", "n"}


def _scalar(event: yaml.ScalarEvent, file: str) -> Any:
    tag = event.tag
    if tag not in _STANDARD_TAGS:
        raise YamlError(_problem(f"tag {tag!r} is not allowed in policy files", file, event.start_mark))
    if tag in (None, "!"):
        tag = _resolver.resolve(yaml.ScalarNode, event.value, event.implicit)
    if tag in _AS_TEXT:
        return event.value  # strings, and dates kept as text ("2024-06-05"); schemas check their form
    construct = _CONSTRUCT.get(tag)
    if construct is None:
        raise YamlError(_problem(f"tag {tag!r} cannot be used on a scalar", file, event.start_mark))
    node = yaml.ScalarNode(tag, event.value, event.start_mark, event.end_mark, event.style)
    try:
        # the constructor functions directly: construct_object() would remember every node forever
        return construct(node)
    except (yaml.YAMLError, ValueError, OverflowError) as exc:
        text = event.value if len(event.value) <= 40 else event.value[:30] + "..."
        if tag == "tag:yaml.org,2002:int" and len(event.value) > 4300:  # int() refuses 4,300+ digits
            why = "a number with more than 4,300 digits"
        else:
            why = str(exc)
        raise YamlError(_problem(f"cannot read scalar {text!r}: {why}", file, event.start_mark)) from None


def iter_documents(text: str, file: str) -> Iterator[Document]:
    """Yield each non-empty document of ``text``; raise ``YamlError`` on the first refusal."""
    try:
        events = yaml.parse(text, Loader=_Loader)
        yield from _build(events, file)
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        message = exc.problem or exc.context or "invalid YAML"
        if exc.context and exc.problem:
            message = f"{exc.problem} ({exc.context})"
        raise YamlError(_problem(f"invalid YAML: {message}", file, mark)) from None
    except yaml.YAMLError as exc:
        raise YamlError(Problem(f"invalid YAML: {exc}", file=file, line=1, col=1)) from None


def _build(events: Iterator[yaml.Event], file: str) -> Iterator[Document]:
    index = -1
    nodes = 0
    # Each stack frame: [container, path, pending_key, key_marks(dict key -> mark)]
    stack: list[list] = []
    doc: Document | None = None
    root: Any = None
    for event in events:
        nodes += 1
        if nodes > MAX_NODES:
            raise YamlError(_problem(f"more than {MAX_NODES:,} YAML nodes in one file", file, event.start_mark))
        kind = type(event)
        if kind is yaml.DocumentStartEvent:
            index += 1
            doc = Document(None, file, index, event.start_mark.line + 1)
            root = _NOTHING
            continue
        if kind is yaml.DocumentEndEvent:
            if doc is not None and root is not _NOTHING and root is not None:
                doc.data = root
                yield doc
            doc = None
            continue
        if kind in (yaml.StreamStartEvent, yaml.StreamEndEvent):
            continue
        if kind is yaml.AliasEvent:
            raise YamlError(_problem(
                f"alias '*{event.anchor}' is not allowed in policy files (anchors and aliases are refused, "
                "which also rules out 'billion laughs' bombs); write the value out", file, event.start_mark))
        anchor = getattr(event, "anchor", None)
        if anchor is not None:
            raise YamlError(_problem(
                f"anchor '&{anchor}' is not allowed in policy files; write the value out instead",
                file, event.start_mark))
        if kind is yaml.ScalarEvent:
            value = _scalar(event, file)
            _attach(stack, value, event, file, doc)
            if not stack:
                root = value
            continue
        if kind in (yaml.MappingStartEvent, yaml.SequenceStartEvent):
            if event.tag not in _STANDARD_TAGS:
                raise YamlError(_problem(f"tag {event.tag!r} is not allowed in policy files", file, event.start_mark))
            if len(stack) >= MAX_DEPTH:
                raise YamlError(_problem(f"nesting deeper than {MAX_DEPTH} levels", file, event.start_mark))
            container: Any = {} if kind is yaml.MappingStartEvent else []
            path = _attach(stack, container, event, file, doc)
            stack.append([container, path, _NOTHING, {}])
            continue
        if kind in (yaml.MappingEndEvent, yaml.SequenceEndEvent):
            frame = stack.pop()
            if not stack:
                root = frame[0]
            continue
    return


class _Nothing:
    pass


_NOTHING = _Nothing()


def _is_yaml11_bool(value: Any, event: Any) -> bool:
    """True for a plain yes/no/on/off scalar that YAML 1.1 read as a boolean."""
    return (isinstance(value, bool) and not getattr(event, "style", None)
            and str(getattr(event, "value", "")).lower() in _YAML11_BOOLS)


def _attach(stack: list, value: Any, event: Any, file: str, doc: Document | None) -> tuple:
    """Put ``value`` into the container on top of ``stack``; record its position; return its path."""
    mark = event.start_mark
    pos = (mark.line + 1, mark.column + 1)
    if not stack:
        if doc is not None:
            doc.positions[()] = pos
        return ()
    frame = stack[-1]
    container, base = frame[0], frame[1]
    if isinstance(container, list):
        path = base + (len(container),)
        container.append(value)
    elif frame[2] is _NOTHING:  # this node is a key
        if isinstance(value, (dict, list)):
            raise YamlError(_problem("mapping keys must be plain scalars", file, mark))
        if _is_yaml11_bool(value, event):
            value = event.value  # a key 'on:' / 'no:' means the word, not a boolean
        if value in frame[3]:
            first = frame[3][value]
            raise YamlError(_problem(
                f"duplicate key {value!r} (first defined at line {first[0]}); each key may appear once",
                file, mark))
        frame[3][value] = pos
        frame[2] = value
        if doc is not None:
            doc.positions[(KEY_MARK,) + base + (value,)] = pos
        return base + (value,)
    else:
        key = frame[2]
        frame[2] = _NOTHING
        path = base + (key,)
        container[key] = value
    if doc is not None:
        doc.positions[path] = pos
        if _is_yaml11_bool(value, event):
            doc.implicit_bools[path] = event.value
    return path
