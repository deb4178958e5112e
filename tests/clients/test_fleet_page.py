"""The dashboard's Fleet page and a job's place in the fleet, in headless Chromium: a tenant sees the hardware
classes (and is told the workers need an operator key), picks a class in the form, follows a multi-target job
whose second class has no live worker; an operator sees the session worker in the workers table."""

from __future__ import annotations

from pathlib import Path

import httpx
import pytest

from tests.clients.test_dashboard import browser  # noqa: F401 - the shared headless-Chromium fixture
from tests.clients.test_fleet_cli import operator_key, session_worker_id  # noqa: F401
from tests.factories import cnn_onnx, image_dataset
from tests.helpers import new_api_key, stopped_worker_class, upload_ok, wait_for_job
from worker.engine.hardware import current_class

pytestmark = pytest.mark.e2e
SCREENSHOTS = Path("/tmp")
QUICK = [{"type": "quantize", "mode": "dynamic"}]  # one candidate: the test is about the page


def _log_in(driver, url: str, key: str) -> None:  # type: ignore[no-untyped-def]
    from selenium.webdriver.common.by import By
    from selenium.webdriver.support import expected_conditions as ec
    from selenium.webdriver.support.ui import WebDriverWait

    driver.get(f"{url}/ui/")
    driver.execute_script("sessionStorage.clear()")
    driver.get(f"{url}/ui/#/fleet")
    driver.find_element(By.ID, "api-key").send_keys(key)
    driver.find_element(By.ID, "login-button").click()
    WebDriverWait(driver, 30).until(ec.visibility_of_element_located((By.ID, "fleet-page")))


def test_fleet_page_and_a_jobs_hardware(browser, live_api, worker, settings, operator_key, tmp_path):  # noqa: F811
    from selenium.webdriver.common.by import By
    from selenium.webdriver.support import expected_conditions as ec
    from selenium.webdriver.support.ui import Select, WebDriverWait

    wait = WebDriverWait(browser, 60)
    here = current_class()
    key = new_api_key(settings.database_url)
    auth = {"Authorization": f"Bearer {key}"}

    # a tenant: the classes, and a note (not an error) where the workers would be
    _log_in(browser, live_api, key)
    ours = wait.until(ec.presence_of_element_located((By.CSS_SELECTOR, f'#hardware-table tr[data-class="{here}"]')))
    live = int(ours.find_elements(By.TAG_NAME, "td")[1].text)
    assert live >= 1
    wait.until(ec.text_to_be_present_in_element((By.ID, "workers-note"), "Operator key needed"))
    assert not browser.find_element(By.ID, "workers-table").is_displayed()
    assert browser.find_element(By.ID, "fleet-error").text == ""
    assert "cpu:" in browser.find_element(By.ID, "generic-queues").text

    with stopped_worker_class(settings.database_url) as gone, httpx.Client(base_url=live_api, timeout=30) as http:
        model = upload_ok(http, auth, "models", "cnn.onnx", cnn_onnx(tmp_path / "cnn.onnx").read_bytes())
        dataset = upload_ok(http, auth, "datasets", "d.npz", image_dataset(48))

        # the form's hardware choice becomes the recipe's target.hardware
        browser.find_element(By.ID, "nav-jobs").click()
        wait.until(ec.visibility_of_element_located((By.ID, "jobs-page")))
        browser.refresh()  # the form's lists now hold the uploads
        wait.until(ec.presence_of_element_located((By.CSS_SELECTOR, f'#model-select option[value="{model["id"]}"]')))
        wait.until(ec.presence_of_element_located((By.CSS_SELECTOR, f'#hardware-select option[value="{gone}"]')))
        Select(browser.find_element(By.ID, "model-select")).select_by_value(model["id"])
        Select(browser.find_element(By.ID, "dataset-select")).select_by_value(dataset["id"])
        Select(browser.find_element(By.ID, "hardware-select")).select_by_value(gone)
        field = browser.find_element(By.ID, "recipe")
        field.clear()
        field.send_keys('{"passes": [{"type": "quantize", "mode": "dynamic"}]}')
        browser.find_element(By.ID, "submit-job").click()
        wait.until(ec.text_to_be_present_in_element((By.ID, "submit-status"), "Submitted"))
        waiting_id = browser.find_element(By.ID, "submit-status").text.split()[1].rstrip(".")
        wait.until(ec.text_to_be_present_in_element((By.ID, "detail-title"), waiting_id))
        reason = wait.until(ec.visibility_of_element_located((By.ID, "detail-reason")))
        assert reason.text == f"waiting for hardware: no live worker of class {gone}"

        # a multi-target job: one class runs here, the other waits; each target has a page of its own
        created = http.post(
            "/v1/jobs",
            headers=auth,
            json={"model_id": model["id"], "dataset_id": dataset["id"], "passes": QUICK,
                  "target": {"hardware": [here, gone]}},
        )  # fmt: skip
        assert created.status_code == 202, created.text
        parent = http.get(f"/v1/jobs/{created.json()['id']}", headers=auth).json()
        targets = {t["hardware_class"]: t["job_id"] for t in parent["targets"]}
        assert wait_for_job(http, auth, targets[here], timeout=120)["status"] == "succeeded"
        browser.get(f"{live_api}/ui/#/jobs/{parent['id']}")
        wait.until(ec.text_to_be_present_in_element((By.ID, "detail-title"), parent["id"]))
        done = f'#targets-table tr[data-class="{here}"][data-status="succeeded"]'
        ran = wait.until(ec.presence_of_element_located((By.CSS_SELECTOR, done)))
        cells = [td.text for td in ran.find_elements(By.TAG_NAME, "td")]
        assert "×" in cells[2] and cells[3] in ("yes", "no")
        waits = browser.find_element(By.CSS_SELECTOR, f'#targets-table tr[data-class="{gone}"]')
        assert f"queued: waiting for hardware: no live worker of class {gone}" in waits.text
        browser.find_element(By.ID, "comparison-link").click()
        wait.until(ec.text_to_be_present_in_element((By.ID, "full-report-title"), "Comparison of the targets"))
        browser.switch_to.frame(browser.find_element(By.ID, "report-frame"))
        wait.until(lambda driver: gone in driver.find_element(By.TAG_NAME, "body").text)
        browser.switch_to.default_content()
        browser.save_screenshot(str(SCREENSHOTS / "slimline-dashboard-targets.png"))

        ran.find_element(By.CSS_SELECTOR, "a.target-link").click()
        wait.until(ec.text_to_be_present_in_element((By.ID, "detail-title"), targets[here]))
        wait.until(ec.text_to_be_present_in_element((By.ID, "detail-hardware"), f"hardware class: {here}"))
        assert parent["id"] in browser.find_element(By.ID, "detail-hardware").text
        for job_id in (parent["id"], waiting_id):
            assert http.post(f"/v1/jobs/{job_id}/cancel", headers=auth).status_code == 200

    # an operator: the workers table, with the session worker in it
    browser.find_element(By.ID, "logout").click()
    _log_in(browser, live_api, operator_key)
    worker_id = session_worker_id(worker)
    row = wait.until(ec.presence_of_element_located((By.CSS_SELECTOR, f'#workers-table tr[data-id="{worker_id}"]')))
    assert here in row.text and "CPUExecutionProvider" in row.text and "s ago" in row.text
    assert row.get_attribute("data-state") in ("idle", "busy")
    assert "registered" in browser.find_element(By.ID, "workers-note").text
    browser.save_screenshot(str(SCREENSHOTS / "slimline-dashboard-fleet.png"))
