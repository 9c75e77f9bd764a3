"""Impact of a policy change over a ticket corpus: time for 100,000 tickets under two versions.

Builds a git repository with the shipped policies, commits them, changes one
rule's priority and one target in the work tree, writes N generated tickets
as JSONL, then times, in one run:

* the library path: ``PolicySet.at_revision("HEAD")`` + ``PolicySet.load``
  + ``read_tickets`` + ``compare`` (what ``triage impact`` does), and
* the command itself, ``triage impact --base HEAD tickets.jsonl``, as a subprocess
  (three runs; it evaluates base and head in two processes).

Goal: under 10 s for 100,000 tickets.  Exits 1 if the report is wrong (the
changed rule must move tickets between exactly the expected priorities).

    python bench/bench_impact.py [--n 100000]
"""
from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _gen import make_tickets  # noqa: E402

from engine import PolicySet, read_tickets  # noqa: E402

ROOT = Path(__file__).resolve().parent.parent


def _git(repo: Path, *args: str) -> None:
    subprocess.run(["git", "-C", str(repo), "-c", "user.email=b@example.com", "-c", "user.name=bench", *args],
                   check=True, capture_output=True)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n", type=int, default=100_000)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="bench-impact-") as tmp:
        repo = Path(tmp)
        shutil.copytree(ROOT / "policies", repo / "policies")
        _git(repo, "init", "-q")
        _git(repo, "add", ".")
        _git(repo, "commit", "-q", "-m", "base")
        triage = repo / "policies" / "triage.yaml"
        text = triage.read_text()
        old = "      description: Exports not working\n      priority: P3"
        assert old in text
        triage.write_text(text.replace(old, "      description: Exports not working\n      priority: P2"))
        targets = repo / "policies" / "priorities.yaml"
        targets.write_text(targets.read_text().replace("resolution: 20 business_days", "resolution: 15 business_days"))

        t = time.perf_counter()
        tickets = make_tickets(args.n)
        corpus = repo / "tickets.jsonl"
        with open(corpus, "w") as handle:
            for ticket in tickets:
                handle.write(json.dumps(ticket) + "\n")
        generate = time.perf_counter() - t

        os.chdir(repo)
        t = time.perf_counter()
        base = PolicySet.at_revision("HEAD", "policies")
        head = PolicySet.load("policies")
        load = time.perf_counter() - t
        t = time.perf_counter()
        with open(corpus, "rb") as handle:
            report = base.compare(head, read_tickets(handle))
        compare = time.perf_counter() - t

        runs = []
        for _ in range(3):  # this machine's timings vary by tens of percent from run to run
            t = time.perf_counter()
            cli = subprocess.run([sys.executable, str(ROOT / "cli.py"), "impact", "--base", "HEAD", str(corpus),
                                  "--format", "json"], capture_output=True, text=True)
            runs.append(time.perf_counter() - t)
            cli_report = json.loads(cli.stdout) if cli.returncode == 0 else None
        command, typical = min(runs), sorted(runs)[1]

    matrix = report.matrix
    wrong = []
    moved = {(b, h) for b, row in matrix.items() for h, n in row.items() if n}
    if not moved <= {("P3", "P2")}:
        wrong.append(f"unexpected priority transitions {sorted(moved)}")
    if report.priority_changed == 0:
        wrong.append("no ticket changed priority")
    if cli_report is None or cli_report["priority_changed"] != report.priority_changed:
        wrong.append(f"the command disagrees with the library: {cli.stderr[-500:]}")

    total = load + compare
    print(f"tickets: {args.n:,} (generated and written in {generate:.2f} s)")
    print(f"{'step':<44}{'seconds':>10}")
    print(f"{'load base (from git) + head':<44}{load:>10.2f}")
    print(f"{'read + evaluate twice + compare':<44}{compare:>10.2f}")
    print(f"{'library total':<44}{total:>10.2f}   ({args.n / compare:,.0f} tickets/s through both versions)")
    print(f"{'triage impact --base HEAD (subprocess), best':<44}{command:>10.2f}   (median of 3: {typical:.2f})")
    print(f"changed: {report.changed:,}  priority: {report.priority_changed:,}  due dates: {report.due_moved:,}  "
          f"operator SLA: {report.operator_changed:,}")
    print(f"goal: under 10 s -> {'met' if typical < 10 else 'MISSED'} (median)")
    for message in wrong:
        print("WRONG:", message)
    return 1 if wrong else 0


if __name__ == "__main__":
    sys.exit(main())
