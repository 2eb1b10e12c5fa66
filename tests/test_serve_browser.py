"""The playground in a real Chromium (Debian's /usr/bin/chromium, driven by Playwright):
typing a formula, clicking starts, racing optimizers, the pixels drawn, the address that
reproduces the page, a data preset and the parser's error in place.

A real uvicorn serves the page on a free port (``gdlab serve --no-browser``). Skipped,
saying how to install it, when Chromium is missing; CI (.ci/run) installs it.
"""

import io
import json
import os
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request

import pytest

CHROMIUM = "/usr/bin/chromium"
pytestmark = pytest.mark.browser

if not os.path.exists(CHROMIUM):
    pytest.skip("the browser tests need Chromium: apt-get install chromium (Debian's package; "
                ".ci/run installs it)", allow_module_level=True)
playwright_api = pytest.importorskip("playwright.sync_api")
expect = playwright_api.expect

#: without the networking switches, Chromium's own connections fail on a closed network
ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
        "--disable-background-networking", "--disable-component-update", "--disable-sync"]
#: the colours of the first two runs (state.js PALETTE)
BLUE, RED = (0x1f, 0x77, 0xb4), (0xd6, 0x27, 0x28)


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class Server:
    """``gdlab serve --no-browser`` on a free port, started at once and waited for later,
    so that Chromium starts while the server imports gdlab."""

    def __init__(self):
        port = free_port()
        self.url = f"http://127.0.0.1:{port}/"
        self.proc = subprocess.Popen(
            [sys.executable, "-c", "import sys; from gdlab.cli import main; "
             f"sys.exit(main(['serve', '--no-browser', '--port', '{port}']))"],
            stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
        self.ready = False

    def wait(self) -> str:
        deadline = time.time() + 30
        while not self.ready:
            try:
                urllib.request.urlopen(self.url + "api/catalog", timeout=2).read()
                self.ready = True
            except OSError:
                if self.proc.poll() is not None or time.time() > deadline:
                    self.proc.kill()
                    pytest.fail(f"gdlab serve did not start: {self.proc.stdout.read()}")
                time.sleep(0.1)
        return self.url


@pytest.fixture(scope="module")
def server():
    s = Server()
    yield s
    s.proc.terminate()
    s.proc.wait(timeout=10)


@pytest.fixture(scope="module")
def browser():
    with playwright_api.sync_playwright() as p, tempfile.TemporaryDirectory() as profile:
        context = p.chromium.launch_persistent_context(
            profile, executable_path=CHROMIUM, args=ARGS, headless=True,
            viewport={"width": 1300, "height": 950})
        context.set_default_timeout(20_000)
        yield context
        context.close()


@pytest.fixture
def page(server, browser):
    page = browser.new_page()
    problems = []
    # the API's 400 for a refused formula is expected; every other console error is not
    page.on("console", lambda m: problems.append(m.text) if m.type == "error"
            and "status of 400" not in m.text else None)
    page.on("pageerror", lambda e: problems.append(str(e)))
    page.goto(server.wait())
    expect(page.get_by_test_id("run-status").first).to_be_visible()
    page.get_by_test_id("speed").select_option("1000")     # short animations
    yield page
    # no script error, and nothing the Content-Security-Policy had to block
    assert problems == [], problems
    page.close()


def run_statuses(page):
    return page.get_by_test_id("run-status")


def colours_near(png: bytes, rgb, tolerance=40) -> int:
    import numpy as np
    from PIL import Image
    a = np.asarray(Image.open(io.BytesIO(png)).convert("RGB")).astype(int)
    return int(np.sum(np.all(np.abs(a - np.array(rgb)) <= tolerance, axis=-1)))


def test_type_a_formula_click_a_start_and_race_two_optimizers(page):
    page.get_by_test_id("clear-starts").click()
    formula = page.get_by_test_id("formula")
    formula.fill("x**2 + 3*y**2")
    expect(page.get_by_test_id("derivative")).to_contain_text("6*y")
    expect(page.get_by_test_id("status")).to_contain_text("Click the plot")
    box = page.locator("[data-testid=plot] .nsewdrag").first.bounding_box()
    page.mouse.click(box["x"] + 0.8 * box["width"], box["y"] + 0.25 * box["height"])
    expect(page.get_by_test_id("starts")).not_to_have_value("")
    x, y = (float(v) for v in page.get_by_test_id("starts").input_value().split(","))
    assert x > 1 and y > 1                        # the upper right of the default view
    page.get_by_test_id("add-optimizer").click()
    expect(page.get_by_test_id("optimizer-list").get_by_test_id("optimizer-row")).to_have_count(2)
    page.get_by_test_id("run").click()
    statuses = run_statuses(page)
    expect(statuses).to_have_count(2)
    expect(statuses.nth(0)).to_contain_text("sgd lr=0.1")
    expect(statuses.nth(0)).to_contain_text("converged: norm(grad)")
    expect(statuses.nth(1)).to_contain_text("momentum")
    expect(statuses.nth(1)).to_contain_text("converged")
    expect(page.get_by_test_id("play")).to_have_text("Play", timeout=30_000)  # played to the end
    png = page.get_by_test_id("plot").screenshot()
    assert colours_near(png, BLUE, 25) > 150 and colours_near(png, RED, 25) > 150
    from PIL import Image
    assert len(Image.open(io.BytesIO(png)).convert("RGB").getcolors(1 << 20)) > 500  # not blank


def test_the_copied_address_reproduces_the_picture(page, browser):
    page.get_by_test_id("presets").select_option("local-minima")
    expect(run_statuses(page)).to_have_count(3)
    lr = page.get_by_test_id("optimizer-list").get_by_test_id("optimizer-lr").nth(1)
    for value in ("0.05", "0.005", "0.02"):      # quick changes: the latest request wins
        lr.fill(value)
        lr.press("Enter")
    expect(run_statuses(page).nth(1)).to_contain_text("momentum lr=0.02")
    expect(page.get_by_test_id("status")).not_to_contain_text("lr=0.005")
    page.get_by_test_id("share").click()
    url = page.get_by_test_id("share-url").input_value()
    assert "#s=" in url
    status = page.get_by_test_id("status").inner_text()
    other = browser.new_page()
    other.goto(url)
    expect(run_statuses(other)).to_have_count(3)
    for testid in ("formula", "starts"):
        value = page.get_by_test_id(testid).input_value()
        assert other.get_by_test_id(testid).input_value() == value
    lrs = other.get_by_test_id("optimizer-list").get_by_test_id("optimizer-lr")
    assert [lrs.nth(i).input_value() for i in range(3)] == ["0.01", "0.02", "0.1"]
    expect(other.get_by_test_id("preset-text")).to_contain_text("Local minima")
    assert other.get_by_test_id("status").inner_text().split("computed by")[0] == \
        status.split("computed by")[0]
    other.close()


def test_a_data_preset_trains_and_the_loss_falls(page):
    page.get_by_test_id("presets").select_option("logistic")
    expect(page.get_by_test_id("tab-data")).to_have_attribute("aria-selected", "true")
    expect(run_statuses(page).first).to_contain_text("finished 100 epochs")
    losses = page.evaluate("document.querySelector('[data-testid=loss-plot]').data"
                           ".map(t => t.y.filter(v => v !== null))")
    train = losses[0]
    assert len(train) == 100 and train[-1] < 0.5 * train[0]
    expect(page.get_by_test_id("dataset")).to_have_value("blobs")
    expect(page.get_by_test_id("model")).to_have_value("logistic")
    with page.expect_download() as download:
        page.get_by_test_id("download-json").click()
    saved = json.loads(open(download.value.path()).read())
    assert saved["state"]["data"]["task"] == "classification"
    assert saved["answer"]["runs"][0]["loss"] == train
    with page.expect_download() as download:
        page.get_by_test_id("download-png").click()
    assert open(download.value.path(), "rb").read(8) == b"\x89PNG\r\n\x1a\n"


def test_a_hostile_formula_shows_the_parsers_error_in_place(page):
    formula = page.get_by_test_id("formula")
    formula.fill("__import__('os').system('echo owned')")
    error = page.get_by_test_id("formula-error")
    expect(error).to_be_visible()
    expect(formula).to_have_class("formula bad")
    text = error.inner_text()
    assert text and "Traceback" not in text
    assert "owned" not in page.get_by_test_id("status").inner_text()
    formula.fill("2x + 1")
    expect(error).to_contain_text("missing operator between '2' and 'x'")
    expect(error).to_contain_text("Hint: did you mean 2*x?")
    expect(error.locator(".at")).to_have_text("x")
    formula.fill("x**2 + 1")
    expect(error).to_be_empty()
    expect(run_statuses(page).first).to_contain_text("converged")
