"""Safe edits of operator SLAs and locations: plan, validate, show the diff, write atomically.

Conventions:

* An edit targets the *latest* version (by ``effective_from``) of each
  OperatorSLAs and Locations document, as ``PolicyEditor.book`` shows them.
  It is validated against *every* date of the policy set, so binding to an
  SLA that an older version in effect lacks is refused.
* Files are edited as YAML with ruamel's round-trip mode: comments, key order,
  quotes and flow style (``{id: x, name: y}``) survive.  Indentation is
  detected per file (default: 2-space mappings, ``- `` 2 deeper than its key).
  ruamel cannot reproduce every layout (a flow list wrapped over lines, a
  leading ``---``, aligned values), so only the lines ruamel changes because of
  the edit are spliced into the original text; everything else stays byte for
  byte.  If the splice would not read back as the same data, ruamel's whole
  output is used instead.
* Removing a key or list item drops its lines and end-of-line comment;
  full-line comments below it stay.  A key is added where the schema lists it
  (``default`` after ``description``, a location's ``sla`` after ``name``).
* Nothing is written unless the whole policy set, edit applied, has no errors
  (``Edit.problems``).  Each file is replaced atomically: the new bytes go to a
  hidden temporary file in the same directory (same permissions; hidden files
  are never read as policy), flushed and fsynced, then ``os.replace``\\ d over
  the original.  An edit of several files stages them all first and restores
  the originals if a later rename fails; a file changed on disk since it was
  read is not overwritten.
"""
from __future__ import annotations

import codecs
import difflib
import io
import os
import re
import stat
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from ruamel.yaml import YAML
from ruamel.yaml.comments import CommentedMap, CommentedSeq
from ruamel.yaml.tokens import CommentToken

from ..policy.checks import run_checks
from ..core.errors import PolicyError, Problem, TriageError
from ..core.suggest import close_matches, did_you_mean, hint
from ..policy.loader import PolicyDocument, display_path, policy_files, read_policy_text
from ..sla.operator import OperatorBook
from ..policyset import PolicySet
from ..policy.versions import group_versions
from ..policy.yaml_reader import YamlError, iter_documents

# Where a new key goes: after the last of these keys that the mapping has.
_PLACE_AFTER = {"default": ("id", "name", "description"), "sla": ("id", "name")}


# --------------------------------------------------------------------------- text round trip
_KEY_ONLY = re.compile(r"^ *[^\s#\-][^#]*:\s*(#.*)?$")  # "key:" whose value starts on the next line


def guess_indent(text: str) -> tuple[int, int, int]:
    """``(mapping, sequence, offset)`` for ``YAML.indent``, from the first nested block of each kind."""
    mapping = offset = None
    parent = None  # indentation of the previous line when it is a "key:" opening a block
    for line in text.splitlines():
        body = line.lstrip(" ")
        if not body or body.startswith("#") or line.startswith(("---", "...")):
            continue
        indent = len(line) - len(body)
        if parent is not None and indent >= parent:
            if body.startswith("- ") and offset is None:
                offset = indent - parent
            elif not body.startswith("- ") and indent > parent and mapping is None:
                mapping = indent - parent
        parent = indent if _KEY_ONLY.match(line) else None
        if mapping is not None and offset is not None:
            break
    offset = 2 if offset is None else offset
    return mapping or 2, offset + 2, offset


def round_trip_yaml(text: str) -> YAML:
    """A ruamel round-trip YAML set up to reproduce ``text``'s layout."""
    rt = YAML(typ="rt")
    rt.preserve_quotes = True
    rt.width = 4096  # never re-wrap a long line
    mapping, sequence, offset = guess_indent(text)
    rt.indent(mapping=mapping, sequence=sequence, offset=offset)
    return rt


def dump_all(rt: YAML, documents: list) -> str:
    out = io.StringIO()
    rt.dump_all(documents, out)
    return out.getvalue()


def splice(original: str, base: str, new: str) -> str:
    """Apply the line changes ``base`` → ``new`` to ``original`` (which ``base`` reformats)."""
    if original == base:
        return new
    orig, old, upd = (s.splitlines(keepends=True) for s in (original, base, new))
    where: dict[int, int] = {len(old): len(orig)}  # line of ``base`` -> the same line in ``original``
    for a, b, size in difflib.SequenceMatcher(None, orig, old, autojunk=False).get_matching_blocks():
        where.update((b + k, a + k) for k in range(size))
    out: list[str] = []
    pos = 0
    for tag, i1, i2, j1, j2 in difflib.SequenceMatcher(None, old, upd, autojunk=False).get_opcodes():
        if tag == "equal":
            continue
        start = where.get(i1)
        if start is None and i1 == i2 and i1 - 1 in where:
            start = where[i1 - 1] + 1
        if start is None or start < pos or any(where.get(i) != start + i - i1 for i in range(i1, i2)):
            return new
        out += orig[pos:start] + upd[j1:j2]
        pos = start + (i2 - i1)
    result = "".join(out + orig[pos:])
    try:
        same = [d.data for d in iter_documents(result, "")] == [d.data for d in iter_documents(new, "")]
    except YamlError:
        same = False
    return result if same else new


class _Source:
    """One policy file loaded for editing."""

    def __init__(self, path: Path, display: str) -> None:
        self.path, self.display = path, display
        self.raw = path.read_bytes()
        self.bom = self.raw.startswith(codecs.BOM_UTF8)
        text = self.raw.decode("utf-8-sig")
        self.newline = "\r\n" if "\r\n" in text else "\n"
        self.text = text.replace("\r\n", "\n")
        self.rt = round_trip_yaml(self.text)
        self.documents = list(self.rt.load_all(self.text))
        self.base = dump_all(self.rt, self.documents)

    def node(self, doc: PolicyDocument) -> CommentedMap:
        """The round-trip mapping of ``doc`` (found by kind, name and effective_from)."""
        for data in self.documents:
            meta = data.get("metadata") if isinstance(data, dict) else None
            if isinstance(meta, dict) and data.get("kind") == doc.kind and meta.get("name") == doc.name \
                    and (None if meta.get("effective_from") is None else str(meta["effective_from"])) \
                    == doc.effective_from:
                return data
        raise TriageError(f"{self.display} changed while it was being edited; run the command again")

    def render(self) -> bytes:
        text = splice(self.text, self.base, dump_all(self.rt, self.documents))
        return (codecs.BOM_UTF8 if self.bom else b"") + text.replace("\n", self.newline).encode("utf-8")


def _last_line(container: Any, key: Any) -> tuple[Any, Any, int]:
    """Where ruamel keeps the comments below entry ``key``: ``(owner, key in owner, slot)``."""
    owner, at = container, key
    while True:
        value = owner[at]
        if not (isinstance(value, (CommentedMap, CommentedSeq)) and len(value) and not value.fa.flow_style()):
            return owner, at, 2 if isinstance(owner, CommentedMap) else 0
        owner, at = value, list(value)[-1] if isinstance(value, CommentedMap) else len(value) - 1


def drop(container: CommentedMap | CommentedSeq, key: Any) -> None:
    """Delete a mapping key or list index and its lines; the full-line comments below it stay."""
    keys = list(container) if isinstance(container, CommentedMap) else list(range(len(container)))
    owner, at, slot = _last_line(container, key)
    entry = owner.ca.items.get(at)
    token = entry[slot] if entry else None
    tail = token.value.split("\n", 1)[1] if token is not None and "\n" in token.value else ""
    del container[key]
    i = keys.index(key)
    if not tail.strip() or len(keys) == 1:
        return
    if i == 0:  # nothing above in this block: they become comments before the next entry
        lines = [line for line in tail.splitlines() if line.strip()]
        container.yaml_set_comment_before_after_key(
            keys[1] if isinstance(container, CommentedMap) else 0,
            before="\n".join(line.strip()[1:].strip() for line in lines),
            indent=len(lines[0]) - len(lines[0].lstrip()))
        return
    owner, at, slot = _last_line(container, keys[i - 1])  # below the last line of the entry above
    entry = owner.ca.items.setdefault(at, [None, None, None, None])
    if entry[slot] is None:
        entry[slot] = CommentToken("\n" + tail, token.start_mark, None)
    else:
        entry[slot].value += tail


def put_key(mapping: CommentedMap, key: str, value: Any) -> None:
    """Set ``key``; a new key goes after the keys ``_PLACE_AFTER`` names (else at the end)."""
    if key in mapping:
        mapping[key] = value
        return
    keys = list(mapping)
    after = [keys.index(k) for k in _PLACE_AFTER.get(key, ()) if k in mapping]
    mapping.insert(max(after) + 1 if after else len(keys), key, value)


# --------------------------------------------------------------------------- planning
@dataclass(frozen=True)
class FileChange:
    path: Path
    display: str
    before: bytes
    after: bytes


@dataclass(frozen=True)
class Edit:
    """A planned edit: what it changes and whether the edited policy set is valid.

    ``problems`` holds the errors of the policy set with the edit applied; when
    it is non-empty ``write`` refuses.  ``notes`` say what changed in which file,
    ``effects`` what that means for locations.
    """

    message: str
    files: tuple[FileChange, ...] = ()
    notes: tuple[str, ...] = ()
    effects: tuple[str, ...] = ()
    problems: tuple[Problem, ...] = ()

    @property
    def changed(self) -> bool:
        return bool(self.files)

    def diff(self) -> str:
        """A unified diff of every changed file (``a/`` and ``b/`` prefixed, like git's)."""
        out = []
        for change in self.files:
            before = change.before.decode("utf-8-sig").splitlines(keepends=True)
            after = change.after.decode("utf-8-sig").splitlines(keepends=True)
            for line in difflib.unified_diff(before, after, f"a/{change.display}", f"b/{change.display}"):
                out.append(line if line.endswith("\n") else line + "\n\\ No newline at end of file\n")
        return "".join(out)

    def write(self) -> None:
        """Write every changed file atomically; refuse if the edit is invalid or a file changed since."""
        if self.problems:
            raise PolicyError(self.problems)
        try:
            for change in self.files:
                if change.path.read_bytes() != change.before:
                    raise TriageError(f"{change.display} changed on disk since it was read; nothing written, "
                                      "run the command again")
            write_files([(c.path, c.after, c.before) for c in self.files])
        except OSError as exc:
            names = ", ".join(c.display for c in self.files)
            raise TriageError(f"cannot write {names}: {exc.strerror or exc}; nothing was changed") from exc


class PolicyEditor:
    """The operator SLAs and locations of one policy directory, and edits to them.

    ``PolicyEditor(path)`` loads and validates ``path`` (``PolicyError`` if it is
    invalid).  ``book`` resolves the latest version of each document; the edit
    methods return an ``Edit`` to inspect (``diff()``, ``problems``) and ``write()``.
    """

    def __init__(self, path: str | os.PathLike) -> None:
        self.path = Path(os.path.abspath(path))
        self.policies = PolicySet.load(path, git=False)
        self.sla_docs, self.location_docs = _latest(self.policies.documents)
        self.book = OperatorBook(self.sla_docs, self.location_docs)
        # the files behind the documents, resolved now: a later chdir must not redirect an edit
        self._files = {d.file: Path(os.path.realpath(d.file)) for d in self.policies.documents}

    # ------------------------------------------------------------------ lookups
    def sla(self, sla_id: str):
        """The SLA ``sla_id``; ``TriageError`` with a suggestion if unknown."""
        if sla_id not in self.book.slas:
            known = ", ".join(self.book.slas) or "none"
            raise TriageError(f"unknown SLA {sla_id!r}{hint(did_you_mean(sla_id, self.book.slas))} (SLAs: {known})")
        return self.book.slas[sla_id]

    def location(self, location_id: str):
        """The location ``location_id``; ``TriageError`` with similar ids if unknown."""
        if location_id not in self.book.locations:
            close = close_matches(location_id, self.book.locations, n=3)
            raise TriageError(f"unknown location {location_id!r}{hint(close)} "
                              "(to add a new location, bind it with --create --name NAME)")
        return self.book.locations[location_id]

    # ------------------------------------------------------------------ edits
    def set_default(self, sla_id: str) -> Edit:
        """Make ``sla_id`` the only default: ``default: true`` on it, the key removed from the others."""
        target = self.sla(sla_id)
        if target.default:
            return Edit(f"{sla_id} is already the default SLA; nothing to change")
        session = _Session(self._files)
        previous = []
        for doc in self.sla_docs:
            for i, item in enumerate(doc.spec["slas"]):
                node = session.node(doc)["spec"]["slas"][i]
                if item["id"] == sla_id:
                    put_key(node, "default", True)
                    session.note(doc, f"SLA {sla_id!r}: set 'default: true'")
                elif item.get("default"):
                    drop(node, "default")
                    session.note(doc, f"SLA {item['id']!r}: removed 'default: true'")
                    previous.append(item["id"])
        was = f" (was {', '.join(previous)})" if previous else ""
        return self._finish(session, f"{sla_id} is now the default SLA{was}")

    def bind(self, location_id: str, sla_id: str, create_name: str | None = None) -> Edit:
        """Bind ``location_id`` to ``sla_id`` through the location's own ``sla``.

        A binding from an SLA's ``locations:`` list is removed (the list too when
        it empties).  With ``create_name`` an unknown location is appended to the
        last Locations document as ``{id, name, sla}``.
        """
        self.sla(sla_id)
        session = _Session(self._files)
        if create_name is not None:
            if location_id in self.book.locations:
                raise TriageError(f"location {location_id!r} already exists "
                                  f"({self.book.locations[location_id].name}); bind it without --create")
            if not self.location_docs:
                raise TriageError("there is no Locations document to add the location to")
            doc = self.location_docs[-1]
            items = session.node(doc)["spec"]["locations"]
            entry = CommentedMap([("id", location_id), ("name", create_name), ("sla", sla_id)])
            if items and isinstance(items[-1], CommentedMap) and items[-1].fa.flow_style():
                entry.fa.set_flow_style()
            items.append(entry)
            session.note(doc, f"added location {location_id!r} ({create_name}) bound to {sla_id!r}")
            return self._finish(session, f"{location_id} is new and bound to {sla_id}")
        location = self.location(location_id)
        current = location.sla or (self.book.default.id if self.book.default else None)
        if current == sla_id:
            how = "" if location.sla else " (it has no binding and gets the default)"
            return Edit(f"{location_id} is already bound to {sla_id}{how}; nothing to change")
        for doc in self.sla_docs:
            for i, item in enumerate(doc.spec["slas"]):
                if location_id in item.get("locations", ()):
                    node = session.node(doc)["spec"]["slas"][i]
                    if len(node["locations"]) == 1:
                        drop(node, "locations")
                    else:
                        drop(node["locations"], list(node["locations"]).index(location_id))
                    session.note(doc, f"SLA {item['id']!r}: removed {location_id!r} from its locations")
        for doc in self.location_docs:
            for i, item in enumerate(doc.spec["locations"]):
                if item["id"] == location_id:
                    put_key(session.node(doc)["spec"]["locations"][i], "sla", sla_id)
                    was = f" (was {item['sla']!r})" if "sla" in item else ""
                    session.note(doc, f"location {location_id!r}: set 'sla: {sla_id}'{was}")
        return self._finish(session, f"{location_id} is now bound to {sla_id} (was {current})")

    # ------------------------------------------------------------------ validation
    def _finish(self, session: _Session, message: str) -> Edit:
        files = tuple(FileChange(s.path, s.display, s.raw, s.render()) for s in session.sources.values())
        files = tuple(f for f in files if f.after != f.before)
        documents, problems = check_with(self.path, {f.path: f.after for f in files})
        errors = tuple(p for p in problems if p.is_error)
        effects: tuple[str, ...] = ()
        if not errors:
            effects = _flag_changes(self.book, OperatorBook(*_latest(documents)))
        return Edit(message, files, tuple(session.notes), effects, errors)


class _Session:
    """The files one edit touches, loaded once each."""

    def __init__(self, files: dict[str, Path]) -> None:
        self.files = files
        self.sources: dict[str, _Source] = {}
        self.notes: list[str] = []

    def node(self, doc: PolicyDocument) -> CommentedMap:
        if doc.file not in self.sources:
            self.sources[doc.file] = _Source(self.files[doc.file], doc.file)
        return self.sources[doc.file].node(doc)

    def note(self, doc: PolicyDocument, text: str) -> None:
        self.notes.append(f"{doc.file}: {text}")


def _latest(documents) -> tuple[list[PolicyDocument], list[PolicyDocument]]:
    """The latest version of each OperatorSLAs and Locations document, in file order."""
    latest = {id(v[-1]) for v in group_versions(documents).values()}
    chosen = [d for d in documents if id(d) in latest]
    return [d for d in chosen if d.kind == "OperatorSLAs"], [d for d in chosen if d.kind == "Locations"]


def _flag_changes(before: OperatorBook, after: OperatorBook) -> tuple[str, ...]:
    def flagged(book: OperatorBook) -> set[str]:
        return {loc for loc in book.locations if (sla := book.sla_for(loc)[0]) is not None and not sla.default}
    now, then = flagged(after), flagged(before)
    out = []
    if now - then:
        out.append(f"now flagged: {', '.join(sorted(now - then))}")
    if then - now:
        out.append(f"no longer flagged: {', '.join(sorted(then - now))}")
    return tuple(out)


def check_with(root: str | os.PathLike, replaced: dict[Path, bytes]) -> tuple[list[PolicyDocument], list[Problem]]:
    """Like ``check_policy_dir``, with the bytes of some files (keyed by real path) replaced."""
    documents: list[PolicyDocument] = []
    problems: list[Problem] = []
    broken: set = set()
    for path in policy_files(Path(root)):
        raw = replaced.get(Path(os.path.realpath(path)))
        docs, found = read_policy_text(path.read_bytes() if raw is None else raw, display_path(path), broken)
        documents += docs
        problems += found
    if documents:
        problems += run_checks(documents, broken)
    return documents, sorted(problems, key=lambda p: (p.file or "", p.line or 0, p.col or 0))


# --------------------------------------------------------------------------- writing
def write_files(changes: list[tuple[Path, bytes, bytes]]) -> None:
    """Replace each ``(path, new, old)`` atomically; stage all first, restore ``old`` if a rename fails."""
    staged: list[tuple[Path, str]] = []
    try:
        for path, data, _ in changes:
            staged.append((path, _stage(path, data)))
    except BaseException:
        for _, tmp in staged:
            _unlink(tmp)
        raise
    done: list[int] = []
    try:
        for n, (path, tmp) in enumerate(staged):
            os.replace(tmp, path)
            done.append(n)
    except BaseException:
        for _, tmp in staged[len(done):]:
            _unlink(tmp)
        for n in done:  # best effort: put back what was already renamed
            path, _, old = changes[n]
            try:
                tmp = _stage(path, old)
            except OSError:
                continue
            try:
                os.replace(tmp, path)
            except OSError:
                _unlink(tmp)
        raise
    for directory in {path.parent for path, _, _ in changes}:
        _fsync_dir(directory)


def _stage(path: Path, data: bytes) -> str:
    """Write ``data`` to a hidden temporary file beside ``path`` with its permissions; fsynced."""
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    try:
        with os.fdopen(fd, "wb") as handle:
            handle.write(data)
            handle.flush()
            os.fsync(handle.fileno())
        os.chmod(tmp, stat.S_IMODE(os.stat(path).st_mode))
    except BaseException:
        _unlink(tmp)
        raise
    return tmp


def _unlink(path: str) -> None:
    try:
        os.unlink(path)
    except OSError:
        pass


def _fsync_dir(directory: Path) -> None:
    try:
        fd = os.open(directory, os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(fd)
    except OSError:
        pass
    finally:
        os.close(fd)
