"""The .pt2 pickle scanner against pickles torch really writes and against crafted ones (nothing is unpickled)."""

from __future__ import annotations

import collections
import io
import pickle
import pickletools
import zipfile
from pathlib import Path

import pytest

from app.core.errors import InvalidModel, UnsafeModel
from app.core.safety.torch_archive import _globals_in_pickle
from app.uploads.validation import inspect_model
from tests import hostile


def _replace(source: Path, target: Path, tail: str, data: bytes) -> Path:
    with zipfile.ZipFile(source) as src, zipfile.ZipFile(target, "w") as dst:
        for info in src.infolist():
            dst.writestr(info, data if info.filename.split("/", 1)[-1] == tail else src.read(info))
    return target


@pytest.fixture(scope="module")
def pt2_path(tmp_path_factory) -> Path:
    import torch

    class Net(torch.nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.linear = torch.nn.Linear(4, 3)

        def forward(self, x):  # type: ignore[no-untyped-def]
            return self.linear(x) + torch.tensor([1.0, 2.0, 3.0])  # a lifted tensor constant too

    program = torch.export.export(Net(), (torch.randn(2, 4),))
    path = tmp_path_factory.mktemp("pt2") / "net.pt2"
    torch.export.save(program, str(path))
    return path


def test_constants_and_sample_inputs_written_by_torch_are_accepted(pt2_path):
    with zipfile.ZipFile(pt2_path) as archive:
        tails = {n.split("/", 1)[-1] for n in archive.namelist()}
    assert {"data/constants/model_constants_config.json", "data/sample_inputs/model.pt"} <= tails
    info = inspect_model(pt2_path, filename="net.pt2")
    assert [(i.name, i.dtype, i.shape) for i in info.inputs] == [("x", "float32", [2, 4])]


def test_protocol_4_sample_inputs_with_memoized_names_are_accepted(pt2_path, tmp_path):
    import torch

    buffer = io.BytesIO()
    # Protocol 4 memoizes the string "torch" (from torch.FloatStorage) and fetches it back with BINGET
    # for the later torch.LongStorage and torch.Size globals.
    sample = ((torch.randn(2, 4), torch.ones(2, dtype=torch.int64)), {"shape": torch.Size([2, 4])})
    torch.save(sample, buffer, pickle_protocol=4)
    with zipfile.ZipFile(io.BytesIO(buffer.getvalue())) as nested:
        pkl = next(nested.read(n) for n in nested.namelist() if n.endswith("data.pkl"))
    ops = [op.name for op, _, _ in pickletools.genops(pkl)]
    assert any(ops[i] == "STACK_GLOBAL" and "BINGET" in ops[i - 4 : i] for i in range(4, len(ops)))
    assert _globals_in_pickle(pkl) == {
        "torch._utils._rebuild_tensor_v2",
        "torch.FloatStorage",
        "torch.LongStorage",
        "torch.Size",
        "collections.OrderedDict",
    }
    path = _replace(pt2_path, tmp_path / "p4.pt2", "data/sample_inputs/model.pt", buffer.getvalue())
    assert inspect_model(path, filename="p4.pt2").format == "torch_export"


def test_memoized_names_resolve_to_what_the_unpickler_would_import():
    twice = pickle.dumps([collections.OrderedDict(), collections.OrderedDict()], protocol=4)
    assert _globals_in_pickle(twice) == {"collections.OrderedDict"}
    assert _globals_in_pickle(hostile.MEMO_STACK_GLOBAL_PICKLE) == {"os.system"}


def test_stack_global_from_unknown_values_is_unresolvable():
    # module name built by the stack (here: a DUP of an unknown) cannot be named statically
    crafted = b"\x80\x04N2\x8c\x06system\x93."
    assert "<unresolvable>" in _globals_in_pickle(crafted)


@pytest.mark.parametrize(
    ("tail", "data", "error", "needle"),
    [
        ("data/sample_inputs/model.pt", hostile.pickle_named_pt(), UnsafeModel, "zip format"),
        ("data/sample_inputs/model.pt", hostile._zip({"archive/data.pkl": b"\x80\x02N.N."}), UnsafeModel, "after"),
        ("data/constants/model_constants_config.json", b"[1, 2]", InvalidModel, "payload config"),
    ],
    ids=["legacy-sample-inputs", "trailing-pickle", "config-not-an-object"],
)
def test_tampered_real_archive_is_refused(pt2_path, tmp_path, tail, data, error, needle):
    path = _replace(pt2_path, tmp_path / "t.pt2", tail, data)
    with pytest.raises(error, match=needle):
        inspect_model(path, filename="t.pt2")
