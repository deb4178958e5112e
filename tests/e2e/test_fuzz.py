"""Schemathesis against openapi/openapi.json on a live server with a real worker: no 5xx, and every
response matches the documented schema. SLIMLINE_FUZZ_EXAMPLES bounds the examples per operation.

(Schemathesis' own pytest plugin does not run under pytest 9 yet, so each operation's strategy is
driven by Hypothesis directly.)"""

from __future__ import annotations

import os
from pathlib import Path

import pytest
import schemathesis
from hypothesis import HealthCheck, given, settings
from schemathesis.specs.openapi.checks import positive_data_acceptance

from tests.helpers import new_api_key

pytestmark = [pytest.mark.e2e, pytest.mark.slow]
OPENAPI = Path(__file__).resolve().parents[2] / "openapi" / "openapi.json"
EXAMPLES = int(os.environ.get("SLIMLINE_FUZZ_EXAMPLES", "15"))
OPERATIONS = [op.ok() for op in schemathesis.openapi.from_path(OPENAPI).get_all_operations()]


@pytest.fixture(scope="module")
def fuzz_target(live_api, settings, worker):  # type: ignore[no-untyped-def]
    # `settings` is the tests' Settings fixture here, not hypothesis.settings (shadowed only in this scope).
    return live_api, {"Authorization": f"Bearer {new_api_key(settings.database_url)}"}


@pytest.mark.parametrize("operation", OPERATIONS, ids=[op.label for op in OPERATIONS])
def test_every_operation_survives_fuzzing(fuzz_target, operation):  # type: ignore[no-untyped-def]
    base_url, headers = fuzz_target

    @settings(
        max_examples=EXAMPLES, deadline=None, derandomize=True, database=None, suppress_health_check=list(HealthCheck)
    )
    @given(case=operation.as_strategy())
    def run(case):  # type: ignore[no-untyped-def]
        # positive_data_acceptance is left out on purpose: opaque values (cursors, uploaded file
        # bytes) can be schema-valid and still wrong, and those correctly get a 4xx problem.
        case.call_and_validate(
            base_url=base_url, headers=headers, timeout=30, excluded_checks=[positive_data_acceptance]
        )

    run()
