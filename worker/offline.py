"""``python -m worker.offline MODEL --data D.npz [--recipe R.json] [--out DIR] [--threads N]``: the engine offline;
``python -m worker.offline compare ORIGINAL CANDIDATE --data D.npz [--recipe R.json] [--json]``: the verdict alone.

``slimline optimize`` (app/cli.py) checks its arguments and replaces itself with this process, as
``slimline worker`` does with Celery: the app package never imports the engine.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path


def compare(argv: list[str]) -> int:
    """Judge a candidate against an original; returns the exit code (0 within the limit, 2 bad input, 3 outside)."""
    parser = argparse.ArgumentParser(prog="slimline compare", description="Judge a model against its original.")
    parser.add_argument("original", type=Path, help="The original .onnx model.")
    parser.add_argument("candidate", type=Path, help="The .onnx model to judge (optimized here or elsewhere).")
    parser.add_argument("--data", type=Path, required=True, help="An .npz dataset.")
    parser.add_argument("--recipe", type=Path, default=None, help="Recipe JSON (quality, evaluation, split, target).")
    parser.add_argument("--threads", type=int, default=None, help="onnxruntime threads.")
    parser.add_argument("--json", action="store_true", help="Print the result as JSON.")
    args = parser.parse_args(argv)
    from worker.engine.cli import compare_command

    return compare_command(args.original, args.candidate, args.data, args.recipe, args.threads, args.json)


def main(argv: list[str] | None = None) -> int:
    """Run the engine on local files; returns the exit code (0 goal met, 2 bad input, 3 goal missed)."""
    argv = sys.argv[1:] if argv is None else argv
    if argv[:1] == ["compare"]:
        return compare(argv[1:])
    parser = argparse.ArgumentParser(prog="slimline optimize", description="Run the optimization engine offline.")
    parser.add_argument("model", type=Path, help="An .onnx model or .pt2 archive.")
    parser.add_argument("--data", type=Path, required=True, help="An .npz dataset.")
    parser.add_argument("--recipe", type=Path, default=None, help="Recipe JSON.")
    parser.add_argument("--out", type=Path, default=Path("slimline-out"), help="Directory for the artifacts.")
    parser.add_argument("--threads", type=int, default=None, help="onnxruntime threads.")
    args = parser.parse_args(argv)
    from worker.engine.cli import optimize_command

    return optimize_command(args.model, args.data, args.recipe, args.out, args.threads)


if __name__ == "__main__":
    sys.exit(main())
