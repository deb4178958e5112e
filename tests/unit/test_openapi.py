"""openapi/openapi.json is generated from the app and must not drift from it."""

from __future__ import annotations

import json

from app.cli import REPO_OPENAPI, openapi_document


def test_checked_in_document_matches_the_app():
    assert REPO_OPENAPI.exists(), "run `slimline openapi`"
    assert REPO_OPENAPI.read_text() == openapi_document(), "openapi/openapi.json is stale: run `slimline openapi`"


def test_uploads_are_binary_file_parameters_and_passes_are_a_union():
    document = json.loads(openapi_document())
    for path in ("/v1/models", "/v1/datasets"):
        schema = document["paths"][path]["post"]["requestBody"]["content"]["multipart/form-data"]["schema"]
        assert schema["properties"]["file"] == {**schema["properties"]["file"], "type": "string", "format": "binary"}
    job_create = document["components"]["schemas"]["JobCreate"]
    assert "passes" in job_create["properties"]
    assert "QuantizePass" in document["components"]["schemas"]
    assert "Problem" in document["components"]["schemas"]
