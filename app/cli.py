"""The ``slimline`` command: serve, api, worker, db, keys, openapi, optimize; plus the client commands
(login, run, models, datasets, jobs) from ``slimline_client.cli``."""

from __future__ import annotations

import ctypes
import json
import os
import signal
import socket
import subprocess
import sys
import threading
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer
from slimline_client.cli import register as register_client_commands

from app.core.settings import Settings, SettingsError, load_settings

if TYPE_CHECKING:
    import uvicorn

cli = typer.Typer(help="Slimline: model optimization as a service.", no_args_is_help=True, add_completion=False)
db_cli = typer.Typer(help="Database schema (Alembic).", no_args_is_help=True)
keys_cli = typer.Typer(help="API keys.", no_args_is_help=True)
cli.add_typer(db_cli, name="db")
cli.add_typer(keys_cli, name="keys")

DataDirOpt = Annotated[
    Path | None, typer.Option("--data-dir", help="Home of the embedded default (SLIMLINE_DATA_DIR).")
]
REPO_OPENAPI = Path(__file__).resolve().parent.parent / "openapi" / "openapi.json"


def _settings(data_dir: Path | None = None) -> Settings:
    if data_dir is not None:
        os.environ["SLIMLINE_DATA_DIR"] = str(data_dir.expanduser().resolve())
    try:
        return load_settings()
    except SettingsError as exc:
        typer.echo(str(exc), err=True)
        raise typer.Exit(2) from None


def _bootstrap_key(settings: Settings) -> str | None:
    """Ensure SLIMLINE_BOOTSTRAP_API_KEY exists, or create a first key. Returns a key to print once."""
    from app.core.db import session_scope
    from app.tenants.keys import create_key, ensure_key, tenant_has_keys

    with session_scope(settings.database_url) as session:
        if settings.bootstrap_api_key is not None:
            ensure_key(session, settings.default_tenant, settings.bootstrap_api_key.get_secret_value())
            return None
        if tenant_has_keys(session, settings.default_tenant):
            return None
        _, _, plaintext = create_key(session, settings.default_tenant)
        return plaintext


def _seal_webhook_secrets(settings: Settings) -> int:
    """With a master key set, seal the webhook secrets stored before encryption was on. Returns how many."""
    if settings.encryption_key is None:
        return 0
    from app.core.db import session_scope
    from app.webhooks.service import seal_plaintext_secrets

    with session_scope(settings.database_url) as session:
        return seal_plaintext_secrets(session, settings.master_keys)


def _check_schema(settings: Settings) -> None:
    from app.core.migrate import SchemaBehind, ensure_database_ready

    try:
        ensure_database_ready(settings)
    except SchemaBehind as exc:
        typer.echo(f"error: {exc}", err=True)
        raise typer.Exit(2) from None


def _operator_settings(data_dir: Path | None, *, init: bool = False) -> Settings:
    """Settings for a command that works on an existing deployment's database (the `keys` commands).

    The same settings as `serve` (SLIMLINE_* and --data-dir). An embedded database that does not exist is
    an error, not a new empty one: a key created there would belong to no running server.
    """
    settings = _settings(data_dir)
    if settings.is_sqlite and not init:
        path = Path(settings.database_url.removeprefix("sqlite:///"))
        if not path.exists():
            typer.echo(
                f"error: there is no Slimline database at {path}. Pass the --data-dir (or SLIMLINE_DATABASE_URL) "
                "that `slimline serve` uses, or --init to create a new one there.",
                err=True,
            )
            raise typer.Exit(2)
    if init:
        settings.data_dir.mkdir(parents=True, exist_ok=True)
    _check_schema(settings)
    return settings


def worker_command(queues: str, concurrency: int, loglevel: str = "INFO") -> list[str]:
    return [
        sys.executable,
        "-m",
        "celery",
        "-A",
        "worker.celery_app:celery",
        "worker",
        "--queues",
        queues,
        "--concurrency",
        str(concurrency),
        "--loglevel",
        loglevel,
        "--without-gossip",
        "--without-mingle",
        "--hostname",  # unique per process: several workers on one host stay distinguishable in job events
        f"slimline-{queues.replace(',', '-')}-{os.getpid()}@%h",
    ]


def offline_command(model: Path, data: Path, recipe: Path | None, out: Path, threads: int | None) -> list[str]:
    argv = [sys.executable, "-m", "worker.offline", "--data", str(data), "--out", str(out)]
    if recipe is not None:
        argv += ["--recipe", str(recipe)]
    if threads is not None:
        argv += ["--threads", str(threads)]
    return [*argv, "--", str(model)]


class _Stop(Exception):
    """SIGTERM or SIGINT, turned into an exception so that ``serve`` can stop its worker before it exits."""


def _raise_stop(signum: int, frame: object) -> None:
    raise _Stop


PR_SET_PDEATHSIG = 1  # from <linux/prctl.h>


def _parent_death_signal() -> Callable[[], None] | None:
    """A ``preexec_fn`` that has Linux send the child SIGTERM when this process dies (even by SIGKILL)."""
    if not sys.platform.startswith("linux"):
        return None
    try:
        prctl = ctypes.CDLL(None, use_errno=True).prctl  # looked up here: the child only calls it
    except (OSError, AttributeError):
        return None

    def set_pdeathsig() -> None:
        prctl(PR_SET_PDEATHSIG, signal.SIGTERM, 0, 0, 0)

    return set_pdeathsig


@cli.command()
def serve(
    host: Annotated[str, typer.Option(help="Interface to listen on.")] = "127.0.0.1",
    port: Annotated[int, typer.Option(help="Port to listen on.")] = 8000,
    data_dir: DataDirOpt = None,
    workers: Annotated[int, typer.Option("--workers", min=1, help="Concurrent jobs in the embedded worker.")] = 1,
) -> None:
    """Run the API and a real Celery worker on this machine (embedded default when nothing is set)."""
    import uvicorn

    from app.core.observability import configure_logging
    from app.main import create_app

    settings = _settings(data_dir)
    settings.data_dir.mkdir(parents=True, exist_ok=True)
    configure_logging(settings.log_level, settings.log_json)
    _check_schema(settings)
    new_key = _bootstrap_key(settings)
    _seal_webhook_secrets(settings)
    # The worker exits with this process even when it is SIGKILLed: by a parent-death signal where Linux
    # offers one, and by a thread in the worker that watches for this pid to go (worker/celery_app.py).
    env = {**os.environ, "SLIMLINE_DATA_DIR": str(settings.data_dir), "SLIMLINE_EXIT_WITH_PARENT": str(os.getpid())}
    worker = subprocess.Popen(
        worker_command("cpu,gpu", workers, settings.log_level), env=env, preexec_fn=_parent_death_signal()
    )
    url = f"http://{host}:{port}"
    typer.echo(f"Slimline is running at {url}  (docs: {url}/docs, data: {settings.data_dir})")
    typer.echo(f"Dashboard: {url}/ui/  (upload, submit, follow and compare jobs; log in with the key below)")
    if new_key:
        typer.echo(f"API key (shown once, keep it): {new_key}")
    elif settings.bootstrap_api_key is not None:
        typer.echo("API key: the value of SLIMLINE_BOOTSTRAP_API_KEY")
    else:
        typer.echo(
            "API key: the one printed at first start "
            f"(or run `slimline keys create --tenant default --data-dir {settings.data_dir}`)"
        )
    sys.stdout.flush()
    stopping, worker_died = threading.Event(), threading.Event()

    def watch_worker() -> None:
        # Without its worker the embedded server would accept jobs that never run: stop loudly instead.
        code = worker.wait()
        if not stopping.is_set():
            worker_died.set()
            typer.echo(f"error: the embedded worker exited with code {code}; stopping the server", err=True)
            os.kill(os.getpid(), signal.SIGTERM)

    threading.Thread(target=watch_worker, name="worker-watch", daemon=True).start()
    # uvicorn re-raises the SIGTERM it caught once it has shut down; with the default handler that would kill
    # this process before the worker below is stopped, leaving it running.
    signal.signal(signal.SIGTERM, _raise_stop)
    signal.signal(signal.SIGINT, _raise_stop)  # Ctrl-C stops the worker the same way
    try:
        uvicorn.run(create_app(settings), host=host, port=port, log_config=None, access_log=False)
    except _Stop:
        pass
    finally:
        stopping.set()
        worker.send_signal(signal.SIGTERM)
        try:
            worker.wait(timeout=20)
        except subprocess.TimeoutExpired:
            worker.kill()
    if worker_died.is_set():
        raise typer.Exit(1)


@cli.command()
def api(
    host: Annotated[str, typer.Option()] = "0.0.0.0",
    port: Annotated[int, typer.Option()] = 8000,
    processes: Annotated[int, typer.Option("--processes", min=1, help="uvicorn worker processes.")] = 1,
    http: Annotated[
        str, typer.Option(help="HTTP implementation: auto (httptools if installed), h11, httptools.")
    ] = "auto",
    loop: Annotated[str, typer.Option(help="Event loop: auto (uvloop if installed), asyncio, uvloop.")] = "auto",
) -> None:
    """Run only the HTTP API (scale-out: run several behind a load balancer)."""
    import uvicorn

    from app.core.observability import configure_logging

    settings = _settings()
    configure_logging(settings.log_level, settings.log_json)
    _check_schema(settings)
    _bootstrap_key(settings)
    _seal_webhook_secrets(settings)
    run_uvicorn(
        uvicorn.Config(
            "app.main:create_app",
            factory=True,
            host=host,
            port=port,
            workers=processes,
            http=http,  # type: ignore[arg-type]
            loop=loop,  # type: ignore[arg-type]
            log_config=None,
            access_log=False,
        )
    )


def run_uvicorn(config: uvicorn.Config) -> None:
    """``uvicorn.run`` for a ``uvicorn.Config``, with TCP_NODELAY on the socket it binds for several processes.

    With several processes uvicorn binds the socket itself, without IPPROTO_TCP, and asyncio then leaves
    Nagle's algorithm on for every connection (uvloop does not): each response body waited ~40 ms for the
    client's delayed ACK. Accepted sockets inherit TCP_NODELAY from the listening one on Linux.
    """
    import uvicorn
    from uvicorn.supervisors import Multiprocess

    if config.workers == 1:
        server = uvicorn.Server(config)
        server.run()
        if not server.started:
            sys.exit(3)  # uvicorn's STARTUP_FAILURE, as uvicorn.run exits
        return
    sock = config.bind_socket()
    if sock.family in (socket.AF_INET, socket.AF_INET6):
        sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    Multiprocess(config, sockets=[sock]).run()


@cli.command()
def worker(
    queues: Annotated[str, typer.Option(help="Comma-separated queues: cpu, gpu.")] = "cpu",
    concurrency: Annotated[int, typer.Option(min=1, help="Jobs run at once.")] = 1,
) -> None:
    """Run a Celery worker that executes optimization jobs."""
    settings = _settings()
    unknown = set(queues.split(",")) - {"cpu", "gpu"}
    if unknown:
        typer.echo(f"error: unknown queue(s) {', '.join(sorted(unknown))}; use cpu and/or gpu", err=True)
        raise typer.Exit(2)
    _check_schema(settings)
    os.execv(sys.executable, worker_command(queues, concurrency, settings.log_level))


@db_cli.command("upgrade")
def db_upgrade(revision: Annotated[str, typer.Argument()] = "head") -> None:
    """Apply migrations up to REVISION (default: head)."""
    from app.core.migrate import current_revision, upgrade

    settings = _settings()
    upgrade(settings, revision)
    typer.echo(f"database at revision {current_revision(settings.database_url)}")


@db_cli.command("current")
def db_current() -> None:
    """Print the database's revision and this build's head."""
    from app.core.migrate import current_revision, head_revision

    settings = _settings()
    typer.echo(json.dumps({"current": current_revision(settings.database_url), "head": head_revision()}))


TenantOpt = Annotated[
    str | None,
    typer.Option(
        help="Operator: the tenant, read in the database directly. Without it: the logged-in key's tenant "
        "over the API (`slimline login`)."
    ),
]
_DURATION_UNITS = {"s": 1, "m": 60, "h": 3600, "d": 86400}


def parse_duration_s(text: str) -> int:
    """``90d``, ``12h``, ``30m``, ``3600s`` or ``3600`` as seconds."""
    text = text.strip().lower()
    unit = _DURATION_UNITS.get(text[-1:])
    number = text[:-1] if unit is not None else text
    if not number.isdigit() or int(number) <= 0:
        raise typer.BadParameter(f"{text!r} is not a duration such as 90d, 12h, 30m or 3600s")
    return int(number) * (unit or 1)


def _key_view(row: object) -> dict[str, object]:
    from app.tenants.schemas import ApiKeyRead

    return ApiKeyRead.model_validate(row).model_dump(mode="json")


@keys_cli.command("create")
def keys_create(
    tenant: Annotated[str, typer.Option(help="Tenant name (created if new).")],
    name: Annotated[str | None, typer.Option(help="A label, to tell keys apart.")] = None,
    expires_in: Annotated[
        str | None, typer.Option("--expires-in", help="Expire after this long: 90d, 12h, 30m, 3600s.")
    ] = None,
    data_dir: DataDirOpt = None,
    init: Annotated[
        bool, typer.Option("--init", help="Create the embedded database if it does not exist yet.")
    ] = False,
    operator: Annotated[
        bool, typer.Option("--operator", help="An operator key: also sees the fleet (`slimline workers list`).")
    ] = False,
) -> None:
    """Create an API key for TENANT and print it once (only its sha256 is stored)."""
    from datetime import timedelta

    from app.core.db import session_scope
    from app.core.models import utcnow
    from app.tenants.keys import create_key

    expires_at = None if expires_in is None else utcnow() + timedelta(seconds=parse_duration_s(expires_in))
    settings = _operator_settings(data_dir, init=init)
    with session_scope(settings.database_url) as session:
        role = "operator" if operator else "tenant"
        t, row, plaintext = create_key(session, tenant, name=name, expires_at=expires_at, role=role)
        created = {"tenant": t.name, "key_id": row.id, "api_key": plaintext, "name": row.name, "role": row.role}
        created["expires_at"] = row.expires_at.isoformat() if row.expires_at else None
    typer.echo(json.dumps(created))


@keys_cli.command("list")
def keys_list(
    tenant: TenantOpt = None, as_json: Annotated[bool, typer.Option("--json")] = False, data_dir: DataDirOpt = None
) -> None:
    """List a tenant's keys (ids, names, prefixes, expiry, revocation; never the keys)."""
    from slimline_client.cli import keys_list as list_over_api
    from slimline_client.cli import print_keys

    if tenant is None:
        list_over_api(as_json)
        return
    from sqlalchemy import select

    from app.core.db import session_scope
    from app.core.models import Tenant
    from app.tenants.service import list_keys

    settings = _operator_settings(data_dir)
    with session_scope(settings.database_url) as session:
        tenant_id = session.scalar(select(Tenant.id).where(Tenant.name == tenant))
        if tenant_id is None:
            typer.echo(f"error: no tenant named {tenant!r}", err=True)
            raise typer.Exit(1)
        items = [_key_view(row) for row in list_keys(session, tenant_id)]
    print_keys(items, as_json)


@keys_cli.command("revoke")
def keys_revoke(
    key_id: str,
    tenant: TenantOpt = None,
    as_json: Annotated[bool, typer.Option("--json")] = False,
    data_dir: DataDirOpt = None,
) -> None:
    """Revoke a key. API processes stop accepting it within SLIMLINE_API_KEY_CACHE_S seconds."""
    from slimline_client.cli import keys_revoke as revoke_over_api

    if tenant is None:
        revoke_over_api(key_id, as_json)
        return
    from sqlalchemy import select

    from app.core.db import session_scope
    from app.core.errors import NotFound
    from app.core.models import Tenant
    from app.tenants.service import revoke_key

    settings = _operator_settings(data_dir)
    try:
        with session_scope(settings.database_url) as session:
            tenant_id = session.scalar(select(Tenant.id).where(Tenant.name == tenant))
            row = revoke_key(session, key_id, tenant_id=tenant_id or "")
            revoked = _key_view(row)
    except NotFound:
        typer.echo(f"error: tenant {tenant!r} has no key {key_id!r}", err=True)
        raise typer.Exit(1) from None
    typer.echo(json.dumps(revoked) if as_json else f"revoked {key_id} at {revoked['revoked_at']}")


@keys_cli.command("rewrap")
def keys_rewrap(data_dir: DataDirOpt = None) -> None:
    """Re-wrap tenants' data keys with SLIMLINE_ENCRYPTION_KEY after a master-key rotation.

    Rotation: set SLIMLINE_ENCRYPTION_KEY to the new key and SLIMLINE_ENCRYPTION_KEY_PREVIOUS to the
    old one on every API and worker, run this once, then remove SLIMLINE_ENCRYPTION_KEY_PREVIOUS.
    Sealed webhook secrets need nothing (they are sealed with the data keys); any still in plaintext
    (stored before encryption was on) are sealed.
    """
    from app.core.crypto import BlobIntegrityError
    from app.core.storage.data_keys import rewrap_data_keys

    settings = _operator_settings(data_dir)
    master, previous = settings.master_keys
    if master is None:
        typer.echo("error: SLIMLINE_ENCRYPTION_KEY is not set: there is nothing to re-wrap with", err=True)
        raise typer.Exit(2)
    try:
        rewrapped, current = rewrap_data_keys(settings.database_url, master, previous)
    except BlobIntegrityError as exc:
        typer.echo(f"error: {exc}; nothing was changed (set SLIMLINE_ENCRYPTION_KEY_PREVIOUS to the old key)", err=True)
        raise typer.Exit(1) from exc
    sealed = _seal_webhook_secrets(settings)
    typer.echo(json.dumps({"rewrapped": rewrapped, "already_current": current, "webhook_secrets_sealed": sealed}))


def openapi_document() -> str:
    from app.main import create_app

    return json.dumps(create_app(Settings(data_dir=Path("/nonexistent-slimline"))).openapi(), indent=2) + "\n"


@cli.command()
def openapi(
    out: Annotated[Path, typer.Option(help="Where to write the document.")] = REPO_OPENAPI,
    check: Annotated[bool, typer.Option("--check", help="Fail if OUT differs from the app's document.")] = False,
) -> None:
    """Write the OpenAPI document generated from the app (or --check it)."""
    document = openapi_document()
    if check:
        if not out.exists() or out.read_text() != document:
            typer.echo(f"{out} is out of date: run `slimline openapi`", err=True)
            raise typer.Exit(1)
        typer.echo(f"{out} is current")
        return
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(document)
    typer.echo(f"wrote {out}")


@cli.command()
def optimize(
    model: Annotated[Path, typer.Argument(exists=True, dir_okay=False, help="An .onnx model or .pt2 archive.")],
    data: Annotated[Path, typer.Option("--data", exists=True, dir_okay=False, help="An .npz dataset.")],
    recipe: Annotated[Path | None, typer.Option("--recipe", exists=True, dir_okay=False, help="Recipe JSON.")] = None,
    out: Annotated[Path, typer.Option("--out", help="Directory for the artifacts.")] = Path("slimline-out"),
    threads: Annotated[int | None, typer.Option(min=1, help="onnxruntime threads.")] = None,
) -> None:
    """Run the optimization engine offline, without a server."""
    # A process of its own, as `slimline worker` starts Celery: the app package never imports the engine.
    os.execv(sys.executable, offline_command(model, data, recipe, out, threads))


@cli.command()
def compare(
    original: Annotated[Path, typer.Argument(exists=True, dir_okay=False, help="The original .onnx model.")],
    candidate: Annotated[Path, typer.Argument(exists=True, dir_okay=False, help="The .onnx model to judge.")],
    data: Annotated[Path, typer.Option("--data", exists=True, dir_okay=False, help="An .npz dataset.")],
    recipe: Annotated[
        Path | None, typer.Option("--recipe", exists=True, dir_okay=False, help="Recipe JSON: quality, evaluation.")
    ] = None,
    threads: Annotated[int | None, typer.Option(min=1, help="onnxruntime threads.")] = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print the result as JSON.")] = False,
) -> None:
    """Judge any model against its original with the job's own verdict (every output; rollout for state)."""
    argv = [sys.executable, "-m", "worker.offline", "compare", str(original), str(candidate), "--data", str(data)]
    argv += ["--recipe", str(recipe)] if recipe is not None else []
    argv += ["--threads", str(threads)] if threads is not None else []
    argv += ["--json"] if as_json else []
    os.execv(sys.executable, argv)


def main() -> None:
    cli()


register_client_commands(cli, keys=False)  # `keys` above: operator (--tenant) or over the API


if __name__ == "__main__":
    main()
