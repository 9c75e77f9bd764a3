"""``triage serve`` as a real process, over HTTP: the CLI's answers, every error status, the token,
the decision log, OpenAPI and the vocabulary.  (Reload, SIGTERM and load: test_serve_reload.py.)"""
from __future__ import annotations

import json
import socket
import subprocess
import sys

import httpx
import orjson
import pytest

import engine
from conftest import EXAMPLES, POLICIES
from serving import TRIAGE, Server

TICKET = {"id": "T-1", "created_at": "2024-03-27T16:00:00+01:00", "service": "charging", "symptom": "down",
          "customers_affected": 3, "workaround": False}
TOKEN = "s3cret-token-0123456789"


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    srv = Server(tmp_path_factory.mktemp("serve"), "--policies", POLICIES, "--max-body", 64 * 1024)
    yield srv
    srv.stop()


@pytest.fixture(scope="module")
def secured(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("secured")
    (tmp / "token").write_text(TOKEN + "\n")
    srv = Server(tmp, "--policies", POLICIES, "--token-file", tmp / "token")
    yield srv
    srv.stop()


def _cli(*args: str, input: bytes | None = None) -> subprocess.CompletedProcess:
    return subprocess.run([str(TRIAGE), *map(str, args)], input=input, capture_output=True)


def test_same_decisions_as_the_cli_byte_for_byte(server):
    cli = _cli("evaluate", EXAMPLES / "tickets.jsonl", "--policies", POLICIES)
    expected = cli.stdout.splitlines()
    lines = (EXAMPLES / "tickets.jsonl").read_bytes().splitlines()
    assert len(expected) == len(lines) == 58
    with httpx.Client(base_url=server.url) as client:
        for line, record in zip(lines, expected):
            response = client.post("/v1/evaluate", content=line)
            assert response.status_code == 200
            assert response.content == record
        batch = client.post("/v1/evaluate", content=b"[" + b",".join(lines) + b"]")
    assert batch.status_code == 200
    assert batch.json() == [json.loads(r) for r in expected]


@pytest.mark.slow
def test_same_status_at_now_as_the_cli(server):
    now = "2024-04-02T11:00:00+02:00"
    cli = _cli("evaluate", "-", "--policies", POLICIES, "--now", now, input=json.dumps(TICKET).encode())
    response = httpx.post(server.url + "/v1/evaluate", params={"now": now}, json=TICKET)
    assert response.status_code == 200 and response.content == cli.stdout.strip()
    assert response.json()["status"]


@pytest.mark.slow
def test_clock_and_queue_give_the_cli_records(server):
    events = [json.loads(line) for line in (EXAMPLES / "events.jsonl").read_text().splitlines() if line.strip()]
    now = "2024-04-10T12:00:00+02:00"
    for command in ("clock", "queue"):
        cli = _cli(command, EXAMPLES / "events.jsonl", "--policies", POLICIES, "--now", now)
        response = httpx.post(f"{server.url}/v1/{command}", params={"now": now}, json=events)
        assert response.status_code == 200
        assert response.json() == [json.loads(line) for line in cli.stdout.splitlines()]


def test_explain_as_data(server):
    response = httpx.post(server.url + "/v1/explain", json=TICKET)
    assert response.status_code == 200
    body = response.json()
    assert body["decision"]["priority"] == "P2"
    assert [r["id"] for r in body["matched_rules"] if r["decided"]] == ["core-feature-down"]
    assert body["due"][0]["kind"] == "response" and "Maundy Thursday" in " ".join(body["due"][0]["walk"])
    assert httpx.post(server.url + "/v1/explain", json=[TICKET, TICKET]).status_code == 400


def test_malformed_json_is_400_saying_where(server):
    for body in (b'{"id": "T-1", ', b"[{}, {]", b'{"id": "a", "id": "b"}', b"", b"[1, 2"):
        response = httpx.post(server.url + "/v1/evaluate", content=body)
        assert response.status_code == 400, body
        assert response.json()["error"]


def test_a_form_encoded_body_is_400_naming_its_content_type(server):
    """A helpdesk target set to send form fields gets an error that says what it sent; JSON sent under
    another type (curl -d sends form-urlencoded) is still read, and a JSON error keeps its words."""
    form = httpx.post(server.url + "/v1/evaluate", data={"id": "T-1", "service": "wallet"})
    assert form.status_code == 400
    assert form.json()["content_type"] == "application/x-www-form-urlencoded"
    assert "application/x-www-form-urlencoded" in form.json()["error"]
    assert "application/json" in form.json()["error"]
    for kind in ("application/x-www-form-urlencoded", "text/plain"):  # JSON, mislabelled: read as JSON
        lenient = httpx.post(server.url + "/v1/evaluate", content=json.dumps(TICKET),
                             headers={"content-type": kind})
        assert lenient.status_code == 200 and lenient.json()["priority"] == "P2"
    plain = httpx.post(server.url + "/v1/evaluate", content=b'{"id": ', headers={"content-type": "application/json"})
    assert plain.status_code == 400 and "content_type" not in plain.json()
    unlabelled = httpx.post(server.url + "/v1/evaluate", content=b'{"id": ')
    assert unlabelled.json() == plain.json()  # no type given: nothing to name
    blank = httpx.post(server.url + "/v1/evaluate", content=b'{"id": ', headers={"content-type": ""})
    assert blank.json() == plain.json()  # nor an empty header
    empty = httpx.post(server.url + "/v1/evaluate", content=b"", headers={"content-type": "text/plain"})
    assert empty.status_code == 400 and empty.json()["content_type"] == "text/plain"
    # a 400 that is not about the body says nothing of its type
    bad_now = httpx.post(server.url + "/v1/evaluate", params={"now": "soon"}, data={"id": "T-1"})
    assert bad_now.status_code == 400 and bad_now.json()["field"] == "now" and "content_type" not in bad_now.json()


def test_a_bad_ticket_is_422_with_the_cli_error_record(server):
    ticket = {**TICKET, "users_affected": "lots"}
    cli = _cli("evaluate", "-", "--input-format", "json", "--policies", POLICIES, input=json.dumps(ticket).encode())
    response = httpx.post(server.url + "/v1/evaluate", json=ticket)
    assert response.status_code == 422
    assert response.content == cli.stdout.strip()
    assert (response.json()["field"], response.json()["ticket_id"]) == ("users_affected", "T-1")


def test_an_array_keeps_one_record_per_element_in_order(server):
    body = [TICKET, {"id": "T-2"}, {**TICKET, "id": "T-3"}, "not a ticket"]
    response = httpx.post(server.url + "/v1/evaluate", json=body)
    assert response.status_code == 200
    records = response.json()
    assert [r.get("index") for r in records] == [None, 1, None, 3]
    assert [r.get("priority") for r in records] == ["P2", None, "P2", None]
    assert records[1]["field"] == "created_at"
    assert httpx.post(server.url + "/v1/evaluate", content=b"[]").json() == []


def test_an_array_nested_too_deeply_is_a_400(server):
    """400 KB of '[' held a worker for over 20 s (the streaming parser's cost grows with the square of
    the depth): past 1,024 levels an array is refused like any unreadable one, naming line and index.
    (This server takes 64 KiB bodies.)"""
    body = b'[{"id": "A"},\n' + b"[" * 30_000 + b"]" * 30_000 + b"]"
    for endpoint in ("evaluate", "clock", "queue"):
        response = httpx.post(f"{server.url}/v1/{endpoint}", content=body, timeout=20)
        assert response.status_code == 400, endpoint
        record = response.json()
        assert (record["line"], record["index"]) == (2, 1) and record["error"].startswith("invalid JSON: nested too deeply")
    assert httpx.post(server.url + "/v1/evaluate", json=TICKET).status_code == 200  # and the server serves on


def test_a_bad_now_is_400(server):
    # an empty ?now= is refused as the CLI refuses --now '', not silently ignored
    for now in ("yesterday", "2024-04-02T11:00:00", "2200-01-01T00:00:00+00:00", ""):
        for endpoint, body in (("evaluate", TICKET), ("timeline", TICKET), ("clock", [])):
            response = httpx.post(f"{server.url}/v1/{endpoint}", params={"now": now}, json=body)
            assert response.status_code == 400 and response.json()["field"] == "now", (endpoint, now)


def _raw(url: str, request: bytes, then: bytes = b"") -> bytes:
    host, port = url.removeprefix("http://").split(":")
    with socket.create_connection((host, int(port)), timeout=10) as sock:
        sock.sendall(request)
        if then:
            try:
                sock.sendall(then)
            except OSError:  # the server refused and closed: what is being tested
                pass
        chunks = []
        while True:
            try:
                chunk = sock.recv(65536)
            except ConnectionResetError:
                break
            if not chunk:
                break
            chunks.append(chunk)
    return b"".join(chunks)


def test_a_body_over_the_limit_is_413_before_it_is_read(server):
    # a Content-Length over the limit: answered at once, with not one byte of the body sent
    head = _raw(server.url, b"POST /v1/evaluate HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
                            b"Content-Length: 104857600\r\n\r\n")
    assert head.startswith(b"HTTP/1.1 413")
    assert b"larger than 65,536 bytes" in head
    # no Content-Length (chunked): counted as it streams in, refused once past the limit
    chunk = b'{"id": "' + b"x" * 4000 + b'"}'
    chunked = b"".join(b"%x\r\n%s\r\n" % (len(chunk), chunk) for _ in range(40))
    head = _raw(server.url, b"POST /v1/evaluate HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n", chunked)
    assert head.startswith(b"HTTP/1.1 413")
    assert httpx.post(server.url + "/v1/evaluate", json=TICKET).status_code == 200  # still serving


def test_no_traceback_for_unknown_paths_and_methods(server):
    assert httpx.get(server.url + "/v1/nothing").status_code == 404
    response = httpx.get(server.url + "/v1/evaluate")
    assert response.status_code == 405 and "Traceback" not in response.text
    assert httpx.get(server.url + "/static/none.js").status_code == 404


def test_the_token_guards_v1_and_leaves_health_open(secured):
    url = secured.url
    assert httpx.post(url + "/v1/evaluate", json=TICKET).status_code == 401
    for header in (f"Bearer {TOKEN}x", f"Bearer {TOKEN[:-1]}", "Bearer", f"Basic {TOKEN}", TOKEN):
        response = httpx.post(url + "/v1/evaluate", json=TICKET, headers={"Authorization": header})
        assert response.status_code == 401, header
        assert TOKEN not in response.text
    assert httpx.get(url + "/v1/policy").status_code == 401
    ok = httpx.post(url + "/v1/evaluate", json=TICKET, headers={"Authorization": f"Bearer {TOKEN}"})
    assert ok.status_code == 200 and ok.json()["priority"] == "P2"
    for path in ("/healthz", "/readyz", "/metrics", "/openapi.json"):
        assert httpx.get(url + path).status_code == 200, path
    assert TOKEN not in secured.stderr


def test_tokens_are_compared_in_constant_time(monkeypatch):
    from engine.service import auth

    calls = []
    real = auth.hmac.compare_digest
    monkeypatch.setattr(auth.hmac, "compare_digest", lambda a, b: calls.append((a, b)) or real(a, b))
    guard = auth.BearerAuth(b"right")
    assert not guard.allows(None) and not guard.allows(b"Bearer wrong") and not guard.allows(b"Basic right")
    assert guard.allows(b"Bearer right") and guard.allows(b"bearer right")
    assert len(calls) == 5  # every answer, even for a missing header, went through compare_digest


def test_metrics_count_decisions_errors_and_reloads(server):
    httpx.post(server.url + "/v1/evaluate", json=TICKET)
    httpx.post(server.url + "/v1/evaluate", content=b"{")
    text = httpx.get(server.url + "/metrics").text
    for name in ('triage_decisions_total{priority="P2"}', 'triage_request_duration_seconds_bucket{endpoint="evaluate"',
                 'triage_http_errors_total{endpoint="evaluate",status="400"}', 'triage_reloads_total{result="success"}',
                 'triage_reloads_total{result="failure"}', "triage_policy_loaded 1.0"):
        assert name in text, name


def test_openapi_ticket_schema_is_the_generated_one(server):
    document = httpx.get(server.url + "/openapi.json").json()
    assert document["openapi"].startswith("3.1")
    generated = json.loads(_cli("schema", "Ticket", "--policies", POLICIES).stdout)
    generated.pop("$schema")
    assert document["components"]["schemas"]["Ticket"] == generated
    assert {"/v1/evaluate", "/v1/explain", "/v1/clock", "/v1/queue", "/v1/policy", "/healthz"} <= set(document["paths"])


def test_vocabulary_and_policy(server):
    vocabulary = httpx.get(server.url + "/v1/vocabulary").json()
    facts = {f["name"]: f for f in vocabulary["facts"]}
    assert facts["symptom"]["type"] == "enum" and "down" in facts["symptom"]["values"]
    assert facts["users_affected"]["minimum"] == 0 and facts["id"]["required"]
    assert vocabulary["priorities"] == ["P1", "P2", "P3", "P4"]
    assert set(vocabulary["targets"]["partner-support"]["priorities"]) == {"P1", "P2", "P3", "P4"}
    assert set(facts) == set(vocabulary["ticket_schema"]["properties"])
    calendars = engine.PolicySet.load(POLICIES).calendars
    assert vocabulary["calendars"] == {name: {"timezone": cal.timezone} for name, cal in calendars.items()}
    assert vocabulary["calendars"]["partner-support"] == {"timezone": "Europe/Copenhagen"}
    policy = httpx.get(server.url + "/v1/policy").json()
    assert policy["digest"].startswith("sha256:") and policy["last_reload_error"] is None
    assert "TriagePolicy/partner-support" in policy["documents"] and policy["loaded_at"]


def test_the_page_placeholder(server):
    response = httpx.get(server.url + "/")
    assert response.status_code in (200, 404)
    if response.status_code == 200:
        assert response.headers["content-type"].startswith("text/html")


def test_decision_log(tmp_path):
    log = tmp_path / "decisions.jsonl"
    srv = Server(tmp_path, "--policies", POLICIES, "--decision-log", log)
    try:
        records = httpx.post(srv.url + "/v1/evaluate", json=[TICKET, {**TICKET, "id": "T-2"}, {"id": "bad"}]).json()
        assert srv.terminate() == 0
    finally:
        srv.stop()
    lines = [json.loads(line) for line in log.read_text().splitlines()]
    assert [line["ticket_id"] for line in lines] == ["T-1", "T-2"]  # decisions only, in order
    first = lines[0]
    assert first["priority"] == records[0]["priority"] and first["response_due"] == records[0]["response_due"]
    assert first["policy"]["digest"] == records[0]["policy"]["digest"]
    assert len({line["decision_id"] for line in lines}) == 2 and "ticket" not in first and first["time"]


@pytest.mark.slow
def test_decision_log_with_facts(tmp_path):
    log = tmp_path / "decisions.jsonl"
    srv = Server(tmp_path, "--policies", POLICIES, "--decision-log", log, "--log-facts")
    try:
        httpx.post(srv.url + "/v1/evaluate", json=TICKET)
        assert srv.terminate() == 0
    finally:
        srv.stop()
    assert json.loads(log.read_text())["ticket"] == TICKET


@pytest.mark.slow
def test_lone_surrogates_in_a_ticket_are_refused_by_field_on_every_endpoint(tmp_path):
    """JSON may escape a lone surrogate: each endpoint names the field, one record per element, the
    decision log gets nothing for it, and the next good ticket is decided and logged."""
    log = tmp_path / "decisions.jsonl"
    srv = Server(tmp_path, "--policies", POLICIES, "--decision-log", log, "--log-facts")
    hostile = (b'{"id": "T-\\ud800", "created_at": "2024-03-27T16:00:00+01:00", "service": "charging", '
               b'"symptom": "down", "customers_affected": 3, "workaround": false}')
    try:
        answers = {endpoint: httpx.post(f"{srv.url}/v1/{endpoint}", content=hostile)
                   for endpoint in ("evaluate", "explain", "timeline")}
        batch = httpx.post(srv.url + "/v1/evaluate", content=b"[" + hostile + b"," + orjson.dumps(TICKET) + b"]")
        assert srv.terminate() == 0
    finally:
        srv.stop()
    for endpoint, response in answers.items():
        assert response.status_code == 422, endpoint
        assert response.json()["field"] == "id" and response.json()["ticket_id"] == "T-\\ud800", endpoint
    records = batch.json()
    assert batch.status_code == 200 and len(records) == 2
    assert records[0]["field"] == "id" and records[1]["priority"] == "P2"
    assert [json.loads(line)["ticket_id"] for line in log.read_text().splitlines()] == ["T-1"]


@pytest.mark.slow
def test_refuses_a_public_address_without_a_token(tmp_path):
    result = _cli("serve", "--policies", POLICIES, "--host", "0.0.0.0", "--port", "0")
    assert result.returncode == 2
    assert b"--token-file" in result.stderr and b"--insecure" in result.stderr
    (tmp_path / "empty").write_text("\n")
    result = _cli("serve", "--policies", POLICIES, "--token-file", tmp_path / "empty", "--port", "0")
    assert result.returncode == 2 and b"empty" in result.stderr
    result = _cli("serve", "--policies", POLICIES, "--decision-log", tmp_path / "no" / "log", "--port", "0")
    assert result.returncode == 2 and b"cannot write --decision-log" in result.stderr


@pytest.mark.slow
def test_a_policy_set_that_does_not_load_cannot_run(tmp_path):
    (tmp_path / "bad.yaml").write_text("apiVersion: triage/v1\nkind: Nonsense\n")
    result = _cli("serve", "--policies", tmp_path, "--port", "0")
    assert result.returncode == 2 and b"bad.yaml:" in result.stderr


@pytest.mark.slow
def test_without_the_serve_extra(tmp_path):
    script = ("import sys\nsys.modules['starlette'] = None\nsys.argv = ['triage', 'serve', '--port', '0', "
              f"'--policies', {str(POLICIES)!r}]\nfrom cli import main\nmain()\n")
    result = subprocess.run([sys.executable, "-c", script], capture_output=True)
    assert result.returncode == 2
    assert b"pip install -e '.[serve]'" in result.stderr


def test_the_library_does_not_import_the_web_stack():
    script = ("import sys, engine, engine.service, cli\n"
              "print(sorted(m for m in sys.modules if m.split('.')[0] in ('starlette', 'uvicorn', 'prometheus_client')))")
    assert subprocess.run([sys.executable, "-c", script], capture_output=True, text=True).stdout.strip() == "[]"


def test_an_unexpected_error_is_a_500_without_a_traceback(caplog):
    import asyncio

    from engine.service.routes import Endpoint

    class Service:
        auth = type("NoAuth", (), {"enabled": False})()
        metrics = type("Metrics", (), {"observe": lambda self, *a: None})()

    async def broken(scope, receive):
        raise KeyError("secret internals")

    sent = []

    async def send(message):
        sent.append(message)

    asyncio.run(Endpoint(Service(), "evaluate", broken)({"type": "http", "headers": []}, None, send))
    assert sent[0]["status"] == 500
    body = json.loads(sent[1]["body"])
    assert body == {"error": "internal error; the server log has the details"}
    assert "Traceback" in caplog.text and "secret internals" in caplog.text  # in the server's log only
