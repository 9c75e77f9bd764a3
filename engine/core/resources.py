"""Where the schemas and the shipped policy set live, in a source checkout or an installed package.

In a checkout (and an editable install) they are the top-level ``schemas/``
and ``policies/`` folders; a wheel installs the same files as the
``engine.schemas`` and ``engine.policies`` package data.
"""
from __future__ import annotations

from pathlib import Path

_CHECKOUT = Path(__file__).resolve().parents[2]


def _data_dir(name: str) -> Path:
    here = _CHECKOUT / name
    if here.is_dir() and (_CHECKOUT / "pyproject.toml").is_file():
        return here
    from importlib import resources  # here: a checkout never needs it, and it imports tempfile

    return Path(str(resources.files(f"engine.{name}")))


def schemas_dir() -> Path:
    return _data_dir("schemas")


def shipped_policies() -> Path:
    """The directory of the default policy set shipped with triage."""
    return _data_dir("policies")


def default_policy_dir() -> Path:
    """``./policies`` when it exists, otherwise the shipped set."""
    local = Path("policies")
    return local if local.is_dir() else shipped_policies()
