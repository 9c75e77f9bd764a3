"""The app factory: a Starlette app over one ``Service`` (policy holder, metrics, auth, decision log).

``create_app(config)`` builds the app; ``create_app_from_env()`` builds it from the
``TRIAGE_SERVE_CONFIG`` environment variable, which is how uvicorn starts each worker of
``--workers N`` (``uvicorn.run("engine.service.app:create_app_from_env", factory=True, ...)``).
On startup the app loads the policy set (unless one was handed over), starts the reload watcher and
the decision-log writer, and makes SIGHUP force a reload; on shutdown it stops both, writing what
the decision log still holds.
"""
from __future__ import annotations

import contextlib
import logging
import signal
import threading

import orjson
from starlette.applications import Starlette
from starlette.responses import Response

from ..policyset import PolicySet
from .auth import BearerAuth
from .config import ServiceConfig, read_token
from .decisionlog import DecisionLog
from .metrics import Metrics
from .page import routes as page_routes
from .reload import Loaded, PolicyHolder, now_text
from .routes import api_routes

log = logging.getLogger("triage.serve")


class Service:
    """Everything the endpoints share, for one process."""

    def __init__(self, config: ServiceConfig, policies: PolicySet | None = None) -> None:
        self.config = config
        self.metrics = Metrics()
        self.auth = BearerAuth(read_token(config.token_file) if config.token_file else None)
        self.holder = PolicyHolder(config.policies, config.reload_interval, self._reloaded)
        self._preloaded = policies
        self.log: DecisionLog | None = None
        self._vocabulary: tuple[str, bytes] | None = None

    def _reloaded(self, ok: bool) -> None:
        self.metrics.reloaded(ok)
        self.metrics.loaded.set(1 if self.holder.current is not None else 0)
        if not ok:
            problems = (self.holder.last_reload_error or {}).get("problems", [])
            log.warning("policy reload failed, the previous set keeps serving: %s",
                        "; ".join(p.get("text", "") for p in problems[:5]))
        else:
            log.info("policy set loaded: %s", self.holder.current.policies.digest)

    def vocabulary_json(self, policies: PolicySet) -> bytes:
        cached = self._vocabulary
        if cached is None or cached[0] != policies.digest:
            cached = self._vocabulary = (policies.digest, orjson.dumps(policies.vocabulary()))
        return cached[1]

    def start(self) -> None:
        if self._preloaded is not None:
            self.holder.current = Loaded(self._preloaded, now_text())
            self.holder.mark_seen()
            self.metrics.loaded.set(1)
            self._preloaded = None
        else:
            self.holder.reload()
        self.holder.start()
        if self.config.decision_log:
            self.log = DecisionLog(self.config.decision_log, self.config.log_facts, self.config.log_queue,
                                   self.metrics.log_dropped.inc)
        if threading.current_thread() is threading.main_thread():
            signal.signal(signal.SIGHUP, lambda *_: self.holder.request_reload())

    def stop(self) -> None:
        self.holder.stop()
        if self.log is not None:
            self.log.close()
            self.log = None
        self.metrics.close()


async def _not_found(request, exc) -> Response:
    status = getattr(exc, "status_code", 404)
    text = {404: "no such endpoint; see /openapi.json", 405: "method not allowed for this endpoint"}.get(
        status, "request refused")
    return Response(orjson.dumps({"error": text}), status_code=status, media_type="application/json")


async def _internal(request, exc) -> Response:
    log.error("internal error on %s", request.url.path, exc_info=exc)
    return Response(b'{"error":"internal error; the server log has the details"}', status_code=500,
                    media_type="application/json")


class FastPath:
    """The ``/v1/*`` POST endpoints called straight, everything else through Starlette.

    The decision endpoints do their own error handling, authentication and metrics (see
    ``routes.Endpoint``), so Starlette's middleware layers only add per-request cost there (about
    a tenth of a single-ticket request's time in the app)."""

    def __init__(self, app: Starlette, routes: list) -> None:
        self.app, self.state = app, app.state
        self.hot = {("POST", r.path): r.endpoint for r in routes if "POST" in (r.methods or ())}

    async def __call__(self, scope, receive, send) -> None:
        if scope["type"] == "http":
            endpoint = self.hot.get((scope["method"], scope["path"]))
            if endpoint is not None:
                await endpoint(scope, receive, send)
                return
        await self.app(scope, receive, send)


def create_app(config: ServiceConfig, policies: PolicySet | None = None) -> FastPath:
    """The ASGI app for ``config``; ``policies``, when given, is served first instead of loading."""
    service = Service(config, policies)

    @contextlib.asynccontextmanager
    async def lifespan(app):
        service.start()
        try:
            yield
        finally:
            service.stop()

    api = api_routes(service)
    app = Starlette(routes=api + page_routes(service), lifespan=lifespan,
                    exception_handlers={404: _not_found, 405: _not_found, 500: _internal})
    app.state.service = service
    return FastPath(app, api)


def create_app_from_env() -> FastPath:
    """The app of one ``--workers`` process, configured by ``TRIAGE_SERVE_CONFIG``."""
    return create_app(ServiceConfig.from_env())
