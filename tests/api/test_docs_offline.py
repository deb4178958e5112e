"""/docs and /redoc load nothing from the internet: their scripts and styles come from the app."""

from __future__ import annotations

import re

import pytest


@pytest.mark.parametrize("page", ["/docs", "/redoc"])
def test_the_reference_pages_use_only_local_assets(client, page):
    response = client.get(page)
    assert response.status_code == 200 and response.headers["content-type"].startswith("text/html")
    assets = re.findall(r"""(?:src|href)=["']([^"']+)["']""", response.text)
    assert assets, response.text
    assert all(url.startswith("/") for url in assets), assets  # no CDN, no fonts.googleapis.com
    for url in assets:
        asset = client.get(url)
        assert asset.status_code == 200 and len(asset.content) > 1000, url
    assert "/openapi.json" in response.text


def test_the_front_page_is_the_dashboard(client):
    response = client.get("/", follow_redirects=False)
    assert response.status_code == 307 and response.headers["location"] == "/ui/"


@pytest.mark.parametrize("path", ["/ui/static/endpoints.py", "/ui/static/__init__.py", "/ui/static/ENDPOINTS.PY"])
def test_the_dashboard_serves_its_assets_not_its_python_files(client, path):
    assert client.get("/ui/static/app.js").status_code == 200
    assert client.get(path).status_code == 404
