"""Upload validation as a hostile tenant sees it (issue 19, points 7 and 11).

7: external data is refused anywhere in a model, subgraphs included, by its name alone: a name that
exists next to the API and one that does not get the same answer, so an upload cannot probe for files.
11: a check that times out costs its own child only; other tenants' uploads in flight succeed.
"""

from __future__ import annotations

import multiprocessing
import os
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import numpy as np
import onnx
import pytest
from onnx import TensorProto, helper

from app.uploads.validation import isolated
from tests.helpers import new_api_key, upload, upload_ok
from tests.hostile import valid_onnx

VEC = [4]


def _weight(name: str, location: str | None) -> TensorProto:
    """A [4] float tensor, inline (``location`` None) or pointing at an external file by that name."""
    tensor = helper.make_tensor(name, TensorProto.FLOAT, VEC, np.ones(4, np.float32).tolist())
    if location is not None:
        tensor.ClearField("float_data")
        tensor.data_location = TensorProto.EXTERNAL
        for key, value in (("location", location), ("offset", "0"), ("length", "16")):
            entry = tensor.external_data.add()
            entry.key, entry.value = key, value
    return tensor


def _vec(name: str) -> onnx.ValueInfoProto:
    return helper.make_tensor_value_info(name, TensorProto.FLOAT, VEC)


def _scalar(name: str, elem_type: int) -> onnx.ValueInfoProto:
    return helper.make_tensor_value_info(name, elem_type, [])


def _if(body_weight: Callable[[str], list[onnx.NodeProto] | TensorProto], out: str) -> onnx.NodeProto:
    """If(cond): then adds the body's weight to x (outer scope), else passes x through."""
    then_nodes, then_inits = _adder("x", "w_then", f"{out}_then", body_weight)
    then_branch = helper.make_graph(then_nodes, "then", [], [_vec(f"{out}_then")], then_inits)
    else_branch = helper.make_graph(
        [helper.make_node("Identity", ["x"], [f"{out}_else"])], "else", [], [_vec(f"{out}_else")]
    )
    return helper.make_node("If", ["cond"], [out], then_branch=then_branch, else_branch=else_branch)


def _adder(
    source: str, weight: str, out: str, body_weight: Callable[[str], list[onnx.NodeProto] | TensorProto]
) -> tuple[list[onnx.NodeProto], list[TensorProto]]:
    """Nodes computing ``out = source + weight``; the weight is an initializer or made by nodes (nesting)."""
    made = body_weight(weight)
    nodes = [helper.make_node("Add", [source, weight], [out])]
    if isinstance(made, TensorProto):
        return nodes, [made]
    return made + nodes, []


def _model(nodes: list[onnx.NodeProto], inputs: list[onnx.ValueInfoProto], output: str) -> bytes:
    graph = helper.make_graph(nodes, "main", inputs, [_vec(output)])
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)])
    model.ir_version = 8
    return model.SerializeToString()


def if_model(location: str | None) -> bytes:
    """The external tensor is an initializer of an If branch."""
    node = _if(lambda name: _weight(name, location), "y")
    return _model([node], [_vec("x"), _scalar("cond", TensorProto.BOOL)], "y")


def loop_model(location: str | None) -> bytes:
    """The external tensor is an initializer of a Loop body."""
    body_nodes, body_inits = _adder("v_in", "w_loop", "v_out", lambda name: _weight(name, location))
    body = helper.make_graph(
        [helper.make_node("Identity", ["cond_in"], ["cond_out"]), *body_nodes],
        "body",
        [_scalar("i", TensorProto.INT64), _scalar("cond_in", TensorProto.BOOL), _vec("v_in")],
        [_scalar("cond_out", TensorProto.BOOL), _vec("v_out")],
        body_inits,
    )
    loop = helper.make_node("Loop", ["trips", "cond", "x"], ["y"], body=body)
    return _model([loop], [_vec("x"), _scalar("trips", TensorProto.INT64), _scalar("cond", TensorProto.BOOL)], "y")


def scan_model(location: str | None) -> bytes:
    """The external tensor is the value of a Constant node inside a Scan body."""

    def constant(name: str) -> list[onnx.NodeProto]:
        return [helper.make_node("Constant", [], [name], value=_weight(f"{name}_value", location))]

    body_nodes, _ = _adder("state_in", "w_scan", "sum", constant)
    body = helper.make_graph(
        [*body_nodes, helper.make_node("Add", ["sum", "elem"], ["state_out"])],
        "body",
        [_vec("state_in"), _vec("elem")],
        [_vec("state_out")],
    )
    scan = helper.make_node("Scan", ["x", "sequence"], ["y"], body=body, num_scan_inputs=1)
    sequence = helper.make_tensor_value_info("sequence", TensorProto.FLOAT, ["steps", 4])
    return _model([scan], [_vec("x"), sequence], "y")


def nested_model(location: str | None) -> bytes:
    """An If whose branch holds a Loop whose body makes the weight with a Constant node: two levels down."""

    def loop_weight(name: str) -> list[onnx.NodeProto]:
        body = helper.make_graph(
            [
                helper.make_node("Identity", ["c_in"], ["c_out"]),
                helper.make_node("Constant", [], ["w_inner"], value=_weight("w_inner_value", location)),
                helper.make_node("Add", ["acc_in", "w_inner"], ["acc_out"]),
            ],
            "inner",
            [_scalar("j", TensorProto.INT64), _scalar("c_in", TensorProto.BOOL), _vec("acc_in")],
            [_scalar("c_out", TensorProto.BOOL), _vec("acc_out")],
        )
        return [helper.make_node("Loop", ["trips", "cond", "x"], [name], body=body)]

    node = _if(loop_weight, "y")
    inputs = [_vec("x"), _scalar("cond", TensorProto.BOOL), _scalar("trips", TensorProto.INT64)]
    return _model([node], inputs, "y")


def function_model(location: str | None) -> bytes:
    """The external tensor is the value of a Constant node inside a model-local function."""
    body = [
        helper.make_node("Constant", [], ["w_fn"], value=_weight("w_fn_value", location)),
        helper.make_node("Add", ["a", "w_fn"], ["b"]),
    ]
    function = helper.make_function("local", "AddWeight", ["a"], ["b"], body, [helper.make_opsetid("", 17)])
    graph = helper.make_graph(
        [helper.make_node("AddWeight", ["x"], ["y"], domain="local")], "main", [_vec("x")], [_vec("y")]
    )
    opsets = [helper.make_opsetid("", 17), helper.make_opsetid("local", 1)]
    model = helper.make_model(graph, opset_imports=opsets, functions=[function])
    model.ir_version = 8
    return model.SerializeToString()


SUBGRAPH_MODELS = {"if": if_model, "loop": loop_model, "scan": scan_model, "nested": nested_model}
REFUSED_MODELS = {**SUBGRAPH_MODELS, "function": function_model}


@pytest.mark.parametrize("build", SUBGRAPH_MODELS.values(), ids=SUBGRAPH_MODELS.keys())
def test_subgraph_models_with_inline_weights_are_accepted(client, auth, build):
    """The builders make valid models: what the next test refuses is the external data, nothing else."""
    model = upload_ok(client, auth, "models", "flow.onnx", build(None))
    assert any("control-flow" in warning for warning in model["warnings"])


def _names(existing: Path) -> list[tuple[str, str, str]]:
    """(case, name of a file that exists, name of one that does not), relative to the API's working directory."""
    here = Path.cwd()
    assert (here / "pyproject.toml").is_file()  # the API runs in the repository root in these tests
    outside = os.path.relpath(existing, here)
    assert outside.startswith("..") and (here / outside).is_file()
    return [
        ("plain", "pyproject.toml", "nonexistent.txt"),
        ("dotdot", outside, os.path.join(os.path.dirname(outside), "nonexistent.bin")),
    ]


@pytest.fixture(scope="module")
def outside_file(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("outside") / "secret.bin"
    path.write_bytes(b"\0" * 64)
    return path


@pytest.mark.parametrize("build", REFUSED_MODELS.values(), ids=REFUSED_MODELS.keys())
def test_external_data_in_subgraphs_is_refused_whether_the_file_exists_or_not(client, auth, build, outside_file):
    for case, exists, missing in _names(outside_file):
        answers = []
        for name in (exists, missing):
            response = upload(client, auth, "models", "flow.onnx", build(name))
            assert response.status_code == 422, (case, name, response.text)
            body = response.json()
            assert name in body["detail"]
            answers.append((body["code"], body["detail"].replace(name, "<name>")))
        assert answers[0] == answers[1], (case, answers)
        code, detail = answers[0]
        # A name inside the model's directory is a single-file problem; one that climbs out is unsafe.
        assert code == ("invalid_model" if case == "plain" else "unsafe_model"), (case, detail)
        assert "external" in detail


def _varint(value: int) -> bytes:
    out = bytearray()
    while value > 0x7F:
        out.append(value & 0x7F | 0x80)
        value >>= 7
    return bytes(out) + bytes([value])


def _field(number: int, payload: bytes) -> bytes:
    """One length-delimited protobuf field."""
    return _varint(number << 3 | 2) + _varint(len(payload)) + payload


def _slow_model(nodes: int) -> bytes:
    """A long chain of Relu nodes: a small file whose check (checker + shape inference) takes seconds.

    Written as protobuf bytes (NodeProto: input 1, output 2, op_type 4; GraphProto.node 1; ModelProto.graph 7):
    building 300k nodes with onnx.helper takes longer than the check itself.
    """
    graph = helper.make_graph(
        [],
        "chain",
        [helper.make_tensor_value_info("t" + "0" * len(str(nodes)), TensorProto.FLOAT, [1, 4])],
        [helper.make_tensor_value_info(f"t{nodes}", TensorProto.FLOAT, [1, 4])],
    )
    width = len(str(nodes))  # names of one width make every node the same bytes but for its two names
    first, second = b"t" + b"A" * width, b"t" + b"B" * width
    node = _field(1, _field(1, first) + _field(2, second) + _field(4, b"Relu"))
    template = node.replace(first, b"t%0" + str(width).encode() + b"d").replace(
        second, b"t%0" + str(width).encode() + b"d"
    )
    chain = b"".join(template % (i, i + 1) for i in range(nodes))
    model = helper.make_model(onnx.GraphProto(), opset_imports=[helper.make_opsetid("", 17)])
    model.ir_version = 8
    model.ClearField("graph")
    return model.SerializeToString() + _field(7, graph.SerializeToString() + chain)


@pytest.fixture()
def tiny_timeout() -> Iterator[float]:
    """Checks may run 1 s here (600 s in production): long for a small model's check, short for a 300k-node chain."""
    previous = isolated.configure(timeout_s=1.0)
    yield 1.0
    isolated.configure(timeout_s=previous.timeout_s)


def test_a_check_that_times_out_fails_only_its_own_upload(client, auth, settings, tiny_timeout):
    small = valid_onnx()
    slow = _slow_model(300_000)
    other_tenant = {"Authorization": f"Bearer {new_api_key(settings.database_url)}"}
    upload_ok(client, other_tenant, "models", "warm.onnx", small)  # the forkserver is up before the race
    innocent: list[int] = []
    with ThreadPoolExecutor(max_workers=4) as pool:
        hostile = pool.submit(upload, client, auth, "models", "slow.onnx", slow)
        # Other tenants' uploads, three at a time, while the hostile check runs and is killed (bounded).
        while not hostile.done() and len(innocent) < 60:
            batch = [pool.submit(upload, client, other_tenant, "models", "small.onnx", small) for _ in range(3)]
            innocent.extend(future.result().status_code for future in batch)
        response = hostile.result()
    assert response.status_code == 422, response.text
    assert response.json()["code"] == "invalid_model"
    assert f"took longer than {tiny_timeout:g} s" in response.json()["detail"]
    assert innocent and set(innocent) == {201}, innocent
    # The timed-out child was killed, not left running, and no check's child outlives its check.
    assert not multiprocessing.active_children()
    assert upload(client, other_tenant, "models", "after.onnx", small).status_code == 201
