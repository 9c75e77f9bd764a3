"""Regular expressions on text from strangers: RE2, whose matching time is linear in the input.

Python's ``re`` backtracks: ``(a+)+$`` against thirty ``a``\\ s and a ``b`` runs for
minutes.  Every pattern that meets ticket text (a rule's ``matches``, a string
fact's ``pattern``) is therefore compiled with RE2 (``google-re2``), as OPA does
for ``regex.match``: no backreferences, no lookaround, no possessive
quantifiers, repetition counts up to 1000.  A pattern RE2 refuses is a policy
error, reported at load time by :func:`pattern_problem`.

Conventions:

* A match is a *search* (unanchored, like Python's ``re.search`` and JSON
  Schema's ``pattern``); anchor with ``^...$``.
* RE2 semantics, where they differ from Python's: ``\\d \\w \\s \\b`` are ASCII
  (use ``\\pN``, ``\\pL`` for Unicode), ``$`` matches only at the very end
  (Python also matches before a final newline), ``\\z`` ends the text (Python
  spells it ``\\Z``).  The flags ``(?i) (?m) (?s)`` mean what they mean in Python.
* Text and patterns are matched as UTF-8.  A lone surrogate (JSON allows
  ``"\\ud800"``) is passed through as its three bytes, so it never raises and
  is one character to ``.``.
"""
from __future__ import annotations

import re
from functools import lru_cache
from typing import Callable


@lru_cache(maxsize=1)
def _re2():
    """The RE2 module and the options every pattern is compiled with (imported when a policy first
    has a pattern: most have none)."""
    import re2

    options = re2.Options()
    options.never_capture = True  # only "is there a match" is asked
    options.log_errors = False    # a refused pattern is reported as a Problem, not on stderr
    return re2, options


def _compile(pattern: str):
    # patterns and texts are both UTF-8 with lone surrogates passed through, so that each
    # means the same character in both
    re2, options = _re2()
    return re2.compile(pattern.encode("utf-8", "surrogatepass"), options)


def _reason(exc: Exception) -> str:
    detail = exc.args[0] if exc.args else exc
    if isinstance(detail, bytes):
        detail = detail.decode("utf-8", "replace")
    return str(detail)


def pattern_problem(pattern: str) -> str | None:
    """Why ``pattern`` cannot be used, as a message naming it; None if RE2 compiles it.

    A pattern that Python's ``re`` would accept (a backreference ``(a)\\1``, a lookahead
    ``(?=a)``) is called *not supported*, with what RE2 leaves out; anything else is *invalid*.
    """
    try:
        _compile(pattern)
    except _re2()[0].error as exc:
        reason = _reason(exc)
    except (TypeError, ValueError, AttributeError) as exc:  # not a string
        return f"invalid regular expression {pattern!r}: {exc}"
    else:
        return None
    try:
        re.compile(pattern)  # only to tell "Python-only construct" from "no regex at all"; never run
    except (re.error, RecursionError, OverflowError, ValueError):
        return f"invalid regular expression {pattern!r}: {reason}"
    return (f"regular expression {pattern!r} is not supported: {reason} (patterns use RE2 syntax, "
            "which matches in linear time: no backreferences, lookaround, possessive quantifiers or "
            "counts over 1000)")


def searcher(pattern: str) -> Callable[[str], bool]:
    """``text -> bool``: does ``pattern`` match anywhere in ``text``?  ``ValueError`` for a pattern
    :func:`pattern_problem` refuses."""
    problem = pattern_problem(pattern)
    if problem is not None:
        raise ValueError(problem)
    search = _compile(pattern).search

    def found(text: str) -> bool:
        return search(text.encode("utf-8", "surrogatepass")) is not None

    found.pattern = pattern  # type: ignore[attr-defined]
    return found
