"""The /ui dashboard as a user's only tool, in headless Chromium: upload a model and a dataset from disk,
submit a recipe (checked against the API's schema first, the server's 422 shown next to the form), follow
the job to its embedded report, then compare it with another job side by side, also on a narrow window."""

from __future__ import annotations

from pathlib import Path

import httpx
import pytest

from tests.clients.test_dashboard import browser  # noqa: F401 - the shared headless-Chromium fixture
from tests.helpers import REPO, new_api_key, upload_ok, wait_for_job

pytestmark = pytest.mark.e2e
SCREENSHOTS = Path("/tmp")
QUICK = {"passes": [{"type": "quantize", "mode": "dynamic"}]}  # one candidate: the test is about the page


def _recipe(driver, text: str) -> None:  # type: ignore[no-untyped-def]
    from selenium.webdriver.common.by import By

    field = driver.find_element(By.ID, "recipe")
    field.clear()
    field.send_keys(text)
    driver.find_element(By.ID, "submit-job").click()


def _screenshot(driver, name: str) -> Path:  # type: ignore[no-untyped-def]
    path = SCREENSHOTS / f"slimline-dashboard-{name}.png"
    driver.save_screenshot(str(path))
    assert path.stat().st_size > 10_000, path
    return path


def test_upload_submit_follow_and_compare_from_the_page(
    browser,  # noqa: F811
    live_api,
    worker,
    settings,
    tmp_path,
    cnn_bytes,
    images_npz,
):
    from selenium.webdriver.common.by import By
    from selenium.webdriver.common.keys import Keys
    from selenium.webdriver.support import expected_conditions as ec
    from selenium.webdriver.support.ui import WebDriverWait

    key = new_api_key(settings.database_url)
    auth = {"Authorization": f"Bearer {key}"}
    model_path, dataset_path = tmp_path / "cnn.onnx", tmp_path / "images.npz"
    model_path.write_bytes(cnn_bytes)  # the small CNN of tests.factories and its images
    dataset_path.write_bytes(images_npz)
    # the other job to compare with, made through the API while the page is driven
    with httpx.Client(base_url=live_api, timeout=30) as http:
        model = upload_ok(http, auth, "models", "cnn.onnx", model_path.read_bytes())
        dataset = upload_ok(http, auth, "datasets", "images.npz", dataset_path.read_bytes())
        other = http.post(
            "/v1/jobs", headers=auth, json={"model_id": model["id"], "dataset_id": dataset["id"], **QUICK}
        )
        assert other.status_code == 202, other.text
        other_id = other.json()["id"]

    browser.get(f"{live_api}/")  # the front page is the dashboard
    wait = WebDriverWait(browser, 120)
    wait.until(ec.url_to_be(f"{live_api}/ui/"))
    browser.find_element(By.ID, "api-key").send_keys(key)
    browser.find_element(By.ID, "login-button").click()
    wait.until(ec.visibility_of_element_located((By.ID, "job-form")))

    # a file that is no model is refused with the server's reason, next to its input
    (tmp_path / "notes.onnx").write_bytes(b"not a model")
    browser.find_element(By.ID, "model-file").send_keys(str(tmp_path / "notes.onnx"))
    browser.find_element(By.ID, "model-upload").click()
    wait.until(ec.text_to_be_present_in_element((By.ID, "model-status"), "Upload refused: "))
    assert browser.find_element(By.ID, "model-select").get_attribute("value") == ""
    # upload both files through the page's file inputs
    for singular, path in (("model", model_path), ("dataset", dataset_path)):
        browser.find_element(By.ID, f"{singular}-file").send_keys(str(path))
        browser.find_element(By.ID, f"{singular}-upload").click()
        wait.until(ec.text_to_be_present_in_element((By.ID, f"{singular}-status"), "Uploaded"))
    model_id = browser.find_element(By.ID, "model-select").get_attribute("value")
    dataset_id = browser.find_element(By.ID, "dataset-select").get_attribute("value")
    assert model_id.startswith("mdl_") and model_id != model["id"], model_id
    assert dataset_id.startswith("ds_") and dataset_id != dataset["id"], dataset_id
    with httpx.Client(base_url=live_api, timeout=30) as http:
        uploaded = http.get(f"/v1/models/{model_id}", headers=auth).json()
        assert uploaded["name"] == "cnn.onnx" and uploaded["size_bytes"] == model_path.stat().st_size

    # a mistyped key is caught against the API's schema before anything is sent
    _recipe(browser, '{"pases": [{"type": "quantize", "mode": "dynamic"}]}')
    error = wait.until(ec.presence_of_element_located((By.CSS_SELECTOR, '#submit-errors li[data-field="pases"]')))
    assert "did you mean `passes`" in error.text, error.text
    assert browser.find_element(By.ID, "recipe").get_attribute("aria-invalid") == "true"
    # a mistyped value passes that check: the server's 422 answer is shown field by field
    _recipe(browser, '{"passes": [{"type": "quantize", "mode": "dynamc"}]}')
    field = '#submit-errors li[data-field="passes.0.quantize.mode"]'
    error = wait.until(ec.presence_of_element_located((By.CSS_SELECTOR, field)))
    assert "did you mean 'dynamic'" in error.text, error.text
    assert "422" in browser.find_element(By.ID, "submit-status").text
    with httpx.Client(base_url=live_api, timeout=30) as http:
        assert [j["id"] for j in http.get("/v1/jobs", headers=auth).json()["items"]] == [other_id]
    _screenshot(browser, "refused")

    # the fixed recipe is submitted, followed live over SSE, and its report embedded
    _recipe(browser, '{"passes": [{"type": "quantize", "mode": "dynamic"}]}')
    wait.until(ec.text_to_be_present_in_element((By.ID, "submit-status"), "Submitted job_"))
    job_id = browser.find_element(By.ID, "submit-status").text.split()[1].rstrip(".")
    assert not browser.find_elements(By.CSS_SELECTOR, "#submit-errors li")
    wait.until(ec.text_to_be_present_in_element((By.ID, "detail-title"), job_id))
    wait.until(ec.text_to_be_present_in_element((By.ID, "detail-status"), "succeeded"))
    wait.until(ec.text_to_be_present_in_element((By.ID, "events"), "[state] job succeeded"))  # the stream's last
    events = browser.find_element(By.ID, "events").text.splitlines()
    assert events[0] == "[state] job queued" and events[-1] == "[state] job succeeded", events
    assert "[stage] stage: pass 1/1: quantize" in events, events
    assert browser.find_element(By.ID, "detail-progress").get_property("value") == 1
    frame = wait.until(ec.visibility_of_element_located((By.ID, "report-frame")))
    assert frame.get_attribute("sandbox") == ""  # no script, opaque origin
    browser.switch_to.frame(frame)
    assert browser.find_element(By.TAG_NAME, "h1").text == "Slimline report"
    assert browser.find_element(By.ID, "quality").text
    browser.switch_to.default_content()
    with httpx.Client(base_url=live_api, timeout=30) as http:
        mine = http.get(f"/v1/jobs/{job_id}", headers=auth).json()
        assert (mine["model_id"], mine["dataset_id"], mine["recipe"]["passes"][0]["mode"]) == (
            model_id,
            dataset_id,
            "dynamic",
        )
        theirs = wait_for_job(http, auth, other_id, timeout=120)
    assert theirs["status"] == "succeeded"
    _screenshot(browser, "submitted")
    browser.execute_script("document.getElementById('full-report').scrollIntoView()")
    # the sandboxed frame paints in its own process once in view: two animation frames later
    browser.execute_async_script("const done = arguments[0]; requestAnimationFrame(() => requestAnimationFrame(done))")
    _screenshot(browser, "report")

    # compare the two, with the keyboard: space ticks a job, Enter asks for the table
    for job in (job_id, other_id):
        row = f'tr.job[data-id="{job}"][data-status="succeeded"] input.pick'
        wait.until(ec.element_to_be_clickable((By.CSS_SELECTOR, row))).send_keys(Keys.SPACE)
    browser.find_element(By.ID, "compare-button").send_keys(Keys.ENTER)
    table = wait.until(ec.visibility_of_element_located((By.ID, "compare-table")))
    columns = [th.get_attribute("data-id") for th in table.find_elements(By.CSS_SELECTOR, 'th[scope="col"]')]
    assert sorted(columns) == sorted([job_id, other_id])
    for job in (mine, theirs):  # both read from the API after they succeeded
        report = job["result"]["report"]
        cells = {
            row.get_attribute("data-row"): row.find_element(By.CSS_SELECTOR, f'td[data-id="{job["id"]}"]').text
            for row in table.find_elements(By.CSS_SELECTOR, "tbody tr")
        }
        assert cells["size_before"] == f"{report['baseline']['size_bytes']:,}"
        assert cells["size_after"].removesuffix(" ★") == f"{report['optimized']['size_bytes']:,}"
        assert cells["latency_after"].removesuffix(" ★") == f"{report['optimized']['latency_ms_p50']:.3f}"
        assert cells["speedup"].startswith(f"{report['speedup']:.2f}×")
        assert cells["verdict"].startswith("within" if report["verdict"]["within"] else "outside")
        assert cells["passes"] == "quantize dynamic"
    _screenshot(browser, "compare")

    # readable on a narrow window: nothing wider than the screen but the tables' own scrollers
    browser.set_window_size(420, 1400)
    wait.until(lambda d: d.execute_script("return window.innerWidth") <= 420)
    width = "document.documentElement.clientWidth"  # the window less its scroll bar
    overflow = browser.execute_script(f"return document.documentElement.scrollWidth - {width}")
    wide = browser.execute_script(
        "return [...document.querySelectorAll('body *')].filter(e => !e.closest('.scroll')"
        f" && e.getBoundingClientRect().right > {width}).map(e => e.tagName + '#' + e.id).slice(0, 8)"
    )
    assert overflow <= 0, f"the page is {overflow}px wider than a 420px window: {wide}"
    _screenshot(browser, "narrow")


def test_the_readme_links_the_dashboard_on_the_port_serve_uses():
    import inspect

    from app.cli import serve

    port = inspect.signature(serve).parameters["port"].default
    assert f"http://127.0.0.1:{port}/ui/" in (REPO / "README.md").read_text()
