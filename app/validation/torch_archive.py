"""torch.export ``.pt2`` archives, inspected without torch and without unpickling.

``torch.export.load`` is not safe on untrusted files (it retries ``torch.load`` with
``weights_only=False`` for sample inputs, and weights marked ``use_pickle`` go straight to pickle).
So: every member name and size is checked, weights must be raw (``use_pickle: false``), and every
pickle in the archive (including the one inside the nested sample-inputs archive) may reference only
the globals that ``torch.load(weights_only=True)`` accepts. The signature comes from the serialized
program's JSON.
"""

from __future__ import annotations

import io
import json
import pickletools
import zipfile
from pathlib import Path
from typing import Any

from app.errors import InvalidModel, UnsafeModel
from app.schemas.tensors import Dim, TensorSpec
from app.validation.onnx_model import ModelInfo
from app.validation.zipsafe import read_member, safe_members

MAX_ARCHIVE_BYTES = 8 * 1024**3
MAX_JSON_BYTES = 256 * 1024**2
MAX_PICKLE_BYTES = 64 * 1024**2

# What torch's weights_only unpickler allows for tensors and plain containers.
ALLOWED_GLOBALS = {
    "torch._utils._rebuild_tensor_v2",
    "torch._utils._rebuild_tensor_v3",
    "torch._utils._rebuild_parameter",
    "torch._utils._rebuild_parameter_with_state",
    "torch._tensor._rebuild_from_type_v2",
    "torch._utils._rebuild_device_tensor_from_numpy",
    "torch._utils._rebuild_qtensor",
    "torch._utils._rebuild_sparse_tensor",
    "torch.nn.parameter.Parameter",
    "torch.Size",
    "torch.device",
    "torch.Tensor",
    "collections.OrderedDict",
    "builtins.set",
    "builtins.frozenset",
    "builtins.slice",
    "builtins.bytearray",
    "builtins.complex",
    "torch.serialization._get_layout",
    "torch.float32",
    "torch.float16",
    "torch.bfloat16",
    "torch.float64",
    "torch.int64",
    "torch.int32",
    "torch.int16",
    "torch.int8",
    "torch.uint8",
    "torch.bool",
}
ALLOWED_STORAGES = {
    "FloatStorage",
    "DoubleStorage",
    "HalfStorage",
    "BFloat16Storage",
    "LongStorage",
    "IntStorage",
    "ShortStorage",
    "CharStorage",
    "ByteStorage",
    "BoolStorage",
    "UntypedStorage",
}
SCALAR_TYPES = {
    1: "uint8",
    2: "int8",
    3: "int16",
    4: "int32",
    5: "int64",
    6: "float16",
    7: "float32",
    8: "float64",
    12: "bool",
    13: "bfloat16",
    28: "uint16",
    34: "uint32",
    35: "uint64",
}


def _globals_in_pickle(data: bytes) -> set[str]:
    """Every global a pickle would import, found by walking its opcodes (nothing is executed)."""
    found: set[str] = set()
    recent_strings: list[str] = []
    try:
        for opcode, arg, _ in pickletools.genops(data):
            if opcode.name in (
                "SHORT_BINUNICODE",
                "BINUNICODE",
                "UNICODE",
                "BINUNICODE8",
                "SHORT_BINSTRING",
                "BINSTRING",
                "STRING",
            ):
                recent_strings.append(str(arg))
            elif opcode.name == "GLOBAL":
                module, _, name = str(arg).partition(" ")
                found.add(f"{module}.{name}")
            elif opcode.name == "STACK_GLOBAL":
                if len(recent_strings) < 2:
                    found.add("<unresolvable STACK_GLOBAL>")
                else:
                    found.add(f"{recent_strings[-2]}.{recent_strings[-1]}")
            elif opcode.name == "INST":
                module, _, name = str(arg).partition(" ")
                found.add(f"{module}.{name}")
            elif opcode.name in ("OBJ", "EXT1", "EXT2", "EXT4"):
                found.add(f"<opcode {opcode.name}>")  # imports we cannot name statically
    except Exception as exc:  # noqa: BLE001 - a malformed pickle is refused, whatever the parser raises
        raise UnsafeModel(f"an embedded pickle cannot be parsed safely: {exc}") from None
    return found


def _check_pickle(name: str, data: bytes) -> None:
    bad = sorted(
        g
        for g in _globals_in_pickle(data)
        if g not in ALLOWED_GLOBALS and not (g.startswith("torch.") and g.split(".")[-1] in ALLOWED_STORAGES)
    )
    if bad:
        raise UnsafeModel(
            f"archive member {name!r} would import {', '.join(bad[:5])} when unpickled; only tensors are accepted"
        )


def _dims(meta: dict[str, Any]) -> list[Dim]:
    dims: list[Dim] = []
    for size in meta.get("sizes", []):
        if "as_int" in size:
            dims.append(int(size["as_int"]))
        else:
            expr = str(size.get("as_expr", {}).get("expr_str", ""))
            symbol = expr.split("'")[1] if "Symbol('" in expr else (expr or None)
            dims.append(symbol)
    return dims


def _spec(name: str, meta: dict[str, Any] | None) -> TensorSpec:
    if meta is None:
        return TensorSpec(name=name, dtype="unknown", shape=[])
    return TensorSpec(name=name, dtype=SCALAR_TYPES.get(int(meta.get("dtype", 0)), "unknown"), shape=_dims(meta))


def _signature(program: dict[str, Any]) -> tuple[list[TensorSpec], list[TensorSpec], int]:
    module = program["graph_module"]
    values = module["graph"].get("tensor_values", {})
    inputs, outputs, params = [], [], 0
    for spec in module["signature"]["input_specs"]:
        if "user_input" in spec:
            arg = spec["user_input"]["arg"]
            if "as_tensor" in arg:
                name = arg["as_tensor"]["name"]
                inputs.append(_spec(name, values.get(name)))
        elif "parameter" in spec:
            meta = values.get(spec["parameter"]["arg"]["name"], {})
            count = 1
            for dim in _dims(meta):
                count *= dim if isinstance(dim, int) else 1
            params += count
    for spec in module["signature"]["output_specs"]:
        if "user_output" in spec and "as_tensor" in spec["user_output"]["arg"]:
            name = spec["user_output"]["arg"]["as_tensor"]["name"]
            outputs.append(_spec(name, values.get(name)))
    return inputs, outputs, params


def inspect_torch_archive(path: Path) -> ModelInfo:
    """Validate a torch.export archive without torch. Raises InvalidModel / UnsafeModel."""
    members = safe_members(path, max_uncompressed_bytes=MAX_ARCHIVE_BYTES, error=UnsafeModel, too_large=UnsafeModel)
    programs = [
        m for m in members if m.filename.split("/", 1)[-1].startswith("models/") and m.filename.endswith(".json")
    ]
    if not programs:
        raise InvalidModel("the zip is not a torch.export archive (no models/*.json); save it with torch.export.save")
    warnings: list[str] = []
    for info in members:
        tail = info.filename.split("/", 1)[-1]
        if tail.endswith(".pkl") or tail.startswith("data/sample_inputs/") or tail.endswith(".pt"):
            data = read_member(path, info, limit=MAX_PICKLE_BYTES, error=UnsafeModel)
            if data[:4] == b"PK\x03\x04":  # torch.save archive nested inside: check its pickles too
                try:
                    nested = zipfile.ZipFile(io.BytesIO(data))
                    for inner in nested.infolist():
                        if inner.filename.endswith(".pkl"):
                            if inner.file_size > MAX_PICKLE_BYTES:
                                raise UnsafeModel(f"archive member {info.filename!r} holds an oversized pickle")
                            _check_pickle(f"{info.filename}:{inner.filename}", nested.read(inner))
                except zipfile.BadZipFile as exc:
                    raise UnsafeModel(f"archive member {info.filename!r} is a corrupt nested archive: {exc}") from None
            else:
                _check_pickle(info.filename, data)
        if tail.endswith("_config.json") and tail.startswith("data/"):
            config = json.loads(read_member(path, info, limit=MAX_JSON_BYTES, error=UnsafeModel))
            pickled = [k for k, v in config.get("config", {}).items() if isinstance(v, dict) and v.get("use_pickle")]
            if pickled:
                raise UnsafeModel(f"weights {', '.join(pickled[:5])} are stored as pickles (use_pickle); refused")
    try:
        program = json.loads(read_member(path, programs[0], limit=MAX_JSON_BYTES, error=UnsafeModel))
        inputs, outputs, params = _signature(program)
    except (KeyError, TypeError, ValueError) as exc:
        raise InvalidModel(f"the archive's serialized program is not readable: {exc}") from None
    if not inputs:
        raise InvalidModel("the exported program takes no tensor inputs")
    if len(programs) > 1:
        warnings.append(f"the archive holds {len(programs)} programs; only {programs[0].filename!r} is used")
    return ModelInfo("torch_export", None, inputs, outputs, params, warnings)
