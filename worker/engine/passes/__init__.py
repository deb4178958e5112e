"""The optimization passes, one package per pass: ``worker/engine/passes/<type>/``.

The registry is built from the recipe's own list of pass configs (``PASS_CONFIGS`` in
app/core/schemas/recipe.py, the same list the recipe's pass union comes from): each config's ``type``
literal names its package here, imported on first use, so torch and onnxruntime load only with a pass
that needs them. A pass package exposes:

- ``run(ctx, config, source) -> PassResult``: the pass, run once as the recipe wrote it;
- ``space``: its search space for ``tune`` (a ``PassSpace`` subclass, see ``passes/space.py``), or None
  when it has nothing to search (the pass then runs as written in every trial).

Adding a pass = one config class in the recipe's pass list + one package here with ``run`` and
``space`` + tests.
"""

from __future__ import annotations

import importlib
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any, get_args

from app.core.schemas.recipe import PASS_CONFIGS

if TYPE_CHECKING:
    from worker.engine.context import PassContext, PassResult
    from worker.engine.passes.space import PassSpace

__all__ = ["TYPES", "PassUnit", "unit"]

TYPES: tuple[str, ...] = tuple(get_args(config.model_fields["type"].annotation)[0] for config in PASS_CONFIGS)


@dataclass(frozen=True)
class PassUnit:
    """One pass: its recipe ``type``, how to run it, and its search space for ``tune`` (None: nothing to search)."""

    pass_type: str
    run: Callable[[PassContext, Any, Path], PassResult]
    space: type[PassSpace] | None


def unit(pass_type: str) -> PassUnit:
    """The pass whose config has ``type: pass_type`` (its package is imported now); KeyError for another type."""
    if pass_type not in TYPES:
        raise KeyError(pass_type)
    package = importlib.import_module(f"{__name__}.{pass_type}")
    return PassUnit(pass_type, package.run, package.space)
