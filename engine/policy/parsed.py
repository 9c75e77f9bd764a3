"""What the YAML reader gives for a policy file's text, remembered on disk between runs.

Parsing the shipped policy set, and importing PyYAML to do it, is about a quarter of a command's
start-up.  The documents of a text that parsed are kept in a :class:`~engine.core.store.Store`
under the digest of the text, and read back as the reader gives them: the same data (every
scalar's type kept: mapping keys too, which JSON objects would turn into strings), the same node
positions and YAML 1.1 booleans.  A text that does not parse is parsed every time (its error is
the reader's); a changed reader or PyYAML starts a new file; a stored entry that does not read
back (a file edited by hand) is parsed again.
"""
from __future__ import annotations

import hashlib
from pathlib import Path
from typing import Any

from ..core.store import Store, package_identity
from .yaml_docs import Document

_READER = Path(__file__).with_name("yaml_reader.py")
_MAP, _SEQ = "m", "s"  # a mapping is ["m", key, value, ...]; a sequence ["s", item, ...]; scalars as they are


def _identity() -> str | None:
    """The reader's code and the installed PyYAML: what the documents of a text depend on."""
    yaml = package_identity("yaml", "PyYAML", "__init__.py")
    try:
        code = hashlib.sha256(_READER.read_bytes()).hexdigest()
    except OSError:
        return None
    return None if yaml is None else f"{code}|{yaml}"


STORE = Store("policy-yaml", _identity, max_answers=64)  # a policy set's files, and some earlier versions


def _encode(value: Any) -> Any:
    if type(value) is dict:
        out: list = [_MAP]
        for key, item in value.items():
            out.append(key)
            out.append(_encode(item))
        return out
    if type(value) is list:
        return [_SEQ, *map(_encode, value)]
    return value


def _decode(value: Any) -> Any:
    if type(value) is not list:
        if value is None or type(value) in (str, int, float, bool):
            return value
        raise ValueError(f"not a stored value: {type(value).__name__}")
    if value[0] == _SEQ:
        return [_decode(item) for item in value[1:]]
    if value[0] != _MAP or len(value) % 2 != 1:
        raise ValueError("not a stored mapping")
    out = {}
    for i in range(1, len(value), 2):
        key = value[i]
        if type(key) not in (str, int, float, bool) and key is not None:
            raise ValueError("not a stored mapping key")
        out[key] = _decode(value[i + 1])
    return out


def _stored(doc: Document) -> list:
    return [_encode(doc.data), doc.index, doc.line, [[list(path), line, col] for path, (line, col) in doc.positions.items()],
            [[list(path), text] for path, text in doc.implicit_bools.items()]]


def _document(stored: list, file: str) -> Document:
    data, index, line, positions, implicit_bools = stored
    if type(index) is not int or type(line) is not int:
        raise ValueError("not a stored document")
    doc = Document(_decode(data), file, index, line)
    for path, at_line, at_col in positions:
        if type(at_line) is not int or type(at_col) is not int:
            raise ValueError("not a stored position")
        doc.positions[tuple(path)] = (at_line, at_col)
    for path, text in implicit_bools:
        if type(text) is not str:
            raise ValueError("not a stored boolean's text")
        doc.implicit_bools[tuple(path)] = text
    return doc


def documents(text: str, file: str) -> list[Document]:
    """``list(iter_documents(text, file))``, remembered by ``text``; ``YamlError`` as it raises."""
    parsed: list[Document] | None = None
    read: list[Document] = []

    def parse() -> list:
        nonlocal parsed
        from .yaml_reader import iter_documents  # here: PyYAML is imported only for a text not seen before

        parsed = list(iter_documents(text, file))
        return [_stored(doc) for doc in parsed]

    def reads_back(found: Any) -> bool:
        try:
            read[:] = [_document(stored, file) for stored in found]
        except (TypeError, ValueError, IndexError, RecursionError):
            return False
        return True

    STORE.remembered(hashlib.sha256(text.encode("utf-8", "surrogatepass")).hexdigest(), parse, reads_back)
    return parsed if parsed is not None else read
