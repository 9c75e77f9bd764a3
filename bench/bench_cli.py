"""The command line against the library, and a JSON array against JSONL, in one run.

    python bench/bench_cli.py [--n 100000] [--runs 5] [--seed 7] [--instructions]

Generates ``--n`` tickets (``bench/_gen.py``'s ``make_tickets``) and writes them
as JSONL, as one compact JSON array and as an indented one (``indent=2``).
Then, interleaving the runs so that a busy machine slows all alike, times:

  a. ``triage evaluate FILE > /dev/null`` on the JSONL file, as a whole process
     (start-up, policy load, reading, evaluation, writing), wall clock;
  b. the same on the compact JSON array, and on the indented one;
  c. in-process, the library on the parsed tickets: ``PolicySet.evaluate_many``
     over the same tickets, consumed, on a freshly loaded policy set each run
     (one cold pass, as the command makes; the load is not timed).

Each is run ``--runs`` times; the median and the range are printed, wall clock
and CPU time (steadier on a shared machine), with the peak resident memory
(VmHWM) of each command's process, and the start-up cost (an empty file).  The command runs as
installed: ``engine/`` and ``cli.py`` are compiled to .pyc first, and PYTHONDONTWRITEBYTECODE
is taken out of its environment.  Every command
run must report ``evaluated=N failed=0``.

With ``--instructions``, (a) and (c) are counted instead, in instructions under
valgrind's callgrind: a figure that the machine's other load does not move, where
the times of the same code vary by a third from run to run on a small shared
machine.  (a) is the whole command; (c) is the difference between two fresh
processes that load the set and read the JSONL, one of which then runs
``evaluate_many`` (about 10 minutes at 100,000 tickets).

Goals: (a) at most 1.5x (c); the compact array at most 2x the JSONL, in about
the same memory (streaming: flat, not growing with the input).  Exit 1 if a
command fails or miscounts, or a goal is missed by both wall clock and CPU time.
"""
from __future__ import annotations

import argparse
import compileall
import json
import os
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _gen import make_tickets  # noqa: E402
from _measure import consume, instructions  # noqa: E402

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
import engine  # noqa: E402

POLICIES = ROOT / "policies"


def _peak_kib(pid: int) -> int:
    """The process's peak resident memory so far (VmHWM).  Not ``ru_maxrss``: Linux carries that over
    ``exec`` from the forked copy of this process, which holds every generated ticket."""
    try:
        with open(f"/proc/{pid}/status") as status:
            for line in status:
                if line.startswith("VmHWM:"):
                    return int(line.split()[1])
    except OSError:
        pass
    return 0


# The command runs as installed: its modules compiled once (``pip install`` and a first run write the
# .pyc files), not recompiled at every start because this shell sets PYTHONDONTWRITEBYTECODE.
_ENV = {k: v for k, v in os.environ.items() if k != "PYTHONDONTWRITEBYTECODE"}


def run_command(path: Path, n: int) -> tuple[float, float, float]:
    """Wall-clock seconds, CPU seconds and peak RSS (MiB) of ``triage evaluate path > /dev/null``."""
    began = time.perf_counter()
    child = subprocess.Popen([sys.executable, str(ROOT / "cli.py"), "evaluate", str(path), "--policies",
                              str(POLICIES)], stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, cwd=ROOT, env=_ENV)
    peak = 0
    done = threading.Event()

    def sample() -> None:
        nonlocal peak
        while not done.is_set():
            peak = max(peak, _peak_kib(child.pid))
            done.wait(0.02)

    sampler = threading.Thread(target=sample, daemon=True)
    sampler.start()
    assert child.stderr is not None
    err = child.stderr.read()  # EOF when the child exits
    peak = max(peak, _peak_kib(child.pid))  # still readable: the child is not reaped yet
    _, status, usage = os.wait4(child.pid, 0)
    seconds = time.perf_counter() - began
    child.returncode = os.waitstatus_to_exitcode(status)
    done.set()
    sampler.join()
    tail = err.decode().strip().splitlines()[-1] if err.strip() else ""
    if child.returncode != 0 or tail != f"evaluated={n} failed=0":
        raise SystemExit(f"WRONG: {path.name}: exit {child.returncode}, {tail!r}\n{err.decode()[-2000:]}")
    return seconds, usage.ru_utime + usage.ru_stime, peak / 1024


def run_library(tickets: list[dict]) -> tuple[float, float]:
    """Wall-clock and CPU seconds of one cold pass of ``evaluate_many`` (the load is not timed)."""
    policies = engine.PolicySet.load(POLICIES)
    began, cpu = time.perf_counter(), time.process_time()
    failed = sum(1 for result in policies.evaluate_many(tickets) if isinstance(result, engine.TicketError))
    seconds, cpu = time.perf_counter() - began, time.process_time() - cpu
    if failed:
        raise SystemExit(f"WRONG: the library failed {failed} tickets")
    return seconds, cpu


def library_pass(path: str, evaluate: bool) -> int:
    """In a fresh process (``--library-pass``): load the set, read the JSONL at ``path`` and, with
    ``evaluate``, run one cold pass of ``evaluate_many`` over it."""
    policies = engine.PolicySet.load(POLICIES)
    with open(path, "rb") as lines:
        tickets = [json.loads(line) for line in lines]
    if evaluate:
        consume(policies.evaluate_many(tickets))
    return 0


def count_instructions(path: Path, n: int) -> int:
    """(a) and (c) in instructions: print both and their ratio; 0 if (a) is at most 1.5x (c)."""
    command = instructions([sys.executable, str(ROOT / "cli.py"), "evaluate", str(path), "--policies",
                            str(POLICIES)], env=_ENV, expect=f"evaluated={n} failed=0")
    base, full = (instructions([sys.executable, __file__, "--library-pass", str(path), *extra], env=_ENV)
                  for extra in ([], ["--evaluate"]))
    library = full - base
    ratio = command / library
    print(f"a. triage evaluate {path.name}: {command / 1e9:.2f}G instructions ({command / n / 1e3:.1f}k a ticket, "
          f"start-up included)")
    print(f"c. evaluate_many, one cold pass: {library / 1e9:.2f}G ({library / n / 1e3:.1f}k a ticket; "
          f"{full / 1e9:.2f}G less {base / 1e9:.2f}G for start-up, load and reading)")
    print(f"command line / library: {ratio:.3f}x in instructions (goal <= 1.5x)")
    return 0 if ratio <= 1.5 else 1


def summary(label: str, seconds: list[float], cpu: list[float], n: int, rss: list[float] | None = None) -> str:
    median = statistics.median(seconds)
    memory = f"; peak RSS {min(rss):.0f}-{max(rss):.0f} MiB" if rss else ""
    rate = f"; {n / median:,.0f} tickets/s" if n else ""
    return (f"{label:<42} {median:6.2f} s ({min(seconds):.2f}-{max(seconds):.2f}{rate}), "
            f"CPU {statistics.median(cpu):.2f} s ({min(cpu):.2f}-{max(cpu):.2f}){memory}")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n", type=int, default=100_000)
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--instructions", action="store_true",
                        help="count (a) and (c) in instructions under valgrind instead of timing them")
    parser.add_argument("--library-pass", metavar="JSONL", help=argparse.SUPPRESS)  # (c) in a fresh process
    parser.add_argument("--evaluate", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.library_pass:
        return library_pass(args.library_pass, args.evaluate)

    compileall.compile_dir(ROOT / "engine", quiet=1)
    compileall.compile_file(ROOT / "cli.py", quiet=1)
    tickets = make_tickets(args.n, seed=args.seed)
    if args.instructions:
        with tempfile.TemporaryDirectory() as tmp:
            path = Path(tmp) / "tickets.jsonl"
            path.write_text("".join(json.dumps(t) + "\n" for t in tickets))
            print(f"{args.n:,} tickets as JSONL; instructions counted by callgrind")
            return count_instructions(path, args.n)
    with tempfile.TemporaryDirectory() as tmp:
        files = {"jsonl": Path(tmp) / "tickets.jsonl", "array": Path(tmp) / "tickets.json",
                 "array, indent=2": Path(tmp) / "tickets-indented.json"}
        files["jsonl"].write_text("".join(json.dumps(t) + "\n" for t in tickets))
        files["array"].write_text(json.dumps(tickets))
        files["array, indent=2"].write_text(json.dumps(tickets, indent=2))
        sizes = {k: p.stat().st_size / 2**20 for k, p in files.items()}
        print(f"{args.n:,} tickets: JSONL {sizes['jsonl']:.1f} MiB, array {sizes['array']:.1f} MiB (one line), "
              f"indented array {sizes['array, indent=2']:.1f} MiB; {args.runs} runs each, interleaved")
        seconds: dict[str, list[float]] = {k: [] for k in ("empty", *files, "library")}
        cpu: dict[str, list[float]] = {k: [] for k in seconds}
        rss: dict[str, list[float]] = {k: [] for k in seconds}
        empty = Path(tmp) / "empty.jsonl"
        empty.write_bytes(b"")
        for _ in range(args.runs):
            for key, path in (("empty", empty), *files.items()):
                s, c, m = run_command(path, args.n if key != "empty" else 0)
                seconds[key].append(s)
                cpu[key].append(c)
                rss[key].append(m)
            s, c = run_library(tickets)
            seconds["library"].append(s)
            cpu["library"].append(c)

    print("median of the runs (range); wall clock, then CPU time (user + system, steadier on a busy machine)")
    print(summary("   triage evaluate on an empty file", seconds["empty"], cpu["empty"], 0, rss["empty"]))
    print(summary("a. triage evaluate tickets.jsonl", seconds["jsonl"], cpu["jsonl"], args.n, rss["jsonl"]))
    print(summary("b. triage evaluate tickets.json (array)", seconds["array"], cpu["array"], args.n, rss["array"]))
    print(summary("   the same, array written with indent=2", seconds["array, indent=2"], cpu["array, indent=2"],
                  args.n, rss["array, indent=2"]))
    print(summary("c. evaluate_many in-process (cold pass)", seconds["library"], cpu["library"], args.n))
    median = {k: statistics.median(v) for k, v in seconds.items()}
    median_cpu = {k: statistics.median(v) for k, v in cpu.items()}
    cli_ratio = median["jsonl"] / median["library"]
    cli_cpu = median_cpu["jsonl"] / median_cpu["library"]
    array_ratio = median["array"] / median["jsonl"]
    array_cpu = median_cpu["array"] / median_cpu["jsonl"]
    indent_ratio = median["array, indent=2"] / median["jsonl"]
    memory_ratio = statistics.median(rss["array"]) / statistics.median(rss["jsonl"])
    print(f"command line / library: {cli_ratio:.2f}x wall, {cli_cpu:.2f}x CPU (goal <= 1.5x)")
    print(f"JSON array / JSONL: {array_ratio:.2f}x wall, {array_cpu:.2f}x CPU (goal <= 2x); indented "
          f"{indent_ratio:.2f}x wall; peak RSS array / JSONL {memory_ratio:.2f}x")
    ok = min(cli_ratio, cli_cpu) <= 1.5 and min(array_ratio, array_cpu) <= 2 and memory_ratio <= 1.25
    if not ok:
        print("GOAL MISSED")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
