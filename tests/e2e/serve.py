"""`slimline serve` on the embedded default, started by a test: the whole service in one command."""

from __future__ import annotations

import os
import re
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import httpx

from tests.conftest import SLIMLINE, Process, free_port


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
    """Start `slimline serve --data-dir home` with no other settings, wait until it is ready, stop it after."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("SLIMLINE_")}
    env["SLIMLINE_ENGINE_THREADS"] = "1"
    env.update(extra_env or {})
    port = free_port()
    server = Process([*SLIMLINE, "serve", "--data-dir", str(home), "--port", str(port)], env, "serve")
    try:
        line = server.wait_for("API key (shown once, keep it):", timeout=90)
        key = re.search(r"(sk_\S+)", line).group(1)  # type: ignore[union-attr]
        url = server.wait_for("Slimline is running at").split()[4]
        assert url == f"http://127.0.0.1:{port}"
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            try:
                if httpx.get(url + "/readyz", timeout=5).status_code == 200:
                    break
            except httpx.TransportError:
                pass
            time.sleep(0.2)
        yield Served(server, url, key)
    finally:
        server.stop()
