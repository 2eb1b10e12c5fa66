"""The JSON API's endpoints: read the body, compute in a worker thread within the request's
wall-clock limit, and answer with JSON.

What gdlab refuses (a formula, an option, a cap, a CSV row) is a 400 with gdlab's message
(and, for a formula, the position and hint); anything unexpected is logged and answered
with a generic 500, never a traceback.
"""

from __future__ import annotations

import json
import logging
import time
from typing import Any, Callable

import anyio
import orjson
from starlette.requests import Request
from starlette.responses import JSONResponse, Response

from ..errors import FormulaError, GdlabError
from . import mixed
from .catalog import catalog
from .explore import descend
from .limits import Deadline
from .training import fit

log = logging.getLogger("gdlab.serve")

#: computations at once (the others wait their turn): one per core of a small machine
_WORKERS = anyio.CapacityLimiter(2)


async def get_catalog(request: Request) -> JSONResponse:
    return JSONResponse(await anyio.to_thread.run_sync(catalog, limiter=_WORKERS))


async def post_descend(request: Request) -> Response:
    return await _compute(request, descend)


async def post_fit(request: Request) -> Response:
    return await _compute(request, fit)


async def _compute(request: Request, work: Callable[[Any, Deadline], dict[str, Any]]
                   ) -> Response:
    try:
        body = json.loads(await request.body())
    except (ValueError, UnicodeDecodeError) as e:
        return JSONResponse({"error": f"the body is not valid JSON: {e}"}, status_code=400)
    if not isinstance(body, dict):
        return JSONResponse({"error": "the body must be a JSON object"}, status_code=400)
    try:
        async with _WORKERS:
            # a request whose page moved on while it waited (the page aborts stale requests:
            # the latest wins) is not computed at all
            if await request.is_disconnected():
                return JSONResponse({"error": "the client went away"}, status_code=499)
            answer = await anyio.to_thread.run_sync(_timed, work, body)
    except FormulaError as e:
        return JSONResponse({"error": str(e), "kind": "formula", "message": e.reason,
                             "position": e.position, "hint": e.hint, "text": e.text},
                            status_code=400)
    except GdlabError as e:
        return JSONResponse({"error": str(e), "kind": "parameter"}, status_code=400)
    except Exception:  # noqa: BLE001 - logged; the page gets no internals
        log.exception("unexpected error in %s", request.url.path)
        return JSONResponse({"error": "internal error: the server could not compute this "
                                      "(see the server's log)"}, status_code=500)
    return Response(answer, media_type="application/json")


def _timed(work: Callable[[Any, Deadline], dict[str, Any]], body: Any) -> bytes:
    """``work(body, deadline)`` with the request's wall-clock limit starting now, as JSON
    text (encoded in the worker thread, by orjson: the paths' and grids' floats take the
    json module ~30 ms, and the event loop would wait). The compiled update steps are ready
    first (compiling them once is not the request's computing time)."""
    mixed.ready()
    start = time.perf_counter()
    out = work(body, Deadline())
    out["elapsed"] = round(time.perf_counter() - start, 4)
    return orjson.dumps(out, option=orjson.OPT_SERIALIZE_NUMPY)
