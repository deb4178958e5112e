"""The job state machine: transitions as data, guarded updates, one event per transition."""

from __future__ import annotations

from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import settings as hsettings
from hypothesis import strategies as st

from app.core.db import session_scope
from app.core.migrate import upgrade
from app.core.models import Dataset, Job, JobEvent, Model, Tenant
from app.core.settings import Settings
from app.jobs.states import ALLOWED, TERMINAL, IllegalTransition, JobStatus, can_transition, transition


@pytest.fixture(scope="module")
def sqlite_url(tmp_path_factory: pytest.TempPathFactory) -> str:
    settings = Settings(data_dir=tmp_path_factory.mktemp("states"))
    upgrade(settings)
    with session_scope(settings.database_url) as session:
        session.add(Tenant(id="ten_1", name="t"))
        session.flush()
        session.add(
            Model(
                id="mdl_1",
                tenant_id="ten_1",
                name="m",
                format="onnx",
                size_bytes=1,
                sha256="0" * 64,
                opset=17,
                inputs=[],
                outputs=[],
                parameter_count=0,
                warnings=[],
                blob_key="k",
            )
        )
        session.add(
            Dataset(
                id="ds_1",
                tenant_id="ten_1",
                name="d",
                size_bytes=1,
                sha256="0" * 64,
                arrays=[],
                num_samples=2,
                has_labels=False,
                warnings=[],
                blob_key="k2",
            )
        )
    return settings.database_url


def _new_job(url: str, job_id: str) -> None:
    with session_scope(url) as session:
        session.add(
            Job(
                id=job_id,
                tenant_id="ten_1",
                model_id="mdl_1",
                dataset_id="ds_1",
                recipe={},
                queue="cpu",
                status="queued",
                progress=0.0,
                attempts=0,
                event_seq=0,
            )
        )


def test_terminal_states_have_no_exit():
    assert {JobStatus.succeeded, JobStatus.failed, JobStatus.cancelled} == TERMINAL
    assert all(not ALLOWED[s] for s in TERMINAL)


def test_illegal_transition_raises_before_touching_the_database(sqlite_url):
    with session_scope(sqlite_url) as session, pytest.raises(IllegalTransition):
        transition(session, "job_x", JobStatus.succeeded, JobStatus.running)


counter = iter(range(10**9))


@hsettings(max_examples=40, deadline=None)
@given(st.lists(st.sampled_from(list(JobStatus)), min_size=1, max_size=6))
def test_random_walks_respect_the_table(sqlite_url, walk):
    job_id = f"job_walk_{next(counter)}"
    _new_job(sqlite_url, job_id)
    current = JobStatus.queued
    applied = 0
    for target in walk:
        # A writer that believes the job is in some state: only the true, allowed one wins.
        for believed in JobStatus:
            if not can_transition(believed, target):
                continue
            with session_scope(sqlite_url) as session:
                won = transition(session, job_id, believed, target)
            assert won == (believed == current)
            if won:
                current = target
                applied += 1
    with session_scope(sqlite_url) as session:
        job = session.get(Job, job_id)
        events = session.query(JobEvent).filter_by(job_id=job_id).order_by(JobEvent.seq).all()
    assert job.status == current.value
    assert len(events) == applied and [e.seq for e in events] == list(range(1, applied + 1))
    assert all(e.type == "state" for e in events)


def test_stale_attempt_cannot_finish_a_newer_attempt(sqlite_url):
    _new_job(sqlite_url, "job_fence")
    with session_scope(sqlite_url) as session:
        assert transition(session, "job_fence", JobStatus.queued, JobStatus.running, attempts=Job.attempts + 1)
        assert transition(session, "job_fence", JobStatus.running, JobStatus.queued, attempt=1)
        assert transition(session, "job_fence", JobStatus.queued, JobStatus.running, attempts=Job.attempts + 1)
    with session_scope(sqlite_url) as session:
        assert not transition(session, "job_fence", JobStatus.running, JobStatus.succeeded, attempt=1)
        assert transition(session, "job_fence", JobStatus.running, JobStatus.succeeded, attempt=2)


def test_sqlite_database_file_is_in_data_dir(tmp_path: Path):
    settings = Settings(data_dir=tmp_path)
    assert settings.database_url == f"sqlite:///{tmp_path.resolve() / 'slimline.db'}"
