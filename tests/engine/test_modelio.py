"""Model statistics the report relies on: parameter counts that quantization does not change."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import onnx
import pytest
from onnxruntime.quantization import CalibrationDataReader, QuantFormat, QuantType, quantize_dynamic, quantize_static

from worker.engine.modelio import input_specs, parameter_stats


class _Reader(CalibrationDataReader):
    def __init__(self, model: onnx.ModelProto) -> None:
        spec = input_specs(model)[0]
        shape = [d if isinstance(d, int) and d > 0 else 1 for d in spec.shape]
        rng = np.random.default_rng(0)
        self.feeds = iter([{spec.name: rng.standard_normal(shape).astype(np.float32)} for _ in range(4)])

    def get_next(self) -> dict[str, np.ndarray] | None:
        return next(self.feeds, None)


@pytest.mark.parametrize("name", ["cnn", "mlp", "transformer"])
@pytest.mark.parametrize("how", ["dynamic", "dynamic-per-channel", "static", "static-per-channel"])
def test_quantization_keeps_the_parameter_count(built, tmp_path: Path, name: str, how: str) -> None:
    source = built(name)
    parameters, sparsity = parameter_stats(onnx.load(source))
    assert parameters > 0
    out = tmp_path / "q.onnx"
    per_channel = how.endswith("per-channel")
    if how.startswith("dynamic"):
        quantize_dynamic(source, out, weight_type=QuantType.QInt8, per_channel=per_channel)
    else:
        quantize_static(source, out, _Reader(onnx.load(source)), quant_format=QuantFormat.QDQ, per_channel=per_channel)
    quantized, quantized_sparsity = parameter_stats(onnx.load(out))
    # Scales and zero points are not parameters; quantized weights and biases are. Static QDQ may
    # store a bias twice (once per consumer with its own scale: the transformer's LayerNorm bias).
    assert parameters <= quantized <= parameters * 1.01
    assert sparsity <= quantized_sparsity < sparsity + 0.05  # plus weights that rounded to their zero point


def test_sparsity_counts_zero_weights(tmp_path: Path) -> None:
    weight = np.ones((4, 4), dtype=np.float32)
    weight[:2] = 0.0
    graph = onnx.helper.make_graph(
        [onnx.helper.make_node("MatMul", ["x", "w"], ["y"])],
        "g",
        [onnx.helper.make_tensor_value_info("x", onnx.TensorProto.FLOAT, [1, 4])],
        [onnx.helper.make_tensor_value_info("y", onnx.TensorProto.FLOAT, [1, 4])],
        [onnx.numpy_helper.from_array(weight, "w")],
    )
    assert parameter_stats(onnx.helper.make_model(graph)) == (16, 0.5)
