"""Whether a graph is a transformer that onnxruntime's transformers optimizer can fuse, and which kind.

The optimizer needs a ``model_type`` (``bert`` for encoders, ``gpt2`` for decoders), the number of attention
heads and the hidden size. All three are read from the graph:

- attention: a Softmax between two MatMuls of computed tensors (scores = Q·Kᵀ, then scores·V);
- layer normalization: LayerNormalization-like ops, or their decomposed arithmetic (ReduceMean and Sqrt);
- token embeddings: a Gather from a constant 2-D table whose indices come from an integer graph input;
- a causal mask makes it a decoder: a Trilu, a comparison of two position ranges (``kv_idx <= q_idx``), or a
  constant lower-triangular matrix; without one it is an encoder;
- the hidden size is the token embedding table's width (else the layer normalization's), the head size the
  last dimension the attention's Reshape splits into (else 1/scale² of the scores' scale), and the number of
  heads their ratio. onnxruntime cannot always infer these itself: transformers 5 reshapes to
  ``[batch, sequence, -1, head_size]``, where onnxruntime's detection expects the number of heads.
"""

from __future__ import annotations

from collections import Counter, defaultdict
from collections.abc import Iterator
from dataclasses import dataclass

import numpy as np
import onnx
from onnx import numpy_helper

from app.core.schemas.recipe import QuantizePass

NORM_OPS = {
    "LayerNormalization",
    "SimplifiedLayerNormalization",
    "SkipLayerNormalization",
    "SkipSimplifiedLayerNormalization",
    "EmbedLayerNormalization",
}
COMPARISONS = {"Less", "LessOrEqual", "Greater", "GreaterOrEqual"}
INTEGER_TYPES = {onnx.TensorProto.INT32, onnx.TensorProto.INT64}
MASK_TYPES = INTEGER_TYPES | {onnx.TensorProto.BOOL, onnx.TensorProto.UINT8, onnx.TensorProto.INT8}


@dataclass(frozen=True)
class Transformer:
    """What onnxruntime's transformers optimizer is told about a graph, and how it was decided."""

    model_type: str  # "bert" (encoder) or "gpt2" (decoder)
    num_heads: int  # 0: onnxruntime infers it from the graph
    hidden_size: int  # 0: likewise
    decided_by: str

    def describe(self) -> dict[str, object]:
        return {
            "model_type": self.model_type,
            "num_heads": self.num_heads,
            "hidden_size": self.hidden_size,
            "decided_by": self.decided_by,
        }


@dataclass(frozen=True)
class Evidence:
    """What the graph shows of a transformer."""

    attention_blocks: int
    norms: int
    embedding_input: str | None  # the integer graph input the token embeddings read
    causal: str | None  # what makes it a decoder, when something does
    hidden_size: int
    head_size: int

    @property
    def num_heads(self) -> int:
        fits = self.hidden_size and self.head_size and self.hidden_size % self.head_size == 0
        return self.hidden_size // self.head_size if fits else 0

    @property
    def is_transformer(self) -> bool:
        return bool(self.attention_blocks and self.norms and self.embedding_input)

    def text(self) -> str:
        kind = f"decoder ({self.causal})" if self.causal else "encoder (no causal mask)"
        embeddings = (
            f"token embeddings read input {self.embedding_input!r}" if self.embedding_input else "no token embeddings"
        )
        return (
            f"{self.attention_blocks} attention block(s) (MatMul, Softmax, MatMul), {self.norms} layer "
            f"normalization(s), {embeddings}; {kind}"
        )


class _Graph:
    def __init__(self, model: onnx.ModelProto) -> None:
        self.model = model
        self.nodes = list(model.graph.node)
        self.producer = {out: node for node in self.nodes for out in node.output}
        self.consumers: dict[str, list[onnx.NodeProto]] = defaultdict(list)
        for node in self.nodes:
            for name in node.input:
                self.consumers[name].append(node)
        self.initializers = {i.name: i for i in model.graph.initializer}
        self.inputs = {i.name: i for i in model.graph.input if i.name not in self.initializers}

    def constant(self, name: str) -> np.ndarray | None:
        """The value of an initializer or a Constant node's output; None for a computed tensor."""
        if name in self.initializers:
            return numpy_helper.to_array(self.initializers[name])
        node = self.producer.get(name)
        if node is None or node.op_type != "Constant":
            return None
        for attribute in node.attribute:
            if attribute.name == "value":
                return numpy_helper.to_array(attribute.t)
            if attribute.name in ("value_int", "value_ints", "value_float", "value_floats"):
                return np.array(onnx.helper.get_attribute_value(attribute))
        return None

    def computed(self, name: str) -> bool:
        return (
            bool(name)
            and name not in self.initializers
            and (
                name in self.inputs or self.producer.get(name) is not None and self.producer[name].op_type != "Constant"
            )
        )

    def upstream(self, name: str, hops: int) -> Iterator[onnx.NodeProto]:
        """The nodes that compute ``name``, nearest first, at most ``hops`` producers up (computed inputs only)."""
        seen: set[str] = set()
        frontier = [name]
        for _ in range(hops):
            nodes = [self.producer[n] for n in frontier if n in self.producer and n not in seen]
            seen.update(frontier)
            frontier = []
            for node in nodes:
                yield node
                frontier += [i for i in node.input if self.computed(i)]

    def downstream(self, name: str, hops: int) -> Iterator[onnx.NodeProto]:
        seen: set[str] = set()
        frontier = [name]
        for _ in range(hops):
            nodes = [c for n in frontier if n not in seen for c in self.consumers.get(n, [])]
            seen.update(frontier)
            frontier = []
            for node in nodes:
                yield node
                frontier += list(node.output)


def _is_qk(graph: _Graph, node: onnx.NodeProto) -> bool:
    return node.op_type == "MatMul" and all(graph.computed(i) for i in node.input)


def _attention(graph: _Graph) -> list[tuple[onnx.NodeProto, onnx.NodeProto]]:
    """(scores MatMul, Softmax) of each attention block."""
    blocks = []
    for softmax in (n for n in graph.nodes if n.op_type == "Softmax"):
        qk = next((n for n in graph.upstream(softmax.input[0], 4) if n.op_type == "MatMul"), None)
        values = next((n for n in graph.downstream(softmax.output[0], 4) if n.op_type == "MatMul"), None)
        if qk is not None and values is not None and _is_qk(graph, qk) and _is_qk(graph, values):
            blocks.append((qk, softmax))
    return blocks


def _head_size(graph: _Graph, qk: onnx.NodeProto, softmax: onnx.NodeProto) -> int:
    """The last dimension the attention's Reshape splits Q or K into; else from the scores' scale; 0 unknown."""
    for name in qk.input:
        reshape = next((n for n in graph.upstream(name, 4) if n.op_type == "Reshape"), None)
        if reshape is None:
            continue
        shape = graph.constant(reshape.input[1])
        concat = graph.producer.get(reshape.input[1])
        if shape is None and concat is not None and concat.op_type == "Concat":  # [batch, sequence, heads, size]
            shape = graph.constant(concat.input[-1])
        if shape is not None and shape.size and int(shape.reshape(-1)[-1]) > 0:
            return int(shape.reshape(-1)[-1])
    for node in graph.upstream(softmax.input[0], 3):
        if node.op_type in ("Mul", "Div"):
            scale = next((graph.constant(i) for i in node.input if graph.constant(i) is not None), None)
            if scale is not None and scale.size == 1 and float(scale.reshape(-1)[0]) > 0:
                value = float(scale.reshape(-1)[0])
                return round(1.0 / value**2) if node.op_type == "Mul" else round(value**2)
    return 0


def _embedding(graph: _Graph) -> tuple[str | None, int]:
    """(the integer graph input the token embeddings read, the table's width), or (None, 0)."""
    integer_inputs = {name for name, value in graph.inputs.items() if value.type.tensor_type.elem_type in INTEGER_TYPES}
    for node in graph.nodes:
        table = graph.initializers.get(node.input[0]) if node.op_type == "Gather" and node.input else None
        if table is None or len(table.dims) != 2 or not graph.computed(node.input[1]):
            continue
        if node.input[1] in integer_inputs:
            return node.input[1], int(table.dims[1])
        source = next((i for n in graph.upstream(node.input[1], 3) for i in n.input if i in integer_inputs), None)
        if source is not None:
            return source, int(table.dims[1])
    return None, 0


def _from_range(graph: _Graph, name: str) -> bool:
    return any(n.op_type == "Range" for n in graph.upstream(name, 8))


def _square_mask(tensor: onnx.TensorProto) -> bool:
    """Whether a constant can be a causal mask: bool or integer (not a weight), [n, n] after leading 1s, n >= 2."""
    dims = list(tensor.dims)
    square = len(dims) >= 2 and dims[-1] == dims[-2] >= 2 and all(d == 1 for d in dims[:-2])
    return square and tensor.data_type in MASK_TYPES


def _lower_triangular(value: np.ndarray) -> bool:
    nonzero = value.reshape(value.shape[-2:]) != 0
    return bool(np.all(np.tril(nonzero) == np.tril(np.ones_like(nonzero))) and not np.any(np.triu(nonzero, 1)))


def _causal(graph: _Graph) -> str | None:
    for node in graph.nodes:
        if node.op_type == "Trilu":
            return f"a Trilu node ({node.name})"
        if node.op_type in COMPARISONS and len(node.input) == 2 and all(_from_range(graph, i) for i in node.input):
            return f"a causal mask comparing two position ranges ({node.op_type} {node.name})"
    squares = [i.name for i in graph.initializers.values() if _square_mask(i)]
    squares += [
        n.output[0]
        for n in graph.nodes
        if n.op_type == "Constant" and any(a.name == "value" and _square_mask(a.t) for a in n.attribute)
    ]
    for name in squares:
        value = graph.constant(name)
        if value is not None and _lower_triangular(value):
            return f"a constant lower-triangular mask ({name})"
    return None


def evidence(model: onnx.ModelProto) -> Evidence:
    """What ``model``'s graph shows of a transformer."""
    graph = _Graph(model)
    blocks = _attention(graph)
    ops = Counter(n.op_type for n in graph.nodes)
    norms = sum(ops[op] for op in NORM_OPS) or (min(ops["ReduceMean"] // 2, ops["Sqrt"]))
    embedding_input, hidden = _embedding(graph)
    if not hidden:  # the width of the most common layer normalization scale
        widths = Counter(
            int(graph.initializers[n.input[1]].dims[-1])
            for n in graph.nodes
            if n.op_type in NORM_OPS and len(n.input) > 1 and n.input[1] in graph.initializers
        )
        hidden = widths.most_common(1)[0][0] if widths else 0
    heads = Counter(h for h in (_head_size(graph, qk, s) for qk, s in blocks) if h)
    return Evidence(
        attention_blocks=len(blocks),
        norms=norms,
        embedding_input=embedding_input,
        causal=_causal(graph) if blocks else None,
        hidden_size=hidden,
        head_size=heads.most_common(1)[0][0] if heads else 0,
    )


def detect(model: onnx.ModelProto) -> Transformer | None:
    """The transformer ``model``'s graph shows, or None (no attention, layer normalization or token embeddings)."""
    found = evidence(model)
    if not found.is_transformer:
        return None
    return _transformer("gpt2" if found.causal else "bert", found, f"detected from the graph: {found.text()}")


def _transformer(model_type: str, found: Evidence, decided_by: str) -> Transformer:
    sizes = (
        f"; hidden size {found.hidden_size}, {found.num_heads} heads of {found.head_size}"
        if found.num_heads
        else "; heads and hidden size left to onnxruntime (not found in the graph)"
    )
    return Transformer(model_type, found.num_heads, found.hidden_size if found.num_heads else 0, decided_by + sizes)


def resolve(model: onnx.ModelProto, config: QuantizePass) -> Transformer | None:
    """The transformer to fuse under ``config``: ``model_type: none`` fuses nothing, ``auto`` what the graph
    shows; a named type, and ``num_heads`` / ``hidden_size`` where given, override the graph."""
    if config.model_type == "none":
        return None
    if config.model_type == "auto":
        found = detect(model)
    else:
        shown = evidence(model)
        given = f"model_type {config.model_type} given in the recipe ({shown.text()})"
        found = _transformer(config.model_type, shown, given)
    if found is None or (config.num_heads is None and config.hidden_size is None):
        return found
    heads = config.num_heads if config.num_heads is not None else found.num_heads
    hidden = config.hidden_size if config.hidden_size is not None else found.hidden_size
    return Transformer(
        found.model_type, heads, hidden, f"{found.decided_by}; the recipe gives {heads} heads, hidden size {hidden}"
    )
