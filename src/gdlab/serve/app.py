"""The playground's ASGI app: the page (static files shipped in the package), the JSON API
under ``/api/``, and the guard of :mod:`gdlab.serve.security` around both."""

from __future__ import annotations

from pathlib import Path

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import FileResponse, Response
from starlette.routing import Mount, Route
from starlette.staticfiles import StaticFiles

from . import api
from .security import Guard, allowed_hosts

STATIC = Path(__file__).parent / "static"


async def index(request: Request) -> Response:
    return FileResponse(STATIC / "index.html", media_type="text/html; charset=utf-8")


def create_app(host: str = "127.0.0.1", port: int = 8000) -> Guard:
    """The app as served on ``host:port`` (the Host and Origin checks need both)."""
    app = Starlette(routes=[
        Route("/", index),
        Route("/api/catalog", api.get_catalog),
        Route("/api/descend", api.post_descend, methods=["POST"]),
        Route("/api/fit", api.post_fit, methods=["POST"]),
        Mount("/static", StaticFiles(directory=STATIC), name="static"),
    ])
    return Guard(app, allowed_hosts(host, port))
