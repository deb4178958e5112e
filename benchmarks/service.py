"""Service benchmarks: job reads vs a bare endpoint, the 304 path, listing 100k jobs, a 1 GB upload's
memory, and submit-to-running latency. Writes a Markdown table to stdout (paste into RESULTS.md).

GET /v1/jobs/{id} is measured twice: as the service runs (cached polls answered by the fast path,
app/jobs/polling.py) and through FastAPI's route (SLIMLINE_JOB_POLL_FAST_PATH=false, a second API).

Needs: Postgres on 127.0.0.1:5432, Redis on 127.0.0.1:6379, `wrk` (Debian package) on PATH, psutil.
    .venv/bin/python benchmarks/service.py [--duration 10] [--connections 64] [--reads-only]
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import platform
import re
import secrets
import signal
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from datetime import UTC, datetime, timedelta
from pathlib import Path

import httpx
import psutil
import psycopg

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))
PG_ADMIN = "postgresql://postgres@127.0.0.1:5432/postgres"


def log(message: str) -> None:
    print(f"[{time.strftime('%H:%M:%S')}] {message}", file=sys.stderr, flush=True)


def free_port() -> int:
    import socket

    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def wait_http(url: str, timeout: float = 60) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            httpx.get(url, timeout=1)
            return
        except httpx.TransportError:
            time.sleep(0.2)
    raise RuntimeError(f"{url} did not come up")


def lscpu() -> dict[str, str]:
    """lscpu's fields (Model name, Flags, ...); empty where lscpu is missing."""
    try:
        out = subprocess.run(["lscpu"], capture_output=True, text=True, check=True).stdout
    except (OSError, subprocess.CalledProcessError):
        return {}
    return {key.strip(): value.strip() for key, _, value in (line.partition(":") for line in out.splitlines())}


def describe(result: dict[str, float]) -> str:
    return f"{result['rps']:.0f} req/s, p50 {result['p50_ms']:.1f} ms, p99 {result['p99_ms']:.1f} ms"


def against_bare(result: dict[str, float], bare: dict[str, float]) -> str:
    ratio = result["rps"] / bare["rps"]
    return (
        f"{result['rps']:.0f} req/s ({ratio:.0%} of bare), p50 {result['p50_ms']:.1f} ms, "
        f"p99 {result['p99_ms']:.1f} ms, non-2xx {result['errors']:.0f}"
    )


def wrk(url: str, *, headers: dict[str, str], duration: int, connections: int) -> dict[str, float]:
    args = ["wrk", "-t2", f"-c{connections}", f"-d{duration}s", "--latency", url]
    for key, value in headers.items():
        args[1:1] = ["-H", f"{key}: {value}"]
    out = subprocess.run(args, capture_output=True, text=True, check=True).stdout

    def ms(label: str) -> float:
        match = re.search(rf"^\s+{label}%\s+([\d.]+)(us|ms|s)\s*$", out, re.M)
        assert match, out
        value, unit = float(match.group(1)), match.group(2)
        return value / 1000 if unit == "us" else value * 1000 if unit == "s" else value

    rps = float(re.search(r"Requests/sec:\s+([\d.]+)", out).group(1))
    non2xx = re.search(r"Non-2xx or 3xx responses: (\d+)", out)
    return {"rps": rps, "p50_ms": ms("50"), "p99_ms": ms("99"), "errors": int(non2xx.group(1)) if non2xx else 0}


class Server:
    def __init__(self, args: list[str], env: dict[str, str]) -> None:
        self.proc = subprocess.Popen(
            args, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True, cwd=REPO
        )

    def rss_bytes(self) -> int:
        """RSS of the server's own processes; validation children (forkserver) are separate and exit."""
        proc = psutil.Process(self.proc.pid)
        own = [p for p in [proc, *proc.children(recursive=True)] if "multiprocessing" not in " ".join(p.cmdline())]
        return sum(p.memory_info().rss for p in own)

    def stop(self) -> None:
        os.killpg(self.proc.pid, signal.SIGTERM)
        self.proc.wait(timeout=30)


def seed_jobs(db_url: str, tenant_id: str, model_id: str, dataset_id: str, count: int) -> None:
    """Insert ``count`` finished jobs for one tenant straight into Postgres (COPY)."""
    now = datetime.now(UTC)
    with psycopg.connect(db_url.replace("+psycopg", "")) as conn, conn.cursor() as cur:
        with cur.copy(
            "COPY jobs (id, tenant_id, model_id, dataset_id, recipe, queue, status, progress, attempts, "
            "event_seq, created_at, updated_at) FROM STDIN"
        ) as copy:
            recipe = json.dumps({"target": {"device": "cpu", "batch_size": 1}, "passes": [{"type": "quantize"}]})
            for i in range(count):
                at = now - timedelta(seconds=count - i)
                copy.write_row(
                    (f"job_seed{i:08d}", tenant_id, model_id, dataset_id, recipe, "cpu", "succeeded", 1.0, 1, 0, at, at)
                )
        conn.commit()


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--duration", type=int, default=10)
    parser.add_argument("--connections", type=int, default=64)
    parser.add_argument("--jobs", type=int, default=100_000)
    parser.add_argument("--upload-mb", type=int, default=1024)
    parser.add_argument("--reads-only", action="store_true", help="Stop after the GET comparison.")
    args = parser.parse_args()

    load_before = os.getloadavg()[0]
    db = f"slimline_bench_{uuid.uuid4().hex[:8]}"
    with psycopg.connect(PG_ADMIN, autocommit=True) as conn:
        conn.execute(f'CREATE DATABASE "{db}"')
    db_url = f"postgresql+psycopg://postgres@127.0.0.1:5432/{db}"
    data_dir = Path(tempfile.mkdtemp(prefix="slimline-bench-"))
    key = "bench-" + secrets.token_urlsafe(24)
    env = {
        **os.environ,
        "SLIMLINE_DATABASE_URL": db_url,
        "SLIMLINE_BROKER_URL": "redis://127.0.0.1:6379/13",
        "SLIMLINE_DATA_DIR": str(data_dir),
        "SLIMLINE_BOOTSTRAP_API_KEY": key,
        "SLIMLINE_LOG_LEVEL": "WARNING",
        "SLIMLINE_MAX_UPLOAD_BYTES": str((args.upload_mb + 16) * 1024**2),
        "SLIMLINE_TENANT_UPLOADS_PER_MINUTE": "1000000",
        "SLIMLINE_TENANT_JOBS_PER_MINUTE": "1000000",
        "SLIMLINE_TENANT_MAX_ACTIVE_JOBS": "1000000",
        "SLIMLINE_ENGINE_THREADS": "1",
    }
    subprocess.run([sys.executable, "-m", "app.cli", "db", "upgrade"], env=env, check=True, capture_output=True)
    rows: list[tuple[str, str]] = []
    servers: list[Server] = []
    try:
        port = free_port()
        api_command = [
            sys.executable,
            *("-m", "app.cli", "api", "--host", "127.0.0.1", "--port", str(port), "--processes", "2"),
        ]
        api = Server([*api_command, "--http", "h11", "--loop", "asyncio"], env)
        servers.append(api)
        url = f"http://127.0.0.1:{port}"
        wait_http(url + "/healthz")
        log(f"API up at {url}")
        route_port = free_port()  # the same API with every poll through FastAPI's route
        route_env = {**env, "SLIMLINE_JOB_POLL_FAST_PATH": "false"}
        route_command = [*api_command[:-4], "--port", str(route_port), "--processes", "2"]
        route_url = f"http://127.0.0.1:{route_port}"
        auth = {"Authorization": f"Bearer {key}"}
        http = httpx.Client(base_url=url, headers=auth, timeout=60)

        sys.path.insert(0, str(REPO / "tests"))
        from tests.factories import cnn_onnx, image_dataset

        model_path = cnn_onnx(data_dir / "cnn.onnx")
        model = http.post("/v1/models", files={"file": ("cnn.onnx", model_path.read_bytes())}).json()
        dataset = http.post("/v1/datasets", files={"file": ("d.npz", image_dataset(64))}).json()
        job = http.post(
            "/v1/jobs", json={"model_id": model["id"], "dataset_id": dataset["id"], "target": {"device": "cuda"}}
        ).json()  # waits on the gpu queue: stays queued
        document = http.get(f"/v1/jobs/{job['id']}")
        etag = document.headers["etag"]

        # Both servers under the same HTTP stack, in two stacks: uvicorn's pure-Python one (h11 +
        # asyncio) and the compiled one (httptools + uvloop, what `uvicorn[standard]` installs).
        for http_impl, loop_impl in (("h11", "asyncio"), ("httptools", "uvloop")):
            stack = f"--http {http_impl} --loop {loop_impl}"
            if (http_impl, loop_impl) != ("h11", "asyncio"):
                api.stop()
                servers.remove(api)
                api = Server([*api_command, "--http", http_impl, "--loop", loop_impl], env)
                servers.append(api)
                wait_http(url + "/healthz")
            route_api = Server([*route_command, "--http", http_impl, "--loop", loop_impl], route_env)
            servers.append(route_api)
            wait_http(route_url + "/healthz")
            bare_port = free_port()
            bare = Server(
                [sys.executable, "-m", "benchmarks.bare_app", str(bare_port), http_impl, loop_impl],  # as slimline api
                {**env, "BARE_DOCUMENT": document.text},
            )
            servers.append(bare)
            wait_http(f"http://127.0.0.1:{bare_port}/doc")
            log(f"{stack}: bare endpoint up; running wrk")

            # Interleave rounds so both see the same machine state; keep the best of two.
            results: dict[str, list[dict[str, float]]] = {"bare": [], "job": [], "304": [], "route": []}
            for _ in range(2):
                results["bare"].append(
                    wrk(
                        f"http://127.0.0.1:{bare_port}/doc",
                        headers={},
                        duration=args.duration,
                        connections=args.connections,
                    )
                )
                results["job"].append(
                    wrk(
                        f"{url}/v1/jobs/{job['id']}", headers=auth, duration=args.duration, connections=args.connections
                    )
                )
                results["304"].append(
                    wrk(
                        f"{url}/v1/jobs/{job['id']}",
                        headers={**auth, "If-None-Match": etag},
                        duration=args.duration,
                        connections=args.connections,
                    )
                )
                results["route"].append(
                    wrk(
                        f"{route_url}/v1/jobs/{job['id']}",
                        headers=auth,
                        duration=args.duration,
                        connections=args.connections,
                    )
                )
            bare.stop()
            servers.remove(bare)
            route_api.stop()
            servers.remove(route_api)
            best = {k: max(v, key=lambda r: r["rps"]) for k, v in results.items()}
            rows.append(
                (
                    f"`{stack}`: bare FastAPI endpoint, same document ({len(document.content)} bytes)",
                    describe(best["bare"]),
                )
            )
            rows.append(
                (
                    f"`{stack}`: GET /v1/jobs/{{id}} ({args.connections} connections)",
                    against_bare(best["job"], best["bare"]),
                )
            )
            rows.append((f"`{stack}`: GET /v1/jobs/{{id}} with If-None-Match (304)", describe(best["304"])))
            rows.append(
                (
                    f"`{stack}`: GET /v1/jobs/{{id}} through the route (`SLIMLINE_JOB_POLL_FAST_PATH=false`)",
                    against_bare(best["route"], best["bare"]),
                )
            )

        if not args.reads_only:
            # Listing with 100k jobs: first page vs a page deep in the table, by cursor.
            with psycopg.connect(db_url.replace("+psycopg", "")) as conn:
                tenant_id = conn.execute("SELECT tenant_id FROM models WHERE id = %s", (model["id"],)).fetchone()[0]
            log(f"seeding {args.jobs} jobs")
            seed_jobs(db_url, tenant_id, model["id"], dataset["id"], args.jobs)
            with psycopg.connect(db_url.replace("+psycopg", ""), autocommit=True) as conn:
                conn.execute("ANALYZE jobs")
            from app.core.pagination import encode_cursor

            with psycopg.connect(db_url.replace("+psycopg", "")) as conn:
                deep = conn.execute(
                    "SELECT created_at, id FROM jobs WHERE tenant_id = %s ORDER BY created_at, id LIMIT 1 OFFSET %s",
                    (tenant_id, args.jobs // 10),
                ).fetchone()
            deep_cursor = encode_cursor(deep[0], deep[1])

            def time_page(params: dict[str, str | int]) -> float:
                samples = []
                for _ in range(30):
                    started = time.perf_counter()
                    response = http.get("/v1/jobs", params=params)
                    samples.append((time.perf_counter() - started) * 1000)
                    assert response.status_code == 200 and len(response.json()["items"]) == 50
                return statistics.median(samples)

            first, deep_ms = time_page({"limit": 50}), time_page({"limit": 50, "cursor": deep_cursor})
            rows.append(
                (
                    f"GET /v1/jobs?limit=50 with {args.jobs:,} jobs: first page / page at row {args.jobs * 9 // 10:,}",
                    f"{first:.1f} ms / {deep_ms:.1f} ms (median of 30)",
                )
            )

            # A large upload: server memory while streaming it (the file is not a model: it is refused at validation).
            log("large upload")
            big = data_dir / "big.bin"
            with big.open("wb") as handle:
                block = os.urandom(1024 * 1024)
                for _ in range(args.upload_mb):
                    handle.write(block)
            baseline_rss = api.rss_bytes()
            peak = [baseline_rss]
            stop = threading.Event()

            def sample() -> None:
                while not stop.wait(0.05):
                    peak.append(api.rss_bytes())

            sampler = threading.Thread(target=sample)
            sampler.start()
            started = time.perf_counter()
            with big.open("rb") as handle:
                response = http.post("/v1/models", files={"file": ("big.onnx", handle)}, timeout=600)
            upload_s = time.perf_counter() - started
            stop.set()
            sampler.join()
            growth_mb = (max(peak) - baseline_rss) / 1024**2
            rows.append(
                (
                    f"{args.upload_mb} MB upload (answer {response.status_code} {response.json().get('code')})",
                    f"{args.upload_mb / upload_s:.0f} MB/s, API RSS growth {growth_mb:.1f} MB (master + 2 workers; "
                    "validation runs in a separate child)",
                )
            )

            # Submit-to-running on an idle worker.
            log("submit-to-running")
            worker = Server([sys.executable, "-m", "app.cli", "worker", "--queues", "cpu"], env)
            servers.append(worker)
            time.sleep(8)
            latencies = []
            for _ in range(10):
                created = http.post(
                    "/v1/jobs",
                    json={
                        "model_id": model["id"],
                        "dataset_id": dataset["id"],
                        "passes": [{"type": "quantize", "mode": "dynamic"}],
                    },
                ).json()
                submitted = datetime.fromisoformat(created["created_at"])
                while True:
                    current = http.get(f"/v1/jobs/{created['id']}").json()
                    if current["started_at"]:
                        latencies.append((datetime.fromisoformat(current["started_at"]) - submitted).total_seconds())
                        break
                    time.sleep(0.02)
                while http.get(f"/v1/jobs/{created['id']}").json()["status"] in ("queued", "running"):
                    time.sleep(0.2)
            rows.append(
                (
                    "submit-to-running on an idle worker (10 jobs)",
                    f"median {statistics.median(latencies) * 1000:.0f} ms, max {max(latencies) * 1000:.0f} ms",
                )
            )
    finally:
        for server in reversed(servers):
            with contextlib.suppress(Exception):  # best-effort cleanup
                server.stop()
        from app.core.db import get_engine

        get_engine(db_url).dispose()
        with psycopg.connect(PG_ADMIN, autocommit=True) as conn:
            conn.execute(f'DROP DATABASE IF EXISTS "{db}" WITH (FORCE)')
        subprocess.run(["rm", "-rf", str(data_dir)], check=False)

    cpu = lscpu()
    print(
        f"Service benchmark, {datetime.now(UTC):%Y-%m-%d}, {cpu.get('Model name', platform.machine())}, "
        f"{psutil.cpu_count()} cores, Python {platform.python_version()}; "
        f"`python benchmarks/service.py --duration {args.duration} --connections {args.connections}"
        f"{' --reads-only' if args.reads_only else ''}`; "
        f"1-minute load average {load_before:.2f} before the run, {os.getloadavg()[0]:.2f} after\n"
    )
    print(f"CPU flags (lscpu): {cpu.get('Flags', 'unknown')}\n")
    print("| measurement | result |\n| --- | --- |")
    for name, value in rows:
        print(f"| {name} | {value} |")


if __name__ == "__main__":
    main()
