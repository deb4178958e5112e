"""ONNX models with external data (small tensors forced external) and archives of them, built in the test."""

from __future__ import annotations

import io
import tarfile
import zipfile
from pathlib import Path

import numpy as np
import onnx
from onnx import TensorProto, helper, numpy_helper


def mlp_with_external_data(directory: Path, *, features: int = 8, classes: int = 4, seed: int = 0) -> Path:
    """A two-layer MLP (``x`` [batch, features] -> ``logits``) whose every weight lives in ``weights.bin``.

    A Relu sits behind an If-free graph; a second graph-level tensor lives in an If branch (a subgraph) so
    the subgraph rule is exercised too.
    """
    rng = np.random.default_rng(seed)
    w1 = numpy_helper.from_array(rng.standard_normal((features, 16)).astype(np.float32), "w1")
    b1 = numpy_helper.from_array(rng.standard_normal(16).astype(np.float32), "b1")
    w2 = numpy_helper.from_array(rng.standard_normal((16, classes)).astype(np.float32), "w2")
    shift = numpy_helper.from_array(rng.standard_normal(classes).astype(np.float32), "shift")
    then_branch = helper.make_graph(
        [helper.make_node("Constant", [], ["shift_out"], value=shift)],
        "then",
        [],
        [helper.make_tensor_value_info("shift_out", TensorProto.FLOAT, [classes])],
    )
    cond = numpy_helper.from_array(np.array(True), "cond")
    graph = helper.make_graph(
        [
            helper.make_node("MatMul", ["x", "w1"], ["h"]),
            helper.make_node("Add", ["h", "b1"], ["hb"]),
            helper.make_node("Relu", ["hb"], ["r"]),
            helper.make_node("MatMul", ["r", "w2"], ["z"]),
            helper.make_node("If", ["cond"], ["s"], then_branch=then_branch, else_branch=then_branch),
            helper.make_node("Add", ["z", "s"], ["logits"]),
        ],
        "mlp",
        [helper.make_tensor_value_info("x", TensorProto.FLOAT, ["batch", features])],
        [helper.make_tensor_value_info("logits", TensorProto.FLOAT, ["batch", classes])],
        [w1, b1, w2, cond],
    )
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)])
    model.ir_version = 8
    onnx.checker.check_model(model)
    directory.mkdir(parents=True, exist_ok=True)
    path = directory / "mlp.onnx"
    onnx.save_model(
        model,
        str(path),
        save_as_external_data=True,
        all_tensors_to_one_file=True,
        location="weights.bin",
        size_threshold=0,
    )
    return path


def archive_bytes(files: dict[str, bytes], kind: str, *, symlinks: dict[str, str] | None = None) -> bytes:
    """A zip or tar holding ``files`` (name -> content) and, in a tar, ``symlinks`` (name -> target)."""
    buffer = io.BytesIO()
    if kind == "zip":
        with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
            for name, content in files.items():
                archive.writestr(name, content)
        return buffer.getvalue()
    with tarfile.open(fileobj=buffer, mode="w", format=tarfile.PAX_FORMAT) as archive:
        for name, content in files.items():
            info = tarfile.TarInfo(name)
            info.size = len(content)
            archive.addfile(info, io.BytesIO(content))
        for name, target in (symlinks or {}).items():
            info = tarfile.TarInfo(name)
            info.type = tarfile.SYMTYPE
            info.linkname = target
            archive.addfile(info)
    return buffer.getvalue()


def model_archive(directory: Path, kind: str) -> bytes:
    """The MLP above and its data file as one archive (the files under a folder, as users zip them)."""
    path = mlp_with_external_data(directory)
    files = {"mlp/mlp.onnx": path.read_bytes(), "mlp/weights.bin": (directory / "weights.bin").read_bytes()}
    return archive_bytes(files, kind)


def with_location(model_path: Path, tensor: str, **fields: str) -> bytes:
    """The model's graph with one tensor's external data entries changed (``location``, ``offset``, ``length``)."""
    model = onnx.load(str(model_path), load_external_data=False)
    for init in model.graph.initializer:
        if init.name == tensor:
            for entry in init.external_data:
                if entry.key in fields:
                    entry.value = fields[entry.key]
    return model.SerializeToString()
