"""The only place that lists passes: recipe ``type`` -> implementation (imported lazily)."""

from __future__ import annotations

import importlib
from collections.abc import Callable
from typing import Any

PASSES: dict[str, str] = {
    "quantize": "worker.engine.passes.quantize:run",
    "prune": "worker.engine.passes.prune:run",
}


def get(pass_type: str) -> Callable[..., Any]:
    module_name, _, attribute = PASSES[pass_type].partition(":")
    return getattr(importlib.import_module(module_name), attribute)  # type: ignore[no-any-return]
