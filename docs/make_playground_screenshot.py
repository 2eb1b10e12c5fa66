"""The README's picture of the playground: docs/gallery/playground.png.

Run:  .venv/bin/python docs/make_playground_screenshot.py [OUT.png]

Starts ``gdlab serve --no-browser`` on a free port, opens the page in Debian's Chromium
(``apt-get install chromium``; driven by Playwright, ``pip install playwright``, without
``playwright install``), chooses the lecture preset "Six optimizers on Rosenbrock", waits
for every run's stop reason and for the animation to end, and saves a screenshot.
"""

from __future__ import annotations

import socket
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path

CHROMIUM = "/usr/bin/chromium"
ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
        "--disable-background-networking", "--disable-component-update", "--disable-sync"]
OUT = Path(__file__).parent / "gallery" / "playground.png"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def main(out: Path) -> None:
    from playwright.sync_api import expect, sync_playwright

    port = free_port()
    server = subprocess.Popen([sys.executable, "-c", "import sys; from gdlab.cli import main; "
                               f"sys.exit(main(['serve', '--no-browser', '--port', '{port}']))"])
    url = f"http://127.0.0.1:{port}/"
    try:
        for _ in range(300):
            try:
                urllib.request.urlopen(url + "api/catalog", timeout=2).read()
                break
            except OSError:
                time.sleep(0.1)
        with sync_playwright() as p, tempfile.TemporaryDirectory() as profile:
            browser = p.chromium.launch_persistent_context(
                profile, executable_path=CHROMIUM, args=ARGS, headless=True,
                viewport={"width": 1400, "height": 1000})
            page = browser.new_page()
            page.goto(url)
            expect(page.get_by_test_id("run-status").first).to_be_visible(timeout=30_000)
            page.get_by_test_id("presets").select_option("optimizer-race")
            expect(page.get_by_test_id("status")).to_contain_text("adagrad lr=0.5",
                                                                  timeout=60_000)
            page.get_by_test_id("speed").select_option("1000")
            expect(page.get_by_test_id("play")).to_have_text("Play", timeout=60_000)
            time.sleep(0.5)
            out.parent.mkdir(parents=True, exist_ok=True)
            page.screenshot(path=str(out), full_page=True)
            browser.close()
    finally:
        server.terminate()
        server.wait(timeout=10)
    print(f"picture: {out}")


if __name__ == "__main__":
    main(Path(sys.argv[1]) if len(sys.argv) > 1 else OUT)
