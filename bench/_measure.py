"""Small measuring helpers shared by the benchmarks (not a test, not part of the library)."""
from __future__ import annotations

import collections
import os
import re
import resource
import shutil
import subprocess


def consume(iterable) -> None:
    """Run an iterator to its end, keeping nothing."""
    collections.deque(iterable, maxlen=0)


def rss_mib() -> float:
    """This process's peak resident memory so far, in MiB."""
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def instructions(argv: list[str], env: dict | None = None, expect: str = "") -> int:
    """Instructions executed by the process ``argv``, counted by valgrind's callgrind: a steady figure
    where wall and CPU time vary with the machine's other load (about 50x slower to run).  Its output
    goes to /dev/null, and string hashing is seeded alike in every run.  ``SystemExit`` if valgrind is
    missing, or the process fails or does not write ``expect`` to stderr."""
    if shutil.which("valgrind") is None:
        raise SystemExit("counting instructions needs valgrind (apt-get install valgrind)")
    env = {**(os.environ if env is None else env), "PYTHONHASHSEED": "0"}  # the same count run after run
    run = subprocess.run(["valgrind", "--tool=callgrind", "--callgrind-out-file=/dev/null", *argv],
                         stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, env=env, text=True)
    found = re.search(r"Collected : (\d+)", run.stderr)
    if run.returncode != 0 or found is None or expect not in run.stderr:
        raise SystemExit(f"FAILED under valgrind: {' '.join(argv)} (exit {run.returncode})\n{run.stderr[-2000:]}")
    return int(found.group(1))
