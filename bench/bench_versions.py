"""Evaluation throughput of this checkout against an older commit, side by side in one run.

    python bench/bench_versions.py BASE_REV [--head REV] [--n 100000] [--rounds 5] [--seed 7]

Checks ``BASE_REV`` (and ``--head REV``, else this work tree is the head) out
into temporary git worktrees (nothing in this work tree changes), generates ``--n`` tickets once with the *base* commit's
generator (``bench/_gen.py``, so every ticket is valid under both vocabularies)
and writes them to a JSONL file.  Then, for ``--rounds`` rounds, it runs one
fresh process per side, alternating which goes first; each process loads its
own shipped ``policies/``, parses the tickets, and times
``PolicySet.evaluate_many`` over them, cold (a fresh PolicySet, one pass) and
warm (the best of three more passes, with the memos filled).  Reported: median and
range per side, and the ratio of the medians.  The two sides evaluate their
own policy: the figures compare what each version does with its shipped set.
"""
from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent

WORKER = r"""
import json, sys, time
sys.path.insert(0, sys.argv[1])
from engine import PolicySet
tickets = [json.loads(line) for line in open(sys.argv[2])]
policies = PolicySet.load(sys.argv[1] + "/policies")
start = time.perf_counter(); failed = sum(1 for r in policies.evaluate_many(tickets) if not hasattr(r, "priority"))
cold = time.perf_counter() - start
warm = float("inf")
for _ in range(3):  # best of three warm passes
    start = time.perf_counter(); sum(1 for _ in policies.evaluate_many(tickets))
    warm = min(warm, time.perf_counter() - start)
print(json.dumps({"cold": len(tickets) / cold, "warm": len(tickets) / warm, "failed": failed}))
"""


def _run(side: Path, tickets: Path) -> dict:
    out = subprocess.run([sys.executable, "-c", WORKER, str(side), str(tickets)], check=True,
                         capture_output=True, text=True, env={**os.environ, "PYTHONDONTWRITEBYTECODE": "1"})
    return json.loads(out.stdout.splitlines()[-1])


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("base", help="git revision to compare against, e.g. HEAD~3")
    parser.add_argument("--head", help="git revision to measure instead of this work tree")
    parser.add_argument("--n", type=int, default=100_000)
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--seed", type=int, default=7)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="triage-bench-") as tmp:
        base = Path(tmp) / "base"
        subprocess.run(["git", "-C", str(ROOT), "worktree", "add", "-q", "--detach", str(base), args.base], check=True)
        head = ROOT
        if args.head:
            head = Path(tmp) / "head"
            subprocess.run(["git", "-C", str(ROOT), "worktree", "add", "-q", "--detach", str(head), args.head],
                           check=True)
        try:
            tickets = Path(tmp) / "tickets.jsonl"
            gen = (f"import sys, json; sys.path.insert(0, {str(base / 'bench')!r}); import _gen; "
                   f"open({str(tickets)!r}, 'w').writelines(json.dumps(t) + '\\n' "
                   f"for t in _gen.make_tickets({args.n}, seed={args.seed}))")
            subprocess.run([sys.executable, "-c", gen], check=True)
            results: dict[str, list[dict]] = {"base": [], "head": []}
            for k in range(args.rounds):
                order = [("base", base), ("head", head)]
                for name, side in (order if k % 2 == 0 else order[::-1]):
                    results[name].append(_run(side, tickets))
        finally:
            for side in {base, head} - {ROOT}:
                subprocess.run(["git", "-C", str(ROOT), "worktree", "remove", "--force", str(side)], check=False)
    rev = args.head or subprocess.run(["git", "-C", str(ROOT), "rev-parse", "--short", "HEAD"], capture_output=True,
                                      text=True).stdout.strip() + " (work tree)"
    print(f"{args.n:,} tickets, {args.rounds} rounds, alternating; base {args.base}, head {rev}")
    medians = {}
    for name in ("base", "head"):
        runs = results[name]
        for mode in ("warm", "cold"):
            values = sorted(r[mode] for r in runs)
            medians[name, mode] = statistics.median(values)
            print(f"  {name:4} {mode}: median {medians[name, mode]:>9,.0f} tickets/s  "
                  f"(range {values[0]:,.0f}-{values[-1]:,.0f}); failed tickets {runs[0]['failed']}")
    for mode in ("warm", "cold"):
        print(f"  head/base {mode}: {medians['head', mode] / medians['base', mode]:.3f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
