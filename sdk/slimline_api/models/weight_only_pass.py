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

from ..models.weight_only_pass_accuracy_level import WeightOnlyPassAccuracyLevel
from ..models.weight_only_pass_algorithm import WeightOnlyPassAlgorithm
from ..models.weight_only_pass_bits import WeightOnlyPassBits
from ..models.weight_only_pass_block_size import WeightOnlyPassBlockSize
from ..models.weight_only_pass_mode import WeightOnlyPassMode
from ..types import UNSET, Unset

T = TypeVar("T", bound="WeightOnlyPass")


@_attrs_define
class WeightOnlyPass:
    """Weight-only quantization of MatMul weights to int4 or int8 blocks (onnxruntime's MatMulNBits), for
    transformers and language models: activations stay in float, weights shrink 4-8×; batch and sequence axes
    stay dynamic. Gemm layers with constant weights (GPT-2's Conv1D, many exporters' Linear) are rewritten as
    MatMul (+ Add) first so they are quantized too.

        Attributes:
            type_ (Literal['weight_only'] | Unset):  Default: 'weight_only'.
            mode (WeightOnlyPassMode | Unset): `options`: quantize once with the options below. `auto`: build every
                combination that fits the model and the target (bits 4 and 8 × block sizes 32/64/128 no wider than the weights ×
                accuracy levels 1 and 4 on cpu, 0 on cuda; `algorithm`, `symmetric`, `quantize_embeddings` and
                `quantize_lm_head` as written), judge each against the quality limit, time each against the input in interleaved
                rounds and keep the fastest that is within the limit and measurably faster; else the input comes back unchanged
                with the reason. Default: WeightOnlyPassMode.OPTIONS.
            algorithm (WeightOnlyPassAlgorithm | Unset): `rtn`: round-to-nearest per block (onnxruntime's default
                MatMulNBits quantizer; 4 or 8 bits). `hqq`: half-quadratic optimisation of scales and zero points (4 bits, no
                embeddings). `gptq`: error-compensating quantization on the calibration split (4 bits, no embeddings; slower to
                build). Default: WeightOnlyPassAlgorithm.RTN.
            bits (WeightOnlyPassBits | Unset): Bits per weight. Default: WeightOnlyPassBits.VALUE_4.
            block_size (WeightOnlyPassBlockSize | Unset): Weights per quantization block (along the input dimension);
                smaller is more faithful. Default: WeightOnlyPassBlockSize.VALUE_32.
            symmetric (bool | Unset): Symmetric blocks (no zero points); asymmetric is more faithful. Default: False.
            accuracy_level (WeightOnlyPassAccuracyLevel | Unset): The MatMulNBits compute type: 0 unset (fp32 on cpu), 1
                fp32, 4 int8 activations (fastest on CPUs with int8 dot-product instructions; ignored on cuda). Default:
                WeightOnlyPassAccuracyLevel.VALUE_4.
            quantize_embeddings (bool | Unset): Also quantize token-embedding Gather tables to 4 bits (GatherBlockQuantized;
                the model is converted to opset 21). Only with `algorithm: rtn` and 4 bits (auto: in its 4-bit candidates).
                Default: False.
            quantize_lm_head (bool | Unset): Also quantize the last MatMul of the graph (a language model's head onto the
                vocabulary; the most sensitive layer, and often the largest). Default: True.
    """

    type_: Literal["weight_only"] | Unset = "weight_only"
    mode: WeightOnlyPassMode | Unset = WeightOnlyPassMode.OPTIONS
    algorithm: WeightOnlyPassAlgorithm | Unset = WeightOnlyPassAlgorithm.RTN
    bits: WeightOnlyPassBits | Unset = WeightOnlyPassBits.VALUE_4
    block_size: WeightOnlyPassBlockSize | Unset = WeightOnlyPassBlockSize.VALUE_32
    symmetric: bool | Unset = False
    accuracy_level: WeightOnlyPassAccuracyLevel | Unset = (
        WeightOnlyPassAccuracyLevel.VALUE_4
    )
    quantize_embeddings: bool | Unset = False
    quantize_lm_head: bool | Unset = True

    def to_dict(self) -> dict[str, Any]:
        type_ = self.type_

        mode: str | Unset = UNSET
        if not isinstance(self.mode, Unset):
            mode = self.mode.value

        algorithm: str | Unset = UNSET
        if not isinstance(self.algorithm, Unset):
            algorithm = self.algorithm.value

        bits: int | Unset = UNSET
        if not isinstance(self.bits, Unset):
            bits = self.bits.value

        block_size: int | Unset = UNSET
        if not isinstance(self.block_size, Unset):
            block_size = self.block_size.value

        symmetric = self.symmetric

        accuracy_level: int | Unset = UNSET
        if not isinstance(self.accuracy_level, Unset):
            accuracy_level = self.accuracy_level.value

        quantize_embeddings = self.quantize_embeddings

        quantize_lm_head = self.quantize_lm_head

        field_dict: dict[str, Any] = {}

        field_dict.update({})
        if type_ is not UNSET:
            field_dict["type"] = type_
        if mode is not UNSET:
            field_dict["mode"] = mode
        if algorithm is not UNSET:
            field_dict["algorithm"] = algorithm
        if bits is not UNSET:
            field_dict["bits"] = bits
        if block_size is not UNSET:
            field_dict["block_size"] = block_size
        if symmetric is not UNSET:
            field_dict["symmetric"] = symmetric
        if accuracy_level is not UNSET:
            field_dict["accuracy_level"] = accuracy_level
        if quantize_embeddings is not UNSET:
            field_dict["quantize_embeddings"] = quantize_embeddings
        if quantize_lm_head is not UNSET:
            field_dict["quantize_lm_head"] = quantize_lm_head

        return field_dict

    @classmethod
    def from_dict(cls, src_dict: Mapping[str, Any]) -> Self:
        d = dict(src_dict)
        type_ = cast(Literal["weight_only"] | Unset, d.pop("type", UNSET))
        if type_ != "weight_only" and not isinstance(type_, Unset):
            raise ValueError(f"type must match const 'weight_only', got '{type_}'")

        _mode = d.pop("mode", UNSET)
        mode: WeightOnlyPassMode | Unset
        if isinstance(_mode, Unset):
            mode = UNSET
        else:
            mode = WeightOnlyPassMode(_mode)

        _algorithm = d.pop("algorithm", UNSET)
        algorithm: WeightOnlyPassAlgorithm | Unset
        if isinstance(_algorithm, Unset):
            algorithm = UNSET
        else:
            algorithm = WeightOnlyPassAlgorithm(_algorithm)

        _bits = d.pop("bits", UNSET)
        bits: WeightOnlyPassBits | Unset
        if isinstance(_bits, Unset):
            bits = UNSET
        else:
            bits = WeightOnlyPassBits(_bits)

        _block_size = d.pop("block_size", UNSET)
        block_size: WeightOnlyPassBlockSize | Unset
        if isinstance(_block_size, Unset):
            block_size = UNSET
        else:
            block_size = WeightOnlyPassBlockSize(_block_size)

        symmetric = d.pop("symmetric", UNSET)

        _accuracy_level = d.pop("accuracy_level", UNSET)
        accuracy_level: WeightOnlyPassAccuracyLevel | Unset
        if isinstance(_accuracy_level, Unset):
            accuracy_level = UNSET
        else:
            accuracy_level = WeightOnlyPassAccuracyLevel(_accuracy_level)

        quantize_embeddings = d.pop("quantize_embeddings", UNSET)

        quantize_lm_head = d.pop("quantize_lm_head", UNSET)

        weight_only_pass = cls(
            type_=type_,
            mode=mode,
            algorithm=algorithm,
            bits=bits,
            block_size=block_size,
            symmetric=symmetric,
            accuracy_level=accuracy_level,
            quantize_embeddings=quantize_embeddings,
            quantize_lm_head=quantize_lm_head,
        )

        return weight_only_pass
