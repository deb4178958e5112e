"""The hardware this process runs on: what the CPU can do for int8, the GPU, the execution providers,
and the hardware class all of that maps to (read from /proc and the libraries; Linux first).

Int8 matrix products are fast and exact on CPUs with int8 dot-product instructions (x86: AVX-512 VNNI,
AVX-VNNI, AMX; Arm: the dot-product extension). Without them, x86 kernels multiply u8 by s8 with
``vpmaddubsw``, which saturates its int16 pair sums: 8-bit weights can then change results, and
onnxruntime advises 7-bit weights (``reduce_range``) on such machines.

Hardware classes (``hardware_class``; docs/deploy.md has the table) name what decides a model's speed:

- ``cuda-sm<major><minor>``: a CUDA GPU that onnxruntime can use, by compute capability (``cuda-sm80``
  for A100, ``cuda-sm89`` for L4/L40, ``cuda-sm90`` for H100/H200);
- ``cpu-amx``: x86 with AMX int8 tiles (Sapphire Rapids and later);
- ``cpu-avx512-vnni``: AVX-512 with VNNI (Cascade Lake, Ice Lake, AMD Zen 4/5);
- ``cpu-avx512``: AVX-512 without VNNI (Skylake-SP);
- ``cpu-avx2-vnni``: AVX2 with AVX-VNNI (Alder Lake and later client cores);
- ``cpu-avx2``: AVX2 only (Haswell to Coffee Lake, AMD Zen 1–3);
- ``cpu-x86``: older x86; ``cpu-arm64-dotprod`` / ``cpu-arm64`` on Arm; ``cpu-<machine>`` elsewhere.
"""

from __future__ import annotations

import os
import platform
import re
import subprocess
from functools import lru_cache
from pathlib import Path
from typing import Any

# The flags that decide int8 speed and exactness, as /proc/cpuinfo spells them.
INT8_FLAGS = ("avx2", "avx512f", "avx512bw", "avx512_vnni", "avx_vnni", "amx_tile", "amx_int8", "asimddp", "i8mm")
DOT_PRODUCT_FLAGS = frozenset({"avx512_vnni", "avx_vnni", "amx_int8", "asimddp", "i8mm"})
CLASS_PATTERN = r"^[a-z0-9][a-z0-9.-]{0,47}$"
CLASS_OVERRIDE_ENV = "SLIMLINE_WORKER_HARDWARE_CLASS"


@lru_cache(maxsize=1)
def _cpuinfo() -> dict[str, str]:
    """The first CPU's fields from /proc/cpuinfo; empty where there is none."""
    try:
        text = Path("/proc/cpuinfo").read_text()
    except OSError:
        return {}
    fields: dict[str, str] = {}
    for line in text.splitlines():
        if not line.strip():
            if fields:
                break
            continue
        key, _, value = line.partition(":")
        fields.setdefault(key.strip(), value.strip())
    return fields


def cpu_flags() -> frozenset[str]:
    """Every flag of the first CPU (``flags`` on x86, ``Features`` on Arm); empty when unknown."""
    info = _cpuinfo()
    return frozenset((info.get("flags") or info.get("Features") or "").split())


def cpu_model() -> str:
    info = _cpuinfo()
    return info.get("model name") or info.get("Model") or platform.processor() or platform.machine()


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


def cpu_class(flags: frozenset[str], machine: str) -> str:
    """The CPU's hardware class from its flags (see the module's docstring for the table)."""
    machine = machine.lower()
    if machine in ("x86_64", "amd64", "i386", "i686"):
        if "amx_int8" in flags or "amx_tile" in flags:
            return "cpu-amx"
        if "avx512f" in flags:
            return "cpu-avx512-vnni" if "avx512_vnni" in flags else "cpu-avx512"
        if "avx2" in flags:
            return "cpu-avx2-vnni" if "avx_vnni" in flags else "cpu-avx2"
        return "cpu-x86"
    if machine in ("aarch64", "arm64"):
        return "cpu-arm64-dotprod" if "asimddp" in flags else "cpu-arm64"
    return f"cpu-{re.sub(r'[^a-z0-9]+', '-', machine) or 'unknown'}"


def gpu_class(compute_capability: str) -> str:
    """``cuda-sm80`` for compute capability "8.0"."""
    return "cuda-sm" + compute_capability.replace(".", "")


def hardware_class(description: dict[str, Any]) -> str:
    """The class a worker offers: its GPU's where onnxruntime can use one, else its CPU's."""
    gpu = description.get("gpu") or {}
    if gpu.get("compute_capability") and "CUDAExecutionProvider" in description.get("providers", []):
        return gpu_class(gpu["compute_capability"])
    return cpu_class(frozenset(description.get("cpu_features", [])), description.get("machine", ""))


def _gpu() -> dict[str, Any] | None:
    """The first NVIDIA GPU as nvidia-smi describes it; None without one (or without nvidia-smi)."""
    query = "name,compute_cap,memory.total,driver_version"
    try:
        out = subprocess.run(
            ["nvidia-smi", f"--query-gpu={query}", "--format=csv,noheader,nounits"],
            capture_output=True,
            text=True,
            timeout=10,
            check=True,
        ).stdout
    except (OSError, subprocess.SubprocessError):
        return None
    line = out.strip().splitlines()[0] if out.strip() else ""
    parts = [part.strip() for part in line.split(",")]
    if len(parts) < 4:
        return None
    name, capability, memory_mib, driver = parts[:4]
    cuda = None
    try:
        header = subprocess.run(["nvidia-smi"], capture_output=True, text=True, timeout=10).stdout
        match = re.search(r"CUDA Version:\s*([0-9.]+)", header)
        cuda = match.group(1) if match else None
    except (OSError, subprocess.SubprocessError):
        pass
    return {
        "name": name,
        "compute_capability": capability,
        "memory_bytes": int(float(memory_mib) * 1024 * 1024) if memory_mib.replace(".", "").isdigit() else None,
        "driver_version": driver,
        "cuda_version": cuda,
    }


def _memory_bytes() -> int | None:
    try:
        return os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES")
    except (ValueError, OSError):
        return None


def _version(module: str) -> str | None:
    from importlib.metadata import PackageNotFoundError, version

    for dist in {"onnxruntime": ("onnxruntime", "onnxruntime-gpu")}.get(module, (module,)):
        try:
            return version(dist)
        except PackageNotFoundError:
            continue
    return None


def describe() -> dict[str, Any]:
    """This machine as the worker registry records it (every field of issue 18's point 1), and its class.

    The class is detected unless ``SLIMLINE_WORKER_HARDWARE_CLASS`` overrides it (operators, tests);
    ``detected_class`` always holds what detection found.
    """
    import onnxruntime

    flags = cpu_flags()
    description: dict[str, Any] = {
        "machine": platform.machine(),
        "cpu_model": cpu_model(),
        "cpu_cores": os.cpu_count() or 1,
        "memory_bytes": _memory_bytes(),
        "cpu_features": int8_features(flags),
        "gpu": _gpu(),
        "providers": list(onnxruntime.get_available_providers()),
        "onnxruntime_version": onnxruntime.__version__,
        "torch_version": _version("torch"),
        "slimline_version": _version("slimline"),
    }
    description["detected_class"] = hardware_class(description)
    override = os.environ.get(CLASS_OVERRIDE_ENV, "").strip()
    if override and not re.match(CLASS_PATTERN, override):
        raise ValueError(f"{CLASS_OVERRIDE_ENV}={override!r} is not a class name (lower-case letters, digits, '-')")
    description["hardware_class"] = override or description["detected_class"]
    return description


def current_class() -> str:
    """This process's hardware class: the override, else detection (cheap: no GPU query on a CPU class)."""
    override = os.environ.get(CLASS_OVERRIDE_ENV, "").strip()
    if override:
        return override
    return str(describe()["hardware_class"])
