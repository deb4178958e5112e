"""The ``slimline`` client CLI, talking to a server through the SDK (``slimline_client``).

Installed with the SDK alone (``pip install ./sdk``); the server's ``slimline`` (``app/cli.py``)
mounts the same commands next to its own.

    slimline login --url URL --key KEY           # stored in ~/.config/slimline/config.json (0600)
    slimline models upload|list|show|rm, slimline datasets upload|list|show|rm
    slimline jobs submit RECIPE.json --model M --data D [--wait] | list | show | watch | cancel
    slimline jobs download JOB [--target CLASS]  # a multi-target job's comparison, or one target's artifacts
    slimline run MODEL DATA [--recipe R] [--out DIR]   # upload, submit, watch, download, print the report
    slimline keys list | revoke KEY_ID                  # this tenant's API keys
    slimline hardware list                              # hardware classes: live workers, queued jobs
    slimline workers list                               # every worker (operator keys)

SLIMLINE_URL / SLIMLINE_API_KEY override the stored login. ``--json`` prints machine-readable output.
Uploads above SLIMLINE_CHUNKED_THRESHOLD_BYTES (64 MiB) go in resumable parts of SLIMLINE_PART_SIZE_BYTES (16 MiB).
Exit codes: 0 ok, 1 the server refused (the problem's detail is printed), 2 usage/config, 3 the job
did not succeed (failed, cancelled, or its goal was not met).
"""

from __future__ import annotations

import json
import os
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer
from rich.console import Console
from rich.markup import escape
from rich.progress import BarColumn, DownloadColumn, Progress, TextColumn, TransferSpeedColumn
from rich.table import Table

from slimline_client.fleet_view import generic_queues_text, hardware_table, workers_table
from slimline_client.job_view import status_line, targets_missing_goal, targets_table, waiting_text
from slimline_client.report_view import print_report

if TYPE_CHECKING:
    from slimline_client import Job, Slimline

CONFIG = Path(os.environ.get("XDG_CONFIG_HOME") or Path.home() / ".config") / "slimline" / "config.json"
JsonOpt = Annotated[bool, typer.Option("--json", help="Machine-readable output.")]
# Piped output is not cut to 80 columns: ids must survive `| grep`, `| cut`, copy and paste.
console, err = Console(width=None if sys.stdout.isatty() else 100_000), Console(stderr=True)

models_cli = typer.Typer(help="Models on the server.", no_args_is_help=True)
datasets_cli = typer.Typer(help="Datasets on the server.", no_args_is_help=True)
jobs_cli = typer.Typer(help="Optimization jobs.", no_args_is_help=True)
keys_cli = typer.Typer(help="This tenant's API keys.", no_args_is_help=True)
hardware_cli = typer.Typer(help="Hardware classes a job can target.", no_args_is_help=True)
workers_cli = typer.Typer(help="The fleet's workers (operator keys).", no_args_is_help=True)


def _connect() -> Slimline:
    from slimline_client import Slimline

    stored: dict[str, str] = json.loads(CONFIG.read_text()) if CONFIG.exists() else {}
    url = os.environ.get("SLIMLINE_URL") or stored.get("url")
    key = os.environ.get("SLIMLINE_API_KEY") or stored.get("api_key")
    if not url or not key:
        err.print("not logged in: run `slimline login --url URL --key KEY` or set SLIMLINE_URL and SLIMLINE_API_KEY")
        raise typer.Exit(2)
    sizes = {
        option: int(os.environ[variable])
        for option, variable in (
            ("chunked_threshold_bytes", "SLIMLINE_CHUNKED_THRESHOLD_BYTES"),
            ("part_size_bytes", "SLIMLINE_PART_SIZE_BYTES"),
        )
        if os.environ.get(variable, "").isdigit()
    }
    return Slimline(url, key, **sizes)


def _fail(exc: Exception) -> typer.Exit:
    from slimline_client import SlimlineError

    if isinstance(exc, typer.Exit):
        return exc
    if isinstance(exc, SlimlineError):
        err.print(f"[red]error {exc.status} {escape(exc.code)}:[/red] {escape(exc.detail)}")
        for item in exc.errors:
            err.print(f"  {escape(str(item.get('field', '')))}: {escape(str(item.get('message', '')))}")
    else:
        err.print(f"[red]error:[/red] {escape(str(exc))}")
    return typer.Exit(1)


def _read_recipe(path: Path | None) -> dict[str, Any] | None:
    """A recipe file's JSON object (exit 2 when it is not one); the server validates the rest."""
    if path is None:
        return None
    try:
        recipe = json.loads(path.read_text())
    except (OSError, ValueError) as exc:
        err.print(f"[red]error:[/red] {escape(str(path))} is not a JSON recipe: {escape(str(exc))}")
        raise typer.Exit(2) from None
    if not isinstance(recipe, dict):
        err.print(f"[red]error:[/red] {escape(str(path))} must hold a JSON object (see docs/recipes.md)")
        raise typer.Exit(2)
    return recipe


def _listing(*columns: str) -> Table:
    """A table whose first column holds ids: they are never shortened (the other columns wrap first)."""
    table = Table()
    table.add_column(columns[0], no_wrap=True, overflow="fold")
    for column in columns[1:]:
        table.add_column(column)
    return table


def _print(data: Any, as_json: bool, table: Table | None = None) -> None:
    if as_json:
        sys.stdout.write(json.dumps(data, default=str) + "\n")
    elif table is not None:
        ids = table.columns[0]
        ids.min_width = max((len(str(cell)) for cell in ids._cells), default=0) or None  # whole ids first
        console.print(table)
    else:
        console.print_json(json.dumps(data, default=str))


def login(
    url: Annotated[str, typer.Option(help="Server URL.")], key: Annotated[str, typer.Option(help="API key.")]
) -> None:
    """Check the key against the server and store it (0600)."""
    from slimline_client import Slimline

    client = Slimline(url, key)
    try:
        next(client.models.list(limit=1), None)
    except Exception as exc:  # noqa: BLE001 - report any refusal or connection error
        raise _fail(exc) from None
    CONFIG.parent.mkdir(parents=True, exist_ok=True)
    descriptor = os.open(CONFIG, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(descriptor, "w") as handle:
        json.dump({"url": url, "api_key": key}, handle)
    os.chmod(CONFIG, 0o600)
    console.print(f"logged in to {url}; credentials in {CONFIG}")


def _send(client: Slimline, kind: str, path: Path, name: str | None, as_json: bool, data: Sequence[Path] = ()) -> Any:
    """Upload with a progress bar (on stderr; none with --json)."""
    with Progress(
        TextColumn(f"uploading {escape(path.name)}"),
        BarColumn(),
        DownloadColumn(),
        TransferSpeedColumn(),
        console=err,
        disable=as_json,
    ) as bar:
        task = bar.add_task("upload", total=sum(p.stat().st_size for p in (path, *data)))
        advance = lambda n: bar.advance(task, n)  # noqa: E731
        if data:
            return getattr(client, kind).upload(path, name=name, on_bytes=advance, data_files=data)
        return getattr(client, kind).upload(path, name=name, on_bytes=advance)


def _upload(kind: str, path: Path, name: str | None, as_json: bool, data: Sequence[Path] = ()) -> Any:
    client = _connect()
    try:
        item = _send(client, kind, path, name, as_json, data)
    except Exception as exc:  # noqa: BLE001
        raise _fail(exc) from None
    _print(item.data.to_dict(), as_json)
    return item


def _register_uploads(group: typer.Typer, kind: str) -> None:
    @group.command("upload")
    def upload(
        path: Annotated[Path, typer.Argument(exists=True, dir_okay=False)],
        name: Annotated[str | None, typer.Option()] = None,
        data: Annotated[
            list[Path] | None,
            typer.Option(
                exists=True,
                dir_okay=False,
                help="Models: an external data file of the .onnx, under the name its tensors give (repeatable).",
            ),
        ] = None,
        as_json: JsonOpt = False,
    ) -> None:
        """Upload a file (streamed, with a progress bar)."""
        _upload(kind, path, name, as_json, data or [])

    @group.command("list")
    def list_(limit: Annotated[int, typer.Option(min=1, max=200)] = 50, as_json: JsonOpt = False) -> None:
        """List (newest first)."""
        try:
            items = [item.data.to_dict() for item in getattr(_connect(), kind).list(limit=limit)]
        except Exception as exc:  # noqa: BLE001
            raise _fail(exc) from None
        table = _listing("id", "name", "size", "created")
        for item in items:
            table.add_row(item["id"], item["name"], f"{item['size_bytes']:,}", str(item["created_at"]))
        _print(items, as_json, table)

    @group.command("show")
    def show(item_id: str, as_json: JsonOpt = False) -> None:
        """Show one."""
        try:
            _print(getattr(_connect(), kind).get(item_id).data.to_dict(), as_json)
        except Exception as exc:  # noqa: BLE001
            raise _fail(exc) from None

    @group.command("rm")
    def rm(item_id: str, as_json: JsonOpt = False) -> None:
        """Delete one (refused while a job uses it)."""
        try:
            getattr(_connect(), kind).delete(item_id)
        except Exception as exc:  # noqa: BLE001
            raise _fail(exc) from None
        _print({"deleted": item_id}, as_json) if as_json else console.print(f"deleted {item_id}")


_register_uploads(models_cli, "models")
_register_uploads(datasets_cli, "datasets")


def _progress_text(job: Job) -> str:
    """The progress bar's words: id, status, and the stage, or why a queued job waits, or each target's status."""
    detail = job.data.stage if isinstance(job.data.stage, str) else ""
    if job.status == "queued":
        detail = waiting_text(job.data.to_dict()) or ""
    if job.targets:
        detail = ", ".join(f"{run.hardware_class} {run.status.value}" for run in job.targets)
    return escape(f"{job.id}: {job.status}" + (f" · {detail}" if detail else ""))


def _watch(job: Job, as_json: bool) -> set[str]:
    """Follow a job's events (SSE) with a live progress bar until it ends; returns the warnings shown."""
    shown: set[str] = set()
    with Progress(
        TextColumn("{task.description}"),
        BarColumn(),
        TextColumn("{task.percentage:>3.0f}%"),
        console=err,
        disable=as_json,
    ) as bar:
        task = bar.add_task(_progress_text(job), total=1.0)

        def on_progress(current: Job, event: dict[str, Any] | None) -> None:
            bar.update(task, completed=current.progress, description=_progress_text(current))
            if event and event["type"] in ("state", "stage", "trial", "warning") and not as_json:
                kind, message = event["type"], event["message"]
                message = message.removeprefix(f"{kind}: ")  # stage messages already name themselves
                style = {"warning": "yellow", "state": "bold"}.get(kind, "dim")
                bar.console.print(f"[{style}]{escape(kind)}:[/{style}] {escape(message)}")
                if event["type"] == "warning":
                    shown.add(event["message"])

        job.wait(on_progress=on_progress, use_sse=True)
        bar.update(task, completed=job.progress, description=f"{job.id}: {job.status}")
    return shown


def _finish(job: Job, out: Path | None, as_json: bool, shown: frozenset[str] | set[str] = frozenset()) -> None:
    """Print the outcome (report table, warnings, error), download when asked; exit 3 unless the goal was met."""
    files = job.download(out) if out and job.status == "succeeded" else {}
    data = job.data.to_dict()
    payload = {"job": data, "artifacts": {k: str(v) for k, v in files.items()}}
    short_of_goal = targets_missing_goal(data) if job.targets else []
    if as_json:
        _print(payload, True)
    else:
        if job.targets:
            console.print(targets_table(data))
            if job.status == "succeeded" and short_of_goal:
                missed = escape(", ".join(short_of_goal))
                err.print(f"[yellow]the targets {missed} did not meet their goal; exit code 3[/yellow]")
        if job.report:
            print_report(console, job.report)
            for warning in job.report["warnings"]:
                if warning not in shown:
                    console.print(f"[yellow]warning:[/yellow] {escape(warning)}")
        if job.data.error:
            err.print(f"[red]job {job.status}:[/red] {escape(f'{job.data.error.code}: {job.data.error.message}')}")
        elif job.status != "succeeded":
            err.print(f"[red]job {job.status}[/red]")
        elif job.report and not job.report["goal_met"]:
            err.print("[yellow]the job finished but did not meet its goal (see the warnings); exit code 3[/yellow]")
        if files:
            console.print(f"downloaded {', '.join(sorted(files))} to {out}")
    goal_met = not short_of_goal if job.targets else (job.report or {}).get("goal_met", False)
    if job.status != "succeeded" or not goal_met:
        raise typer.Exit(3)


@jobs_cli.command("submit")
def jobs_submit(
    recipe: Annotated[Path, typer.Argument(exists=True, dir_okay=False, help="Recipe JSON.")],
    model: Annotated[str, typer.Option(help="Model id.")],
    data: Annotated[str, typer.Option(help="Dataset id.")],
    idempotency_key: Annotated[str | None, typer.Option()] = None,
    wait: Annotated[bool, typer.Option("--wait", help="Follow the job until it ends, as `jobs watch` does.")] = False,
    as_json: JsonOpt = False,
) -> None:
    """Submit a job from a recipe file."""
    try:
        job = _connect().jobs.create(model, data, _read_recipe(recipe), idempotency_key=idempotency_key)
        if not wait:
            _print(job.data.to_dict(), as_json) if as_json else console.print(status_line(job.data.to_dict()))
            return
        if not as_json:
            console.print(f"submitted {escape(job.id)}")
        shown = _watch(job, as_json)
    except Exception as exc:  # noqa: BLE001
        raise _fail(exc) from None
    _finish(job, None, as_json, shown)


@jobs_cli.command("list")
def jobs_list(
    status: Annotated[str | None, typer.Option()] = None,
    limit: Annotated[int, typer.Option()] = 50,
    as_json: JsonOpt = False,
) -> None:
    """List jobs (newest first)."""
    try:
        jobs = [j.data.to_dict() for j in _connect().jobs.list(status=status, limit=limit)]
    except Exception as exc:  # noqa: BLE001
        raise _fail(exc) from None
    table = _listing("id", "status", "stage", "progress", "created")
    for j in jobs:
        table.add_row(j["id"], j["status"], str(j.get("stage") or ""), f"{j['progress']:.0%}", str(j["created_at"]))
    _print(jobs, as_json, table)


@jobs_cli.command("show")
def jobs_show(job_id: str, as_json: JsonOpt = False) -> None:
    """Show a job: its report when it has one, each target of a multi-target job, why a queued job waits."""
    try:
        job = _connect().jobs.get(job_id)
    except Exception as exc:  # noqa: BLE001
        raise _fail(exc) from None
    data = job.data.to_dict()
    if as_json:
        _print(data, True)
        return
    console.print(status_line(data))
    if job.targets:
        console.print(targets_table(data))
    elif job.report:
        print_report(console, job.report)
    else:
        _print(data, False)


@jobs_cli.command("watch")
def jobs_watch(job_id: str, as_json: JsonOpt = False) -> None:
    """Follow a job live (stage, progress, warnings, trials) until it ends."""
    try:
        job = _connect().jobs.get(job_id)
        shown = _watch(job, as_json)
    except Exception as exc:  # noqa: BLE001
        raise _fail(exc) from None
    _finish(job, None, as_json, shown)


@jobs_cli.command("cancel")
def jobs_cancel(job_id: str, as_json: JsonOpt = False) -> None:
    """Cancel a queued or running job."""
    try:
        job = _connect().jobs.get(job_id).cancel()
    except Exception as exc:  # noqa: BLE001
        raise _fail(exc) from None
    _print(job.data.to_dict(), as_json) if as_json else console.print(f"{job.id}: {job.status}")


@jobs_cli.command("download")
def jobs_download(
    job_id: str,
    out: Annotated[Path, typer.Option(help="Directory.")] = Path("."),
    target: Annotated[
        str | None, typer.Option(help="A multi-target job's hardware class: that target's artifacts.")
    ] = None,
    as_json: JsonOpt = False,
) -> None:
    """Download a job's artifacts (a multi-target job's own: comparison.json and comparison.html)."""
    try:
        job = _connect().jobs.get(job_id)
        files = (job.target(target) if target else job).download(out)
    except Exception as exc:  # noqa: BLE001
        raise _fail(exc) from None
    _print({k: str(v) for k, v in files.items()}, as_json) if as_json else console.print(
        f"downloaded {', '.join(sorted(files))} to {out}"
    )


def run(
    model: Annotated[Path, typer.Argument(exists=True, dir_okay=False, help="An .onnx or .pt2 file.")],
    data: Annotated[Path, typer.Argument(exists=True, dir_okay=False, help="An .npz dataset.")],
    recipe: Annotated[Path | None, typer.Option(exists=True, dir_okay=False, help="Recipe JSON.")] = None,
    out: Annotated[Path, typer.Option(help="Where to put the artifacts.")] = Path("slimline-out"),
    as_json: JsonOpt = False,
) -> None:
    """Upload MODEL and DATA, submit, watch, download, and print the report."""
    body = _read_recipe(recipe)
    client = _connect()
    try:
        uploaded_model = _send(client, "models", model, None, as_json)
        uploaded_data = _send(client, "datasets", data, None, as_json)
        if not as_json:
            console.print(f"uploaded {uploaded_model.id} and {uploaded_data.id}")
        job = client.jobs.create(uploaded_model.id, uploaded_data.id, body)
        if not as_json:
            console.print(f"submitted {job.id}")
        shown = _watch(job, as_json)
    except Exception as exc:  # noqa: BLE001
        raise _fail(exc) from None
    _finish(job, out, as_json, shown)


def print_keys(items: list[dict[str, Any]], as_json: bool) -> None:
    """A listing of API keys (as ``GET /v1/keys`` shows them): a table, or JSON."""
    table = _listing("id", "name", "prefix", "created", "expires", "revoked")
    for item in items:
        table.add_row(
            item["id"],
            item.get("name") or "",
            item["prefix"],
            str(item["created_at"]),
            str(item.get("expires_at") or "never"),
            str(item.get("revoked_at") or ""),
        )
    _print(items, as_json, table)


def keys_list(as_json: JsonOpt = False) -> None:
    """List this tenant's keys (ids, names, prefixes, expiry, revocation; never the keys)."""
    try:
        items = _connect().keys.list()
    except Exception as exc:  # noqa: BLE001
        raise _fail(exc) from None
    print_keys(items, as_json)


def keys_revoke(key_id: str, as_json: JsonOpt = False) -> None:
    """Revoke one of this tenant's keys (the logged-in one too: later commands then fail with 401)."""
    try:
        row = _connect().keys.revoke(key_id)
    except Exception as exc:  # noqa: BLE001
        raise _fail(exc) from None
    _print(row, as_json) if as_json else console.print(f"revoked {key_id} at {row['revoked_at']}")


@hardware_cli.command("list")
def hardware_list(as_json: JsonOpt = False) -> None:
    """The hardware classes `target.hardware` can name: live and busy workers, queued and running jobs."""
    try:
        hardware = _connect().hardware().to_dict()
    except Exception as exc:  # noqa: BLE001
        raise _fail(exc) from None
    if as_json:
        _print(hardware, True)
        return
    console.print(hardware_table(hardware))
    console.print(escape(generic_queues_text(hardware)))


@workers_cli.command("list")
def workers_list(as_json: JsonOpt = False) -> None:
    """Every worker: host, class, state, current jobs, CPU, memory, GPU, providers, last heartbeat (operator key)."""
    try:
        workers = [worker.to_dict() for worker in _connect().workers()]
    except Exception as exc:  # noqa: BLE001
        raise _fail(exc) from None
    if as_json:
        _print(workers, True)
        return
    table = workers_table(workers)
    _print(workers, False, table)


def register(cli: typer.Typer, *, keys: bool = True) -> None:
    """Mount the client commands on a ``slimline`` CLI (this module's, or the server's).

    ``keys=False``: the server's CLI has a ``keys`` group of its own, which calls ``keys_list`` and
    ``keys_revoke`` itself when no ``--tenant`` is given.
    """
    cli.command("login")(login)
    cli.command("run")(run)
    cli.add_typer(models_cli, name="models")
    cli.add_typer(datasets_cli, name="datasets")
    cli.add_typer(jobs_cli, name="jobs")
    cli.add_typer(hardware_cli, name="hardware")
    cli.add_typer(workers_cli, name="workers")
    if keys:
        keys_cli.command("list")(keys_list)
        keys_cli.command("revoke")(keys_revoke)
        cli.add_typer(keys_cli, name="keys")


cli = typer.Typer(
    help="Slimline client: optimize models on a Slimline server.", no_args_is_help=True, add_completion=False
)
register(cli)


def main() -> None:
    cli()


if __name__ == "__main__":
    main()
