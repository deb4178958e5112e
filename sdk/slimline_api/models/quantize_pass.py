from __future__ import annotations

from collections.abc import Mapping
from typing import (
    Any,
    Literal,
    Self,
    TypeVar,
    cast,
)

from attrs import define as _attrs_define

from ..models.quantize_pass_activation_type import QuantizePassActivationType
from ..models.quantize_pass_calibration import QuantizePassCalibration
from ..models.quantize_pass_mode import QuantizePassMode
from ..models.quantize_pass_model_type import QuantizePassModelType
from ..models.quantize_pass_weight_type import QuantizePassWeightType
from ..types import UNSET, Unset

T = TypeVar("T", bound="QuantizePass")


@_attrs_define
class QuantizePass:
    """Quantize with onnxruntime: int8 dynamic, int8 static (QDQ), fp16, or ``auto`` (measure and pick).

    Attributes:
        type_ (Literal['quantize'] | Unset):  Default: 'quantize'.
        mode (QuantizePassMode | Unset): `auto` measures every candidate that fits the model on the target (including
            the fp32 graph optimized offline) and keeps the fastest that stays within the quality limit. Default:
            QuantizePassMode.AUTO.
        per_channel (bool | Unset): Per-channel weight scales (static and dynamic). Default: True.
        reduce_range (bool | None | Unset): 7-bit weights. Unset: on where the worker's CPU is x86 without int8 dot-
            product instructions (no VNNI/AMX), whose int8 kernels can saturate with 8-bit weights (onnxruntime's advice);
            off elsewhere. The report says which was used.
        weight_type (QuantizePassWeightType | Unset):  Default: QuantizePassWeightType.INT8.
        activation_type (QuantizePassActivationType | Unset): Static mode only. Default:
            QuantizePassActivationType.UINT8.
        symmetric_weights (bool | Unset):  Default: True.
        symmetric_activations (bool | Unset):  Default: False.
        calibration (QuantizePassCalibration | Unset):  Default: QuantizePassCalibration.MINMAX.
        percentile (float | Unset): For `calibration: percentile`. Default: 99.999.
        calibration_samples (int | Unset): Samples used to calibrate (static). Default: 128.
        nodes_to_exclude (list[str] | Unset): Node names kept in float.
        op_types_to_quantize (list[str] | None | Unset): Restrict quantization to these op types (e.g. ["Conv",
            "MatMul"]).
        keep_io_types (bool | Unset): fp16 mode: keep float32 model inputs and outputs. Default: True.
        model_type (QuantizePassModelType | Unset): `auto` mode: transformer graph fusion (onnxruntime's transformers
            optimizer: Attention, SkipLayerNormalization, BiasGelu/FastGelu, EmbedLayerNormalization) adds fused candidates
            (fused fp32, fused + dynamic int8, fused + static int8, and fused + fp16 for a cuda target), measured and judged
            like the others. `auto`: fuse when the graph shows attention (MatMul, Softmax, MatMul), layer normalization and
            token embeddings read from an integer input; a causal mask makes it a decoder (`gpt2`), else an encoder
            (`bert`). `bert` / `gpt2`: fuse as that type even where the graph does not show it (e.g. a vision transformer
            has no token embeddings). `none`: no fusion. Default: QuantizePassModelType.AUTO.
        num_heads (int | None | Unset): Attention heads, for fusion. Unset: read from the graph (the attention's head
            size and the hidden size); where the graph does not show them, left to onnxruntime.
        hidden_size (int | None | Unset): Hidden size, for fusion. Unset: the token embedding table's width (else the
            layer normalization's).
    """

    type_: Literal["quantize"] | Unset = "quantize"
    mode: QuantizePassMode | Unset = QuantizePassMode.AUTO
    per_channel: bool | Unset = True
    reduce_range: bool | None | Unset = UNSET
    weight_type: QuantizePassWeightType | Unset = QuantizePassWeightType.INT8
    activation_type: QuantizePassActivationType | Unset = (
        QuantizePassActivationType.UINT8
    )
    symmetric_weights: bool | Unset = True
    symmetric_activations: bool | Unset = False
    calibration: QuantizePassCalibration | Unset = QuantizePassCalibration.MINMAX
    percentile: float | Unset = 99.999
    calibration_samples: int | Unset = 128
    nodes_to_exclude: list[str] | Unset = UNSET
    op_types_to_quantize: list[str] | None | Unset = UNSET
    keep_io_types: bool | Unset = True
    model_type: QuantizePassModelType | Unset = QuantizePassModelType.AUTO
    num_heads: int | None | Unset = UNSET
    hidden_size: int | None | Unset = UNSET

    def to_dict(self) -> dict[str, Any]:
        type_ = self.type_

        mode: str | Unset = UNSET
        if not isinstance(self.mode, Unset):
            mode = self.mode.value

        per_channel = self.per_channel

        reduce_range: bool | None | Unset
        if isinstance(self.reduce_range, Unset):
            reduce_range = UNSET
        else:
            reduce_range = self.reduce_range

        weight_type: str | Unset = UNSET
        if not isinstance(self.weight_type, Unset):
            weight_type = self.weight_type.value

        activation_type: str | Unset = UNSET
        if not isinstance(self.activation_type, Unset):
            activation_type = self.activation_type.value

        symmetric_weights = self.symmetric_weights

        symmetric_activations = self.symmetric_activations

        calibration: str | Unset = UNSET
        if not isinstance(self.calibration, Unset):
            calibration = self.calibration.value

        percentile = self.percentile

        calibration_samples = self.calibration_samples

        nodes_to_exclude: list[str] | Unset = UNSET
        if not isinstance(self.nodes_to_exclude, Unset):
            nodes_to_exclude = self.nodes_to_exclude

        op_types_to_quantize: list[str] | None | Unset
        if isinstance(self.op_types_to_quantize, Unset):
            op_types_to_quantize = UNSET
        elif isinstance(self.op_types_to_quantize, list):
            op_types_to_quantize = self.op_types_to_quantize

        else:
            op_types_to_quantize = self.op_types_to_quantize

        keep_io_types = self.keep_io_types

        model_type: str | Unset = UNSET
        if not isinstance(self.model_type, Unset):
            model_type = self.model_type.value

        num_heads: int | None | Unset
        if isinstance(self.num_heads, Unset):
            num_heads = UNSET
        else:
            num_heads = self.num_heads

        hidden_size: int | None | Unset
        if isinstance(self.hidden_size, Unset):
            hidden_size = UNSET
        else:
            hidden_size = self.hidden_size

        field_dict: dict[str, Any] = {}

        field_dict.update({})
        if type_ is not UNSET:
            field_dict["type"] = type_
        if mode is not UNSET:
            field_dict["mode"] = mode
        if per_channel is not UNSET:
            field_dict["per_channel"] = per_channel
        if reduce_range is not UNSET:
            field_dict["reduce_range"] = reduce_range
        if weight_type is not UNSET:
            field_dict["weight_type"] = weight_type
        if activation_type is not UNSET:
            field_dict["activation_type"] = activation_type
        if symmetric_weights is not UNSET:
            field_dict["symmetric_weights"] = symmetric_weights
        if symmetric_activations is not UNSET:
            field_dict["symmetric_activations"] = symmetric_activations
        if calibration is not UNSET:
            field_dict["calibration"] = calibration
        if percentile is not UNSET:
            field_dict["percentile"] = percentile
        if calibration_samples is not UNSET:
            field_dict["calibration_samples"] = calibration_samples
        if nodes_to_exclude is not UNSET:
            field_dict["nodes_to_exclude"] = nodes_to_exclude
        if op_types_to_quantize is not UNSET:
            field_dict["op_types_to_quantize"] = op_types_to_quantize
        if keep_io_types is not UNSET:
            field_dict["keep_io_types"] = keep_io_types
        if model_type is not UNSET:
            field_dict["model_type"] = model_type
        if num_heads is not UNSET:
            field_dict["num_heads"] = num_heads
        if hidden_size is not UNSET:
            field_dict["hidden_size"] = hidden_size

        return field_dict

    @classmethod
    def from_dict(cls, src_dict: Mapping[str, Any]) -> Self:
        d = dict(src_dict)
        type_ = cast(Literal["quantize"] | Unset, d.pop("type", UNSET))
        if type_ != "quantize" and not isinstance(type_, Unset):
            raise ValueError(f"type must match const 'quantize', got '{type_}'")

        _mode = d.pop("mode", UNSET)
        mode: QuantizePassMode | Unset
        if isinstance(_mode, Unset):
            mode = UNSET
        else:
            mode = QuantizePassMode(_mode)

        per_channel = d.pop("per_channel", UNSET)

        def _parse_reduce_range(data: object) -> bool | None | Unset:
            if data is None:
                return data
            if isinstance(data, Unset):
                return data
            return cast(bool | None | Unset, data)

        reduce_range = _parse_reduce_range(d.pop("reduce_range", UNSET))

        _weight_type = d.pop("weight_type", UNSET)
        weight_type: QuantizePassWeightType | Unset
        if isinstance(_weight_type, Unset):
            weight_type = UNSET
        else:
            weight_type = QuantizePassWeightType(_weight_type)

        _activation_type = d.pop("activation_type", UNSET)
        activation_type: QuantizePassActivationType | Unset
        if isinstance(_activation_type, Unset):
            activation_type = UNSET
        else:
            activation_type = QuantizePassActivationType(_activation_type)

        symmetric_weights = d.pop("symmetric_weights", UNSET)

        symmetric_activations = d.pop("symmetric_activations", UNSET)

        _calibration = d.pop("calibration", UNSET)
        calibration: QuantizePassCalibration | Unset
        if isinstance(_calibration, Unset):
            calibration = UNSET
        else:
            calibration = QuantizePassCalibration(_calibration)

        percentile = d.pop("percentile", UNSET)

        calibration_samples = d.pop("calibration_samples", UNSET)

        nodes_to_exclude = cast(list[str], d.pop("nodes_to_exclude", UNSET))

        def _parse_op_types_to_quantize(data: object) -> list[str] | None | Unset:
            if data is None:
                return data
            if isinstance(data, Unset):
                return data
            try:
                if not isinstance(data, list):
                    raise TypeError()
                op_types_to_quantize_type_0 = cast(list[str], data)

                return op_types_to_quantize_type_0
            except (TypeError, ValueError, AttributeError, KeyError):
                pass
            return cast(list[str] | None | Unset, data)

        op_types_to_quantize = _parse_op_types_to_quantize(
            d.pop("op_types_to_quantize", UNSET)
        )

        keep_io_types = d.pop("keep_io_types", UNSET)

        _model_type = d.pop("model_type", UNSET)
        model_type: QuantizePassModelType | Unset
        if isinstance(_model_type, Unset):
            model_type = UNSET
        else:
            model_type = QuantizePassModelType(_model_type)

        def _parse_num_heads(data: object) -> int | None | Unset:
            if data is None:
                return data
            if isinstance(data, Unset):
                return data
            return cast(int | None | Unset, data)

        num_heads = _parse_num_heads(d.pop("num_heads", UNSET))

        def _parse_hidden_size(data: object) -> int | None | Unset:
            if data is None:
                return data
            if isinstance(data, Unset):
                return data
            return cast(int | None | Unset, data)

        hidden_size = _parse_hidden_size(d.pop("hidden_size", UNSET))

        quantize_pass = cls(
            type_=type_,
            mode=mode,
            per_channel=per_channel,
            reduce_range=reduce_range,
            weight_type=weight_type,
            activation_type=activation_type,
            symmetric_weights=symmetric_weights,
            symmetric_activations=symmetric_activations,
            calibration=calibration,
            percentile=percentile,
            calibration_samples=calibration_samples,
            nodes_to_exclude=nodes_to_exclude,
            op_types_to_quantize=op_types_to_quantize,
            keep_io_types=keep_io_types,
            model_type=model_type,
            num_heads=num_heads,
            hidden_size=hidden_size,
        )

        return quantize_pass
