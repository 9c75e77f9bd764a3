"""``triage serve`` over time: hot reload under load, a broken edit, SIGHUP, SIGTERM with a request in
flight, several workers, and a bounded load test.  Each server watches a copy of the policies."""
from __future__ import annotations

import shutil
import signal
import socket
import threading
import time
from concurrent.futures import ThreadPoolExecutor

import httpx
import pytest

from conftest import POLICIES
from serving import Server, wait_for

TICKET = {"id": "T-1", "created_at": "2024-03-27T16:00:00+01:00", "service": "charging", "symptom": "down",
          "customers_affected": 3, "workaround": False}
P2_RESPONSE = "      response: 4 business_hours\n      resolution: 5 business_days"


@pytest.fixture
def policies(tmp_path):
    target = tmp_path / "policies"
    shutil.copytree(POLICIES, target)
    return target


def _edit(path, old: str, new: str) -> None:
    text = path.read_text()
    assert old in text
    path.write_text(text.replace(old, new))


def _digest(srv: Server) -> str:
    return httpx.get(srv.url + "/v1/policy").json()["digest"]


class Clients:
    """``count`` threads, each with its own keep-alive connection, sending TICKET until stopped."""

    def __init__(self, url: str, count: int = 8, limit: int | None = None) -> None:
        self.url, self.limit = url, limit
        self.stop = threading.Event()
        self.lock = threading.Lock()
        self.sent = 0
        self.failures: list[str] = []
        self.responses: dict[str, int] = {}   # policy digest -> responses that carried it
        self.threads = [threading.Thread(target=self._run, daemon=True) for _ in range(count)]
        for thread in self.threads:
            thread.start()

    def _next(self) -> bool:
        with self.lock:
            if self.stop.is_set() or (self.limit is not None and self.sent >= self.limit):
                return False
            self.sent += 1
            return True

    def _run(self) -> None:
        with httpx.Client(base_url=self.url, timeout=30) as client:
            while self._next():
                try:
                    response = client.post("/v1/evaluate", json=TICKET)
                except httpx.HTTPError as exc:
                    with self.lock:
                        self.failures.append(repr(exc))
                    continue
                with self.lock:
                    if response.status_code != 200:
                        self.failures.append(f"{response.status_code} {response.text[:200]}")
                    else:
                        digest = response.json()["policy"]["digest"]
                        self.responses[digest] = self.responses.get(digest, 0) + 1

    def join(self) -> None:
        self.stop.set()
        for thread in self.threads:
            thread.join(60)


@pytest.mark.slow
def test_a_good_edit_is_reloaded_while_8_clients_send_with_no_failed_request(tmp_path, policies):
    srv = Server(tmp_path, "--policies", policies, "--reload-interval", "0.1")
    try:
        before = _digest(srv)
        clients = Clients(srv.url, 8)
        wait_for(lambda: clients.sent >= 200)
        _edit(policies / "priorities.yaml", P2_RESPONSE, P2_RESPONSE.replace("4 business_hours", "3 business_hours"))
        after = wait_for(lambda: (d := _digest(srv)) != before and d)
        wait_for(lambda: clients.responses.get(after, 0) >= 200)
        clients.join()
        assert clients.failures == []
        assert clients.responses[before] > 0 and clients.responses[after] >= 200
        assert httpx.post(srv.url + "/v1/evaluate", json=TICKET).json()["response_due"] == "2024-04-02T11:00:00+02:00"
        assert srv.terminate() == 0
    finally:
        srv.stop()


@pytest.mark.slow
def test_a_broken_edit_keeps_the_old_set_serving_and_says_where(tmp_path, policies):
    srv = Server(tmp_path, "--policies", policies, "--reload-interval", "0.1")
    try:
        before = _digest(srv)
        _edit(policies / "priorities.yaml", "response: 4 business_hours", "response: 4 buisness_hours")
        error = wait_for(lambda: httpx.get(srv.url + "/v1/policy").json()["last_reload_error"])
        texts = [p["text"] for p in error["problems"]]
        assert any(t.startswith(f"{policies / 'priorities.yaml'}:22:") and "business_hours" in t for t in texts), texts
        assert error["problems"][0]["line"] == 22 and error["problems"][0]["col"]
        assert _digest(srv) == before
        assert httpx.get(srv.url + "/readyz").status_code == 200
        response = httpx.post(srv.url + "/v1/evaluate", json=TICKET)
        assert response.status_code == 200 and response.json()["policy"]["digest"] == before
        assert 'triage_reloads_total{result="failure"} 1.0' in httpx.get(srv.url + "/metrics").text
        _edit(policies / "priorities.yaml", "response: 4 buisness_hours", "response: 4 business_hours")
        wait_for(lambda: httpx.get(srv.url + "/v1/policy").json()["last_reload_error"] is None)
    finally:
        srv.stop()


@pytest.mark.slow
def test_sighup_forces_a_reload(tmp_path, policies):
    srv = Server(tmp_path, "--policies", policies, "--reload-interval", "3600")
    try:
        loaded_at = httpx.get(srv.url + "/v1/policy").json()["loaded_at"]
        time.sleep(0.01)
        srv.proc.send_signal(signal.SIGHUP)
        wait_for(lambda: httpx.get(srv.url + "/v1/policy").json()["loaded_at"] != loaded_at)
        assert 'triage_reloads_total{result="success"} 1.0' in httpx.get(srv.url + "/metrics").text
    finally:
        srv.stop()


def test_sigterm_lets_the_request_in_flight_finish_and_exits_0(tmp_path):
    srv = Server(tmp_path, "--policies", POLICIES)
    try:
        body = httpx.Request("POST", "/", json=TICKET).content
        host, port = srv.url.removeprefix("http://").split(":")
        with socket.create_connection((host, int(port)), timeout=30) as sock:
            sock.sendall(b"POST /v1/evaluate HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
                         b"Content-Length: %d\r\n\r\n%s" % (len(body), body[:20]))
            time.sleep(0.3)
            srv.proc.send_signal(signal.SIGTERM)  # half the body is in: the request is in flight
            time.sleep(0.5)
            assert srv.proc.poll() is None       # still waiting for it
            sock.sendall(body[20:])
            response = b""
            while b'"policy"' not in response or not response.endswith(b"}"):
                chunk = sock.recv(65536)
                if not chunk:
                    break
                response += chunk
        assert response.startswith(b"HTTP/1.1 200") and b'"priority":"P2"' in response
        assert srv.proc.wait(30) == 0
    finally:
        srv.stop()


@pytest.mark.slow
def test_two_workers_serve_reload_and_stop_cleanly(tmp_path, policies):
    srv = Server(tmp_path, "--policies", policies, "--workers", "2", "--reload-interval", "0.1")
    try:
        before = _digest(srv)
        clients = Clients(srv.url, 4)
        wait_for(lambda: clients.sent >= 100)
        _edit(policies / "priorities.yaml", P2_RESPONSE, P2_RESPONSE.replace("4 business_hours", "3 business_hours"))
        # each worker reloads on its own: wait until a run of answers all carry the new digest
        wait_for(lambda: sum(_digest(srv) != before for _ in range(10)) == 10)
        clients.join()
        assert clients.failures == [] and len(clients.responses) == 2
        assert srv.terminate() == 0
    finally:
        srv.stop()


@pytest.mark.slow
def test_every_scrape_of_two_workers_counts_the_requests_of_both(tmp_path, policies):
    """The workers share one socket, so a scrape reaches either: each must answer for both (summed
    counters and histograms), or rates computed from the scrapes jump between the workers' counts."""
    srv = Server(tmp_path, "--policies", policies, "--workers", "2")
    try:
        def send(_: int) -> int:  # a fresh connection each time: the kernel hands them to either worker
            return sum(httpx.post(srv.url + "/v1/evaluate", json=TICKET).status_code == 200 for _ in range(15))

        with ThreadPoolExecutor(8) as pool:
            assert sum(pool.map(send, range(8))) == 120
        httpx.post(srv.url + "/v1/evaluate", content=b"{")
        for _ in range(20):
            text = httpx.get(srv.url + "/metrics").text
            assert 'triage_decisions_total{priority="P2"} 120.0' in text
            assert 'triage_request_duration_seconds_count{endpoint="evaluate"} 121.0' in text
            assert 'triage_http_errors_total{endpoint="evaluate",status="400"} 1.0' in text
            assert "triage_policy_loaded 1.0" in text
        # SIGHUP to the main process replaces the workers: the new ones load the set (2 more successful
        # loads), and the counts of the old ones stay in every scrape (no counter reset)
        srv.proc.send_signal(signal.SIGHUP)
        def replaced() -> bool:  # one scrape: both new workers have loaded, and say so
            text = httpx.get(srv.url + "/metrics").text
            return 'triage_reloads_total{result="success"} 4.0' in text and "triage_policy_loaded 1.0" in text

        wait_for(replaced)
        for _ in range(10):
            text = httpx.get(srv.url + "/metrics").text
            assert 'triage_decisions_total{priority="P2"} 120.0' in text and "triage_policy_loaded 1.0" in text
        assert srv.terminate() == 0
    finally:
        srv.stop()


@pytest.mark.slow
def test_bounded_load_5000_requests(tmp_path):
    srv = Server(tmp_path, "--policies", POLICIES)
    try:
        clients = Clients(srv.url, 8, limit=5000)
        for thread in clients.threads:
            thread.join(300)
        assert clients.sent == 5000 and clients.failures == [] and sum(clients.responses.values()) == 5000
        metrics = httpx.get(srv.url + "/metrics").text
        assert 'triage_decisions_total{priority="P2"} 5000.0' in metrics
        assert srv.terminate() == 0
    finally:
        srv.stop()
