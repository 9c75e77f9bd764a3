"""Run durable-rules work in a child process with a watchdog, so a hang or a crash
in the C core fails a test instead of stalling CI.

* :func:`run_snippet` runs a Python snippet in a fresh interpreter with a timeout.
* :class:`DurableWorker` keeps one child alive and sends it JSON requests (one
  line each way); :meth:`DurableWorker.request` kills the child and raises
  :class:`WatchdogTimeout` when an answer takes too long, and raises
  :class:`WorkerCrashed` when the child dies.

Run as a script, this file is the worker: it reads requests on stdin.
"""
from __future__ import annotations

import json
import os
import select
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent


class WatchdogTimeout(AssertionError):
    """The child did not answer in time (it was killed)."""


class WorkerCrashed(AssertionError):
    """The child exited (e.g. a segfault in the C core)."""


@dataclass
class SnippetResult:
    returncode: int | None
    stdout: str
    stderr: str
    timed_out: bool
    seconds: float


def run_snippet(code: str, timeout: float, env: dict | None = None) -> SnippetResult:
    """Run ``code`` with this interpreter in a new process; kill it after ``timeout`` seconds."""
    full_env = dict(os.environ)
    full_env.update(env or {})
    full_env["PYTHONPATH"] = str(REPO) + os.pathsep + full_env.get("PYTHONPATH", "")
    start = time.monotonic()
    try:
        proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=timeout,
                              cwd=REPO, env=full_env)
    except subprocess.TimeoutExpired as exc:
        out = exc.stdout.decode() if isinstance(exc.stdout, bytes) else (exc.stdout or "")
        err = exc.stderr.decode() if isinstance(exc.stderr, bytes) else (exc.stderr or "")
        return SnippetResult(None, out, err, True, time.monotonic() - start)
    return SnippetResult(proc.returncode, proc.stdout, proc.stderr, False, time.monotonic() - start)


class DurableWorker:
    """One long-lived worker process answering JSON requests (see :func:`_serve`)."""

    def __init__(self, env: dict | None = None):
        full_env = dict(os.environ)
        full_env.update(env or {})
        full_env["PYTHONPATH"] = str(REPO) + os.pathsep + full_env.get("PYTHONPATH", "")
        self._stderr = tempfile.TemporaryFile(mode="w+")
        self.proc = subprocess.Popen([sys.executable, __file__], stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                                     stderr=self._stderr, cwd=REPO, env=full_env, text=True, bufsize=1)

    def request(self, payload: dict, timeout: float = 30.0) -> dict:
        if self.proc.poll() is not None:
            raise WorkerCrashed(f"worker already exited with {self.proc.returncode}: {self._stderr_tail()}")
        try:
            self.proc.stdin.write(json.dumps(payload) + "\n")
            self.proc.stdin.flush()
        except BrokenPipeError:
            self.proc.wait(5)
            raise WorkerCrashed(f"worker exited with {self.proc.returncode}: {self._stderr_tail()}") from None
        ready, _, _ = select.select([self.proc.stdout], [], [], timeout)
        if not ready:
            self.proc.kill()
            self.proc.wait(5)
            raise WatchdogTimeout(f"no answer within {timeout} s to {payload.get('op')!r}; worker killed")
        line = self.proc.stdout.readline()
        if not line:
            self.proc.wait(5)
            raise WorkerCrashed(f"worker exited with {self.proc.returncode}: {self._stderr_tail()}")
        answer = json.loads(line)
        if "exception" in answer:
            raise AssertionError(f"worker raised: {answer['exception']}")
        return answer

    def _stderr_tail(self) -> str:
        self._stderr.seek(0)
        return self._stderr.read()[-2000:]

    def close(self) -> None:
        if self.proc.poll() is None:
            try:
                self.proc.stdin.close()
                self.proc.wait(5)
            except Exception:
                self.proc.kill()
                self.proc.wait(5)
        self._stderr.close()

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()


# --------------------------------------------------------------------------- worker side


def _build(payload):
    from engine.rules.compiler import build_rules, compile_rules
    from engine.facts.vocabulary import parse_facts

    facts = parse_facts(payload["facts"])
    rules, problems = build_rules(payload["rules"], facts)
    errors = [p for p in problems if p.is_error]
    rejected = sorted({p.path[0] for p in errors if p.path})
    return facts, compile_rules(rules), [str(p) for p in errors], rejected


def _op_evaluate(payload):
    from engine.core.errors import TicketError
    from engine.facts.validator import validate_ticket
    from engine.rules.runtime import RuleEvaluator

    facts, compiled, problems, rejected = _build(payload)
    modes = payload.get("modes", ["off", "on"])
    evaluators = {mode: RuleEvaluator(compiled, facts, memo_size=0 if mode == "off" else 4096) for mode in modes}
    results = []
    for raw in payload["tickets"]:
        try:
            ticket = validate_ticket(raw, facts)
        except TicketError as exc:
            results.append({"error": str(exc)})
            continue
        row = {mode: list(ev.match(ticket)) for mode, ev in evaluators.items()}
        if "on" in evaluators:
            row["on_again"] = list(evaluators["on"].match(ticket))
            # the fused path (validation and match in one pass): None, or the same ticket and match
            fused = evaluators["on"].validate_and_match(raw)
            row["fused"] = None if fused is None else \
                [repr(list(fused[0].items())) == repr(list(ticket.items())), list(fused[1][0])]
        results.append(row)
    answer = {
        "results": results,
        "problems": problems,
        "rejected": rejected,
        "rulesets": len(compiled.rulesets),
        "stray": sum(ev.stray_actions for ev in evaluators.values()),
        "durable_calls": {mode: ev.durable_calls for mode, ev in evaluators.items()},
    }
    for ev in evaluators.values():
        ev.close()
    return answer


def _op_threads(payload):
    import threading

    from engine.facts.validator import validate_ticket
    from engine.rules.runtime import RuleEvaluator

    facts, compiled, _, _ = _build(payload)
    tickets = [validate_ticket(raw, facts) for raw in payload["tickets"]]
    evaluator = RuleEvaluator(compiled, facts, memo_size=payload.get("memo_size", 0))
    outputs: list = [None] * payload["threads"]
    errors = []

    def work(k):
        try:
            out = []
            for _ in range(payload.get("rounds", 1)):
                out.append([list(evaluator.match(t)) for t in tickets])
            outputs[k] = out
        except BaseException as exc:  # report, do not hang
            errors.append(repr(exc))

    threads = [threading.Thread(target=work, args=(k,)) for k in range(payload["threads"])]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    return {"outputs": outputs, "errors": errors, "stray": evaluator.stray_actions}


def _op_threads_started(payload):
    import threading

    from engine.rules.compiler import build_rules, compile_rules
    from engine.facts.vocabulary import parse_facts
    from engine.rules.runtime import RuleEvaluator

    facts = parse_facts(payload["facts"])
    compiled = compile_rules(build_rules(payload["rules"], facts)[0])
    before = threading.active_count()
    evaluator = RuleEvaluator(compiled, facts)
    time.sleep(payload.get("sleep", 0.5))
    return {"before": before, "after": threading.active_count(), "stray": evaluator.stray_actions}


_OPS = {"evaluate": _op_evaluate, "threads": _op_threads, "threads_started": _op_threads_started,
        "ping": lambda payload: {"pong": True}}


def _serve() -> None:
    sys.path.insert(0, str(REPO))
    for line in sys.stdin:
        payload = json.loads(line)
        try:
            answer = _OPS[payload["op"]](payload)
        except Exception as exc:  # reported to the parent, which fails the test
            import traceback

            answer = {"exception": f"{type(exc).__name__}: {exc}\n{traceback.format_exc()}"}
        sys.stdout.write(json.dumps(answer) + "\n")
        sys.stdout.flush()


if __name__ == "__main__":
    _serve()
