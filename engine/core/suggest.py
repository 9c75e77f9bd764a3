""""Did you mean ...?" for unknown names: facts, keys, kinds, calendars, SLAs, units, zones ...

One lookup and one rendering, used everywhere in the engine:

* :func:`close_matches` / :func:`did_you_mean` find close valid spellings with
  ``difflib.get_close_matches`` (as click does for unknown options).  Words and
  choices are compared as strings; when nothing is close enough, a choice that
  differs from the word only in case is offered (``p1`` -> ``P1``).
* :func:`hint` renders suggestions as ``"; did you mean 'x'?"`` (``'x' or 'y'``
  for several), or ``""`` when there are none.  It is the only place that
  phrase is written: a :class:`~engine.core.errors.Problem` keeps its suggestion
  as a field and renders it with :func:`hint` after its text, and the messages
  of errors raised for an unknown calendar, SLA, location or kind put
  ``hint(...)`` right after the unknown name.
"""
from __future__ import annotations

from typing import Iterable, Sequence

CUTOFF = 0.6  # difflib's similarity ratio a suggestion needs (its default too)


def close_matches(word: object, choices: Iterable[object], *, n: int = 1, cutoff: float = CUTOFF) -> list[str]:
    """Up to ``n`` of ``choices`` close to ``word``, closest first (as strings); maybe none."""
    text = str(word)
    pool = [str(choice) for choice in choices]
    import difflib  # here: only a mistake needs it

    found = difflib.get_close_matches(text, pool, n=n, cutoff=cutoff)
    if not found:
        lowered = text.lower()
        found = [choice for choice in pool if choice.lower() == lowered][:n]
    return found


def did_you_mean(word: object, choices: Iterable[object], *, cutoff: float = CUTOFF) -> str | None:
    """The choice closest to ``word`` (see :func:`close_matches`), or None."""
    found = close_matches(word, choices, cutoff=cutoff)
    return found[0] if found else None


def hint(suggestion: str | Sequence[str] | None) -> str:
    """``"; did you mean 'x'?"`` for one suggestion, ``"; did you mean 'x' or 'y'?"`` for
    several, ``""`` for None or none."""
    if not suggestion:
        return ""
    if isinstance(suggestion, str):
        return f"; did you mean {suggestion!r}?"
    return f"; did you mean {' or '.join(repr(s) for s in suggestion)}?"
