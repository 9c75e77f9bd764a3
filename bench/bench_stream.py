"""Streaming: memory of ``triage evaluate -`` stays flat over a 1,000,000-line JSONL input.

Feeds N generated tickets (in chunks, never all in memory) into a
``triage evaluate -`` subprocess through a pipe, discards its output, and
samples the child's resident memory (VmRSS from /proc) as the lines go in.
Prints RSS against lines fed and the throughput.  Memory is "flat" when the
RSS after the last line is within 25 MiB of the RSS after the first tenth.
Exits 1 if memory is not flat or the child fails.

    python bench/bench_stream.py [--n 1000000]
"""
from __future__ import annotations

import argparse
import json
import subprocess
import sys
import threading
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _gen import make_tickets  # noqa: E402

ROOT = Path(__file__).resolve().parent.parent
CHUNK = 10_000
TOLERANCE_MIB = 25


def _rss_kib(pid: int) -> int:
    try:
        with open(f"/proc/{pid}/status") as status:
            for line in status:
                if line.startswith("VmRSS:"):
                    return int(line.split()[1])
    except OSError:
        pass
    return 0


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n", type=int, default=1_000_000)
    args = parser.parse_args()
    child = subprocess.Popen([sys.executable, str(ROOT / "cli.py"), "evaluate", "-", "--policies",
                              str(ROOT / "policies")], stdin=subprocess.PIPE, stdout=subprocess.DEVNULL,
                             stderr=subprocess.PIPE, cwd=ROOT)
    fed = 0
    samples: list[tuple[int, int]] = []
    done = threading.Event()

    def sample() -> None:
        while not done.is_set():
            samples.append((fed, _rss_kib(child.pid)))
            time.sleep(0.25)

    sampler = threading.Thread(target=sample, daemon=True)
    start = time.perf_counter()
    sampler.start()
    assert child.stdin is not None
    for seed in range((args.n + CHUNK - 1) // CHUNK):
        count = min(CHUNK, args.n - fed)
        lines = "".join(json.dumps(t) + "\n" for t in make_tickets(count, seed=seed))
        child.stdin.write(lines.encode())
        fed += count
    child.stdin.close()
    assert child.stderr is not None
    err = child.stderr.read()
    child.wait()
    elapsed = time.perf_counter() - start
    done.set()
    sampler.join()

    samples = [(n, kib) for n, kib in samples if kib]
    print(f"{'lines fed':>12}  {'RSS MiB':>8}")
    shown = set()
    for n, kib in samples:
        bucket = n * 10 // max(args.n, 1)
        if bucket not in shown:
            shown.add(bucket)
            print(f"{n:>12,}  {kib / 1024:>8.1f}")
    tail = err.decode().strip().splitlines()[-1] if err else ""
    print(f"child: {tail}  exit {child.returncode}")
    print(f"{args.n:,} lines in {elapsed:.1f} s ({args.n / elapsed:,.0f} lines/s, generation included)")
    early = [kib for n, kib in samples if n >= args.n // 10]
    if not early:
        print("WRONG: no samples")
        return 1
    first, peak = early[0], max(early)
    flat = (peak - first) / 1024 <= TOLERANCE_MIB
    print(f"RSS after 10%: {first / 1024:.1f} MiB, peak after that: {peak / 1024:.1f} MiB -> "
          f"{'flat' if flat else 'GROWING'} (tolerance {TOLERANCE_MIB} MiB)")
    ok = flat and tail == f"evaluated={args.n} failed=0"
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
