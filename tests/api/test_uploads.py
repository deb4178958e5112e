"""Uploading, listing, downloading and deleting models and datasets."""

from __future__ import annotations

import hashlib

import numpy as np

from tests.factories import npz_bytes
from tests.helpers import upload, upload_ok


def test_upload_model_extracts_signature(client, auth, cnn_bytes):
    model = upload_ok(client, auth, "models", "cnn.onnx", cnn_bytes)
    assert model["id"].startswith("mdl_")
    assert model["format"] == "onnx"
    assert model["size_bytes"] == len(cnn_bytes)
    assert model["sha256"] == hashlib.sha256(cnn_bytes).hexdigest()
    assert model["opset"] >= 13
    assert model["inputs"][0]["name"] == "x" and model["inputs"][0]["dtype"] == "float32"
    assert model["inputs"][0]["shape"][1:] == [1, 8, 8]
    assert isinstance(model["inputs"][0]["shape"][0], str)  # dynamic batch
    assert model["outputs"][0]["name"] == "logits"
    assert model["parameter_count"] > 1000
    assert model["name"] == "cnn.onnx"


def test_upload_name_field_and_download_round_trip(client, auth, mlp_bytes):
    response = upload(client, auth, "models", "whatever.onnx", mlp_bytes, name="my mlp")
    assert response.status_code == 201
    model = response.json()
    assert model["name"] == "my mlp"
    download = client.get(f"/v1/models/{model['id']}/content", headers=auth)
    assert download.status_code == 200
    assert download.content == mlp_bytes
    assert download.headers["content-disposition"] == f'attachment; filename="{model["id"]}.onnx"'


def test_upload_dataset_reports_arrays_and_nan(client, auth):
    x = np.random.default_rng(0).standard_normal((10, 1, 8, 8)).astype(np.float32)
    x[0, 0, 0, 0] = np.nan
    dataset = upload_ok(client, auth, "datasets", "d.npz", npz_bytes(x=x, labels=np.arange(10) % 3))
    assert dataset["id"].startswith("ds_")
    assert dataset["num_samples"] == 10 and dataset["has_labels"] is True
    assert {a["name"] for a in dataset["arrays"]} == {"x", "labels"}
    assert any("NaN" in w for w in dataset["warnings"])


def test_list_is_cursor_paginated(client, auth, mlp_bytes):
    ids = [upload_ok(client, auth, "models", f"m{i}.onnx", mlp_bytes)["id"] for i in range(5)]
    seen, cursor = [], None
    while True:
        params = {"limit": 2, **({"cursor": cursor} if cursor else {})}
        page = client.get("/v1/models", headers=auth, params=params).json()
        seen += [m["id"] for m in page["items"]]
        cursor = page["next_cursor"]
        if cursor is None:
            break
    assert seen == list(reversed(ids))  # newest first, each exactly once


def test_bad_cursor_is_422(client, auth):
    response = client.get("/v1/models", headers=auth, params={"cursor": "garbage!"})
    assert response.status_code == 422 and response.json()["code"] == "invalid_input"


def test_delete_model_then_404(client, auth, mlp_bytes, settings):
    model = upload_ok(client, auth, "models", "m.onnx", mlp_bytes)
    assert client.delete(f"/v1/models/{model['id']}", headers=auth).status_code == 204
    assert client.get(f"/v1/models/{model['id']}", headers=auth).status_code == 404
    assert client.delete(f"/v1/models/{model['id']}", headers=auth).status_code == 404
    blobs = [p for p in settings.storage_dir.rglob(model["id"])]
    assert blobs == []


def test_delete_refused_while_a_job_uses_it(client, auth, model_and_data):
    model, dataset = model_and_data
    job = client.post("/v1/jobs", headers=auth, json={"model_id": model["id"], "dataset_id": dataset["id"]}).json()
    assert job["status"] == "queued"
    for kind, item in (("models", model), ("datasets", dataset)):
        response = client.delete(f"/v1/{kind}/{item['id']}", headers=auth)
        assert response.status_code == 409
        assert response.json()["code"] == "in_use" and job["id"] in response.json()["detail"]
    assert client.post(f"/v1/jobs/{job['id']}/cancel", headers=auth).status_code == 200
    assert client.delete(f"/v1/models/{model['id']}", headers=auth).status_code == 204


def test_upload_over_the_cap_is_413_and_leaves_nothing(settings, app, auth):
    from fastapi.testclient import TestClient

    from app.main import create_app

    small = settings.model_copy(update={"max_upload_bytes": 10_000})
    with TestClient(create_app(small), raise_server_exceptions=False) as client:
        response = upload(client, auth, "models", "big.onnx", b"\0" * 50_000)
    assert response.status_code == 413
    assert response.json()["code"] == "payload_too_large"
    assert list(settings.staging_dir.glob("upload-*")) == []


def test_upload_without_multipart_is_415(client, auth):
    response = client.post("/v1/models", headers={**auth, "Content-Type": "application/octet-stream"}, content=b"abc")
    assert response.status_code == 415
    assert response.json()["code"] == "unsupported_media_type"


def test_upload_without_file_part_is_422(client, auth):
    response = client.post("/v1/models", headers=auth, data={"name": "x"}, files={"other": ("a", b"b")})
    assert response.status_code == 422
    [error] = response.json()["errors"]
    assert error["field"] == "other" and "expected `file`" in error["message"]  # the part that is wrong
    only_a_name = client.post("/v1/models", headers=auth, files={"name": (None, b"x")})
    assert only_a_name.status_code == 422 and only_a_name.json()["errors"][0]["field"] == "file"
