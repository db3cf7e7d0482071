"""End to end: `azmed app` on loopback, driven in Debian's headless Chromium through Playwright.

The tests start the real command on a free port with the shipped results as its runs folder,
click through the Case lab (generate a case by pack and seed, reveal its diagnosis, download it,
edit a value into an impossible range), open the Training runs page on the shipped main run
(docs/results/clinical) at two window widths and measure what the browser drew: every
chart's plot area, the result table and the status. They save the screenshots the README shows
(`docs/img/case-lab.png`, `docs/img/training-runs.png`) and stop the server.

Needs the `playwright` Python package (the `dev` extra) and Debian's Chromium at
/usr/bin/chromium (`apt-get install -y chromium`; `scripts/setup.sh --dev` installs it). No
browser is ever downloaded (`playwright install` is not used). Skipped, saying which is
missing, when either is absent.
"""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pytest
import yaml

from tests.conftest import ROOT
from tests.test_app import seed_for

CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                 "--disable-background-networking", "--disable-component-update", "--disable-sync"]
SCREENSHOTS = ROOT / "docs" / "img"
RESULTS = ROOT / "docs" / "results"   # holds the shipped main run, clinical/
MIN_PLOT_HEIGHT = 150                 # px: a plot squeezed below this by its legend is unreadable

pytestmark = pytest.mark.slow


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture
def browser_context(tmp_path):
    """A fresh headless Chromium profile (Debian's binary, no download)."""
    try:
        from playwright.sync_api import sync_playwright
    except ImportError:
        pytest.skip("the browser test needs the playwright package: pip install -e '.[dev]' "
                    "(or pip install playwright)")
    if not CHROMIUM.is_file():
        pytest.skip(f"Debian Chromium is not installed at {CHROMIUM}: run `apt-get install -y chromium` "
                    "(scripts/setup.sh --dev does it as root)")
    with sync_playwright() as p:
        context = p.chromium.launch_persistent_context(
            str(tmp_path / "chromium-profile"), executable_path=str(CHROMIUM), headless=True, args=CHROMIUM_ARGS,
            viewport={"width": 1400, "height": 1000}, accept_downloads=True)
        try:
            yield context
        finally:
            context.close()


@pytest.fixture
def server(tmp_path):
    """`azmed app` on a free loopback port, showing the shipped results as its runs folder."""
    # the page opens the most recently written run first: make that the main run, not an ablation arm
    os.utime(RESULTS / "clinical" / "metrics.jsonl")
    port = _free_port()
    log = tmp_path / f"app-{port}.log"
    with open(log, "w") as out:
        proc = subprocess.Popen([sys.executable, "-m", "azmed.cli", "app", "--port", str(port),
                                 "--runs", str(RESULTS.relative_to(ROOT))], stdout=out, stderr=subprocess.STDOUT,
                                cwd=ROOT, env={**os.environ, "PYTHONUNBUFFERED": "1"})
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.time() + 90
        while True:
            try:
                with urllib.request.urlopen(f"{url}/_stcore/health", timeout=2) as r:
                    if r.status == 200:
                        break
            except OSError:
                pass
            if proc.poll() is not None or time.time() > deadline:
                pytest.fail(f"`azmed app` did not come up on {url}:\n{log.read_text()}")
            time.sleep(0.5)
        yield url
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=30)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
    assert proc.returncode is not None


def idle(page) -> None:
    """Wait until Streamlit has finished the current run (its 'running' widget is gone)."""
    page.wait_for_timeout(300)
    page.locator("[data-testid=stStatusWidget]").wait_for(state="hidden", timeout=120_000)


def to_top(page) -> None:
    """Scroll every scrolled container back to the top, so a screenshot starts at the title."""
    page.evaluate("() => { window.scrollTo(0, 0); "
                  "document.querySelectorAll('*').forEach(e => { if (e.scrollTop > 0) e.scrollTop = 0; }); }")
    page.wait_for_timeout(500)


def alert(page, text: str):
    return page.locator("[data-testid=stAlert]").filter(has_text=text)


def test_case_lab_in_chromium(browser_context, server, sim, tmp_path):
    page = browser_context.new_page()
    page.goto(server)
    page.get_by_role("heading", name="Case lab").wait_for(timeout=120_000)
    idle(page)

    # generate a case by pack and seed
    seed = seed_for(sim, "nephrology", 7)
    case = sim.generate(seed, pack="nephrology")
    page.get_by_role("combobox", name="Pack").click()
    page.get_by_role("option", name="nephrology", exact=True).click()
    idle(page)
    page.get_by_label("Seed").fill(str(seed))
    page.get_by_label("Seed").press("Enter")
    idle(page)
    page.get_by_role("button", name="Generate case").click()
    idle(page)
    assert page.get_by_text(f"pack nephrology · diagnosis any · seed {seed}").is_visible()
    sex = "man" if case.sex == "M" else "woman"
    assert page.get_by_role("heading", name=f"Case: {case.age}-year-old {sex}").is_visible()
    assert alert(page, "Hidden diagnosis:").count() == 0

    # reveal the label, then download the case with it
    page.get_by_text("Reveal the hidden diagnosis").click()
    idle(page)
    revealed = alert(page, "Hidden diagnosis:").inner_text()
    assert revealed.startswith(f"Hidden diagnosis: {case.label_name} ({case.label})")
    with page.expect_download() as download:
        page.get_by_role("button", name="Download the case as JSON").click()
    assert download.value.suggested_filename == f"case-nephrology-{seed}.json"
    saved = tmp_path / "case.json"
    download.value.save_as(saved)
    assert json.loads(saved.read_text()) == case.to_json(sim.registry, reveal=True)
    page.screenshot(path=str(tmp_path / "case-top.png"))

    # an impossible value is rejected with its reason
    first = next(v for v in case.values if not sim.registry.variables[v].derive)
    hi = sim.registry.variables[first].limits[1]
    page.get_by_label("Value", exact=True).fill(f"{hi * 10:g}")
    page.get_by_label("Value", exact=True).press("Enter")
    idle(page)
    page.get_by_role("button", name="Re-diagnose", exact=True).click()
    idle(page)
    rejected = alert(page, "Rejected (")
    assert rejected.inner_text().startswith("Rejected (implausible): ")
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    page.set_viewport_size({"width": 1400, "height": 2300})
    to_top(page)
    page.screenshot(path=str(SCREENSHOTS / "case-lab.png"))

    assert (SCREENSHOTS / "case-lab.png").stat().st_size > 10_000


def plot_heights(page) -> list[float]:
    """The drawn height of every chart's plot area (Vega's root frame, without axes, titles and
    legend), in the order of the page."""
    return page.evaluate("""() => [...document.querySelectorAll('[data-testid=stVegaLiteChart] svg')].map(svg => {
        const frame = svg.querySelector('g.mark-group.role-frame.root > g > path.background');
        return frame ? frame.getBoundingClientRect().height : 0; })""")


def test_training_page_on_the_shipped_run_in_chromium(browser_context, server):
    """The shipped main run: every chart keeps a readable plot at 1400 and 1920 px, the result
    table and the finished status show, and Vega-Lite has nothing to drop."""
    page = browser_context.new_page()
    console: list[str] = []
    page.on("console", lambda message: console.append(message.text))
    page.goto(server)
    page.get_by_role("heading", name="Case lab").wait_for(timeout=120_000)
    page.get_by_role("link", name="Training runs").click()
    page.get_by_role("heading", name="Training runs").wait_for(timeout=60_000)
    idle(page)
    shipped = RESULTS / "clinical"
    heldout = json.loads((shipped / "heldout.json").read_text())["sim-heldout"]
    records = [json.loads(line) for line in (shipped / "metrics.jsonl").read_text().splitlines()]
    total = yaml.safe_load((shipped / "config.yaml").read_text())["trainer"]["steps"]

    assert page.get_by_test_id("stMetricValue").first.inner_text() == "finished"
    assert page.get_by_text(f"finished: {len(records)} of {total} steps").is_visible()
    assert page.get_by_role("heading", name="Result: base model vs trained adapter").is_visible()
    headline = f"{100 * heldout['base']:.1f} % → {100 * heldout['adapter']:.1f} %"
    assert headline in page.get_by_text(f"sim-heldout (n={heldout['n']})").first.inner_text()
    result = page.get_by_test_id("stDataFrame").first
    result.wait_for(timeout=30_000)
    assert result.bounding_box()["height"] > 35 * (1 + len(heldout["per_task_type"]) + len(heldout["per_pack"]))

    for width in (1920, 1400):  # the README screenshot is taken at the last one
        page.set_viewport_size({"width": width, "height": 2200})
        page.wait_for_timeout(2000)  # charts redraw to the new width
        heights = plot_heights(page)
        assert len(heights) >= 5, heights  # four headline curves, the rejection reasons, more figures
        assert min(heights) > MIN_PLOT_HEIGHT, (width, heights)
    reasons = page.locator("[data-testid=stVegaLiteChart]").filter(has_text="Rejection reasons")
    logged = {reason for r in records for g in r.get("groups", {}).values() for reason in (g.get("rejections") or {})}
    assert logged
    for reason in sorted(logged):
        assert reasons.get_by_text(reason, exact=True).count() == 1, reason
    assert not [m for m in console if "Dropping" in m and "fit" in m], console

    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    to_top(page)
    page.wait_for_timeout(1500)
    page.screenshot(path=str(SCREENSHOTS / "training-runs.png"))
    assert (SCREENSHOTS / "training-runs.png").stat().st_size > 10_000
