from __future__ import annotations

from collections.abc import Iterator

import httpx
import pytest


@pytest.fixture()
def http(live_api: str) -> Iterator[httpx.Client]:
    """An HTTP client of the session's live API (a real `slimline api` process)."""
    with httpx.Client(base_url=live_api, timeout=30) as client:
        yield client
