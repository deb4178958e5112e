"""What the tests share besides fixtures: the calls a user makes (``api``), the processes the tests
start (``processes``), the real services they use (``services``), and a static import scan (``imports``,
for tests/unit/test_boundaries.py). Fixtures stay in conftest.py."""

from tests.helpers.api import TERMINAL, cancel_all, events, submit_job, upload, upload_ok, wait_for_job
from tests.helpers.processes import (
    LOG_DIR,
    REPO,
    SLIMLINE,
    TEST_LATENCY_BUDGET_S,
    Process,
    free_port,
    start_api,
    start_s3_server,
    start_worker,
    wait_until_up,
)
from tests.helpers.services import (
    cancel_queued_jobs,
    new_api_key,
    own_broker,
    pg_admin,
    s3_settings_for,
    stopped_worker_class,
)

__all__ = [
    "LOG_DIR",
    "REPO",
    "SLIMLINE",
    "TERMINAL",
    "TEST_LATENCY_BUDGET_S",
    "Process",
    "cancel_all",
    "cancel_queued_jobs",
    "events",
    "free_port",
    "new_api_key",
    "own_broker",
    "pg_admin",
    "s3_settings_for",
    "start_api",
    "start_s3_server",
    "start_worker",
    "stopped_worker_class",
    "submit_job",
    "upload",
    "upload_ok",
    "wait_for_job",
    "wait_until_up",
]
