"""report.html in a real headless browser (Debian's Chromium): opened from disk, and from the API under its CSP,
its plots render (non-empty SVG boxes), its raw JSON stays collapsed; screenshots are kept as test artifacts."""

from __future__ import annotations

import shutil
from pathlib import Path
from typing import Any

import httpx
import numpy as np
import pytest

from app.core.schemas.recipe import Recipe
from tests.clients.test_dashboard import browser  # noqa: F401 - the shared headless Chromium fixture
from tests.factories import cnn_onnx, npz_bytes
from tests.helpers import TEST_LATENCY_BUDGET_S, new_api_key, submit_job

SCREENSHOTS = Path("/tmp")  # copies outlive the test's tmp_path, like the dashboard's screenshot
PLOTS = ("plot-latency", "plot-tradeoff")


def rendered_plots(driver: Any) -> dict[str, dict[str, float]]:
    """Each figure's SVG as the browser laid it out: its box and how many shapes and texts it drew."""
    return driver.execute_script(
        """
        const out = {};
        for (const figure of document.querySelectorAll('figure')) {
          const svg = figure.querySelector('svg');
          const box = svg ? svg.getBoundingClientRect() : {width: 0, height: 0};
          const shapes = svg ? svg.querySelectorAll('path, use').length : 0;
          const texts = svg ? svg.querySelectorAll('text').length : 0;
          out[figure.id] = {width: box.width, height: box.height, shapes: shapes, texts: texts};
        }
        return out;
        """
    )


def check_page(driver: Any, screenshot: Path) -> None:
    from selenium.webdriver.common.by import By

    assert driver.title == "Slimline report"
    plots = rendered_plots(driver)
    assert set(PLOTS) <= set(plots), plots
    for name, box in plots.items():
        assert box["width"] > 200 and box["height"] > 100 and box["shapes"] > 5 and box["texts"] > 3, (name, box)
    headline = driver.find_element(By.ID, "headline").text
    assert "95% interval" in headline, headline
    raw = driver.find_element(By.CSS_SELECTOR, "details#raw pre")
    assert not raw.is_displayed()  # the raw JSON is there, collapsed
    assert driver.find_element(By.ID, "limits").is_displayed()
    driver.set_window_size(1200, int(driver.execute_script("return document.body.scrollHeight")) + 40)
    driver.save_screenshot(str(screenshot))
    shutil.copyfile(screenshot, SCREENSHOTS / f"slimline-{screenshot.name}")
    print(f"report screenshot: {screenshot} (copy: {SCREENSHOTS / f'slimline-{screenshot.name}'})")
    assert screenshot.stat().st_size > 20_000


def test_report_opened_from_disk_shows_its_plots(browser, tmp_path):  # noqa: F811
    from worker.engine import optimize

    rng = np.random.default_rng(0)
    data = tmp_path / "data.npz"
    x = rng.standard_normal((32, 1, 8, 8)).astype(np.float32)
    data.write_bytes(npz_bytes(x=x, labels=rng.integers(0, 10, 32)))
    recipe = Recipe.model_validate({"passes": [{"type": "quantize", "mode": "dynamic"}]})
    result = optimize(
        cnn_onnx(tmp_path / "cnn.onnx"), data, recipe, tmp_path / "out", threads=1,
        latency_budget_s=float(TEST_LATENCY_BUDGET_S),
    )  # fmt: skip
    page = result.artifacts["report.html"]
    browser.get(page.resolve().as_uri())  # file://, alone: no other artifact next to it is needed
    for png in page.parent.glob("*.png"):
        png.unlink()
    browser.refresh()
    check_page(browser, tmp_path / "report-from-disk.png")


@pytest.mark.e2e
def test_report_opened_from_the_api_renders_under_its_csp(browser, live_api, worker, settings, tmp_path):  # noqa: F811
    key = new_api_key(settings.database_url)
    auth = {"Authorization": f"Bearer {key}"}
    rng = np.random.default_rng(1)
    data = npz_bytes(x=rng.standard_normal((32, 1, 8, 8)).astype(np.float32))
    with httpx.Client(base_url=live_api, timeout=30) as http:
        recipe = {"passes": [{"type": "quantize", "mode": "dynamic"}]}
        done = submit_job(http, auth, cnn_onnx(tmp_path / "cnn.onnx").read_bytes(), data, recipe=recipe)
        assert done["status"] == "succeeded", done["error"]
    url = f"{live_api}/v1/jobs/{done['id']}/artifacts/report.html"
    # the browser sends the key the way the API wants it (a bearer header), as a logged-in tab would through a proxy
    browser.execute_cdp_cmd("Network.enable", {})
    browser.execute_cdp_cmd("Network.setExtraHTTPHeaders", {"headers": auth})
    browser.get(url)
    assert browser.current_url == url  # shown, not downloaded
    check_page(browser, tmp_path / "report-from-api.png")
