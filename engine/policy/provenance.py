"""Provenance of a policy set: a content digest and the git revision.

The digest is a SHA-256 over the canonical JSON of every document (sorted by
kind, name and effective date, keys sorted).  It therefore ignores comments,
formatting, key order and how documents are split across files, and changes
with any semantic edit.
"""
from __future__ import annotations

import hashlib
import json
import subprocess
from pathlib import Path
from typing import Iterable


def digest(documents: Iterable) -> str:
    canonical = sorted(
        (json.dumps(doc.data, sort_keys=True, separators=(",", ":"), ensure_ascii=False, default=str)
         for doc in documents))
    h = hashlib.sha256()
    for text in canonical:
        h.update(text.encode("utf-8"))
        h.update(b"\n")
    return "sha256:" + h.hexdigest()


def git_revision(path: str | Path) -> str | None:
    """The short commit of the git work tree holding ``path``, with ``-dirty`` if it has local changes."""
    folder = Path(path)
    folder = folder if folder.is_dir() else folder.parent
    try:
        head = subprocess.run(["git", "-C", str(folder), "rev-parse", "--short=12", "HEAD"],
                              capture_output=True, text=True, timeout=10)
        if head.returncode != 0:
            return None
        status = subprocess.run(["git", "-C", str(folder), "status", "--porcelain", "--", "."],
                                capture_output=True, text=True, timeout=10)
    except (OSError, subprocess.SubprocessError):
        return None
    revision = head.stdout.strip()
    if status.returncode == 0 and status.stdout.strip():
        revision += "-dirty"
    return revision or None
