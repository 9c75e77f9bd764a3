"""The HTTP endpoints, as plain ASGI callables routed by Starlette.

``Endpoint`` does what every endpoint shares: the bearer token on ``/v1/*``, the latency and
error metrics, and the rule that no traceback reaches a client (an unexpected error is logged on
the server and answered with a 500 JSON message).  Each handler returns (status, body, content
type); the body is the CLI's JSON for tickets, events and records.
"""
from __future__ import annotations

import logging
import time
from typing import Awaitable, Callable
from urllib.parse import parse_qs

import orjson
from anyio import to_thread
from starlette.routing import Route

from . import decide
from ..report.tickets import printable_json
from .body import BadContentLength, BodyTooLarge, read_body
from .openapi import openapi_document

JSON = b"application/json"
log = logging.getLogger("triage.serve")
Handler = Callable[[dict, Callable], Awaitable[tuple[int, bytes, bytes]]]
_INLINE = 64 * 1024  # bodies up to this size are answered on the event loop; larger ones in a thread
_UNAUTHORIZED = orjson.dumps({"error": "missing or wrong bearer token: send 'Authorization: Bearer <token>'"})
NOT_READY = orjson.dumps({"error": "no valid policy set is loaded yet; see GET /v1/policy"})


async def send_json(send, status: int, body: bytes, content_type: bytes = JSON, extra: list | None = None) -> None:
    headers = [(b"content-type", content_type), (b"content-length", str(len(body)).encode())]
    if extra:
        headers.extend(extra)
    await send({"type": "http.response.start", "status": status, "headers": headers})
    await send({"type": "http.response.body", "body": body})


class Endpoint:
    """One route's ASGI app: authentication, metrics and error handling around ``handler``."""

    def __init__(self, service, name: str, handler: Handler, auth: bool = True) -> None:
        self.service, self.name, self.handler, self.auth = service, name, handler, auth

    async def __call__(self, scope: dict, receive: Callable, send: Callable) -> None:
        start = time.perf_counter()
        service = self.service
        extra = None
        if self.auth and service.auth.enabled and not service.auth.allows(_header(scope, b"authorization")):
            status, body, content_type = 401, _UNAUTHORIZED, JSON
            extra = [(b"www-authenticate", b'Bearer realm="triage"')]
        else:
            try:
                status, body, content_type = await self.handler(scope, receive)
            except BodyTooLarge as exc:
                status, body, content_type = 413, orjson.dumps({"error": str(exc)}), JSON
                extra = [(b"connection", b"close")]
            except BadContentLength as exc:
                status, body, content_type = 400, orjson.dumps({"error": str(exc)}), JSON
            except Exception:  # noqa: BLE001 - logged here, never shown to the client
                log.exception("internal error on %s", self.name)
                status, body, content_type = 500, orjson.dumps(
                    {"error": "internal error; the server log has the details"}), JSON
        if status == 400:
            body = _content_type_hint(scope, body)
        await send_json(send, status, body, content_type, extra)
        service.metrics.observe(self.name, time.perf_counter() - start, status)


def _content_type_hint(scope: dict, body: bytes) -> bytes:
    """A 400 for an unreadable body that says it is not JSON (a helpdesk target sending form fields,
    say): the error says so.  A body sent as JSON under another type is still read (a client that says
    text/plain or nothing at all is common); only a body that cannot be read names the type."""
    declared = _header(scope, b"content-type")
    if declared is None or b"json" in declared.lower():
        return body
    try:
        record = orjson.loads(body)
    except orjson.JSONDecodeError:
        return body
    # the body's own error records (the reader's, with the line) and an empty body; not ?now= and the like
    if type(record) is not dict or type(record.get("error")) is not str or \
            ("line" not in record and record["error"] != decide.EMPTY_BODY):
        return body
    kind = declared.decode("latin-1").split(";")[0].strip()
    if not kind:  # an empty header names no type
        return body
    record["error"] += (f" (the request says Content-Type: {kind}; send the body as JSON, "
                        "with Content-Type: application/json)")
    record["content_type"] = kind
    return printable_json(record)


def _header(scope: dict, name: bytes) -> bytes | None:
    for key, value in scope["headers"]:
        if key == name:
            return value
    return None


def query_param(scope: dict, name: str) -> str | None:
    """The last ``name=`` of the query string; an empty value is kept (``?now=`` is refused, not ignored)."""
    raw = scope.get("query_string") or b""
    if not raw:
        return None
    values = parse_qs(raw.decode("latin-1"), keep_blank_values=True).get(name)
    return values[-1] if values else None


async def body_and_policies(service, scope: dict, receive: Callable):
    """The request body (within ``--max-body``) and the policy set serving now (None before one loads)."""
    body = await read_body(scope, receive, service.config.max_body)
    loaded = service.holder.current
    return body, (loaded.policies if loaded is not None else None)


def api_routes(service) -> list[Route]:
    """The ``/v1/*`` decision endpoints and the open ones (health, readiness, metrics, OpenAPI)."""

    async def answer(compute: Callable[[], decide.Answer], size: int) -> decide.Answer:
        if size <= _INLINE:
            return compute()
        return await to_thread.run_sync(compute)

    async def evaluate(scope: dict, receive: Callable):
        body, policies = await body_and_policies(service, scope, receive)
        if policies is None:
            return 503, NOT_READY, JSON
        at, refused = decide.parse_now(query_param(scope, "now"), policies)
        result = refused or await answer(lambda: decide.evaluate(policies, body, at, service.log), len(body))
        if result.priorities:
            for priority, count in result.priorities.items():
                service.metrics.decided(priority, count)
        if result.failed:
            service.metrics.ticket_errors.inc(result.failed)
        return result.status, result.body, JSON

    async def explain(scope: dict, receive: Callable):
        body, policies = await body_and_policies(service, scope, receive)
        if policies is None:
            return 503, NOT_READY, JSON
        result = await answer(lambda: decide.explain(policies, body), len(body))
        return result.status, result.body, JSON

    def clock_endpoint(queue: bool) -> Handler:
        async def handler(scope: dict, receive: Callable):
            body, policies = await body_and_policies(service, scope, receive)
            if policies is None:
                return 503, NOT_READY, JSON
            at, refused = decide.parse_now(query_param(scope, "now"), policies)
            result = refused or await answer(lambda: decide.clock(policies, body, at, queue), len(body))
            return result.status, result.body, JSON
        return handler

    async def policy(scope: dict, receive: Callable):
        return 200, printable_json(service.holder.describe()), JSON

    async def vocabulary(scope: dict, receive: Callable):
        loaded = service.holder.current
        if loaded is None:
            return 503, NOT_READY, JSON
        return 200, service.vocabulary_json(loaded.policies), JSON

    async def healthz(scope: dict, receive: Callable):
        return 200, b'{"status":"alive"}', JSON

    async def readyz(scope: dict, receive: Callable):
        loaded = service.holder.current
        if loaded is None:
            return 503, NOT_READY, JSON
        return 200, orjson.dumps({"status": "ready", "digest": loaded.policies.digest}), JSON

    async def metrics(scope: dict, receive: Callable):
        return 200, service.metrics.render(), service.metrics.content_type.encode()

    async def openapi(scope: dict, receive: Callable):
        loaded = service.holder.current
        schema = loaded.policies.ticket_schema() if loaded is not None else None
        return 200, printable_json(openapi_document(schema)), JSON

    def route(path: str, name: str, handler: Handler, method: str, auth: bool = True) -> Route:
        return Route(path, Endpoint(service, name, handler, auth), methods=[method])

    return [
        route("/v1/evaluate", "evaluate", evaluate, "POST"),
        route("/v1/explain", "explain", explain, "POST"),
        route("/v1/clock", "clock", clock_endpoint(False), "POST"),
        route("/v1/queue", "queue", clock_endpoint(True), "POST"),
        route("/v1/policy", "policy", policy, "GET"),
        route("/v1/vocabulary", "vocabulary", vocabulary, "GET"),
        route("/healthz", "healthz", healthz, "GET", auth=False),
        route("/readyz", "readyz", readyz, "GET", auth=False),
        route("/metrics", "metrics", metrics, "GET", auth=False),
        route("/openapi.json", "openapi", openapi, "GET", auth=False),
    ]
