"""/docs renders in a real headless browser with the network to the outside unused (CI has none)."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.clients.test_dashboard import browser  # noqa: F401 - the shared headless-Chromium fixture

pytestmark = pytest.mark.e2e
SCREENSHOT = Path("/tmp/slimline-docs.png")


def test_swagger_ui_renders_the_api_reference(browser, live_api):  # noqa: F811
    from selenium.webdriver.common.by import By
    from selenium.webdriver.support import expected_conditions as ec
    from selenium.webdriver.support.ui import WebDriverWait

    browser.get(f"{live_api}/docs")
    title = WebDriverWait(browser, 30).until(ec.visibility_of_element_located((By.CSS_SELECTOR, ".swagger-ui .title")))
    assert title.text.startswith("Slimline")
    operations = browser.find_elements(By.CSS_SELECTOR, ".opblock-summary-path")
    assert any(o.get_attribute("data-path") == "/v1/jobs/{job_id}" for o in operations)
    loaded = browser.execute_script("return performance.getEntriesByType('resource').map(e => e.name)")
    assert loaded and all(url.startswith(live_api) for url in loaded), loaded
    browser.save_screenshot(str(SCREENSHOT))
