"""Benchmark validating and loading a large policy set.

    python bench/bench_validate.py [--rules 500] [--calendars 50] [--slas 20] [--locations 10000]
                                   [--seed 1] [--repeat 3] [--keep DIR] [--strict]

Generates (deterministically, in a temp dir) a valid policy set in the shipped
files' format: ``--rules`` rules over the shipped fact vocabulary (equality,
in/not_in, gte/lte/gt/lt, matches, exists, datetime thresholds, nested
any/all/not), ``--calendars`` calendars (16 zones, DK/SE/NO/DE-BY/... holidays,
include/exclude, special hours, several weekly patterns), one PriorityTargets
on one of them, ``--slas`` operator SLAs (exactly one default) and
``--locations`` locations (35% bound by their own ``sla``, 15% from the SLA's
``locations:`` list, the rest on the default; 10% with a time-zone override).

Times, best of ``--repeat`` (the first, cold run is shown too):

* ``engine.validate(dir)``: every check; must return no problems;
* ``PolicySet.load(dir)``: validate + compile (calendars, rules into
  durable-rules rulesets, operator book) + digest + git revision;
* a breakdown of load: YAML parse (``_yaml``), JSON Schema (``_schemas``),
  ``read_policy_dir`` (= the two), ``run_checks`` (semantic), ``compile_documents``.

Peak RSS (``ru_maxrss``) is printed at the end.  Exit 1 if validation reports
a problem or load fails (the generator or the engine is wrong); with
``--strict`` also if load misses the goal (< 1 s).
"""
from __future__ import annotations

import argparse
import gc
import resource
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import _gen  # noqa: E402

import engine  # noqa: E402
from engine.policy.checks import run_checks  # noqa: E402
from engine.evaluation.compiled_policy import compile_documents  # noqa: E402
from engine.policy.loader import policy_files, read_policy_dir  # noqa: E402
from engine.policy.provenance import digest, git_revision  # noqa: E402
from engine.policy.schemas import schema_problems  # noqa: E402
from engine.policy.yaml_reader import decode, iter_documents  # noqa: E402

LOAD_GOAL_S = 1.0


def timed(fn, repeat: int) -> tuple[float, float, list[float], object]:
    """(first, best, all runs) in seconds, and the last result."""
    runs, result = [], None
    for _ in range(repeat):
        gc.collect()
        began = time.perf_counter()
        result = fn()
        runs.append(time.perf_counter() - began)
    return runs[0], min(runs), runs, result


def _yaml_constructor_cache() -> int:
    """How many nodes engine.policy.yaml_reader's shared constructor still holds (0 when nothing leaks)."""
    import engine.policy.yaml_reader as y
    return len(getattr(getattr(y, "_constructor", None), "constructed_objects", ()) or ())


def rss_mib() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # Linux: KiB


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--rules", type=int, default=500)
    parser.add_argument("--calendars", type=int, default=50)
    parser.add_argument("--slas", type=int, default=20)
    parser.add_argument("--locations", type=int, default=10_000)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--keep", metavar="DIR", help="write the policy set here and keep it")
    parser.add_argument("--strict", action="store_true", help=f"also exit 1 if load takes >= {LOAD_GOAL_S} s")
    args = parser.parse_args(argv)

    with tempfile.TemporaryDirectory(prefix="triage-bench-") as tmp:
        root = Path(args.keep) if args.keep else Path(tmp) / "policies"
        summary = _gen.write_policy_set(root, rules=args.rules, calendars=args.calendars, slas=args.slas,
                                        locations=args.locations, seed=args.seed)
        print(f"policy set: {summary['rules']} rules, {summary['calendars']} calendars, {summary['slas']} SLAs, "
              f"{summary['locations']:,} locations ({summary['bound_by_location']:,} bound by own sla, "
              f"{summary['bound_by_sla_side']:,} from the SLA side); {summary['bytes'] / 1024:.0f} KiB YAML in {root}")
        rss_before = rss_mib()

        failures = []
        # ---- the two public entry points; RSS after the first call of each (repeats may leak, see below)
        v_first, _, _, problems = timed(lambda: engine.validate(root), 1)
        rss_validate = rss_mib()
        try:
            l_first, _, _, policies = timed(lambda: engine.PolicySet.load(root), 1)
        except engine.PolicyError as exc:
            print(f"FAIL: PolicySet.load raised PolicyError: {exc}")
            return 1
        rss_load = rss_mib()
        _, v_best, v_runs, problems = timed(lambda: engine.validate(root), args.repeat)
        v_runs.insert(0, v_first)
        v_best = min(v_runs)
        if problems:
            failures.append(f"validate reported {len(problems)} problem(s), expected none:")
            failures.extend(f"  {p}" for p in problems[:20])
        _, l_best, l_runs, policies = timed(lambda: engine.PolicySet.load(root), args.repeat)
        l_runs.insert(0, l_first)
        l_best = min(l_runs)
        leak = _yaml_constructor_cache()
        triage = policies._compiled.triage_versions[-1]
        n_rulesets = len(triage.evaluator.compiled.rulesets)
        n_durable = sum(s.definition.count('"run"') for s in triage.evaluator.compiled.rulesets)

        # ---- breakdown (each best of repeat)
        files = policy_files(root)
        raws = [(str(p), p.read_bytes()) for p in files]

        def parse_all():
            return [d for name, raw in raws for d in iter_documents(decode(raw, name), name)]

        _, parse_best, _, sources = timed(parse_all, args.repeat)

        def schema_all():
            return [p for s in sources for p in schema_problems(s.data["kind"], s.data, s.implicit_bools)]

        _, schema_best, _, schema_found = timed(schema_all, args.repeat)
        if schema_found:
            failures.append(f"schema problems: {schema_found[:5]}")
        _, read_best, _, read = timed(lambda: read_policy_dir(root), args.repeat)
        _, checks_best, _, _ = timed(lambda: run_checks(read.documents, read.broken), args.repeat)
        _, compile_best, _, _ = timed(lambda: compile_documents(tuple(read.documents)), args.repeat)
        _, digest_best, _, _ = timed(lambda: digest(read.documents), args.repeat)
        _, git_best, _, _ = timed(lambda: git_revision(root), args.repeat)

        per_file = []
        for name, raw in raws:
            began = time.perf_counter()
            docs = list(iter_documents(decode(raw, name), name))
            mid = time.perf_counter()
            for s in docs:
                list(schema_problems(s.data["kind"], s.data, s.implicit_bools))
            per_file.append((Path(name).name, len(raw), mid - began, time.perf_counter() - mid))

    def row(label, first, best, runs=None, note=""):
        typical = sorted(runs)[len(runs) // 2] if runs else None
        cols = [f"{label:<38}", f"{first * 1000:>9.0f}" if first is not None else f"{'':>9}",
                f"{best * 1000:>9.0f}", f"{typical * 1000:>9.0f}" if typical is not None else f"{'':>9}"]
        print("  ".join(cols) + ("  " + note if note else ""))

    print()
    print(f"{'step':<38}  {'first ms':>9}  {'best ms':>9}  {'median':>9}")
    print("-" * 76)
    row("engine.validate(dir)", v_first, v_best, v_runs, f"{len(problems)} problems")
    row("PolicySet.load(dir)", l_first, l_best, l_runs,
        f"goal < {LOAD_GOAL_S * 1000:.0f} ms: {'met' if l_best < LOAD_GOAL_S else 'MISSED'}")
    print("  breakdown (best of each):")
    row("    YAML parse + positions (_yaml)", None, parse_best)
    row("    JSON Schema (_schemas)", None, schema_best)
    row("    = read_policy_dir", None, read_best)
    row("    semantic checks (run_checks)", None, checks_best)
    row("    compile_documents (incl. durable)", None, compile_best,
        note=f"{n_rulesets} rulesets, {n_durable} durable rules")
    row("    digest (canonical JSON + SHA-256)", None, digest_best)
    row("    git_revision (not a repo here)", None, git_best)
    print("  per file (one run: parse ms / schema ms):")
    for name, size, parse_s, schema_s in per_file:
        print(f"    {name:<22} {size / 1024:>7.0f} KiB  {parse_s * 1000:>7.0f}  {schema_s * 1000:>7.0f}")
    print(f"peak RSS (ru_maxrss): {rss_before:.0f} MiB after generating, {rss_validate:.0f} MiB after the first "
          f"validate, {rss_load:.0f} MiB after the first load, {rss_mib():.0f} MiB at the end "
          f"({2 * (args.repeat + 1)} validates+loads and the breakdown)")
    if leak:
        print(f"NOTE: engine.policy.yaml_reader's module-level SafeConstructor holds {leak:,} YAML nodes after the run "
              "(construct_object memoises every scalar node and nothing clears it): memory grows with every load")

    if failures:
        print("\nFAIL:")
        for line in failures:
            print(line)
        return 1
    if args.strict and l_best >= LOAD_GOAL_S:
        print(f"\nSTRICT: load best {l_best * 1000:.0f} ms misses the {LOAD_GOAL_S * 1000:.0f} ms goal")
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
