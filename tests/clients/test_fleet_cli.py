"""`slimline hardware list` and `slimline workers list` against a live `slimline api` and the session's worker
(which registers itself), and how the CLI shows a multi-target job's targets and a job that waits for hardware."""

from __future__ import annotations

import json
import os
import secrets
import socket
from pathlib import Path

import pytest
from rich.console import Console

from tests.factories import cnn_onnx, image_dataset
from tests.helpers import stopped_worker_class
from worker.engine.hardware import current_class

pytestmark = pytest.mark.e2e


class _Result:
    def __init__(self, returncode: int, stdout: str, stderr: str) -> None:
        self.returncode, self.stdout, self.stderr = returncode, stdout, stderr


def _run(args: list[str], env: dict[str, str], *, server: bool = False) -> _Result:
    """The SDK's `slimline` (or the server's, ``server``) in this process, with only ``env``'s SLIMLINE_* settings."""
    from slimline_client.cli import cli as client_cli
    from typer.testing import CliRunner

    from app.cli import cli as server_cli

    unset: dict[str, str | None] = {k: None for k in os.environ if k.startswith("SLIMLINE_")}
    result = CliRunner().invoke(
        server_cli if server else client_cli, args, env={**unset, **env}, catch_exceptions=False
    )
    return _Result(result.exit_code, result.stdout, result.stderr)


def session_worker_id(worker) -> str:  # type: ignore[no-untyped-def]
    """The Celery node name `slimline worker --queues cpu,gpu` gives itself (app/cli.py), the registry's id."""
    return f"slimline-cpu-gpu-{worker.proc.pid}@{socket.gethostname()}"


@pytest.fixture()
def operator_key(service_env: dict[str, str]) -> str:
    """An operator key made the way an operator makes one: `slimline keys create --tenant T --operator`."""
    database = {k: v for k, v in service_env.items() if k.startswith("SLIMLINE_")}
    created = _run(["keys", "create", "--tenant", f"ops-{secrets.token_hex(4)}", "--operator"], database, server=True)
    assert created.returncode == 0, created.stderr
    return str(json.loads(created.stdout)["api_key"])


def test_hardware_list_names_the_session_workers_class(live_api, worker, settings):
    from tests.helpers import new_api_key

    tenant = {"SLIMLINE_URL": live_api, "SLIMLINE_API_KEY": new_api_key(settings.database_url)}
    as_json = _run(["hardware", "list", "--json"], tenant)
    assert as_json.returncode == 0, as_json.stderr
    hardware = json.loads(as_json.stdout)
    ours = {row["hardware_class"]: row for row in hardware["classes"]}[current_class()]
    assert ours["live_workers"] >= 1 and ours["busy_workers"] <= ours["live_workers"]
    assert hardware["generic_queues"]["cpu"] >= 1 and hardware["generic_queues"]["gpu"] >= 1

    table = _run(["hardware", "list"], tenant)
    assert table.returncode == 0, table.stderr
    header = next(line for line in table.stdout.splitlines() if "class" in line and "live" in line)
    assert all(word in header for word in ("busy", "queued", "running"))
    assert current_class() in table.stdout
    assert "generic queues (jobs without target.hardware): cpu" in table.stdout


def test_workers_list_shows_the_session_worker_to_an_operator_only(live_api, worker, settings, operator_key):
    from tests.helpers import new_api_key

    operator = {"SLIMLINE_URL": live_api, "SLIMLINE_API_KEY": operator_key}
    as_json = _run(["workers", "list", "--json"], operator)
    assert as_json.returncode == 0, as_json.stderr
    workers = {row["id"]: row for row in json.loads(as_json.stdout)}
    ours = workers[session_worker_id(worker)]
    assert ours["hardware_class"] == current_class() and ours["state"] in ("idle", "busy")
    assert {"cpu", "gpu", f"hw.{current_class()}"} <= set(ours["queues"])
    assert ours["cpu_cores"] >= 1 and ours["memory_bytes"] > 0 and "CPUExecutionProvider" in ours["providers"]

    table = _run(["workers", "list"], operator)
    assert table.returncode == 0, table.stderr
    row = next(line for line in table.stdout.splitlines() if session_worker_id(worker) in line)
    assert current_class() in row and "CPUExecutionProvider" in row and " s ago" in row

    tenant = {"SLIMLINE_URL": live_api, "SLIMLINE_API_KEY": new_api_key(settings.database_url)}
    refused = _run(["workers", "list"], tenant)
    assert refused.returncode == 1 and refused.stdout == ""
    assert "403" in refused.stderr and "operator key" in refused.stderr


def test_a_multi_target_job_shows_each_target_and_downloads_one(live_api, worker, settings, tmp_path):
    from slimline_client import Slimline

    from tests.helpers import new_api_key

    tenant = {"SLIMLINE_URL": live_api, "SLIMLINE_API_KEY": new_api_key(settings.database_url)}
    here = current_class()
    with stopped_worker_class(settings.database_url) as gone, Slimline(live_api, tenant["SLIMLINE_API_KEY"]) as sdk:
        model = sdk.models.upload(cnn_onnx(tmp_path / "cnn.onnx"))
        dataset = sdk.datasets.upload(_file(tmp_path / "images.npz", image_dataset(48)))
        recipe = {"passes": [{"type": "quantize", "mode": "dynamic"}], "target": {"hardware": [here, gone]}}
        submitted = _run(
            ["jobs", "submit", str(_file(tmp_path / "r.json", json.dumps(recipe).encode())), "--model", model.id,
             "--data", dataset.id, "--json"],
            tenant,
        )  # fmt: skip
        assert submitted.returncode == 0, submitted.stderr
        parent = sdk.jobs.get(json.loads(submitted.stdout)["id"])
        assert [run.hardware_class for run in parent.targets] == [here, gone]
        assert parent.target(here).wait(timeout=120).status == "succeeded"
        assert parent.target(gone).status_reason == "waiting_for_hardware"

        shown = _run(["jobs", "show", parent.id], tenant)
        assert shown.returncode == 0, shown.stderr
        rows = {line.split("│")[1].strip(): line for line in shown.stdout.splitlines() if "│ job_" in line}
        assert "succeeded" in rows[here] and "×" in rows[here] and parent.target(here).id in rows[here]
        assert f"queued (waiting for hardware: no live worker of class {gone})" in rows[gone]
        waiting = _run(["jobs", "show", parent.target(gone).id], tenant)
        assert f"queued for {gone} (waiting for hardware: no live worker of class {gone})" in waiting.stdout

        saved = _run(["jobs", "download", parent.id, "--target", here, "--out", str(tmp_path / "dl"), "--json"], tenant)
        assert saved.returncode == 0, saved.stderr
        assert {"model.onnx", "report.json"} <= set(json.loads(saved.stdout))
        report = json.loads((tmp_path / "dl" / "report.json").read_text())
        assert report["environment"]["hardware_class"] == here
        unknown = _run(["jobs", "download", parent.id, "--target", "cpu-nope"], tenant)
        assert unknown.returncode == 1 and f"its targets: {here}, {gone}" in " ".join(unknown.stderr.split())

        assert _run(["jobs", "cancel", parent.id], tenant).returncode == 0  # the waiting target goes too
        assert parent.target(gone).status == "cancelled"


def _file(path: Path, content: bytes) -> Path:
    path.write_bytes(content)
    return path


def _target(hardware_class: str, status: str, **fields: object) -> dict[str, object]:
    return {"hardware_class": hardware_class, "job_id": f"job_{hardware_class}", "status": status, "progress": 0.0,
            "status_reason": None, "error": None, "result": None, **fields}  # fmt: skip


def _render(renderable: object) -> str:
    console = Console(record=True, width=240)
    console.print(renderable)
    return console.export_text()


def test_targets_of_a_multi_target_job_render_one_row_per_class():
    from slimline_client.job_view import status_line, targets_missing_goal, targets_table

    report = {"speedup": 2.42, "unchanged": False, "speedup_interval": None, "goal_met": True}
    job = {
        "id": "job_parent",
        "status": "running",
        "recipe": {"target": {"device": "cpu", "hardware": ["cpu-avx2", "cpu-avx512-vnni", "cpu-amx"]}},
        "targets": [
            _target("cpu-avx2", "failed", error={"code": "engine_error", "message": "out of memory"}),
            _target("cpu-avx512-vnni", "succeeded", progress=1.0, result={"report": report}),
            _target("cpu-amx", "queued", status_reason="waiting_for_hardware"),
        ],
    }
    text = _render(targets_table(job))
    rows = {line.split("│")[1].strip(): line for line in text.splitlines() if "job_cpu" in line}
    assert "failed (engine_error: out of memory)" in rows["cpu-avx2"]
    assert "2.42×" in rows["cpu-avx512-vnni"] and "yes" in rows["cpu-avx512-vnni"]
    assert "waiting for hardware: no live worker of class cpu-amx" in rows["cpu-amx"]
    assert "job_cpu-amx" in rows["cpu-amx"]
    assert targets_missing_goal(job) == ["cpu-avx2", "cpu-amx"]

    queued = {"id": "job_q", "status": "queued", "hardware_class": "cuda-sm90", "status_reason": "waiting_for_hardware"}
    assert _render(status_line(queued)).strip() == (
        "job_q: queued for cuda-sm90 (waiting for hardware: no live worker of class cuda-sm90)"
    )
    done = {"id": "job_d", "status": "succeeded", "result": {"report": {"environment": {"hardware_class": "cpu-amx"}}}}
    assert _render(status_line(done)).strip() == "job_d: succeeded on cpu-amx"
