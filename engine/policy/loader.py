"""Reading a policy directory into schema-valid documents.

``read_policy_dir`` finds every ``*.yaml`` / ``*.yml`` file under a directory
(hidden files and folders are skipped), splits multi-document files, checks
the envelope (``apiVersion``, ``kind``) and validates each document against
its kind's JSON Schema.  It returns *all* the documents that passed and *all*
problems found, each already located at ``file:line:col``.  Semantic checks
across documents live in ``_checks``.
"""
from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path
from typing import Iterable, Iterator

from ..core.errors import Problem
from ..core.suggest import did_you_mean
from .schemas import API_VERSION, KINDS, schema_problems
from .parsed import documents as parsed_documents
from .yaml_docs import MAX_FILE_BYTES, Document, YamlError, decode

MAX_FILES = 10_000
MAX_TOTAL_BYTES = 64 * 1024 * 1024
SUFFIXES = (".yaml", ".yml")


@dataclass(frozen=True)
class PolicyDocument:
    """A schema-valid document of one kind, with its source for locating problems."""

    kind: str
    name: str
    effective_from: str | None
    data: dict
    source: Document

    @property
    def spec(self) -> dict:
        return self.data["spec"]

    @property
    def file(self) -> str:
        return self.source.file

    def locate(self, problem: Problem, key: bool = False) -> Problem:
        """Fill ``file``/``line``/``col`` of a problem whose path is relative to this document."""
        line, col = self.source.locate(problem.path, key=key or problem.on_key)
        return problem.at(file=self.source.file, line=line, col=col)

    @property
    def label(self) -> str:
        when = f"@{self.effective_from}" if self.effective_from else ""
        return f"{self.kind}/{self.name}{when}"


def policy_files(root: Path) -> list[Path]:
    """Every policy file under ``root`` in a stable order (or ``root`` itself if it is a file)."""
    if root.is_file():
        return [root]
    found: list[Path] = []
    for dirpath, dirnames, filenames in os.walk(root):
        dirnames[:] = sorted(d for d in dirnames if not d.startswith("."))
        for fname in sorted(filenames):
            if fname.endswith(SUFFIXES) and not fname.startswith("."):
                found.append(Path(dirpath) / fname)
    return found


def display_path(path: Path) -> str:
    """A path as a person reads it: relative to the working directory when inside it, else absolute."""
    absolute = Path(os.path.abspath(path))
    try:
        return str(absolute.relative_to(Path.cwd()))
    except ValueError:
        return str(absolute)


@dataclass
class ReadResult:
    """Schema-valid documents, every problem found, and the (kind, name) of documents that failed."""

    documents: list[PolicyDocument]
    problems: list[Problem]
    broken: set[tuple[str, str]]


def read_policy_dir(root: str | os.PathLike) -> ReadResult:
    root_path = Path(root)
    problems: list[Problem] = []
    if not root_path.exists():
        return ReadResult([], [Problem(f"policy directory {display_path(root_path)} does not exist",
                                       file=display_path(root_path))], set())
    files = policy_files(root_path)
    if not files:
        problems.append(Problem("no policy files (*.yaml, *.yml) found", file=display_path(root_path)))
    if len(files) > MAX_FILES:
        return ReadResult([], [Problem(f"{len(files):,} policy files; at most {MAX_FILES:,} are read",
                                       file=display_path(root_path))], set())
    result = ReadResult([], problems, set())
    total = 0
    for path in files:
        shown = display_path(path)
        try:
            size = path.stat().st_size
            total += size
            if total > MAX_TOTAL_BYTES:
                problems.append(Problem(f"policy set exceeds {MAX_TOTAL_BYTES:,} bytes in total",
                                        file=shown, line=1, col=1))
                break
            if size > MAX_FILE_BYTES:  # refused without reading it
                problems.append(Problem(f"file is {size:,} bytes; policy files are limited to "
                                        f"{MAX_FILE_BYTES:,} bytes", file=shown, line=1, col=1))
                continue
            with open(path, "rb") as handle:
                raw = handle.read(MAX_FILE_BYTES + 1)  # bounded even if the file grows meanwhile
        except OSError as exc:
            problems.append(Problem(f"cannot read file: {exc.strerror or exc}", file=shown))
            continue
        docs, file_problems = read_policy_text(raw, shown, result.broken)
        result.documents.extend(docs)
        problems.extend(file_problems)
    return result


def read_policy_text(raw: bytes, file: str, broken: set | None = None) -> tuple[list[PolicyDocument], list[Problem]]:
    """Parse and schema-check one file's bytes.  A file that fails to parse yields no documents.

    The (kind, name) of each document that fails its schema is added to ``broken``, so that
    references to it are not reported a second time as unknown."""
    try:
        text = decode(raw, file)
        sources = parsed_documents(text, file)
    except YamlError as exc:
        return [], [exc.problem]
    documents: list[PolicyDocument] = []
    problems: list[Problem] = []
    for source in sources:
        doc_problems = list(_envelope_problems(source))
        if not doc_problems:
            kind = source.data["kind"]
            doc_problems = list(schema_problems(kind, source.data, source.implicit_bools))
        if doc_problems:
            problems.extend(_locate(source, doc_problems))
            if broken is not None and isinstance(source.data, dict):
                meta = source.data.get("metadata")
                if isinstance(meta, dict) and isinstance(meta.get("name"), str):
                    broken.add((str(source.data.get("kind")), meta["name"]))
            continue
        meta = source.data["metadata"]
        documents.append(PolicyDocument(source.data["kind"], meta["name"], meta.get("effective_from"),
                                        source.data, source))
    return documents, problems


def _envelope_problems(source: Document) -> Iterator[Problem]:
    data = source.data
    if not isinstance(data, dict):
        shape = "a list" if isinstance(data, list) else f"the scalar {data!r}"
        yield Problem(f"a policy document must be a mapping with apiVersion, kind, metadata and spec, "
                      f"not {shape}")
        return
    api = data.get("apiVersion")
    if api is None:
        yield Problem(f"missing required key 'apiVersion' (write 'apiVersion: {API_VERSION}')")
    elif api != API_VERSION:
        yield Problem(f"unknown apiVersion {api!r}; this version of triage reads {API_VERSION!r}",
                      ("apiVersion",), suggestion=API_VERSION, show_suggestion=False)
    kind = data.get("kind")
    if kind is None:
        yield Problem(f"missing required key 'kind' (one of {', '.join(KINDS)})")
    elif kind not in KINDS:
        suggestion = did_you_mean(kind, KINDS)
        yield Problem(f"unknown kind {kind!r}" + ("" if suggestion else f"; kinds are {', '.join(KINDS)}"),
                      ("kind",), suggestion=suggestion)


def _locate(source: Document, problems: Iterable[Problem]) -> list[Problem]:
    out = []
    for problem in problems:
        line, col = source.locate(problem.path, key=problem.on_key)
        out.append(problem.at(file=source.file, line=line, col=col))
    return out
