"""Does a recipe fit a model? The names in ``quality.outputs`` and ``evaluation.state`` checked when a job is created.

The engine checks the same again (a stored recipe can outlive a model's signature); this turns a job that
would fail in the worker into a 422 that names the field and the model's actual names.
"""

from __future__ import annotations

from app.core.errors import IncompatibleDataset, InvalidRecipe
from app.core.schemas.recipe import PrunePass, Recipe
from app.core.schemas.tensors import TensorSpec
from app.uploads.validation.onnx_model import ModelInfo


def _names(specs: list[TensorSpec]) -> str:
    return ", ".join(s.name for s in specs) or "none"


def _state_pair_problem(source: TensorSpec, target: TensorSpec) -> str | None:
    """None when output ``target`` can be fed back as input ``source``: the same dtype and rank."""
    known = "unknown" not in (source.dtype, target.dtype)
    if (known and source.dtype != target.dtype) or len(source.shape) != len(target.shape):
        return (
            f"output {target.name!r} ({target.dtype}, rank {len(target.shape)}) cannot be fed back as input "
            f"{source.name!r} ({source.dtype}, rank {len(source.shape)}): a state pair needs the same dtype and rank"
        )
    return None


def _output_errors(recipe: Recipe, model: ModelInfo) -> list[dict[str, str]]:
    outputs = {s.name for s in model.outputs}
    errors = [
        {
            "field": f"quality.outputs.{name}",
            "message": f"quality.outputs names {name!r}, which the model does not have "
            f"(outputs: {_names(model.outputs)})",
        }
        for name in recipe.quality.outputs
        if name not in outputs
    ]
    limits = recipe.quality.outputs
    if all(name in limits and limits[name].ignore for name in outputs):
        errors.append(
            {
                "field": "quality.outputs",
                "message": f"quality.outputs ignores every output ({_names(model.outputs)}); "
                "at least one must be judged",
            }
        )
    return errors


def _state_errors(recipe: Recipe, model: ModelInfo) -> list[dict[str, str]]:
    inputs = {s.name: s for s in model.inputs}
    outputs = {s.name: s for s in model.outputs}
    errors: list[dict[str, str]] = []
    for source, target in (recipe.evaluation.state or {}).items():
        field = f"evaluation.state.{source}"
        if source not in inputs:
            errors.append(
                {
                    "field": field,
                    "message": f"evaluation.state names input {source!r}, which the model does not have "
                    f"(inputs: {_names(model.inputs)})",
                }
            )
        if target not in outputs:
            errors.append(
                {
                    "field": field,
                    "message": f"evaluation.state feeds output {target!r} back as {source!r}, but the model has no "
                    f"such output (outputs: {_names(model.outputs)})",
                }
            )
        if source in inputs and target in outputs:
            problem = _state_pair_problem(inputs[source], outputs[target])
            if problem:
                errors.append({"field": field, "message": f"evaluation.state: {problem}"})
    return errors


def check_recipe_fits_model(recipe: Recipe, model: ModelInfo) -> None:
    """Raise InvalidRecipe listing every output or state name in the recipe that the model does not have."""
    errors = _output_errors(recipe, model) + _state_errors(recipe, model)
    if errors:
        raise InvalidRecipe(
            "the recipe does not fit the model: " + "; ".join(e["message"] for e in errors), errors=errors
        )


MIN_AUTO_TRAINING_SAMPLES = 20  # finetune.epochs auto holds out a fifth, at least 10 (worker/engine/finetune.py)


def check_recipe_fits_data(recipe: Recipe, num_samples: int) -> None:
    """Raise IncompatibleDataset when the split leaves too few calibration samples for what the recipe trains.

    ``finetune.epochs: auto`` validates on a part of the calibration split: it needs at least
    ``MIN_AUTO_TRAINING_SAMPLES`` calibration samples (the engine raises ``too_few_samples`` otherwise).
    """
    calibration = max(1, min(num_samples - 1, round(num_samples * recipe.split.calibration_fraction)))
    errors = [
        {
            "field": f"passes.{index}.finetune.epochs",
            "message": f"finetune.epochs auto holds out a validation part of the calibration split, which gets "
            f"{calibration} of the dataset's {num_samples} samples (split.calibration_fraction "
            f"{recipe.split.calibration_fraction:g}); it needs at least {MIN_AUTO_TRAINING_SAMPLES}: upload more "
            "samples, raise split.calibration_fraction, or set finetune.epochs to a number",
        }
        for index, step in enumerate(recipe.passes)
        if isinstance(step, PrunePass) and step.finetune is not None and step.finetune.epochs == "auto"
    ]
    if errors and calibration < MIN_AUTO_TRAINING_SAMPLES:
        raise IncompatibleDataset("too few samples for the split: " + errors[0]["message"], errors=errors[:1])
