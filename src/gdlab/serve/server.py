"""``gdlab serve``: run the playground with uvicorn, print its address, open the browser."""

from __future__ import annotations

import threading
import webbrowser

from .security import LOOPBACK


def url_of(host: str, port: int) -> str:
    shown = "127.0.0.1" if host in ("0.0.0.0", "::") else host
    return f"http://{'[' + shown + ']' if ':' in shown else shown}:{port}/"


def warm_up() -> None:
    """Import the heavy parts (sympy, scikit-learn), compile the first page's formula and the
    races' compiled update steps (numba: :func:`gdlab.serve.mixed.ready`) while the browser
    starts, so that the first picture does not wait for them."""
    from .catalog import catalog
    from .explore import function_of
    from .mixed import ready
    from .presets import PRESETS

    catalog()
    first = next(p for p in PRESETS if p["id"] == "gd-quadratic")
    fn = function_of(first["state"]["formula"])
    fn.hessian_at([0.0])
    ready()  # the races' compiled update steps


def serve(host: str = "127.0.0.1", port: int = 8000, open_browser: bool = True) -> None:
    """Serve until interrupted (Ctrl-C)."""
    import uvicorn

    from .app import create_app

    url = url_of(host, port)
    print(f"gdlab playground: {url}  (Ctrl-C stops it)", flush=True)
    if host.strip("[]") not in (*LOOPBACK, "::1"):
        print(f"warning: bound to {host}: other machines on the network can reach it",
              flush=True)
    threading.Thread(target=warm_up, daemon=True).start()
    if open_browser:
        threading.Timer(1.0, webbrowser.open, args=(url,)).start()
    uvicorn.run(create_app(host, port), host=host.strip("[]"), port=port, log_level="warning")
