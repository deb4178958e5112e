"""docker-compose.yml and the Dockerfile, checked by reading (no Docker engine runs here)."""

from __future__ import annotations

import re
from pathlib import Path

import yaml

REPO = Path(__file__).resolve().parents[2]


def _default(value: str) -> str:
    """The value compose uses when the variable is unset: ``${VAR:-default}`` -> ``default``."""
    match = re.fullmatch(r"\$\{\w+:-(.*)\}", value)
    return match.group(1) if match else value


def test_compose_has_every_service_with_healthy_dependencies():
    compose = yaml.safe_load((REPO / "docker-compose.yml").read_text())
    services = compose["services"]
    default = {name for name, service in services.items() if not service.get("profiles")}
    assert default == {"postgres", "redis", "migrate", "api", "worker-cpu", "worker-gpu"}
    # workers of a hardware class are opt-in profiles (docs/deploy.md, "Hardware classes")
    for name in set(services) - default:
        assert services[name]["profiles"] == [name] and services[name]["command"][:2] == ["slimline", "worker"]
        assert "SLIMLINE_WORKER_HARDWARE_CLASS" in services[name]["environment"]
    assert services["postgres"]["healthcheck"] and services["redis"]["healthcheck"] and services["api"]["healthcheck"]
    assert services["migrate"]["command"] == ["slimline", "db", "upgrade"]
    for name in ("api", "worker-cpu", "worker-gpu"):
        assert services[name]["depends_on"]["migrate"] == {"condition": "service_completed_successfully"}
        env = services[name]["environment"]
        # "${VAR:-default}": overridable (a class worker on another host), the compose services by default
        assert _default(env["SLIMLINE_DATABASE_URL"]).startswith("postgresql+psycopg://")
        assert _default(env["SLIMLINE_BROKER_URL"]).startswith("redis://")
    assert services["worker-gpu"]["command"][-1] == "gpu" and services["worker-cpu"]["command"][-1] == "cpu"
    devices = services["worker-gpu"]["deploy"]["resources"]["reservations"]["devices"]
    assert devices[0]["driver"] == "nvidia" and "gpu" in devices[0]["capabilities"]
    images = {services[n].get("image") for n in ("api", "worker-cpu", "migrate")}
    assert images == {"slimline:cpu"}
    targets = {s["build"]["target"] for s in services.values() if "build" in s}
    assert targets == {"cpu", "gpu"}


def test_dockerfile_targets_and_pins():
    dockerfile = (REPO / "Dockerfile").read_text()
    stages = re.findall(r"^FROM \S+ AS (\S+)$", dockerfile, flags=re.M)
    assert {"cpu", "gpu"} <= set(stages)
    assert stages[-1] == "cpu", "the default (last) stage must be the cpu image"
    assert "torch==2.13.0" in dockerfile
    gpu_build = dockerfile.split("AS build-gpu", 1)[1].split("FROM ", 1)[0]
    assert "pip uninstall -y onnxruntime" in gpu_build and "onnxruntime-gpu" in gpu_build
    assert "onnxruntime-gpu" not in dockerfile.split("AS build-cpu", 1)[1].split("FROM ", 1)[0]


def test_pyproject_pins_torch_and_keeps_onnxruntime_gpu_in_an_extra():
    import tomllib

    project = tomllib.loads((REPO / "pyproject.toml").read_text())["project"]
    assert "torch==2.13.0" in project["dependencies"]
    assert not any(d.startswith("onnxruntime-gpu") for d in project["dependencies"])
    assert any(d.startswith("onnxruntime==") for d in project["dependencies"])
    assert project["optional-dependencies"]["gpu"][0].startswith("onnxruntime-gpu")
