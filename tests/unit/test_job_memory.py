"""The per-job memory limit: how it is sized from the machine, and how a job's process is held to it
(docs/architecture.md §3, Per-job limits). The job processes here are real forks of the test process."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest

from tests.helpers import REPO
from tests.hostile import expand_bomb
from worker.engine.errors import Cancelled, EngineError
from worker.job_memory import (
    GIB,
    MIB,
    MIN_JOB_LIMIT_BYTES,
    available_memory_bytes,
    cgroup_limit_bytes,
    derived_limit_bytes,
    job_limit_bytes,
    status_bytes,
)
from worker.jobproc import ChildDied, ResourceLimitExceeded, run_in_child


def _write(root: Path, path: str, text: str) -> None:
    target = root / path
    target.parent.mkdir(parents=True, exist_ok=True)
    target.write_text(text)


# sizing


def test_the_derived_limit_is_the_memory_less_the_reserve_divided_by_the_concurrency():
    assert derived_limit_bytes(16 * GIB, 1) == 16 * GIB - int(1.6 * GIB)
    assert derived_limit_bytes(16 * GIB, 4) == (16 * GIB - int(1.6 * GIB)) // 4
    assert derived_limit_bytes(4 * GIB, 1) == 3 * GIB  # the reserve is at least 1 GiB
    assert derived_limit_bytes(2 * GIB, 64) == MIN_JOB_LIMIT_BYTES


def test_a_configured_limit_wins_over_the_derived_one():
    assert job_limit_bytes(700 * MIB, concurrency=8) == 700 * MIB
    assert job_limit_bytes(None, concurrency=1) == derived_limit_bytes(available_memory_bytes(), 1)


def test_a_cgroup_v2_limit_anywhere_above_the_process_is_honoured(tmp_path):
    _write(tmp_path, "proc/meminfo", "MemTotal:       16384000 kB\nMemFree: 1 kB\n")
    _write(tmp_path, "proc/self/cgroup", "0::/workers/slimline\n")
    _write(tmp_path, "sys/fs/cgroup/workers/slimline/memory.max", "max\n")
    _write(tmp_path, "sys/fs/cgroup/workers/memory.max", f"{6 * GIB}\n")
    assert cgroup_limit_bytes(tmp_path) == 6 * GIB
    assert available_memory_bytes(tmp_path) == 6 * GIB


def test_a_cgroup_v1_limit_counts_and_unlimited_means_the_host(tmp_path):
    _write(tmp_path, "proc/meminfo", "MemTotal:       8192000 kB\n")
    _write(tmp_path, "proc/self/cgroup", "5:cpu,cpuacct:/x\n4:memory:/process_api/abc\n0::/\n")
    _write(tmp_path, "sys/fs/cgroup/memory/process_api/abc/memory.limit_in_bytes", "9223372036854771712\n")
    assert cgroup_limit_bytes(tmp_path) is None
    assert available_memory_bytes(tmp_path) == 8192000 * 1024
    # in a container the cgroup's own path is absent from its mount: the mount's file holds the limit
    _write(tmp_path, "proc/self/cgroup", "4:memory:/docker/elsewhere\n")
    _write(tmp_path, "sys/fs/cgroup/memory/memory.limit_in_bytes", f"{3 * GIB}\n")
    assert available_memory_bytes(tmp_path) == 3 * GIB


def test_a_host_memory_smaller_than_the_cgroup_limit_wins(tmp_path):
    _write(tmp_path, "proc/meminfo", "MemTotal:       1024000 kB\n")
    _write(tmp_path, "proc/self/cgroup", "0::/big\n")
    _write(tmp_path, "sys/fs/cgroup/big/memory.max", f"{64 * GIB}\n")
    assert available_memory_bytes(tmp_path) == 1024000 * 1024


# the job's process


def _limit_above_us(extra_bytes: int) -> int:
    # the fork starts with this process's resident pages, so the limit is set above them
    return status_bytes(os.getpid(), "VmRSS") + extra_bytes


def _never(*_: object) -> bool:
    return False


def _grow(progress, is_cancelled):
    chunks = []
    for _ in range(64):
        chunks.append(np.ones(32 * MIB, dtype=np.uint8))  # touched, so resident
        time.sleep(0.01)
    return len(chunks)


def test_a_process_that_grows_past_its_limit_is_killed_by_the_watchdog():
    limit = _limit_above_us(256 * MIB)
    with pytest.raises(ResourceLimitExceeded) as raised:
        run_in_child(_grow, limit_bytes=limit, progress=_never, is_cancelled=_never, limit_address_space=False)
    assert raised.value.code == "resource_limit_exceeded"
    assert raised.value.peak_bytes > limit
    assert f"limit of {limit // MIB} MB (peak {raised.value.peak_bytes // MIB} MB)" in raised.value.message


def test_one_huge_allocation_is_refused_at_once_by_the_address_space_limit():
    limit = _limit_above_us(256 * MIB)

    def huge(progress, is_cancelled):
        return np.ones(4 * limit, dtype=np.uint8).sum()

    with pytest.raises(ResourceLimitExceeded) as raised:
        run_in_child(huge, limit_bytes=limit, progress=_never, is_cancelled=_never)
    assert "was refused" in raised.value.message and raised.value.peak_bytes < limit


def test_onnxruntime_refuses_a_tensor_beyond_the_limit_inside_the_session(tmp_path):
    path = tmp_path / "bomb.onnx"
    path.write_bytes(expand_bomb())

    def run_bomb(progress, is_cancelled):
        from worker.engine import modelio

        session = modelio.session(path, device="cpu", threads=1)
        return session.run(None, {"x": np.ones((1, 4), np.float32)})

    limit = _limit_above_us(512 * MIB)
    with pytest.raises(ResourceLimitExceeded) as raised:
        run_in_child(run_bomb, limit_bytes=limit, progress=_never, is_cancelled=_never, limit_address_space=False)
    assert "an allocation of 4096 MB was refused" in raised.value.message


def test_progress_comes_back_and_an_engine_error_keeps_its_code_and_message():
    seen = []

    def fails(progress, is_cancelled):
        progress("measuring the baseline", 0.1, "stage: measuring the baseline")
        progress("measuring the baseline", 0.2, "a warning", type="warning", data={"n": 1})
        raise EngineError("invalid_model", "the model has no outputs")

    def record(*args, **kwargs):
        seen.append((args, kwargs))

    with pytest.raises(EngineError) as raised:
        run_in_child(fails, limit_bytes=_limit_above_us(GIB), progress=record, is_cancelled=_never)
    assert (raised.value.code, raised.value.message) == ("invalid_model", "the model has no outputs")
    assert seen == [
        (("measuring the baseline", 0.1, "stage: measuring the baseline"), {}),
        (("measuring the baseline", 0.2, "a warning"), {"type": "warning", "data": {"n": 1}}),
    ]


def test_a_result_comes_back_with_the_peak():
    result, peak = run_in_child(
        lambda progress, is_cancelled: {"answer": 42},
        limit_bytes=_limit_above_us(GIB),
        progress=_never,
        is_cancelled=_never,
    )
    assert result == {"answer": 42} and peak > 0


def test_a_cancelled_job_stops_in_its_process():
    def waits_for_cancel(progress, is_cancelled):
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            if is_cancelled():
                raise Cancelled()
            time.sleep(0.01)
        return "not cancelled"

    with pytest.raises(Cancelled):
        run_in_child(waits_for_cancel, limit_bytes=_limit_above_us(GIB), progress=_never, is_cancelled=lambda: True)


def test_a_process_killed_by_a_signal_is_named():
    def dies(progress, is_cancelled):
        os.kill(os.getpid(), signal.SIGKILL)

    with pytest.raises(ChildDied, match="killed by SIGKILL"):
        run_in_child(dies, limit_bytes=_limit_above_us(GIB), progress=_never, is_cancelled=_never)


def test_a_worker_killed_outright_takes_its_jobs_process_with_it(tmp_path):
    # what Celery's hard time limit does to a pool process: SIGKILL, no chance to clean up
    pid_file = tmp_path / "child.pid"
    script = (
        "import os, sys, time\n"
        "from worker.jobproc import run_in_child\n"
        "def forever(progress, is_cancelled):\n"
        f"    open({str(pid_file)!r}, 'w').write(str(os.getpid()))\n"
        "    time.sleep(600)\n"
        "run_in_child(forever, limit_bytes=2**40, progress=lambda *a, **k: None, is_cancelled=lambda: False)\n"
    )
    worker = subprocess.Popen([sys.executable, "-c", script], cwd=REPO)
    try:
        deadline = time.monotonic() + 60
        while not pid_file.exists() or not pid_file.read_text():
            assert time.monotonic() < deadline and worker.poll() is None, "the job's process never started"
            time.sleep(0.05)
        child = int(pid_file.read_text())
        worker.kill()
        worker.wait(timeout=10)
        deadline = time.monotonic() + 10
        while Path(f"/proc/{child}").exists() and time.monotonic() < deadline:
            time.sleep(0.05)
        assert not Path(f"/proc/{child}").exists(), "the job's process outlived its worker"
    finally:
        worker.kill()
        if pid_file.exists() and pid_file.read_text() and Path(f"/proc/{pid_file.read_text()}").exists():
            os.kill(int(pid_file.read_text()), signal.SIGKILL)  # not left behind when the test fails


def test_an_engine_error_about_gpu_memory_keeps_its_code():
    def gpu_oom(progress, is_cancelled):
        try:
            raise RuntimeError("CUDA out of memory. Tried to allocate 2.00 GiB")
        except RuntimeError:
            raise EngineError("gpu_out_of_memory", "fine-tuning ran out of GPU memory at batch_size 512") from None

    with pytest.raises(EngineError) as raised:
        run_in_child(gpu_oom, limit_bytes=_limit_above_us(GIB), progress=_never, is_cancelled=_never)
    assert raised.value.code == "gpu_out_of_memory"


def test_an_engine_error_that_wraps_a_refused_allocation_is_a_resource_limit():
    def wrapped(progress, is_cancelled):
        try:
            raise RuntimeError("std::bad_alloc")
        except RuntimeError:
            raise EngineError("model_run_failed", "onnxruntime cannot run the model: std::bad_alloc") from None

    with pytest.raises(ResourceLimitExceeded):
        run_in_child(wrapped, limit_bytes=_limit_above_us(GIB), progress=_never, is_cancelled=_never)
