"""What the CPU this runs on can do for int8, read from /proc/cpuinfo (Linux; elsewhere: unknown).

Int8 matrix products are fast and exact on CPUs with int8 dot-product instructions (x86: AVX-512 VNNI,
AVX-VNNI, AMX; Arm: the dot-product extension). Without them, x86 kernels multiply u8 by s8 with
``vpmaddubsw``, which saturates its int16 pair sums: 8-bit weights can then change results, and
onnxruntime advises 7-bit weights (``reduce_range``) on such machines.
"""

from __future__ import annotations

import platform
from functools import lru_cache
from pathlib import Path

# The flags that decide int8 speed and exactness, as /proc/cpuinfo spells them.
INT8_FLAGS = ("avx2", "avx512f", "avx512bw", "avx512_vnni", "avx_vnni", "amx_tile", "amx_int8", "asimddp", "i8mm")
DOT_PRODUCT_FLAGS = frozenset({"avx512_vnni", "avx_vnni", "amx_int8", "asimddp", "i8mm"})


@lru_cache(maxsize=1)
def cpu_flags() -> frozenset[str]:
    """Every flag of the first CPU (``flags`` on x86, ``Features`` on Arm); empty when unknown."""
    try:
        text = Path("/proc/cpuinfo").read_text()
    except OSError:
        return frozenset()
    for line in text.splitlines():
        key, _, value = line.partition(":")
        if key.strip() in ("flags", "Features"):
            return frozenset(value.split())
    return frozenset()


def is_x86() -> bool:
    return platform.machine().lower() in ("x86_64", "amd64", "i386", "i686")


def has_int8_dot_product(flags: frozenset[str] | None = None) -> bool | None:
    """True/False where the CPU's flags are known; None where they are not."""
    flags = cpu_flags() if flags is None else flags
    if not flags:
        return None
    return bool(flags & DOT_PRODUCT_FLAGS)


def int8_features(flags: frozenset[str] | None = None) -> list[str]:
    """The int8-relevant flags present, for reports (``environment.cpu_flags``)."""
    flags = cpu_flags() if flags is None else flags
    return [flag for flag in INT8_FLAGS if flag in flags]


def prefers_reduced_range(flags: frozenset[str] | None = None, *, x86: bool | None = None) -> bool:
    """7-bit weights by default: an x86 CPU known to lack int8 dot-product instructions."""
    x86 = is_x86() if x86 is None else x86
    return x86 and has_int8_dot_product(flags) is False
