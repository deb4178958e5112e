"""Which CPUs get 7-bit weights by default: x86 without int8 dot-product instructions, nothing else."""

from __future__ import annotations

import pytest

from app.core.schemas.recipe import QuantizePass
from worker.engine import hardware
from worker.engine.passes.quantize.candidates import reduce_range

AVX2 = frozenset({"fpu", "sse4_2", "avx", "avx2", "fma"})
VNNI = AVX2 | {"avx512f", "avx512bw", "avx512_vnni"}


@pytest.mark.parametrize(
    ("flags", "x86", "expected"),
    [
        (AVX2, True, True),  # u8s8 kernels saturate int16 sums: onnxruntime advises 7-bit weights
        (VNNI, True, False),
        (AVX2 | {"avx_vnni"}, True, False),
        (AVX2 | {"amx_tile", "amx_int8"}, True, False),
        (frozenset(), True, False),  # unknown CPU: leave onnxruntime's default
        (frozenset({"fp", "asimd"}), False, False),  # Arm: reduce_range is an x86 workaround
    ],
)
def test_reduced_range_only_where_int8_dot_products_are_missing_on_x86(flags, x86, expected):
    assert hardware.prefers_reduced_range(flags, x86=x86) is expected


def test_int8_features_lists_what_matters_in_a_fixed_order():
    assert hardware.int8_features(VNNI | {"sse2"}) == ["avx2", "avx512f", "avx512bw", "avx512_vnni"]
    assert hardware.has_int8_dot_product(frozenset()) is None


def test_the_recipe_wins_over_the_cpu():
    assert reduce_range(QuantizePass(reduce_range=True)) is True
    assert reduce_range(QuantizePass(reduce_range=False)) is False
    assert reduce_range(QuantizePass()) is hardware.prefers_reduced_range()
