"""A short run of bench/fuzz.py: a few hundred generated tickets, ticket-file lines and mutated
policy files, each campaign in watched child processes (the full run: ``python bench/fuzz.py``).

A crash or a hang fails the test, with the input that caused it.  ``KNOWN`` lists findings in
code this harness does not own, reported and awaiting their fix; a run that no longer finds them
still passes.
"""
import pytest
import importlib.util
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
_spec = importlib.util.spec_from_file_location("triage_fuzz", ROOT / "bench" / "fuzz.py")
fuzz = sys.modules.setdefault("triage_fuzz", importlib.util.module_from_spec(_spec))
_spec.loader.exec_module(fuzz)

KNOWN: set = set()  # nothing awaiting a fix elsewhere (the lone-surrogate crash of `evaluate` is fixed)


def _unknown(report, kind):
    return [(campaign, item, detail) for campaign, item, detail in getattr(report, kind)
            if fuzz._signature(kind, campaign, detail) not in KNOWN]


@pytest.mark.slow
def test_short_fuzz_run_finds_no_crash_and_no_hang():
    report = fuzz.run(tickets=200, lines=100, policies=16, seed=12, batch=100, limit=2.0, log=lambda line: None)
    assert sum(report.tried.values()) == 316
    assert _unknown(report, "crashes") == [], fuzz.summary(report)
    assert report.hangs == [], fuzz.summary(report)
    assert report.unevaluable == [], fuzz.summary(report)
    assert report.outcomes["tickets:decision"] > 0 and report.outcomes["policies:loaded"] > 0


@pytest.mark.slow
def test_the_harness_sees_a_crash_a_hang_and_a_lost_ticket(tmp_path, monkeypatch):
    report = fuzz.Report()
    runner = fuzz.Runner(report, limit=0.0, base=3.0)
    script = tmp_path / "fake_triage.py"
    # a stand-in for `triage evaluate`: one record per line until "crash" / "hang" / "stop"
    script.write_text(
        "import json, sys, time, traceback\n"
        "for line in open(sys.argv[2], 'rb'):\n"
        "    if b'crash' in line: raise RuntimeError('boom')\n"
        "    if b'hang' in line: time.sleep(60)\n"
        "    if b'stop' in line: print('error: stopped', file=sys.stderr); sys.exit(1)\n"
        "    if line.strip(): print(json.dumps({'ok': 1}))\n")
    monkeypatch.setattr(fuzz, "TRIAGE", [fuzz.sys.executable, str(script)])
    runner._jsonl([b'{"a": 1}', b'"crash"', b"", b'{"b": 2}', b'"hang"', b'{"c": 3}', b'"stop"', b'{"d": 4}'], tmp_path)
    assert [item for _, item, _ in report.crashes] == [repr(b'"crash"')]
    assert "RuntimeError: boom" in report.crashes[0][2]
    assert [item for _, item, _ in report.hangs] == [repr(b'"hang"')]
    assert [item for _, item, _ in report.lost] == [repr(b'"stop"')]

