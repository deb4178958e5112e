"""Validation errors say what to fix: where malformed JSON breaks, and the closest valid name for a typo."""

from __future__ import annotations

import pytest


def _errors(response) -> list[dict]:
    assert response.status_code == 422, response.text
    assert response.headers["content-type"].startswith("application/problem+json")
    return response.json()["errors"]


def test_malformed_json_names_line_and_column(client, auth):
    body = b'{\n  "model_id": "mdl_x",\n  "dataset_id": \n}'
    response = client.post("/v1/jobs", headers={**auth, "Content-Type": "application/json"}, content=body)
    [error] = _errors(response)
    assert error["field"] == "body"
    assert error["message"].startswith("malformed JSON at line 4, column 1"), error
    assert "malformed JSON at line 4, column 1" in response.json()["detail"]


@pytest.mark.parametrize(
    ("extra", "field", "suggestion"),
    [
        ({"qualty": {}}, "qualty", "did you mean `quality`?"),
        ({"quality": {"max_acuracy_drop": 1}}, "quality.max_acuracy_drop", "did you mean `max_accuracy_drop`?"),
        ({"passes": [{"type": "quantize", "mdoe": "dynamic"}]}, "passes.0.quantize.mdoe", "did you mean `mode`?"),
        ({"tune": {"sed": 1}}, "tune.sed", "did you mean `seed`?"),
        ({"passes": [{"type": "quantise"}]}, "passes.0", "did you mean 'quantize'?"),
        ({"passes": [{"type": "quantize", "mode": "dynamc"}]}, "passes.0.quantize.mode", "did you mean 'dynamic'?"),
    ],
)
def test_a_typo_gets_the_closest_valid_name(client, auth, extra, field, suggestion):
    response = client.post("/v1/jobs", headers=auth, json={"model_id": "mdl_x", "dataset_id": "ds_x", **extra})
    errors = _errors(response)
    matching = [e for e in errors if e["field"] == field]
    assert matching and suggestion in matching[0]["message"], errors


def test_an_unknown_field_with_nothing_close_lists_the_valid_names(client, auth):
    body = {"model_id": "mdl_x", "dataset_id": "ds_x", "tune": {"zzzzzz": 1}}
    [error] = _errors(client.post("/v1/jobs", headers=auth, json=body))
    assert error["message"].startswith("unknown field `zzzzzz`; valid here: ") and "seed" in error["message"]


@pytest.mark.parametrize("field", ["model", "dataset", "fil"])
def test_a_file_in_an_unknown_form_field_names_the_expected_one(client, auth, field):
    files = {field: ("m.onnx", b"\x00" * 8000, "application/octet-stream")}
    response = client.post("/v1/models", headers=auth, files=files)
    assert response.status_code == 422, response.text
    problem = response.json()
    assert f"unknown form field `{field}` (the file): send the file as `file`" in problem["detail"]
    assert problem["errors"][0]["field"] == field
    if field == "fil":
        assert "did you mean `file`?" in problem["detail"]
