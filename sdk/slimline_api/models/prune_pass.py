from __future__ import annotations

from collections.abc import Mapping
from typing import (
    TYPE_CHECKING,
    Any,
    Literal,
    Self,
    TypeVar,
    cast,
)

from attrs import define as _attrs_define

from ..models.prune_pass_importance import PrunePassImportance
from ..models.prune_pass_method import PrunePassMethod
from ..models.prune_pass_scope import PrunePassScope
from ..types import UNSET, Unset

if TYPE_CHECKING:
    from ..models.fine_tune import FineTune


T = TypeVar("T", bound="PrunePass")


@_attrs_define
class PrunePass:
    """Prune weights: structured (remove channels and neurons; the graph shrinks, so it can run faster) or
    unstructured (zero individual weights; smaller once compressed, no faster on dense runtimes).

        Attributes:
            type_ (Literal['prune'] | Unset):  Default: 'prune'.
            method (PrunePassMethod | Unset): `structured` removes whole output channels of Conv layers and neurons of
                Linear (Gemm/MatMul) layers with Torch-Pruning's dependency graph (batch norm, residual additions and the layers
                that consume them are shrunk together) and exports a smaller ONNX graph. `unstructured` sets the smallest-
                magnitude weights to zero in place; dense runtimes get no speedup from it. Default: PrunePassMethod.STRUCTURED.
            sparsity (float | Unset): Fraction to remove: of the output channels/neurons of each prunable layer (structured;
                parameters shrink by more, since the next layer loses inputs too) or of the weights (unstructured). Default:
                0.5.
            scope (PrunePassScope | Unset): `per_layer` removes the same fraction from every prunable layer; `global` ranks
                all channels (or weights) of the model together, so layers that matter less lose more. Default:
                PrunePassScope.PER_LAYER.
            importance (PrunePassImportance | Unset): How a channel's or weight's importance is scored: L1 or L2 weight
                magnitude, or `taylor` (|weight × gradient| on calibration batches; uses labels, or the original model's
                predictions when there are none). Unstructured pruning scores by magnitude (l1 and l2 rank weights identically).
                Default: PrunePassImportance.L2.
            exclude_first_last (bool | Unset): Keep the first and the last weight layer whole (they are the most sensitive;
                the last one's width is the model output's). Default: True.
            nodes_to_exclude (list[str] | Unset): ONNX node names whose weights are not pruned (structured: whose output
                channels are kept).
            attention_heads (bool | Unset): Structured: also remove whole attention heads (the same `sparsity` of each
                attention block's heads, ranked by the magnitude of their q/k/v and output-projection weights). The projections,
                the layer that reads the merged heads and the head count in Reshape targets shrink together; the rewrite is
                checked against the original with those heads zeroed. Default: True.
            finetune (FineTune | None | Unset): Optional recovery training after pruning (PyTorch; on CUDA for a cuda target
                when the worker has a GPU, or wherever `finetune.device` says).
    """

    type_: Literal["prune"] | Unset = "prune"
    method: PrunePassMethod | Unset = PrunePassMethod.STRUCTURED
    sparsity: float | Unset = 0.5
    scope: PrunePassScope | Unset = PrunePassScope.PER_LAYER
    importance: PrunePassImportance | Unset = PrunePassImportance.L2
    exclude_first_last: bool | Unset = True
    nodes_to_exclude: list[str] | Unset = UNSET
    attention_heads: bool | Unset = True
    finetune: FineTune | None | Unset = UNSET

    def to_dict(self) -> dict[str, Any]:
        from ..models.fine_tune import FineTune

        type_ = self.type_

        method: str | Unset = UNSET
        if not isinstance(self.method, Unset):
            method = self.method.value

        sparsity = self.sparsity

        scope: str | Unset = UNSET
        if not isinstance(self.scope, Unset):
            scope = self.scope.value

        importance: str | Unset = UNSET
        if not isinstance(self.importance, Unset):
            importance = self.importance.value

        exclude_first_last = self.exclude_first_last

        nodes_to_exclude: list[str] | Unset = UNSET
        if not isinstance(self.nodes_to_exclude, Unset):
            nodes_to_exclude = self.nodes_to_exclude

        attention_heads = self.attention_heads

        finetune: dict[str, Any] | None | Unset
        if isinstance(self.finetune, Unset):
            finetune = UNSET
        elif isinstance(self.finetune, FineTune):
            finetune = self.finetune.to_dict()
        else:
            finetune = self.finetune

        field_dict: dict[str, Any] = {}

        field_dict.update({})
        if type_ is not UNSET:
            field_dict["type"] = type_
        if method is not UNSET:
            field_dict["method"] = method
        if sparsity is not UNSET:
            field_dict["sparsity"] = sparsity
        if scope is not UNSET:
            field_dict["scope"] = scope
        if importance is not UNSET:
            field_dict["importance"] = importance
        if exclude_first_last is not UNSET:
            field_dict["exclude_first_last"] = exclude_first_last
        if nodes_to_exclude is not UNSET:
            field_dict["nodes_to_exclude"] = nodes_to_exclude
        if attention_heads is not UNSET:
            field_dict["attention_heads"] = attention_heads
        if finetune is not UNSET:
            field_dict["finetune"] = finetune

        return field_dict

    @classmethod
    def from_dict(cls, src_dict: Mapping[str, Any]) -> Self:
        from ..models.fine_tune import FineTune

        d = dict(src_dict)
        type_ = cast(Literal["prune"] | Unset, d.pop("type", UNSET))
        if type_ != "prune" and not isinstance(type_, Unset):
            raise ValueError(f"type must match const 'prune', got '{type_}'")

        _method = d.pop("method", UNSET)
        method: PrunePassMethod | Unset
        if isinstance(_method, Unset):
            method = UNSET
        else:
            method = PrunePassMethod(_method)

        sparsity = d.pop("sparsity", UNSET)

        _scope = d.pop("scope", UNSET)
        scope: PrunePassScope | Unset
        if isinstance(_scope, Unset):
            scope = UNSET
        else:
            scope = PrunePassScope(_scope)

        _importance = d.pop("importance", UNSET)
        importance: PrunePassImportance | Unset
        if isinstance(_importance, Unset):
            importance = UNSET
        else:
            importance = PrunePassImportance(_importance)

        exclude_first_last = d.pop("exclude_first_last", UNSET)

        nodes_to_exclude = cast(list[str], d.pop("nodes_to_exclude", UNSET))

        attention_heads = d.pop("attention_heads", UNSET)

        def _parse_finetune(data: object) -> FineTune | None | Unset:
            if data is None:
                return data
            if isinstance(data, Unset):
                return data
            try:
                if not isinstance(data, dict):
                    raise TypeError()
                finetune_type_0 = FineTune.from_dict(data)

                return finetune_type_0
            except (TypeError, ValueError, AttributeError, KeyError):
                pass
            return cast(FineTune | None | Unset, data)

        finetune = _parse_finetune(d.pop("finetune", UNSET))

        prune_pass = cls(
            type_=type_,
            method=method,
            sparsity=sparsity,
            scope=scope,
            importance=importance,
            exclude_first_last=exclude_first_last,
            nodes_to_exclude=nodes_to_exclude,
            attention_heads=attention_heads,
            finetune=finetune,
        )

        return prune_pass
