"""Models with external data: uploaded as a zip or tar, checked tensor by tensor, stored as model.onnx + data."""

from __future__ import annotations

import io
import tarfile

import numpy as np
import onnx
import onnxruntime as ort
import pytest

from tests.factories.external_data import archive_bytes, mlp_with_external_data, model_archive, with_location
from tests.helpers import upload, upload_ok


@pytest.mark.parametrize("kind", ["zip", "tar"])
def test_archive_upload_is_validated_and_downloads_as_a_runnable_archive(client, auth, tmp_path, kind):
    model = upload_ok(client, auth, "models", f"mlp.{kind}", model_archive(tmp_path / "m", kind))
    assert model["format"] == "onnx" and model["opset"] == 17
    assert model["inputs"] == [{"name": "x", "dtype": "float32", "shape": ["batch", 8]}]
    assert model["parameter_count"] == 8 * 16 + 16 + 16 * 4
    download = client.get(f"/v1/models/{model['id']}/content", headers=auth)
    assert download.status_code == 200
    assert download.headers["content-disposition"].endswith(f'{model["id"]}.tar"')
    with tarfile.open(fileobj=io.BytesIO(download.content)) as archive:
        assert sorted(archive.getnames()) == ["model.onnx", "model.onnx.data"]
        archive.extractall(tmp_path / "out", filter="data")
    # onnxruntime reads no external data inside subgraphs from a file: run both models with their data inlined
    session = ort.InferenceSession(_inlined(tmp_path / "out" / "model.onnx"), providers=["CPUExecutionProvider"])
    reference = ort.InferenceSession(_inlined(tmp_path / "m" / "mlp.onnx"), providers=["CPUExecutionProvider"])
    x = np.random.default_rng(1).standard_normal((3, 8)).astype(np.float32)
    np.testing.assert_array_equal(session.run(None, {"x": x})[0], reference.run(None, {"x": x})[0])


def _inlined(path) -> bytes:
    return onnx.load(str(path)).SerializeToString()


def _refused(client, auth, content: bytes, *, status: int = 422) -> str:
    response = upload(client, auth, "models", "bad.tar", content)
    assert response.status_code == status, response.text
    assert response.headers["content-type"].startswith("application/problem+json")
    return response.json()["detail"]


def _files(tmp_path) -> tuple[object, dict[str, bytes]]:
    path = mlp_with_external_data(tmp_path / "m")
    return path, {"mlp.onnx": path.read_bytes(), "weights.bin": (tmp_path / "m" / "weights.bin").read_bytes()}


def test_traversal_absolute_and_missing_locations_name_the_tensor(client, auth, tmp_path):
    path, files = _files(tmp_path)
    for location in ("../weights.bin", "/etc/passwd", "sub/../../weights.bin"):
        graph = with_location(path, "w1", location=location)
        detail = _refused(client, auth, archive_bytes({**files, "mlp.onnx": graph}, "tar"))
        assert "'w1'" in detail and "outside the archive" in detail
    missing = archive_bytes({"mlp.onnx": files["mlp.onnx"]}, "zip")
    detail = _refused(client, auth, missing)
    assert "missing from the archive" in detail and "weights.bin" in detail


def test_traversal_member_names_are_refused(client, auth, tmp_path):
    _, files = _files(tmp_path)
    detail = _refused(client, auth, archive_bytes({**files, "../evil.bin": b"x"}, "tar"))
    assert "unsafe path" in detail and "../evil.bin" in detail


def test_symlink_data_file_names_the_tensor(client, auth, tmp_path):
    path, files = _files(tmp_path)
    content = archive_bytes({"mlp.onnx": files["mlp.onnx"]}, "tar", symlinks={"weights.bin": "/etc/passwd"})
    detail = _refused(client, auth, content)
    assert "is a link" in detail and "tensor 'w1'" in detail


def test_short_data_file_and_size_mismatch_name_the_tensor(client, auth, tmp_path):
    path, files = _files(tmp_path)
    short = archive_bytes({**files, "weights.bin": files["weights.bin"][:100]}, "tar")
    detail = _refused(client, auth, short)
    assert "too short" in detail and "tensor '" in detail
    wrong = with_location(path, "w2", length="12")
    detail = _refused(client, auth, archive_bytes({**files, "mlp.onnx": wrong}, "zip"))
    assert "'w2'" in detail and "does not match its shape" in detail


def test_subgraph_tensors_follow_the_same_rules(client, auth, tmp_path):
    path, files = _files(tmp_path)
    model = onnx.load(str(path), load_external_data=False)
    if_node = next(n for n in model.graph.node if n.op_type == "If")
    constant = if_node.attribute[0].g.node[0].attribute[0].t
    constant.ClearField("float_data")
    constant.ClearField("raw_data")
    constant.data_location = onnx.TensorProto.EXTERNAL
    entry = constant.external_data.add()
    entry.key, entry.value = "location", "../../secret"
    detail = _refused(client, auth, archive_bytes({**files, "mlp.onnx": model.SerializeToString()}, "zip"))
    assert "'shift'" in detail and "outside the archive" in detail


def test_archive_above_the_model_limit_is_refused(app, client, auth, tmp_path, settings, monkeypatch):
    monkeypatch.setattr(settings, "max_model_bytes", 1000)
    detail = _refused(client, auth, model_archive(tmp_path / "m", "tar"), status=422)
    assert "1000 bytes" in detail


def test_engine_saves_large_models_with_external_data(tmp_path, monkeypatch):
    """The engine's writer switches to external data above the threshold (2 GB less room in production; 1 KB here)."""
    from app.core.safety import model_archive
    from worker.engine import modelio
    from worker.runner import _bundle_external_data

    path = mlp_with_external_data(tmp_path / "m")
    model = modelio.load(path)
    monkeypatch.setenv(modelio.THRESHOLD_ENV, "1024")
    out = tmp_path / "out"
    out.mkdir()
    saved = modelio.save(model, out / "model.onnx")
    assert (out / "model.onnx.data").exists()
    assert (
        onnx.load(str(saved), load_external_data=False).graph.initializer[0].data_location == onnx.TensorProto.EXTERNAL
    )
    report = out / "report.json"
    report.write_text("{}")
    artifacts, name = _bundle_external_data(
        {"model.onnx": saved, "model.onnx.data": out / "model.onnx.data", "report.json": report}, "model.onnx", out
    )
    assert name == "model.tar" and sorted(artifacts) == ["model.tar", "report.json"]
    unpacked = model_archive.unpack(artifacts["model.tar"], tmp_path, max_total_bytes=10**6)
    assert modelio.load(unpacked).graph.initializer[0].raw_data == model.graph.initializer[0].raw_data
    monkeypatch.delenv(modelio.THRESHOLD_ENV)
    copied = modelio.copy(unpacked, tmp_path / "copy.onnx")  # small again: one file
    assert not (tmp_path / "copy.onnx.data").exists() and modelio.load(copied).graph.initializer


def _multipart(client, auth, model: tuple[str, bytes], data: list[tuple[str, bytes]]):
    files = [("file", (model[0], model[1], "application/octet-stream"))]
    files += [("data", (name, content, "application/octet-stream")) for name, content in data]
    return client.post("/v1/models", headers=auth, files=files)


def test_an_onnx_with_its_data_files_in_one_request_is_the_same_as_their_archive(client, auth, tmp_path):
    _, files = _files(tmp_path)
    response = _multipart(client, auth, ("mlp.onnx", files["mlp.onnx"]), [("weights.bin", files["weights.bin"])])
    assert response.status_code == 201, response.text
    model = response.json()
    archived = upload_ok(client, auth, "models", "mlp.tar", archive_bytes(files, "tar"))
    for field in ("format", "opset", "inputs", "outputs", "parameter_count"):
        assert model[field] == archived[field]
    download = client.get(f"/v1/models/{model['id']}/content", headers=auth)
    assert download.headers["content-disposition"].endswith(f'{model["id"]}.tar"')
    with tarfile.open(fileobj=io.BytesIO(download.content)) as archive:
        assert sorted(archive.getnames()) == ["model.onnx", "model.onnx.data"]


def test_data_parts_are_checked_like_an_archive_and_name_what_is_wrong(client, auth, tmp_path):
    path, files = _files(tmp_path)
    model = ("mlp.onnx", files["mlp.onnx"])
    cases = [
        ([], "missing from the archive"),  # no data part: the tensors' file is not there ...
        ([("weights.bin", files["weights.bin"][:-8])], "'w"),  # ... or shorter than the tensors say
        ([("../weights.bin", files["weights.bin"])], "not a plain file name"),
        ([("weights.bin", b"x"), ("weights.bin", b"y")], "sent twice"),
        ([("", files["weights.bin"])], "has no file name"),
    ]
    for data, expected in cases:
        response = _multipart(client, auth, model, data)
        if not data:  # a plain .onnx whose data is elsewhere: refused as before
            assert response.status_code == 422 and "`data` part" in response.json()["detail"], response.text
            continue
        assert response.status_code == 422, (data, response.text)
        assert response.headers["content-type"].startswith("application/problem+json")
        assert expected in response.json()["detail"], (data, response.json()["detail"])
    pt2 = _multipart(client, auth, ("m.pt2", b"PK"), [("weights.bin", files["weights.bin"])])
    assert pt2.status_code == 422 and "must be the .onnx file" in pt2.json()["detail"]
    dataset = client.post("/v1/datasets", headers=auth, files=[("file", ("d.npz", b"x")), ("data", ("w.bin", b"x"))])
    assert dataset.status_code == 422 and "unknown form field `data`" in dataset.json()["detail"]
