"""Small measuring helpers shared by the benchmarks (not a test, not part of the library)."""
from __future__ import annotations

import collections
import resource


def consume(iterable) -> None:
    """Run an iterator to its end, keeping nothing."""
    collections.deque(iterable, maxlen=0)


def rss_mib() -> float:
    """This process's peak resident memory so far, in MiB."""
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
