"""`slimline serve` on the embedded default, started by a test: the whole service in one command."""

from __future__ import annotations

import os
import re
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

from tests.helpers import SLIMLINE, TEST_LATENCY_BUDGET_S, Process, free_port, wait_until_up


@dataclass(frozen=True)
class Served:
    server: Process
    url: str
    key: str

    @property
    def auth(self) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.key}"}


@contextmanager
def serving(home: Path, extra_env: dict[str, str] | None = None) -> Iterator[Served]:
    """Start `slimline serve --data-dir home` with no other settings, wait until it is ready, stop it after.

    The key is the one `serve` prints on first start, or ``SLIMLINE_BOOTSTRAP_API_KEY`` when ``extra_env`` sets it.
    """
    env = {k: v for k, v in os.environ.items() if not k.startswith("SLIMLINE_")}
    env["SLIMLINE_ENGINE_THREADS"] = "1"
    env["SLIMLINE_ENGINE_LATENCY_BUDGET_S"] = TEST_LATENCY_BUDGET_S
    env.update(extra_env or {})
    port = free_port()
    server = Process([*SLIMLINE, "serve", "--data-dir", str(home), "--port", str(port)], env, "serve")
    try:
        url = server.wait_for("Slimline is running at", timeout=90).split()[4]
        assert url == f"http://127.0.0.1:{port}"
        printed = re.search(r"(sk_\S+)", server.wait_for("API key"))
        key = printed.group(1) if printed else env.get("SLIMLINE_BOOTSTRAP_API_KEY", "")
        wait_until_up(server, url + "/readyz", ok={200})
        yield Served(server, url, key)
    finally:
        server.stop()
