"""`slimline optimize`: the engine offline, with a progress bar and a summary table."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from rich.console import Console
from rich.progress import BarColumn, Progress, TextColumn, TimeElapsedColumn
from slimline_client.report_view import print_report

from app.core.schemas.recipe import Recipe


def optimize_command(model: Path, data: Path, recipe_path: Path | None, out: Path, threads: int | None) -> int:
    """Run the engine on local files; print the summary. Returns the process exit code."""
    from worker.engine import EngineError, optimize

    console = Console(stderr=True)
    try:
        recipe = Recipe.model_validate_json(recipe_path.read_text()) if recipe_path else Recipe()
    except ValueError as exc:
        console.print(f"[red]invalid recipe:[/red] {exc}")
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
