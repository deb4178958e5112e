"""A finished job's report.html opens in the browser (inline) under a CSP that lets it run nothing and load
nothing; the model and the JSON stay downloads."""

from __future__ import annotations

import pytest

from app.http import INLINE_CSP, disposition
from tests.helpers import submit_job


def test_report_html_and_plots_are_inline_under_a_strict_csp(client, auth, worker, cnn_bytes, images_npz):
    recipe = {"passes": [{"type": "quantize", "mode": "dynamic"}]}
    done = submit_job(client, auth, cnn_bytes, images_npz, recipe=recipe)
    assert done["status"] == "succeeded", done["error"]
    base = f"/v1/jobs/{done['id']}/artifacts"
    page = client.get(f"{base}/report.html", headers=auth)
    assert page.status_code == 200 and page.headers["content-type"].startswith("text/html")
    assert page.headers["content-disposition"] == 'inline; filename="report.html"'
    policy = page.headers["content-security-policy"]
    assert policy == INLINE_CSP
    directives = {part.strip().split(" ")[0]: part.strip() for part in policy.split(";")}
    assert directives["default-src"] == "default-src 'none'" and directives["img-src"] == "img-src data:"
    assert "script-src" not in directives and "sandbox" in directives  # no script, an opaque origin
    assert page.headers["x-content-type-options"] == "nosniff"
    assert '<svg role="img"' in page.text and "<img" not in page.text  # the plots travel inside the page
    plot = client.get(f"{base}/latency.png", headers=auth)
    assert plot.headers["content-disposition"] == 'inline; filename="latency.png"' and plot.content[:4] == b"\x89PNG"
    assert plot.headers["content-security-policy"] == INLINE_CSP
    for name in ("model.onnx", "report.json"):
        download = client.get(f"{base}/{name}", headers=auth)
        assert download.headers["content-disposition"] == f'attachment; filename="{name}"'
        assert "content-security-policy" not in download.headers


@pytest.mark.parametrize(
    ("media_type", "expected"),
    [
        ("text/html", "inline"),
        ("text/html; charset=utf-8", "inline"),
        ("image/png", "inline"),
        ("image/svg+xml", "attachment"),  # an SVG document can carry script
        ("application/json", "attachment"),
        ("application/octet-stream", "attachment"),
    ],
)
def test_only_html_and_raster_images_are_inline(media_type, expected):
    assert disposition(media_type) == expected
