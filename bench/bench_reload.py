"""Reloading: does loading and dropping a policy set give its memory back?

    python bench/bench_reload.py [--loads 300] [--tickets 200] [--mode drop|close|both]

What a service that reloads its policies does, ``--loads`` times in one process:
load the shipped set, evaluate ``--tickets`` generated tickets (so that every
durable-rules ruleset holds a state), then let it go:

* ``drop``: only the last reference is dropped (no ``close()``, no
  ``gc.collect()``): the finalizers must free the native rulesets by themselves;
* ``close``: ``with PolicySet.load(...) as policies:``, which frees them at once.

Each mode runs in a fresh process.  Reported per mode: resident memory (VmRSS)
after one warm-up load, every 50 loads and at the end, the growth and its share
per load, the Python heap growth (``tracemalloc`` off: it costs too much; the
``gc`` object count instead), and the time per load+evaluate (median, range).
The bar (issue 12): 300 loads grow RSS by less than 20 MiB.  Exits 1 if a mode
misses it.
"""
from __future__ import annotations

import argparse
import gc
import json
import statistics
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "bench"))

BAR_MIB = 20.0


def rss_mib() -> float:
    with open("/proc/self/status") as status:
        for line in status:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
    raise RuntimeError("no VmRSS in /proc/self/status")


def worker(mode: str, loads: int, n_tickets: int) -> dict:
    from _gen import make_tickets
    from engine import PolicySet

    tickets = list(make_tickets(n_tickets, seed=12))
    policies_dir = ROOT / "policies"

    def once() -> None:
        if mode == "close":
            with PolicySet.load(policies_dir, git=False) as policies:
                for _ in policies.evaluate_many(tickets):
                    pass
        else:
            policies = PolicySet.load(policies_dir, git=False)
            for _ in policies.evaluate_many(tickets):
                pass
            del policies

    once()  # imports, holiday tables, regex caches: the first load's one-off costs
    gc.collect()
    start = rss_mib()
    objects = len(gc.get_objects())
    samples, seconds = [], []
    for i in range(1, loads + 1):
        t = time.perf_counter()
        once()
        seconds.append(time.perf_counter() - t)
        if i % 50 == 0 or i == loads:
            samples.append((i, round(rss_mib() - start, 1)))
    end = rss_mib()
    return {"mode": mode, "loads": loads, "tickets": n_tickets, "start_mib": round(start, 1),
            "end_mib": round(end, 1), "growth_mib": round(end - start, 1),
            "per_load_kib": round((end - start) * 1024 / loads, 1), "samples": samples,
            "objects_growth": len(gc.get_objects()) - objects,
            "seconds_median": statistics.median(seconds), "seconds_min": min(seconds), "seconds_max": max(seconds)}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--loads", type=int, default=300)
    parser.add_argument("--tickets", type=int, default=200)
    parser.add_argument("--mode", choices=("drop", "close", "both"), default="both")
    parser.add_argument("--worker", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.worker:
        print(json.dumps(worker(args.mode, args.loads, args.tickets)))
        return 0
    failed = False
    for mode in ("drop", "close") if args.mode == "both" else (args.mode,):
        out = subprocess.run([sys.executable, __file__, "--worker", "--mode", mode, "--loads", str(args.loads),
                              "--tickets", str(args.tickets)], check=True, capture_output=True, text=True)
        r = json.loads(out.stdout.splitlines()[-1])
        ok = r["growth_mib"] < BAR_MIB
        failed |= not ok
        print(f"{mode:>5}: {r['loads']} loads x {r['tickets']} tickets: RSS {r['start_mib']} -> {r['end_mib']} MiB, "
              f"growth {r['growth_mib']} MiB ({r['per_load_kib']} KiB/load) "
              f"{'<' if ok else '>='} {BAR_MIB:g} MiB bar; gc objects {r['objects_growth']:+d}; "
              f"load+evaluate {r['seconds_median'] * 1000:.0f} ms median "
              f"({r['seconds_min'] * 1000:.0f}-{r['seconds_max'] * 1000:.0f})")
        print("       growth by loads: " + ", ".join(f"{i}: {mib}" for i, mib in r["samples"]))
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
