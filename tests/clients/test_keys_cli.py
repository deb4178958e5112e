"""`slimline keys`: the operator creates, lists and revokes keys in the database (`--tenant`); a tenant lists
and revokes its own over the API (the server's `slimline` and the SDK's own), against a live `slimline api`."""

from __future__ import annotations

import json
import os
import secrets

import httpx
import pytest

pytestmark = pytest.mark.e2e


class _Result:
    def __init__(self, returncode: int, stdout: str, stderr: str) -> None:
        self.returncode, self.stdout, self.stderr = returncode, stdout, stderr


def _run(args: list[str], env: dict[str, str], *, standalone: bool = False) -> _Result:
    """Run the server's `slimline` (or the SDK's own, ``standalone``) in this process, with only ``env``'s
    SLIMLINE_* settings: the commands' real code, without a Python start-up each."""
    from slimline_client.cli import cli as client_cli
    from typer.testing import CliRunner

    from app.cli import cli as server_cli

    unset: dict[str, str | None] = {k: None for k in os.environ if k.startswith("SLIMLINE_")}
    result = CliRunner().invoke(
        client_cli if standalone else server_cli, args, env={**unset, **env}, catch_exceptions=False
    )
    return _Result(result.exit_code, result.stdout, result.stderr)


def test_operator_and_tenant_manage_keys(live_api, service_env):
    operator = {k: v for k, v in service_env.items() if k.startswith("SLIMLINE_")}  # the server's database
    tenant_name = f"cli-{secrets.token_hex(4)}"
    first = json.loads(_run(["keys", "create", "--tenant", tenant_name], operator).stdout)
    created = _run(["keys", "create", "--tenant", tenant_name, "--name", "ci", "--expires-in", "1d"], operator)
    assert created.returncode == 0, created.stderr
    ci = json.loads(created.stdout)
    assert ci["name"] == "ci" and ci["expires_at"] and ci["api_key"].startswith("sk_")
    assert _run(["keys", "create", "--tenant", tenant_name, "--expires-in", "soon"], operator).returncode == 2

    listed = _run(["keys", "list", "--tenant", tenant_name, "--json"], operator)
    assert listed.returncode == 0, listed.stderr
    assert [item["id"] for item in json.loads(listed.stdout)] == [first["key_id"], ci["key_id"]]
    assert first["api_key"] not in listed.stdout and ci["api_key"] not in listed.stdout

    tenant = {"SLIMLINE_URL": live_api, "SLIMLINE_API_KEY": ci["api_key"]}
    over_api = _run(["keys", "list", "--json"], tenant, standalone=True)  # the SDK's own `slimline`
    assert over_api.returncode == 0, over_api.stderr
    assert [item["id"] for item in json.loads(over_api.stdout)] == [first["key_id"], ci["key_id"]]

    revoked = _run(["keys", "revoke", first["key_id"], "--json"], tenant)  # the server's `slimline`, no --tenant
    assert revoked.returncode == 0, revoked.stderr
    assert json.loads(revoked.stdout)["revoked_at"]
    refused = httpx.get(live_api + "/v1/models", headers={"Authorization": f"Bearer {first['api_key']}"})
    assert refused.status_code == 401, "the API process that revoked it refuses it at once"

    other = _run(["keys", "revoke", ci["key_id"], "--tenant", "nobody"], operator)
    assert other.returncode == 1 and "no key" in other.stderr
    by_operator = _run(["keys", "revoke", ci["key_id"], "--tenant", tenant_name], operator)
    assert by_operator.returncode == 0 and "revoked" in by_operator.stdout, by_operator.stderr
    after = json.loads(_run(["keys", "list", "--tenant", tenant_name, "--json"], operator).stdout)
    assert all(item["revoked_at"] for item in after)


def test_metrics_are_off_on_a_server_without_a_metrics_token(live_api):
    response = httpx.get(live_api + "/metrics")
    assert response.status_code == 404 and "SLIMLINE_METRICS_TOKEN" in response.json()["detail"]


def test_keys_commands_take_the_servers_data_dir_and_never_create_a_database_silently(tmp_path, monkeypatch):
    """`keys create` beside `slimline serve --data-dir X` must reach X's database, not a new default one."""
    # --data-dir is passed on through SLIMLINE_DATA_DIR: set it here so the test's environment is restored
    monkeypatch.setenv("SLIMLINE_DATA_DIR", str(tmp_path / "unused"))
    from sqlalchemy import select

    from app.core.db import session_scope
    from app.core.models import ApiKey
    from app.tenants.keys import hash_key

    home, elsewhere = tmp_path / "served", tmp_path / "nothing-here"
    missing = _run(["keys", "create", "--tenant", "default", "--data-dir", str(elsewhere)], {})
    assert missing.returncode == 2 and "no Slimline database" in missing.stderr and "--init" in missing.stderr
    assert not elsewhere.exists(), "nothing was created"
    assert _run(["keys", "list", "--tenant", "default", "--data-dir", str(elsewhere)], {}).returncode == 2

    created = _run(["keys", "create", "--tenant", "default", "--data-dir", str(home), "--init"], {})
    assert created.returncode == 0, created.stderr
    key = json.loads(created.stdout)
    again = _run(["keys", "create", "--tenant", "default", "--data-dir", str(home)], {})  # exists now: no --init
    assert again.returncode == 0, again.stderr
    listed = json.loads(_run(["keys", "list", "--tenant", "default", "--data-dir", str(home), "--json"], {}).stdout)
    assert {k["id"] for k in listed} == {key["key_id"], json.loads(again.stdout)["key_id"]}
    with session_scope(f"sqlite:///{home / 'slimline.db'}") as session:
        stored = session.scalar(select(ApiKey.id).where(ApiKey.key_sha256 == hash_key(key["api_key"])))
    assert stored == key["key_id"]
