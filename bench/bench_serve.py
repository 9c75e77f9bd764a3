"""The decision service under load, with the server and the load generator on this machine, in one run.

    python bench/bench_serve.py [--requests 20000] [--batches 48] [--batch-connections 16] [--rounds 3] [--reloads 20] [--workers 2]

Starts ``triage serve --workers 2 --port 0`` on a copy of the shipped policies and drives it from
this process with a minimal HTTP/1.1 client (asyncio, one keep-alive connection per task, requests
prebuilt as bytes, responses read by Content-Length): the client costs far less than httpx, and
its CPU time is reported, since on 2 cores it competes with the two workers.  All traffic goes to
127.0.0.1, and every phase is bounded by a request count and a time limit.  In ``--rounds``
alternating rounds:

  a. single tickets: ``--requests`` POST /v1/evaluate of one ticket each, over 16 connections:
     requests/s, p50 and p99 latency (client-side, request written to response read);
  b. batches: ``--batches`` POSTs of 1,000 tickets each, over ``--batch-connections`` connections
     (default 16, as for single tickets: the workers share one listening socket and the kernel
     hands each connection to whichever accepts first, so with 2 or 4 connections one worker often
     gets them all and the other idles): tickets/s, p50/p99;
  c. in-process: ``PolicySet.evaluate_many`` over the same tickets in this process (warm, one
     core), tickets/s, alone and with ``to_json()`` (what the server also does per ticket).

Then 20 reloads under load: 16 connections keep sending single tickets while priorities.yaml is
edited 20 times (P2's response target toggled); after each edit the run waits until fresh
connections see the new digest on both workers.  It reports failed requests (goal: 0) and the
resident memory (VmRSS) of the worker processes before and after (goal: within 20 MiB).

Goals: (a) at least 3,000 requests/s; (b) at least half of (c).  Exit 1 if a goal is missed.
Before measuring, 200 server answers are compared byte for byte with ``Decision.to_json()``.
"""
from __future__ import annotations

import argparse
import asyncio
import os
import re
import shutil
import signal
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path

import orjson

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _gen import make_tickets  # noqa: E402
from _measure import consume  # noqa: E402

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
import engine  # noqa: E402

TRIAGE = Path(sys.executable).with_name("triage")
OLD = "response: 4 business_hours\n      resolution: 5 business_days"
NEW = "response: 3 business_hours\n      resolution: 5 business_days"
_LENGTH = re.compile(rb"content-length: *(\d+)", re.IGNORECASE)


def request_bytes(body: bytes) -> bytes:
    return (b"POST /v1/evaluate HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\n"
            b"Content-Length: %d\r\n\r\n%s" % (len(body), body))


class Load:
    """Sends prebuilt requests over ``connections`` keep-alive connections until ``count`` are sent,
    ``seconds`` have passed, or ``stop`` is set; records latencies, failures and bodies (some)."""

    def __init__(self, port: int, requests: list[bytes], connections: int, count: int | None, seconds: float,
                 keep: int = 0) -> None:
        self.port, self.requests, self.connections = port, requests, connections
        self.count, self.seconds, self.keep = count, seconds, keep
        self.sent = 0
        self.latencies: list[float] = []
        self.failures: list[str] = []
        self.kept: list[tuple[int, bytes]] = []
        self.stop = False

    async def _connection(self, deadline: float) -> None:
        try:
            reader, writer = await asyncio.open_connection("127.0.0.1", self.port)
        except OSError as exc:
            self.failures.append(f"connect: {exc}")
            return
        requests, n, perf = self.requests, len(self.requests), time.perf_counter
        lat = self.latencies
        try:
            while not self.stop and (self.count is None or self.sent < self.count) and perf() < deadline:
                i = self.sent
                self.sent += 1
                start = perf()
                writer.write(requests[i % n])
                head = await reader.readuntil(b"\r\n\r\n")
                body = await reader.readexactly(int(_LENGTH.search(head).group(1)))
                lat.append(perf() - start)
                if head[9:12] != b"200":
                    self.failures.append(f"{head[9:12].decode()} {body[:200]!r}")
                elif len(self.kept) < self.keep:
                    self.kept.append((i % n, body))
        except (OSError, asyncio.IncompleteReadError) as exc:
            self.failures.append(f"connection: {exc!r}")
        finally:
            writer.close()

    async def run(self) -> float:
        start = time.perf_counter()
        deadline = start + self.seconds
        await asyncio.gather(*(self._connection(deadline) for _ in range(self.connections)))
        return time.perf_counter() - start


def new_loop() -> asyncio.AbstractEventLoop:
    try:
        import uvloop
        return uvloop.new_event_loop()
    except ImportError:
        return asyncio.new_event_loop()


def percentile(values: list[float], p: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(len(ordered) * p / 100))] if ordered else float("nan")


def children(pid: int) -> list[int]:
    try:
        with open(f"/proc/{pid}/task/{pid}/children") as handle:
            return [int(x) for x in handle.read().split()]
    except OSError:
        return []


def rss_mib(pid: int) -> float:
    with open(f"/proc/{pid}/status") as status:
        for line in status:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
    return 0.0


def workers_of(pid: int) -> list[int]:
    """uvicorn's worker processes: the supervisor's children other than multiprocessing's helper."""
    found = []
    for child in children(pid):
        try:
            cmd = Path(f"/proc/{child}/cmdline").read_bytes()
        except OSError:
            continue
        if b"resource_tracker" not in cmd:
            found.append(child)
    return found


def cpu_seconds(pids: list[int]) -> float:
    """User and system CPU time used so far by ``pids``."""
    total = 0
    for pid in pids:
        try:
            fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        total += int(fields[11]) + int(fields[12])
    return total / os.sysconf("SC_CLK_TCK")


def get(port: int, path: str) -> dict:
    with urllib.request.urlopen(f"http://127.0.0.1:{port}{path}", timeout=10) as response:  # a new connection
        return orjson.loads(response.read())


def start_server(policies: Path, workers: int, err: Path) -> tuple[subprocess.Popen, int]:
    handle = open(err, "wb")
    proc = subprocess.Popen([str(TRIAGE), "serve", "--policies", str(policies), "--port", "0", "--workers",
                             str(workers), "--reload-interval", "0.2"], stdout=subprocess.DEVNULL, stderr=handle,
                            start_new_session=True)
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        match = re.search(r"listening on http://127\.0\.0\.1:(\d+) ", err.read_text())
        if match:
            port = int(match.group(1))
            while time.monotonic() < deadline:
                try:
                    if get(port, "/readyz")["status"] == "ready" and len(workers_of(proc.pid)) >= workers:
                        return proc, port
                except OSError:
                    pass
                time.sleep(0.1)
        if proc.poll() is not None:
            break
        time.sleep(0.1)
    proc.kill()
    raise SystemExit(f"the server did not start: {err.read_text()}")


def stop_server(proc: subprocess.Popen) -> int:
    proc.send_signal(signal.SIGTERM)
    try:
        return proc.wait(60)
    except subprocess.TimeoutExpired:
        proc.kill()
        return proc.wait()
    finally:
        try:
            os.killpg(proc.pid, signal.SIGKILL)
        except (ProcessLookupError, PermissionError):
            pass


def fmt_range(values: list[float], unit: str = "", scale: float = 1.0, digits: int = 0) -> str:
    vs = [v * scale for v in values]
    return f"{statistics.median(vs):,.{digits}f}{unit} ({min(vs):,.{digits}f}-{max(vs):,.{digits}f})"


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--requests", type=int, default=20_000, help="single-ticket requests per round")
    parser.add_argument("--batches", type=int, default=48, help="1,000-ticket batches per round")
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--reloads", type=int, default=20)
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--connections", type=int, default=16)
    parser.add_argument("--batch-connections", type=int, default=16, help="connections sending batches")
    parser.add_argument("--seconds", type=float, default=60, help="time limit of each phase")
    args = parser.parse_args()

    tmp = Path(tempfile.mkdtemp(prefix="bench-serve-"))
    policies = tmp / "policies"
    shutil.copytree(ROOT / "policies", policies)
    local = engine.PolicySet.load(policies)
    tickets = make_tickets(max(args.batches * 1000, 2000), seed=11)
    singles = [request_bytes(orjson.dumps(t)) for t in tickets[:2000]]
    batches = [request_bytes(orjson.dumps(tickets[i:i + 1000])) for i in range(0, args.batches * 1000, 1000)]
    loop = new_loop()
    proc, port = start_server(policies, args.workers, tmp / "serve.err")
    failed_goals = []
    try:
        # warm-up, and the answers checked against the library's
        warm = Load(port, singles, args.connections, 2000, args.seconds, keep=200)
        loop.run_until_complete(warm.run())
        mismatched = sum(body != local.evaluate(tickets[i]).to_json() for i, body in warm.kept)
        print(f"server answers checked against Decision.to_json(): {len(warm.kept)}, mismatched {mismatched}; "
              f"warm-up failures {len(warm.failures)}")
        if mismatched or warm.failures:
            failed_goals.append("answers")
        results: dict[str, list[float]] = {k: [] for k in ("rps", "p50", "p99", "client_cpu", "server_us", "bps",
                                                            "bp50", "bp99", "inproc", "inproc_json")}
        pids = workers_of(proc.pid)
        for round_no in range(args.rounds):
            cpu, server_cpu = time.process_time(), cpu_seconds(pids)
            single = Load(port, singles, args.connections, args.requests, args.seconds)
            wall = loop.run_until_complete(single.run())
            results["client_cpu"].append((time.process_time() - cpu) / wall)
            results["server_us"].append((cpu_seconds(pids) - server_cpu) / max(1, len(single.latencies)))
            results["rps"].append(len(single.latencies) / wall)
            results["p50"].append(percentile(single.latencies, 50))
            results["p99"].append(percentile(single.latencies, 99))
            batch = Load(port, batches, args.batch_connections, len(batches), args.seconds)
            wall = loop.run_until_complete(batch.run())
            results["bps"].append(len(batch.latencies) * 1000 / wall)
            results["bp50"].append(percentile(batch.latencies, 50))
            results["bp99"].append(percentile(batch.latencies, 99))
            same = tickets[:len(batches) * 1000]
            consume(local.evaluate_many(same[:2000]))  # warm
            start = time.perf_counter()
            consume(local.evaluate_many(same))
            results["inproc"].append(len(same) / (time.perf_counter() - start))
            start = time.perf_counter()
            consume(d.to_json() for d in local.evaluate_many(same))
            results["inproc_json"].append(len(same) / (time.perf_counter() - start))
            failures = single.failures + batch.failures
            print(f"round {round_no + 1}: single {results['rps'][-1]:,.0f} req/s (p50 {results['p50'][-1] * 1e3:.2f} ms, "
                  f"p99 {results['p99'][-1] * 1e3:.2f} ms, server CPU {results['server_us'][-1] * 1e6:.0f} µs/request, "
                  f"client CPU {results['client_cpu'][-1]:.0%} of a core); "
                  f"batches {results['bps'][-1]:,.0f} tickets/s (p50 {results['bp50'][-1] * 1e3:.0f} ms, "
                  f"p99 {results['bp99'][-1] * 1e3:.0f} ms); in-process evaluate_many {results['inproc'][-1]:,.0f}/s, "
                  f"with to_json {results['inproc_json'][-1]:,.0f}/s; failures {len(failures)}", flush=True)
            if failures:
                failed_goals.append("failures")
        rps = statistics.median(results["rps"])
        ratio = [b / i for b, i in zip(results["bps"], results["inproc"])]
        print(f"\nsingle tickets over {args.connections} connections, --workers {args.workers}: "
              f"{fmt_range(results['rps'], ' req/s')}; p50 {fmt_range(results['p50'], ' ms', 1e3, 2)}, "
              f"p99 {fmt_range(results['p99'], ' ms', 1e3, 2)}; server CPU per request "
              f"{fmt_range(results['server_us'], ' µs', 1e6)} (both workers); the client used "
              f"{fmt_range(results['client_cpu'], '%', 100)} of a core")
        print(f"1,000-ticket batches: {fmt_range(results['bps'], ' tickets/s')}; p50 "
              f"{fmt_range(results['bp50'], ' ms', 1e3)}, p99 {fmt_range(results['bp99'], ' ms', 1e3)}")
        print(f"in-process evaluate_many: {fmt_range(results['inproc'], ' tickets/s')} (with to_json "
              f"{fmt_range(results['inproc_json'], ' tickets/s')}); batches / in-process: "
              f"{fmt_range(ratio, '', 1, 2)}")
        if rps < 3000:
            failed_goals.append(f"single {rps:,.0f} req/s < 3,000")
        if statistics.median(ratio) < 0.5:
            failed_goals.append(f"batches {statistics.median(ratio):.2f}x in-process < 0.5x")

        # 20 reloads under load
        workers = workers_of(proc.pid)
        before = {pid: rss_mib(pid) for pid in workers}
        load = Load(port, singles, args.connections, None, 600)
        task = loop.create_task(load.run())
        priorities = policies / "priorities.yaml"
        text = priorities.read_text()
        digests = set()
        reload_start = time.perf_counter()

        async def reloads() -> None:
            for i in range(args.reloads):
                priorities.write_text(text.replace(OLD, NEW) if i % 2 == 0 else text)
                expected = (engine.PolicySet.load(policies, git=False)).digest
                deadline = time.monotonic() + 30
                seen = 0
                while seen < 8 and time.monotonic() < deadline:  # fresh connections reach both workers
                    await asyncio.sleep(0.05)
                    digest = (await loop.run_in_executor(None, get, port, "/v1/policy"))["digest"]
                    seen = seen + 1 if digest == expected else 0
                if seen < 8:
                    raise SystemExit(f"reload {i + 1} not seen within 30 s")
                digests.add(expected)
            await asyncio.sleep(1.0)
            load.stop = True

        loop.run_until_complete(reloads())
        loop.run_until_complete(task)
        wall = time.perf_counter() - reload_start
        after = {pid: rss_mib(pid) for pid in workers_of(proc.pid)}
        growth = sum(after.values()) - sum(before.values())
        reload_metrics = get_metrics(port)
        print(f"\n{args.reloads} reloads under load ({len(digests)} digests, {wall:.1f} s): {len(load.latencies):,} "
              f"requests, {len(load.failures)} failed; worker VmRSS before "
              f"{', '.join(f'{v:.1f}' for v in before.values())} MiB, after {', '.join(f'{v:.1f}' for v in after.values())} "
              f"MiB: {growth:+.1f} MiB in all ({reload_metrics})")
        if load.failures:
            print("  first failures:", load.failures[:3])
            failed_goals.append("failed requests during reloads")
        if any(abs(after.get(pid, 0) - before[pid]) > 20 for pid in before) or set(after) != set(before):
            failed_goals.append("resident memory after the reloads")
    finally:
        code = stop_server(proc)
        shutil.rmtree(tmp, ignore_errors=True)
    print(f"server exit code after SIGTERM: {code}")
    if failed_goals:
        print("goals missed:", "; ".join(failed_goals))
        return 1
    print("goals met")
    return 0


def get_metrics(port: int) -> str:
    with urllib.request.urlopen(f"http://127.0.0.1:{port}/metrics", timeout=10) as response:
        text = response.read().decode()
    found = re.findall(r'triage_reloads_total\{result="(\w+)"\} ([\d.]+)', text)
    return "reloads, all workers: " + ", ".join(f"{k} {float(v):g}" for k, v in found)


if __name__ == "__main__":
    sys.exit(main())
