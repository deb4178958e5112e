"""The /ui dashboard in a real headless browser (Debian's Chromium): log in, watch a job finish, open its report."""

from __future__ import annotations

import re
import shutil
from pathlib import Path

import httpx
import pytest

from tests.engine.stateful_models import scalar_input_data, scalar_input_mlp
from tests.factories import cnn_onnx, image_dataset, npz_bytes
from tests.helpers import new_api_key, upload_ok, wait_for_job

pytestmark = pytest.mark.e2e
CHROMIUM, CHROMEDRIVER = shutil.which("chromium"), shutil.which("chromedriver")
SCREENSHOT_COPY = Path("/tmp/slimline-dashboard.png")


@pytest.fixture()
def browser(tmp_path):  # type: ignore[no-untyped-def]
    if not (CHROMIUM and CHROMEDRIVER):
        pytest.skip("Chromium/ChromeDriver are not installed (apt-get install chromium chromium-driver)")
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service

    options = webdriver.ChromeOptions()
    options.binary_location = CHROMIUM
    for flag in (
        "--headless=new",
        "--no-sandbox",
        "--disable-gpu",
        "--disable-dev-shm-usage",
        "--no-first-run",
        "--disable-background-networking",
        "--disable-component-update",
        "--disable-sync",
        "--window-size=1200,1400",
        f"--user-data-dir={tmp_path / 'chrome'}",
    ):
        options.add_argument(flag)
    driver = webdriver.Chrome(service=Service(CHROMEDRIVER), options=options)
    yield driver
    driver.quit()


def test_dashboard_shows_a_job_progressing_to_its_report(browser, live_api, worker, settings, tmp_path):
    from selenium.webdriver.common.by import By
    from selenium.webdriver.support import expected_conditions as ec
    from selenium.webdriver.support.ui import WebDriverWait

    key = new_api_key(settings.database_url)
    auth = {"Authorization": f"Bearer {key}"}
    with httpx.Client(base_url=live_api, timeout=30) as http:
        model = upload_ok(http, auth, "models", "cnn.onnx", cnn_onnx(tmp_path / "cnn.onnx").read_bytes())
        dataset = upload_ok(http, auth, "datasets", "d.npz", image_dataset(48))
        job = http.post(
            "/v1/jobs",
            headers=auth,
            json={
                "model_id": model["id"],
                "dataset_id": dataset["id"],
                "passes": [{"type": "quantize", "mode": "static"}],
            },
        ).json()
        # a model whose only output is small (4 values): the report has no cosine for it
        small_model = upload_ok(
            http, auth, "models", "scalar.onnx", scalar_input_mlp(tmp_path / "scalar.onnx").read_bytes()
        )
        small_data = upload_ok(http, auth, "datasets", "scalar.npz", npz_bytes(**scalar_input_data(24)))
        small_job = http.post(
            "/v1/jobs",
            headers=auth,
            json={
                "model_id": small_model["id"],
                "dataset_id": small_data["id"],
                "passes": [{"type": "quantize", "mode": "dynamic"}],  # one candidate: the test is about the view
            },
        ).json()

    browser.get(f"{live_api}/ui")
    wait = WebDriverWait(browser, 120)
    browser.find_element(By.ID, "api-key").send_keys("sk_wrong")
    browser.find_element(By.ID, "login-button").click()
    wait.until(ec.text_to_be_present_in_element((By.ID, "login-error"), "refused"))
    field = browser.find_element(By.ID, "api-key")
    field.clear()
    field.send_keys(key)
    browser.find_element(By.ID, "login-button").click()
    row = wait.until(ec.element_to_be_clickable((By.CSS_SELECTOR, f'tr.job[data-id="{job["id"]}"]')))
    row.click()
    wait.until(ec.text_to_be_present_in_element((By.ID, "detail-title"), job["id"]))
    wait.until(ec.text_to_be_present_in_element((By.ID, "detail-status"), "succeeded"))
    table = wait.until(ec.presence_of_element_located((By.ID, "report-table")))
    assert "latency p50 (ms)" in table.text and "baseline" in table.text
    summary = browser.find_element(By.ID, "report-summary").text
    assert re.search(r"speedup \d+\.\d\d× \((95 % interval \d+\.\d\d–\d+\.\d\d|unchanged)\)", summary), summary
    outputs = browser.find_element(By.ID, "outputs-table")
    logits = outputs.find_element(By.CSS_SELECTOR, 'tr.output[data-name="logits"]')
    assert "logits (decides)" in logits.text and "classifier" in logits.text and "top1_agreement" in logits.text
    assert "not by rollout" in browser.find_element(By.ID, "verdict-judged").text
    wait.until(lambda d: len(d.find_elements(By.CSS_SELECTOR, "#plots img")) >= 2)
    wait.until(
        lambda d: all(img.get_property("naturalWidth") > 0 for img in d.find_elements(By.CSS_SELECTOR, "#plots img"))
    )
    # the list fills in as each artifact is rendered (plots are fetched in between): wait for the last one
    wait.until(lambda d: "report.json" in d.find_element(By.ID, "artifacts").text)
    assert "model.onnx" in browser.find_element(By.ID, "artifacts").text
    events = browser.find_element(By.ID, "events").text.splitlines()
    # the SSE stream replays the whole story: queued, running, its stages, succeeded
    assert events[0] == "[state] job queued" and events[1].startswith("[state] running on ")
    assert "[stage] stage: pass 1/1: quantize" in events and events[-1] == "[state] job succeeded"
    row = f'tr.job[data-id="{job["id"]}"][data-status="succeeded"]'
    wait.until(ec.presence_of_element_located((By.CSS_SELECTOR, row)))
    screenshot = tmp_path / "dashboard.png"
    browser.save_screenshot(str(screenshot))
    shutil.copyfile(screenshot, SCREENSHOT_COPY)
    print(f"dashboard screenshot: {screenshot} (copy: {SCREENSHOT_COPY})")
    assert screenshot.stat().st_size > 10_000

    # a small output: no cosine (null in the report), judged by its error across samples
    with httpx.Client(base_url=live_api, timeout=30) as http:
        assert wait_for_job(http, auth, small_job["id"], timeout=240)["status"] == "succeeded"
    browser.find_element(By.CSS_SELECTOR, f'tr.job[data-id="{small_job["id"]}"]').click()
    wait.until(ec.text_to_be_present_in_element((By.ID, "detail-title"), small_job["id"]))
    output = wait.until(ec.presence_of_element_located((By.CSS_SELECTOR, '#outputs-table tr.output[data-name="y"]')))
    assert "small" in output.text and "normalized_rmse" in output.text and "y (decides)" in output.text
    assert "cosine" not in browser.find_element(By.ID, "report-table").text
    assert "speedup 1.00× (unchanged)" in browser.find_element(By.ID, "report-summary").text or "interval" in (
        browser.find_element(By.ID, "report-summary").text
    )
