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
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from app.core.safety.errors import MalformedFile, UnsafeFile
from app.core.safety.zipsafe import read_member, safe_members
from app.core.schemas.tensors import Dim, TensorSpec

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


@dataclass(frozen=True)
class ArchiveSignature:
    """What a vetted archive's exported program takes and returns, and its parameter count."""

    inputs: list[TensorSpec]
    outputs: list[TensorSpec]
    parameter_count: int
    warnings: list[str] = field(default_factory=list)


STRING_OPS = {"SHORT_BINUNICODE", "BINUNICODE", "UNICODE", "BINUNICODE8", "SHORT_BINSTRING", "BINSTRING", "STRING"}
GET_OPS = {"GET", "BINGET", "LONG_BINGET"}
PUT_OPS = {"PUT", "BINPUT", "LONG_BINPUT"}
NO_STACK_OPS = {"FRAME", "PROTO"}
# Members torch.export.load hands to code we cannot vet: compiled AOTInductor/ExecuTorch/MTIA packages
# (shared libraries are dlopened) and custom/opaque object constants (pickle.loads, whatever use_pickle says).
REFUSED_DIRS = ("data/aotinductor/", "data/executorch/", "data/mtia", "xl_model_weights/")
REFUSED_PREFIXES = ("custom_obj_", "opaque_obj_")
ZIP_MAGIC = b"PK\x03\x04"


def _globals_in_pickle(data: bytes) -> set[str]:
    """Every global a pickle would import, found by walking its opcodes (nothing is executed).

    ``STACK_GLOBAL`` takes its module and name from the stack, so the stack top is tracked: a name
    counts as known only when the two stack-changing opcodes right before it pushed known strings
    (directly, or from the memo by index). Anything else is reported as unresolvable and refused.
    The data must be exactly one pickle: torch's legacy format and crafted files append more pickles
    after the first STOP, which a single pass would never see.
    """
    found: set[str] = set()
    tail: list[str | None] = []  # what the last stack-changing opcodes pushed: a known string or None
    memo: dict[int, str | None] = {}
    end = -1
    try:
        for opcode, arg, pos in pickletools.genops(data):
            name = opcode.name
            if name in STRING_OPS:
                tail.append(str(arg))
            elif name in GET_OPS:
                tail.append(memo.get(int(arg)))  # type: ignore[arg-type]
            elif name in PUT_OPS:
                memo[int(arg)] = tail[-1] if tail else None  # type: ignore[arg-type]
            elif name == "MEMOIZE":
                memo[len(memo)] = tail[-1] if tail else None  # same index the unpickler uses
            elif name in NO_STACK_OPS:
                pass
            else:
                if name == "STACK_GLOBAL":
                    module, attr = (tail[-2], tail[-1]) if len(tail) >= 2 else (None, None)
                    found.add(f"{module}.{attr}" if module is not None and attr is not None else "<unresolvable>")
                elif name in ("GLOBAL", "INST"):
                    module, _, attr = str(arg).partition(" ")
                    found.add(f"{module}.{attr}")
                elif name in ("OBJ", "EXT1", "EXT2", "EXT4"):
                    found.add(f"<opcode {name}>")  # imports we cannot name statically
                elif name == "STOP":
                    end = pos + 1  # type: ignore[operator]
                tail.append(None)
            del tail[:-2]
    except Exception as exc:  # noqa: BLE001 - a malformed pickle is refused, whatever the parser raises
        raise UnsafeFile(f"an embedded pickle cannot be parsed safely: {exc}") from None
    if end != len(data):
        raise UnsafeFile("an embedded pickle has data after its end (several pickles, or a legacy torch.save file)")
    return found


def _allowed(name: str) -> bool:
    module, _, attr = name.rpartition(".")
    return name in ALLOWED_GLOBALS or (module == "torch" and attr in ALLOWED_STORAGES)


def _check_pickle(name: str, data: bytes) -> None:
    bad = sorted(g for g in _globals_in_pickle(data) if not _allowed(g))
    if bad:
        raise UnsafeFile(
            f"archive member {name!r} would import {', '.join(bad[:5])} when unpickled; only tensors are accepted"
        )


def _check_torch_save(name: str, data: bytes) -> None:
    """A torch.save file (sample inputs, legacy weights): its zip format, with every pickle vetted."""
    if not data:
        return
    if data[:4] != ZIP_MAGIC:
        raise UnsafeFile(f"archive member {name!r} is not in torch.save's zip format; refused")
    try:
        nested = zipfile.ZipFile(io.BytesIO(data))
        for inner in nested.infolist():
            if inner.filename.endswith(".pkl"):
                if inner.file_size > MAX_PICKLE_BYTES:
                    raise UnsafeFile(f"archive member {name!r} holds an oversized pickle")
                _check_pickle(f"{name}:{inner.filename}", nested.read(inner))
    except (zipfile.BadZipFile, OSError, ValueError, NotImplementedError, EOFError) as exc:
        raise UnsafeFile(f"archive member {name!r} is a corrupt nested archive: {exc}") from None


def _check_payload_config(name: str, raw: bytes) -> None:
    """Weights and constants must be raw tensor bytes; torch unpickles anything else without weights_only."""
    try:
        config = json.loads(raw)
        entries = config.get("config", {})
        items = list(entries.items())
    except (ValueError, AttributeError) as exc:
        raise MalformedFile(f"archive member {name!r} is not a valid payload config: {exc}") from None
    for key, meta in items:
        if not isinstance(meta, dict):
            raise MalformedFile(f"archive member {name!r} has a malformed entry for {key!r}")
        if meta.get("use_pickle"):
            raise UnsafeFile(f"weight or constant {key!r} is stored as a pickle (use_pickle); refused")
        if not str(meta.get("path_name", "")).startswith(("weight_", "tensor_")):
            raise UnsafeFile(f"constant {key!r} is a custom or opaque object (unpickled on load); refused")


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


def inspect_torch_archive(path: Path) -> ArchiveSignature:
    """Validate a torch.export archive without torch. Raises MalformedFile / UnsafeFile."""
    members = safe_members(path, max_uncompressed_bytes=MAX_ARCHIVE_BYTES)
    programs = [
        m for m in members if m.filename.split("/", 1)[-1].startswith("models/") and m.filename.endswith(".json")
    ]
    if not programs:
        raise MalformedFile("the zip is not a torch.export archive (no models/*.json); save it with torch.export.save")
    warnings: list[str] = []
    for info in members:
        tail = info.filename.split("/", 1)[-1]
        base = tail.rsplit("/", 1)[-1]
        if tail.startswith(REFUSED_DIRS) or base.startswith(REFUSED_PREFIXES):
            raise UnsafeFile(
                f"archive member {info.filename!r} is compiled code or a custom object that torch.export.load would "
                "run or unpickle; only exported programs with tensor weights are accepted"
            )
        if tail.endswith(".pkl"):
            _check_pickle(info.filename, read_member(path, info, limit=MAX_PICKLE_BYTES))
        elif tail.endswith(".pt") or tail.startswith("data/sample_inputs/"):
            _check_torch_save(info.filename, read_member(path, info, limit=MAX_PICKLE_BYTES))
        elif tail.endswith("_config.json") and tail.startswith("data/"):
            _check_payload_config(info.filename, read_member(path, info, limit=MAX_JSON_BYTES))
    try:
        program = json.loads(read_member(path, programs[0], limit=MAX_JSON_BYTES))
        inputs, outputs, params = _signature(program)
    except (KeyError, TypeError, ValueError) as exc:
        raise MalformedFile(f"the archive's serialized program is not readable: {exc}") from None
    if not inputs:
        raise MalformedFile("the exported program takes no tensor inputs")
    if len(programs) > 1:
        warnings.append(f"the archive holds {len(programs)} programs; only {programs[0].filename!r} is used")
    return ArchiveSignature(inputs, outputs, params, warnings)
