"""The lifted model: a ``torch.nn.Module`` that runs an ONNX graph's nodes in order.

Weight layers become real ``nn.Conv*``/``nn.Linear``/``nn.BatchNorm*``/``nn.LayerNorm`` modules (so
Torch-Pruning and an optimizer see them); the other nodes become torch functions. Shape arithmetic
(``Shape`` -> ``Gather``/``Slice``/``Concat`` -> ``Reshape``) runs on Python tuples, which keeps a dynamic
batch dimension symbolic when the module is exported back to ONNX.
"""

from __future__ import annotations

import itertools
import re
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import torch
from torch import nn


@dataclass
class Step:
    node: str
    op_type: str
    inputs: list[str]
    outputs: list[str]
    fn: Callable[..., Any]
    module_key: str | None = None


@dataclass
class WeightSource:
    """Where an ONNX initializer lives in the lifted module (to write trained weights back)."""

    module_key: str
    attribute: str  # "weight" or "bias"
    transposed: bool  # MatMul's B is the transpose of nn.Linear's weight
    scale: float = 1.0  # Gemm's alpha/beta folded into the weights


class LiftedGraph(nn.Module):
    def __init__(self, input_names: list[str], output_names: list[str]) -> None:
        super().__init__()
        self.layers = nn.ModuleDict()
        self.input_names = input_names
        self.output_names = output_names
        self.steps: list[Step] = []
        self.const_keys: dict[str, str] = {}  # ONNX tensor name -> buffer attribute
        self.layer_nodes: dict[str, str] = {}  # module key -> ONNX node name
        self.sources: dict[str, WeightSource] = {}  # ONNX initializer name -> where it went
        self._python_consts: dict[str, Any] = {}

    def add_layer(self, node: str, module: nn.Module) -> str:
        key = re.sub(r"\W", "_", node) or "layer"
        while key in self.layers:
            key += "_"
        self.layers[key] = module
        self.layer_nodes[key] = node
        return key

    def add_const(self, name: str, value: Any) -> None:
        if name in self.const_keys or name in self._python_consts:
            return
        if isinstance(value, torch.Tensor) and value.is_floating_point():
            key = f"const_{len(self.const_keys)}"
            self.register_buffer(key, value.clone())
            self.const_keys[name] = key
        else:
            self._python_consts[name] = value

    @property
    def device(self) -> torch.device:
        """Where the weights are: tensors made from shape values (Python ints) are made there too."""
        first = next(itertools.chain(self.parameters(), self.buffers()), None)
        return torch.device("cpu") if first is None else first.device

    def forward(self, *args: torch.Tensor) -> Any:
        env: dict[str, Any] = dict(self._python_consts)
        env.update({name: getattr(self, key) for name, key in self.const_keys.items()})
        env.update(zip(self.input_names, args, strict=True))
        for step in self.steps:
            values = [env[name] if name else None for name in step.inputs]
            result = step.fn(self, *values)
            if len(step.outputs) == 1:
                env[step.outputs[0]] = result
            else:
                env.update(zip(step.outputs, result, strict=False))
        outputs = tuple(env[name] for name in self.output_names)
        return outputs[0] if len(outputs) == 1 else outputs


@dataclass
class Lifted:
    module: LiftedGraph
    notes: list[str] = field(default_factory=list)
    #: module key -> why its output channels must stay (found on the ONNX graph before lifting)
    blocked: dict[str, str] = field(default_factory=dict)
    #: module key -> the ONNX op of the node it came from ("Conv", "Gemm", "MatMul", ...)
    layer_ops: dict[str, str] = field(default_factory=dict)
