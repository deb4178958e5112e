"""Upload validation on real files: ONNX models, torch.export archives, .npz datasets, and their fit."""

from __future__ import annotations

import contextlib
import io
import zipfile
from pathlib import Path

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from app.core.errors import DomainError, IncompatibleDataset, UnsafeModel
from app.core.schemas.tensors import TensorSpec
from app.uploads.validation import (
    ArraySpec,
    DatasetInfo,
    ModelInfo,
    check_compatible,
    inspect_dataset,
    inspect_model,
)
from tests import hostile
from tests.factories import cnn_onnx, npz_bytes


@pytest.fixture(scope="module")
def pt2_path(tmp_path_factory) -> Path:
    import torch

    class Net(torch.nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.linear = torch.nn.Linear(4, 3)

        def forward(self, x):  # type: ignore[no-untyped-def]
            return self.linear(x).relu()

    program = torch.export.export(Net(), (torch.randn(2, 4),), dynamic_shapes=({0: torch.export.Dim("batch")},))
    path = tmp_path_factory.mktemp("pt2") / "net.pt2"
    torch.export.save(program, str(path))
    return path


def test_onnx_signature(tmp_path):
    info = inspect_model(cnn_onnx(tmp_path / "cnn.onnx"), filename="cnn.onnx")
    assert info.format == "onnx" and info.opset >= 17
    assert info.inputs == [TensorSpec(name="x", dtype="float32", shape=["batch", 1, 8, 8])]
    assert info.outputs[0].name == "logits" and info.outputs[0].shape == ["batch", 10]
    # conv1 16*1*9+16 (the exporter folds the batch norm into it), conv2 32*16*9+32, fc 32*10+10
    assert info.parameter_count == 16 * 9 + 16 + 32 * 16 * 9 + 32 + 32 * 10 + 10


def test_real_torch_export_archive_is_accepted_with_its_signature(pt2_path):
    info = inspect_model(pt2_path, filename="net.pt2")
    assert info.format == "torch_export" and info.opset is None
    assert [(i.name, i.dtype) for i in info.inputs] == [("x", "float32")]
    assert isinstance(info.inputs[0].shape[0], str) and info.inputs[0].shape[1] == 4
    assert info.parameter_count == 4 * 3 + 3


def test_tampered_archive_with_a_malicious_sample_input_is_refused(pt2_path, tmp_path):
    tampered = tmp_path / "tampered.pt2"
    with zipfile.ZipFile(pt2_path) as source, zipfile.ZipFile(tampered, "w") as target:
        for info in source.infolist():
            data = source.read(info)
            if "sample_inputs" in info.filename:
                data = hostile._zip({"archive/data.pkl": hostile.pickle_named_pt()})
            target.writestr(info, data)
    with pytest.raises(UnsafeModel, match="system"):
        inspect_model(tampered, filename="net.pt2")


def test_name_is_not_trusted(tmp_path):
    path = tmp_path / "model.onnx"
    path.write_bytes(hostile.pickle_named_pt())
    with pytest.raises(UnsafeModel, match="pickle"):
        inspect_model(path, filename="model.onnx")


@pytest.mark.parametrize(
    ("case", "filename", "factory", "status", "code"),
    hostile.HOSTILE_MODELS,
    ids=[c[0] for c in hostile.HOSTILE_MODELS],
)
def test_hostile_models_raise_the_documented_error(tmp_path, case, filename, factory, status, code):
    path = tmp_path / filename
    path.write_bytes(factory())
    with pytest.raises(DomainError) as info:
        inspect_model(path, filename=filename)
    assert (info.value.status, info.value.code) == (status, code)


@pytest.mark.parametrize(
    ("case", "filename", "factory", "status", "code"),
    hostile.HOSTILE_DATASETS,
    ids=[c[0] for c in hostile.HOSTILE_DATASETS],
)
def test_hostile_datasets_raise_the_documented_error(tmp_path, case, filename, factory, status, code):
    path = tmp_path / filename
    path.write_bytes(factory())
    with pytest.raises(DomainError) as info:
        inspect_dataset(path, max_uncompressed_bytes=2 * 1024**3)
    assert (info.value.status, info.value.code) == (status, code)


def test_dataset_description_and_nan_report(tmp_path):
    x = np.ones((5, 3), np.float32)
    x[1, 1], x[2, 2] = np.nan, np.inf
    path = tmp_path / "d.npz"
    path.write_bytes(npz_bytes(x=x, labels=np.arange(5)))
    info = inspect_dataset(path, max_uncompressed_bytes=10**6)
    assert info.num_samples == 5 and info.has_labels
    assert ArraySpec(name="x", dtype="float32", shape=[5, 3]) in info.arrays
    assert ArraySpec(name="labels", dtype="int64", shape=[5], min_value=0, max_value=4) in info.arrays
    assert info.warnings == ["array 'x' has 1 NaN and 1 Inf values"]


def test_dataset_over_the_cap_is_refused_before_reading(tmp_path):
    path = tmp_path / "d.npz"
    path.write_bytes(npz_bytes(x=np.zeros((1000, 100), np.float32)))
    with pytest.raises(DomainError) as info:
        inspect_dataset(path, max_uncompressed_bytes=100_000)
    assert info.value.status == 413


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(
    data=st.one_of(
        st.binary(max_size=2048),
        st.dictionaries(st.text(min_size=1, max_size=20), st.binary(max_size=512), max_size=4).map(
            lambda members: hostile._zip({name.replace("\0", "_"): body for name, body in members.items()})
        ),
    )
)
def test_dataset_parser_raises_only_domain_errors(tmp_path, data):
    path = tmp_path / "fuzz.npz"
    path.write_bytes(data)
    with contextlib.suppress(DomainError):
        inspect_dataset(path, max_uncompressed_bytes=10**7)


@settings(max_examples=100, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(data=st.binary(max_size=4096))
def test_model_parser_raises_only_domain_errors(tmp_path, data):
    path = tmp_path / "fuzz.bin"
    path.write_bytes(b"PK\x03\x04" + data if data[:1] == b"\0" else data)
    with contextlib.suppress(DomainError):
        inspect_model(path, filename="fuzz.bin")


def _model(*inputs: TensorSpec) -> ModelInfo:
    return ModelInfo("onnx", 17, list(inputs), [TensorSpec(name="y", dtype="float32", shape=["b", 2])], 1)


def _data(*arrays: TensorSpec) -> DatasetInfo:
    return DatasetInfo(list(arrays), 10, any(a.name == "labels" for a in arrays))


def test_compatible_forms():
    model = _model(TensorSpec(name="x", dtype="float32", shape=["batch", 3, 8, 8]))
    check_compatible(model, _data(TensorSpec(name="x", dtype="float32", shape=[10, 3, 8, 8])))
    fixed = _model(TensorSpec(name="x", dtype="float32", shape=[1, 3, 8, 8]))
    check_compatible(fixed, _data(TensorSpec(name="x", dtype="float32", shape=[10, 1, 3, 8, 8])))  # one feed per sample
    check_compatible(
        model,
        _data(
            TensorSpec(name="x", dtype="float32", shape=[10, 3, 8, 8]),
            TensorSpec(name="labels", dtype="int64", shape=[10]),
        ),
    )


@pytest.mark.parametrize(
    ("array", "needle"),
    [
        (TensorSpec(name="image", dtype="float32", shape=[10, 3, 8, 8]), "no array for model input 'x'"),
        (TensorSpec(name="x", dtype="float64", shape=[10, 3, 8, 8]), "float64"),
        (TensorSpec(name="x", dtype="float32", shape=[10, 3, 9, 9]), "does not fit"),
        (TensorSpec(name="x", dtype="float32", shape=[10, 3]), "rank 4"),
    ],
)
def test_incompatible_forms_name_the_mismatch(array, needle):
    model = _model(TensorSpec(name="x", dtype="float32", shape=["batch", 3, 8, 8]))
    with pytest.raises(IncompatibleDataset) as info:
        check_compatible(model, _data(array))
    assert needle in info.value.detail and info.value.errors


def test_extra_arrays_are_named():
    model = _model(TensorSpec(name="x", dtype="float32", shape=["batch", 2]))
    with pytest.raises(IncompatibleDataset, match="'mask'"):
        check_compatible(
            model,
            _data(
                TensorSpec(name="x", dtype="float32", shape=[10, 2]),
                TensorSpec(name="mask", dtype="float32", shape=[10, 2]),
            ),
        )


def test_buffer_helper_round_trips():
    with zipfile.ZipFile(io.BytesIO(hostile._zip({"a": b"b"}))) as archive:
        assert archive.read("a") == b"b"


def _inspected(tmp_path: Path, builder, arrays: dict[str, np.ndarray]) -> tuple[ModelInfo, DatasetInfo]:  # type: ignore[no-untyped-def]
    model = inspect_model(builder(tmp_path / "model.onnx"), filename="model.onnx")
    data = tmp_path / "data.npz"
    data.write_bytes(npz_bytes(**arrays))
    return model, inspect_dataset(data, max_uncompressed_bytes=10**7)


def test_a_rank_0_input_stored_as_one_value_per_sample_fits(tmp_path):
    from tests.engine.stateful_models import scalar_input_data, scalar_input_mlp

    model, dataset = _inspected(tmp_path, scalar_input_mlp, scalar_input_data(12))
    assert TensorSpec(name="gain", dtype="float32", shape=[]) in model.inputs
    assert ArraySpec(name="gain", dtype="float32", shape=[12]) in dataset.arrays
    check_compatible(model, dataset)


def test_int64_int32_and_bool_inputs_fit(tmp_path):
    from tests.engine.stateful_models import typed_inputs, typed_inputs_data

    model, dataset = _inspected(tmp_path, typed_inputs, typed_inputs_data(10))
    assert {(i.name, i.dtype) for i in model.inputs} == {("tokens", "int64"), ("mask", "bool"), ("offset", "int32")}
    check_compatible(model, dataset)


def _detector() -> ModelInfo:
    """The signature of a streaming detector: a chunk, a recurrent state and a rank-0 sample rate."""
    return ModelInfo(
        "onnx",
        17,
        [
            TensorSpec(name="input", dtype="float32", shape=[1, 64]),
            TensorSpec(name="state", dtype="float32", shape=[1, 1, 32]),
            TensorSpec(name="sr", dtype="int64", shape=[]),
        ],
        [
            TensorSpec(name="output", dtype="float32", shape=[1, 1]),
            TensorSpec(name="stateN", dtype="float32", shape=[1, 1, 32]),
        ],
        1,
    )


def _stream(sequence_id: TensorSpec | None) -> DatasetInfo:
    arrays = [
        TensorSpec(name="input", dtype="float32", shape=[10, 1, 64]),
        TensorSpec(name="state", dtype="float32", shape=[10, 1, 1, 32]),
        TensorSpec(name="sr", dtype="int64", shape=[10]),
    ]
    return DatasetInfo([*arrays, *([sequence_id] if sequence_id else [])], 10, False)


@pytest.mark.parametrize("dtype", ["int64", "int32", "uint8"])
def test_sequence_id_is_a_reserved_array_not_a_model_input(dtype):
    check_compatible(_detector(), _stream(None))
    check_compatible(_detector(), _stream(TensorSpec(name="sequence_id", dtype=dtype, shape=[10])))


@pytest.mark.parametrize(
    ("array", "needle"),
    [
        (TensorSpec(name="sequence_id", dtype="float32", shape=[10]), "not float32 of shape [10]"),
        (TensorSpec(name="sequence_id", dtype="bool", shape=[10]), "not bool"),
        (TensorSpec(name="sequence_id", dtype="int64", shape=[10, 1]), "shape [10, 1]"),
    ],
)
def test_a_malformed_sequence_id_is_refused_by_name(array, needle):
    with pytest.raises(IncompatibleDataset) as info:
        check_compatible(_detector(), _stream(array))
    assert "'sequence_id'" in info.value.detail and needle in info.value.detail
    assert "one integer per sample (shape [10]" in info.value.detail
    assert [e["field"] for e in info.value.errors] == ["arrays.sequence_id"]


def test_a_model_input_named_like_the_reserved_array_is_refused():
    model = _model(TensorSpec(name="sequence_id", dtype="int64", shape=["batch"]))
    with pytest.raises(IncompatibleDataset, match="reserved"):
        check_compatible(model, _data(TensorSpec(name="sequence_id", dtype="int64", shape=[10])))
