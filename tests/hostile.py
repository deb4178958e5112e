"""Hostile and broken upload files, built as bytes by the tests (never loaded by them).

HOSTILE_MODELS / HOSTILE_DATASETS rows: (case id, filename, bytes factory, expected HTTP status, expected code).
"""

from __future__ import annotations

import io
import os
import pickle
import struct
import zipfile
from collections.abc import Callable
from functools import cache

import numpy as np
import onnx
from onnx import TensorProto, helper, numpy_helper


class _Evil:
    """Unpickling this would run a shell command; it is only ever pickled."""

    def __reduce__(self):  # type: ignore[no-untyped-def]
        return (os.system, ("echo pwned > /tmp/slimline-pwned",))


def _graph_model(nodes=None, *, opset: int = 17, domain_opsets=(), initializers=()) -> onnx.ModelProto:
    nodes = nodes if nodes is not None else [helper.make_node("Relu", ["x"], ["y"], name="relu")]
    graph = helper.make_graph(
        nodes,
        "g",
        [helper.make_tensor_value_info("x", TensorProto.FLOAT, ["batch", 4])],
        [helper.make_tensor_value_info("y", TensorProto.FLOAT, ["batch", 4])],
        list(initializers),
    )
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", opset), *domain_opsets])
    model.ir_version = 8
    return model


@cache
def valid_onnx() -> bytes:
    weight = helper.make_tensor("w", TensorProto.FLOAT, [4, 4], np.eye(4, dtype=np.float32).flatten().tolist())
    return _graph_model(
        [helper.make_node("MatMul", ["x", "w"], ["y"], name="mm")], initializers=[weight]
    ).SerializeToString()


def empty() -> bytes:
    return b""


def random_bytes() -> bytes:
    return np.random.default_rng(1).bytes(4096)


def truncated_onnx() -> bytes:
    data = valid_onnx()
    return data[: len(data) // 2]


def onnx_without_nodes() -> bytes:
    return _graph_model([]).SerializeToString()


def onnx_unknown_domain() -> bytes:
    node = helper.make_node("Teleport", ["x"], ["y"], domain="com.evil", name="t")
    return _graph_model([node], domain_opsets=[helper.make_opsetid("com.evil", 1)]).SerializeToString()


def onnx_opset_99() -> bytes:
    return _graph_model(opset=99).SerializeToString()


def _external(location: str) -> bytes:
    weight = helper.make_tensor("w", TensorProto.FLOAT, [4, 4], np.zeros(16, np.float32).tolist())
    weight.ClearField("float_data")
    weight.data_location = TensorProto.EXTERNAL
    for key, value in (("location", location), ("offset", "0"), ("length", "64")):
        entry = weight.external_data.add()
        entry.key, entry.value = key, value
    return _graph_model(
        [helper.make_node("MatMul", ["x", "w"], ["y"], name="mm")], initializers=[weight]
    ).SerializeToString()


def onnx_external_data_traversal() -> bytes:
    return _external("../../../etc/passwd")


def onnx_external_data_missing() -> bytes:
    return _external("weights.bin")


def pickle_named_pt() -> bytes:
    return pickle.dumps(_Evil(), protocol=2)


def _zip(members: dict[str, bytes]) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        for name, data in members.items():
            archive.writestr(name, data)
    return buffer.getvalue()


def _pt2_members(sample_inputs: bytes) -> dict[str, bytes]:
    program = {
        "graph_module": {
            "graph": {"tensor_values": {"x": {"dtype": 7, "sizes": [{"as_int": 2}, {"as_int": 4}]}}},
            "signature": {
                "input_specs": [{"user_input": {"arg": {"as_tensor": {"name": "x"}}}}],
                "output_specs": [{"user_output": {"arg": {"as_tensor": {"name": "x"}}}}],
            },
        }
    }
    import json

    return {
        "m/models/model.json": json.dumps(program).encode(),
        "m/data/sample_inputs/model.pt": sample_inputs,
        "m/data/weights/model_weights_config.json": b'{"config": {}}',
        "m/archive_format": b"pt2",
    }


def pt2_with_malicious_pickle() -> bytes:
    return _zip(_pt2_members(_zip({"archive/data.pkl": pickle.dumps(_Evil(), protocol=2)})))


def pt2_with_path_traversal() -> bytes:
    members = _pt2_members(b"")
    members["../../evil.py"] = b"print('pwned')"
    return _zip(members)


def pt2_with_pickled_weights() -> bytes:
    members = _pt2_members(b"")
    members["m/data/weights/model_weights_config.json"] = b'{"config": {"w": {"path_name": "w0", "use_pickle": true}}}'
    return _zip(members)


# os.system reached through STACK_GLOBAL with its strings fetched from the memo, after a decoy
# "collections OrderedDict" pair: a scanner that only looks at the last strings pushed is fooled.
MEMO_STACK_GLOBAL_PICKLE = (
    b"\x80\x04\x8c\x02os\x94\x8c\x06system\x94"
    + b"00"
    + b"\x8c\x0bcollections\x8c\x0bOrderedDict"
    + b"00"
    + b"h\x00h\x01\x93\x8c\x04true\x85R."
)


def pt2_with_memo_stack_global() -> bytes:
    return _zip(_pt2_members(_zip({"archive/data.pkl": MEMO_STACK_GLOBAL_PICKLE})))


def pt2_with_second_pickle() -> bytes:
    # Legacy (non-zip) torch.save files are several pickles in a row; torch.load runs them all.
    return _zip(_pt2_members(pickle.dumps(1, protocol=2) + pickle.dumps(_Evil(), protocol=2)))


def pt2_with_opaque_constant() -> bytes:
    # torch.export.load calls pickle.loads on opaque_obj_* constants whatever use_pickle says.
    members = _pt2_members(b"")
    members["m/data/constants/model_constants_config.json"] = (
        b'{"config": {"c": {"path_name": "opaque_obj_0", "is_param": false, "use_pickle": false}}}'
    )
    members["m/data/constants/opaque_obj_0"] = pickle.dumps(_Evil(), protocol=2)
    return _zip(members)


def pt2_with_aotinductor_library() -> bytes:
    # load_pt2 loads AOTInductor packages found under data/aotinductor/ (native code).
    members = _pt2_members(b"")
    members["m/data/aotinductor/model/model.so"] = b"\x7fELF" + bytes(60)
    return _zip(members)


def pt2_with_corrupt_config() -> bytes:
    members = _pt2_members(b"")
    members["m/data/weights/model_weights_config.json"] = b"{not json"
    return _zip(members)


def zip_not_an_archive_we_know() -> bytes:
    return _zip({"readme.txt": b"hello"})


def npz_object_array() -> bytes:
    buffer = io.BytesIO()
    np.savez(buffer, x=np.array([{"a": 1}, None], dtype=object))  # numpy pickles object arrays
    return buffer.getvalue()


def npz_zip_bomb_declared() -> bytes:
    """A member whose header claims 64 GiB: refused from the central directory, before inflating."""
    data = bytearray(_zip({"x.npy": b"\x93NUMPY" + b"\0" * 64}))
    end = data.rfind(b"PK\x05\x06")
    central = struct.unpack("<I", data[end + 16 : end + 20])[0]
    data[central + 24 : central + 28] = struct.pack("<I", 0xFFFFFFFE)  # uncompressed size
    return bytes(data)


@cache
def npz_zip_bomb_ratio() -> bytes:
    """256 MiB of zeros deflated to ~250 KiB: a ratio no real array reaches."""
    buffer = io.BytesIO()
    with (
        zipfile.ZipFile(buffer, "w", compression=zipfile.ZIP_DEFLATED, compresslevel=9) as archive,
        archive.open("x.npy", "w", force_zip64=True) as member,
    ):
        header = io.BytesIO()
        np.lib.format.write_array_header_1_0(header, {"descr": "<f4", "fortran_order": False, "shape": (64 * 1024**2,)})
        member.write(header.getvalue())
        block = bytes(16 * 1024**2)
        for _ in range(16):
            member.write(block)
    return buffer.getvalue()


def npz_mismatched_samples() -> bytes:
    buffer = io.BytesIO()
    np.savez(buffer, x=np.zeros((4, 3), np.float32), labels=np.zeros(5, np.int64))
    return buffer.getvalue()


def npz_with_non_array_member() -> bytes:
    return _zip({"x.npy": b"not an array", "notes.txt": b"hi"})


def npz_corrupt_array() -> bytes:
    return _zip({"x.npy": b"\x93NUMPY\x01\x00garbage"})


def _npy(header: dict[str, object], data: bytes) -> bytes:
    buffer = io.BytesIO()
    np.lib.format.write_array_header_1_0(buffer, header)
    return buffer.getvalue() + data


def npz_huge_declared_shape() -> bytes:
    """A valid zip whose .npy header declares 16 TiB (shape (2**42,) float32) over 16 bytes of data."""
    return _zip({"x.npy": _npy({"descr": "<f4", "fortran_order": False, "shape": (2**42,)}, bytes(16))})


def npz_shape_larger_than_data() -> bytes:
    """The header says 1000 float32 (4000 bytes); the member holds 16."""
    return _zip({"x.npy": _npy({"descr": "<f4", "fortran_order": False, "shape": (1000,)}, bytes(16))})


def npz_negative_shape() -> bytes:
    return _zip({"x.npy": _npy({"descr": "<f4", "fortran_order": False, "shape": (-4,)}, bytes(16))})


def npz_only_non_array_member() -> bytes:
    return _zip({"data.csv": b"1,2,3\n"})


Case = tuple[str, str, Callable[[], bytes], int, str]

HOSTILE_MODELS: list[Case] = [
    ("empty", "model.onnx", empty, 422, "invalid_model"),
    ("random-bytes", "model.onnx", random_bytes, 422, "invalid_model"),
    ("truncated-onnx", "model.onnx", truncated_onnx, 422, "invalid_model"),
    ("no-nodes", "model.onnx", onnx_without_nodes, 422, "invalid_model"),
    ("unknown-domain", "model.onnx", onnx_unknown_domain, 422, "invalid_model"),
    ("opset-99", "model.onnx", onnx_opset_99, 422, "invalid_model"),
    ("external-data-traversal", "model.onnx", onnx_external_data_traversal, 422, "unsafe_model"),
    ("external-data-missing", "model.onnx", onnx_external_data_missing, 422, "invalid_model"),
    ("pickle-named-pt", "evil.pt", pickle_named_pt, 422, "unsafe_model"),
    ("pt2-malicious-pickle", "model.pt2", pt2_with_malicious_pickle, 422, "unsafe_model"),
    ("pt2-path-traversal", "model.pt2", pt2_with_path_traversal, 422, "unsafe_model"),
    ("pt2-pickled-weights", "model.pt2", pt2_with_pickled_weights, 422, "unsafe_model"),
    ("pt2-memo-stack-global", "model.pt2", pt2_with_memo_stack_global, 422, "unsafe_model"),
    ("pt2-second-pickle", "model.pt2", pt2_with_second_pickle, 422, "unsafe_model"),
    ("pt2-opaque-constant", "model.pt2", pt2_with_opaque_constant, 422, "unsafe_model"),
    ("pt2-aotinductor", "model.pt2", pt2_with_aotinductor_library, 422, "unsafe_model"),
    ("pt2-corrupt-config", "model.pt2", pt2_with_corrupt_config, 422, "invalid_model"),
    ("zip-not-pt2", "model.pt2", zip_not_an_archive_we_know, 422, "invalid_model"),
]

HOSTILE_DATASETS: list[Case] = [
    ("empty", "data.npz", empty, 422, "invalid_dataset"),
    ("random-bytes", "data.npz", random_bytes, 422, "invalid_dataset"),
    ("object-array", "data.npz", npz_object_array, 422, "invalid_dataset"),
    ("zip-bomb-declared-size", "data.npz", npz_zip_bomb_declared, 413, "payload_too_large"),
    ("zip-bomb-ratio", "data.npz", npz_zip_bomb_ratio, 413, "payload_too_large"),
    ("mismatched-samples", "data.npz", npz_mismatched_samples, 422, "invalid_dataset"),
    ("non-array-member", "data.npz", npz_with_non_array_member, 422, "invalid_dataset"),
    ("corrupt-array", "data.npz", npz_corrupt_array, 422, "invalid_dataset"),
    ("huge-declared-shape", "data.npz", npz_huge_declared_shape, 413, "payload_too_large"),
    ("shape-larger-than-data", "data.npz", npz_shape_larger_than_data, 422, "invalid_dataset"),
    ("negative-shape", "data.npz", npz_negative_shape, 422, "invalid_dataset"),
    ("only-non-array-member", "data.npz", npz_only_non_array_member, 422, "invalid_dataset"),
]


def expand_bomb(side: int = 16384) -> bytes:
    """The issue's model, a few hundred bytes: x [1, 4] -> Expand to [1, side, side, 4] (4 GiB) -> ReduceSum."""
    shape = numpy_helper.from_array(np.array([1, side, side, 4], dtype=np.int64), "shape")
    axes = numpy_helper.from_array(np.array([1, 2], dtype=np.int64), "axes")
    graph = helper.make_graph(
        [
            helper.make_node("Expand", ["x", "shape"], ["big"]),
            helper.make_node("ReduceSum", ["big", "axes"], ["total"], keepdims=0),
        ],
        "expand-bomb",
        [helper.make_tensor_value_info("x", TensorProto.FLOAT, [1, 4])],
        [helper.make_tensor_value_info("total", TensorProto.FLOAT, [1, 4])],
        [shape, axes],
    )
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)])
    return model.SerializeToString()  # type: ignore[no-any-return]
