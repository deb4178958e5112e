"""Hostile and broken uploads: each gets the right 4xx problem, and nothing is left in storage."""

from __future__ import annotations

import pytest

from tests.helpers import upload
from tests.hostile import HOSTILE_DATASETS, HOSTILE_MODELS


def _stored_files(settings) -> list[str]:
    return [str(p) for p in settings.storage_dir.rglob("*") if p.is_file()] + [
        str(p) for p in settings.staging_dir.glob("*") if p.is_file()
    ]


@pytest.mark.parametrize(
    ("case", "filename", "factory", "status", "code"), HOSTILE_MODELS, ids=[c[0] for c in HOSTILE_MODELS]
)
def test_hostile_model_upload(client, auth, settings, case, filename, factory, status, code):
    before = set(_stored_files(settings))
    response = upload(client, auth, "models", filename, factory())
    assert response.status_code == status, response.text
    assert response.headers["content-type"].startswith("application/problem+json")
    body = response.json()
    assert body["code"] == code and body["detail"]
    assert set(_stored_files(settings)) == before


@pytest.mark.parametrize(
    ("case", "filename", "factory", "status", "code"), HOSTILE_DATASETS, ids=[c[0] for c in HOSTILE_DATASETS]
)
def test_hostile_dataset_upload(client, auth, settings, case, filename, factory, status, code):
    before = set(_stored_files(settings))
    response = upload(client, auth, "datasets", filename, factory())
    assert response.status_code == status, response.text
    body = response.json()
    assert body["code"] == code and body["detail"]
    assert set(_stored_files(settings)) == before


def test_at_least_a_dozen_hostile_cases():
    assert len(HOSTILE_MODELS) + len(HOSTILE_DATASETS) >= 12
