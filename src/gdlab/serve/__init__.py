"""``gdlab serve``: the lectures as an interactive page on a local server.

The page (``static/``: HTML, CSS, plain JS modules and a vendored Plotly) sends settings to
a small JSON API; every number it draws is computed here by gdlab:

* ``app.py`` — the Starlette app: routes, static files, the guard;
* ``security.py`` — Host/Origin/Content-Type checks, the body limit, security headers;
* ``limits.py`` — the caps of every request and its wall-clock limit;
* ``api.py`` — the endpoints: JSON in, worker thread, JSON or a 400/500 out;
* ``explore.py`` — a formula's picture and the optimizers' race on it;
* ``mixed.py`` — several optimizers as groups of rows of one descent loop;
* ``training.py`` — models trained on data, with snapshots to animate;
* ``datasets.py`` — the playground's data sets and the CSV upload;
* ``catalog.py``, ``presets.py`` — what the page offers;
* ``encode.py`` — arrays as JSON (non-finite values as null);
* ``server.py`` — ``serve()``: uvicorn, the address, the browser.

Starlette, uvicorn and orjson are the optional extra ``serve`` (``pip install 'gdlab[serve]'``).
"""

from __future__ import annotations

__all__ = ["serve"]


def serve(host: str = "127.0.0.1", port: int = 8000, open_browser: bool = True) -> None:
    """Run the playground until interrupted; see :func:`gdlab.serve.server.serve`."""
    import importlib.util

    from .. import checks
    from ..errors import GdlabError

    missing = [m for m in ("starlette", "uvicorn", "orjson")
               if importlib.util.find_spec(m) is None]
    if missing:
        raise GdlabError(f"gdlab serve needs {', '.join(missing)}: pip install "
                         f"'gdlab[serve]' (make serve does it)")
    checks.count("port", port, minimum=1, maximum=65535)
    from .server import serve as _serve
    _serve(host, port, open_browser)
