"""The agent page: ``/`` serves ``static/index.html``, ``/static/...`` the files beside it, and
``POST /v1/timeline`` draws the clock as an SVG picture for it (and for anyone else).

The page reads ``GET /v1/vocabulary`` to build its form.  A file that does not exist is a clean
404.  The page itself is open (it holds no data); its requests to ``/v1/*`` carry the token.

``POST /v1/timeline`` takes what ``/v1/evaluate`` takes, one ticket object, and answers the SVG
of ``triage explain --format svg``; with ``?ticket_id=`` it takes an event log (a JSON array, as
``/v1/clock``; ``?now=`` too) and answers that ticket's clock as ``triage explain --events
--format svg`` draws it.  A bad ticket is a 422 with the error record ``/v1/evaluate`` gives.
"""
from __future__ import annotations

from pathlib import Path

import orjson
from anyio import to_thread
from starlette.responses import FileResponse, JSONResponse
from starlette.routing import Mount, Route
from starlette.staticfiles import StaticFiles

from ..core.errors import TicketError, TriageError
from ..report.tickets import error_json, printable_json
from ..report.timeline import timeline_svg
from . import decide
from .routes import JSON, NOT_READY, Endpoint, body_and_policies, query_param

STATIC = Path(__file__).resolve().parent / "static"
SVG = b"image/svg+xml; charset=utf-8"


def timeline(policies, body: bytes, ticket_id: str | None, at) -> tuple[int, bytes, bytes]:
    """(status, body, content type) of ``POST /v1/timeline``."""
    items, is_array, refused = decide.read(body)
    if refused is not None:
        return refused.status, refused.body, JSON
    if ticket_id is None:
        if is_array:
            return 400, orjson.dumps({"error": "send one ticket object, or an event log (a JSON array) with "
                                               "?ticket_id=", "field": "ticket_id"}), JSON
        try:
            return 200, policies.explain_svg(items[0].ticket).encode(), SVG
        except TicketError as exc:
            return 422, error_json(items[0], exc), JSON
    if not is_array:
        return 400, orjson.dumps({"error": "with ?ticket_id=, send the event log as a JSON array"}), JSON
    try:
        drawn = policies.clock_timeline(items, ticket_id, now=at)
    except TriageError as exc:  # no event for that ticket (with a suggestion)
        return 404, orjson.dumps({"error": str(exc), "field": "ticket_id"}), JSON
    try:
        return 200, timeline_svg(drawn).encode(), SVG
    except TriageError as exc:  # its 'created' event was refused: nothing to draw
        return 422, printable_json({"error": str(exc), "ticket_id": ticket_id}), JSON


def routes(service) -> list:
    async def index(request):
        page = STATIC / "index.html"
        if not page.is_file():
            return JSONResponse({"error": "no page is installed"}, status_code=404)
        return FileResponse(page, media_type="text/html; charset=utf-8")

    async def draw(scope: dict, receive):
        body, policies = await body_and_policies(service, scope, receive)
        if policies is None:
            return 503, NOT_READY, JSON
        at, refused = decide.parse_now(query_param(scope, "now"), policies)
        if refused is not None:
            return refused.status, refused.body, JSON
        return await to_thread.run_sync(timeline, policies, body, query_param(scope, "ticket_id"), at)

    return [Route("/", index, methods=["GET"]),
            Route("/v1/timeline", Endpoint(service, "timeline", draw), methods=["POST"]),
            Mount("/static", app=StaticFiles(directory=STATIC, check_dir=False), name="static")]
