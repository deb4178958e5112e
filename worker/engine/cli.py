"""`slimline optimize` and `slimline compare`: the engine offline, with a progress bar and summary tables."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from rich.console import Console
from rich.progress import BarColumn, Progress, TextColumn, TimeElapsedColumn
from slimline_client.report_view import outputs_table, print_report

from app.core.schemas.recipe import Recipe


def optimize_command(model: Path, data: Path, recipe_path: Path | None, out: Path, threads: int | None) -> int:
    """Run the engine on local files; print the summary. Returns the process exit code."""
    from worker.engine import EngineError, optimize

    console = Console(stderr=True)
    recipe = _read_recipe(console, recipe_path)
    if recipe is None:
        return 2
    model_format = "torch_export" if model.read_bytes()[:4] == b"PK\x03\x04" else "onnx"
    with Progress(
        TextColumn("{task.description}"),
        BarColumn(),
        TextColumn("{task.percentage:>3.0f}%"),
        TimeElapsedColumn(),
        console=console,
    ) as bar:
        task = bar.add_task("starting", total=1.0)

        def progress(
            stage: str,
            fraction: float,
            message: str = "",
            *,
            type: str = "progress",
            data: dict[str, Any] | None = None,
        ) -> None:
            bar.update(task, completed=fraction, description=stage)
            if type == "warning":
                bar.console.print(f"[yellow]warning:[/yellow] {message}")
            elif type == "trial":
                bar.console.print(message, markup=False, style="dim")

        try:
            result = optimize(
                model,
                data,
                recipe,
                out,
                model_format=model_format,  # type: ignore[arg-type]
                progress=progress,
                threads=threads,
            )
        except EngineError as exc:
            console.print(f"[red]error ({exc.code}):[/red] {exc.message}")
            return 1
    print_report(Console(), result.report)
    for warning in result.report["warnings"]:
        Console().print(f"[yellow]warning:[/yellow] {warning}")
    Console().print(f"artifacts in {out}: {', '.join(sorted(result.artifacts))}")
    return 0 if result.report["goal_met"] else 3


def _read_recipe(console: Console, recipe_path: Path | None) -> Recipe | None:
    try:
        return Recipe.model_validate_json(recipe_path.read_text()) if recipe_path else Recipe()
    except ValueError as exc:
        console.print(f"[red]invalid recipe:[/red] {exc}")
        return None


def compare_command(
    original: Path, candidate: Path, data: Path, recipe_path: Path | None, threads: int | None, as_json: bool
) -> int:
    """Judge ``candidate`` against ``original`` with the job's verdict; 0 within the limit, 3 outside, 1 error."""
    import json

    from worker.engine import EngineError
    from worker.engine.compare import compare

    console = Console(stderr=True)
    recipe = _read_recipe(console, recipe_path)
    if recipe is None:
        return 2
    try:
        result = compare(original, candidate, data, recipe, threads=threads)
    except EngineError as exc:
        console.print(f"[red]error ({exc.code}):[/red] {exc.message}")
        return 1
    out = Console()
    if as_json:
        out.print_json(json.dumps(result))
    else:
        verdict = result["verdict"]
        low, high = result["speedup_interval"]
        how = "by rollout" if verdict["judged_by"] == "rollout" else "sample by sample"
        out.print(
            f"{'within' if verdict['within'] else 'OUTSIDE'} the quality limit ({how}, {verdict['steps']} steps, "
            f"decided by {verdict['decided_by']}); speedup {result['speedup']:.2f}× (95 % interval "
            f"{low:.2f}–{high:.2f})"
        )
        table = outputs_table({"optimized": {"per_output": result["per_output"]}, "verdict": verdict})
        if table is not None:
            out.print(table)
        for warning in result["warnings"]:
            out.print(f"[yellow]warning:[/yellow] {warning}")
    return 0 if result["verdict"]["within"] else 3
