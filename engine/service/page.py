"""The agent page: ``/`` serves ``static/index.html``, ``/static/...`` the files beside it.

The page reads ``GET /v1/vocabulary`` to build its form.  A file that does not exist is a clean
404.  The page itself is open (it holds no data); its requests to ``/v1/*`` carry the token.
"""
from __future__ import annotations

from pathlib import Path

from starlette.responses import FileResponse, JSONResponse
from starlette.routing import Mount, Route
from starlette.staticfiles import StaticFiles

STATIC = Path(__file__).resolve().parent / "static"


def routes(service) -> list:
    async def index(request):
        page = STATIC / "index.html"
        if not page.is_file():
            return JSONResponse({"error": "no page is installed"}, status_code=404)
        return FileResponse(page, media_type="text/html; charset=utf-8")

    return [Route("/", index, methods=["GET"]),
            Mount("/static", app=StaticFiles(directory=STATIC, check_dir=False), name="static")]
