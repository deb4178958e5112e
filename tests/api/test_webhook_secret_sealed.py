"""With SLIMLINE_ENCRYPTION_KEY set, the webhook secret is sealed in the database with the tenant's data key;
deliveries are still signed with the real secret, a master-key rotation (`keys rewrap`) keeps it readable, and
secrets stored before encryption was on get sealed. On Postgres and on SQLite (the embedded default's database).
"""

from __future__ import annotations

import base64
import json
import os
import secrets
import time
import uuid
from collections.abc import Iterator

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select

from app.core.db import get_engine, session_scope
from app.core.migrate import upgrade
from app.core.models import ApiKey, Dataset, Job, Model, Tenant, WebhookDelivery
from app.core.settings import Settings
from app.core.storage.data_keys import rewrap_data_keys
from app.main import create_app
from app.tenants.keys import hash_key
from app.webhooks.service import ensure_secret, seal_plaintext_secrets
from app.webhooks.signing import verify
from tests.e2e.test_webhooks_e2e import Receiver
from tests.helpers import new_api_key, pg_admin
from worker.webhooks import dispatch_once


def _master() -> Settings:
    return Settings(encryption_key=base64.b64encode(os.urandom(32)).decode())


@pytest.fixture(scope="module", params=["postgres", "sqlite"])
def sealed(
    request: pytest.FixtureRequest, settings: Settings, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Settings]:
    """Sealed settings on a database of this module's own: the dispatcher leases every due delivery it sees,
    and `keys rewrap` re-wraps every tenant's data key."""
    tmp_path = tmp_path_factory.mktemp("sealed")
    if request.param == "postgres":
        name = f"slimline_sealed_{uuid.uuid4().hex[:10]}"
        pg_admin(f'CREATE DATABASE "{name}"')
        url = f"postgresql+psycopg://postgres@127.0.0.1:5432/{name}"
    else:
        url = f"sqlite:///{tmp_path / 'sealed.db'}"
    own = settings.model_copy(
        update={
            "database_url": url,
            "encryption_key": _master().encryption_key,
            "storage_url": (tmp_path / "blobs").as_uri(),
            "tmp_dir": tmp_path / "tmp",
            "webhook_allow_private": True,
        }
    )
    upgrade(own)
    yield own
    if request.param == "postgres":
        get_engine(url).dispose()
        pg_admin(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def _tenant_id(database_url: str, key: str) -> str:
    with session_scope(database_url) as session:
        tenant_id = session.scalar(select(ApiKey.tenant_id).where(ApiKey.key_sha256 == hash_key(key)))
    assert tenant_id is not None
    return tenant_id


def _stored(database_url: str, tenant_id: str) -> str | None:
    with session_scope(database_url) as session:
        return session.scalar(select(Tenant.webhook_secret).where(Tenant.id == tenant_id))


def _finished_job_with_a_delivery(database_url: str, tenant_id: str, url: str) -> str:
    """A job that has ended, with its webhook waiting in the outbox (as the job's last transition leaves it)."""
    suffix = secrets.token_hex(4)
    with session_scope(database_url) as session:
        common = {"tenant_id": tenant_id, "size_bytes": 1, "sha256": "0" * 64, "warnings": []}
        session.add(Model(id=f"mdl_{suffix}", name="m", format="onnx", opset=17, inputs=[], outputs=[],
                          parameter_count=0, blob_key=f"{tenant_id}/models/x", **common))  # fmt: skip
        session.add(Dataset(id=f"ds_{suffix}", name="d", arrays=[], num_samples=2, has_labels=False,
                            blob_key=f"{tenant_id}/datasets/x", **common))  # fmt: skip
        session.flush()
        session.add(Job(id=f"job_{suffix}", tenant_id=tenant_id, model_id=f"mdl_{suffix}", dataset_id=f"ds_{suffix}",
                        recipe={"passes": [{"type": "quantize", "mode": "dynamic"}]}, queue="cpu", status="failed",
                        progress=1.0, attempts=1, event_seq=0, webhook_url=url))  # fmt: skip
        session.flush()
        session.add(WebhookDelivery(job_id=f"job_{suffix}", url=url, event="job.failed"))
    return f"job_{suffix}"


def test_the_secret_is_sealed_at_rest_and_deliveries_are_signed_with_it(sealed):
    key = new_api_key(sealed.database_url)
    tenant_id = _tenant_id(sealed.database_url, key)
    with TestClient(create_app(sealed), raise_server_exceptions=False) as client:
        secret = client.get("/v1/webhooks/secret", headers={"Authorization": f"Bearer {key}"}).json()["secret"]
        again = client.get("/v1/webhooks/secret", headers={"Authorization": f"Bearer {key}"}).json()["secret"]
    assert secret.startswith("whsec_") and again == secret
    stored = _stored(sealed.database_url, tenant_id)
    assert stored is not None and stored.startswith("sealed:v1:") and secret not in stored
    assert secret.removeprefix("whsec_") not in stored

    receiver = Receiver(fail_first=0)
    try:
        job_id = _finished_job_with_a_delivery(sealed.database_url, tenant_id, receiver.url)
        assert dispatch_once(sealed) == 1
        deadline = time.monotonic() + 10  # the receiver records the POST on its own thread
        while not receiver.received and time.monotonic() < deadline:
            time.sleep(0.05)
        [(headers, body)] = receiver.received
        assert verify(secret, body, headers["Slimline-Signature"]), "signed with the real secret, not the sealed one"
        assert not verify(stored, body, headers["Slimline-Signature"])
        assert json.loads(body)["job"]["id"] == job_id
    finally:
        receiver.close()
    with session_scope(sealed.database_url) as session:
        assert session.scalar(select(WebhookDelivery.status).where(WebhookDelivery.job_id == job_id)) == "delivered"


def test_a_rotated_master_key_still_opens_the_secret_after_rewrap(sealed):
    key = new_api_key(sealed.database_url)
    tenant_id = _tenant_id(sealed.database_url, key)
    old_keys = sealed.master_keys
    with session_scope(sealed.database_url) as session:
        secret = ensure_secret(session, tenant_id, old_keys)
    new = _master()
    new_keys = new.master_keys
    rewrapped, _ = rewrap_data_keys(sealed.database_url, new_keys[0], old_keys[0])  # what `keys rewrap` runs
    assert rewrapped >= 1
    with session_scope(sealed.database_url) as session:
        assert ensure_secret(session, tenant_id, new_keys) == secret, "the secret itself was not rewritten"
    rotated = sealed.model_copy(update={"encryption_key": new.encryption_key})
    with TestClient(create_app(rotated), raise_server_exceptions=False) as client:
        shown = client.get("/v1/webhooks/secret", headers={"Authorization": f"Bearer {key}"})
    assert shown.status_code == 200 and shown.json()["secret"] == secret
    with TestClient(create_app(sealed.model_copy(update={"encryption_key": None})), raise_server_exceptions=False) as c:
        refused = c.get("/v1/webhooks/secret", headers={"Authorization": f"Bearer {key}"})
    assert refused.status_code == 503 and "sealed" in refused.json()["detail"], "no key: refused, never garbage"


def test_secrets_stored_before_encryption_was_on_get_sealed(sealed):
    key = new_api_key(sealed.database_url)
    tenant_id = _tenant_id(sealed.database_url, key)
    with session_scope(sealed.database_url) as session:
        plaintext = ensure_secret(session, tenant_id, (None, None))  # encryption off at the time
    assert _stored(sealed.database_url, tenant_id) == plaintext
    with session_scope(sealed.database_url) as session:
        assert seal_plaintext_secrets(session, sealed.master_keys) == 1  # run by serve/api start and `keys rewrap`
    stored = _stored(sealed.database_url, tenant_id)
    assert stored is not None and stored.startswith("sealed:v1:") and plaintext not in stored
    with session_scope(sealed.database_url) as session:
        assert ensure_secret(session, tenant_id, sealed.master_keys) == plaintext
        assert seal_plaintext_secrets(session, sealed.master_keys) == 0


def test_a_sealed_secret_copied_to_another_tenant_does_not_open(sealed):
    keys = [new_api_key(sealed.database_url) for _ in range(2)]
    tenants = [_tenant_id(sealed.database_url, key) for key in keys]
    with session_scope(sealed.database_url) as session:
        ensure_secret(session, tenants[0], sealed.master_keys)
        ensure_secret(session, tenants[1], sealed.master_keys)
    with session_scope(sealed.database_url) as session:
        first, second = (session.get(Tenant, tenant_id) for tenant_id in tenants)
        assert first is not None and second is not None
        second.webhook_secret = first.webhook_secret  # a database writer swaps the sealed values
    with TestClient(create_app(sealed), raise_server_exceptions=False) as client:
        response = client.get("/v1/webhooks/secret", headers={"Authorization": f"Bearer {keys[1]}"})
    assert response.status_code == 503 and "does not open" in response.json()["detail"]
