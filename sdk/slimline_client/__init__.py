"""Slimline's Python SDK: a thin, friendly layer over the generated client (``slimline_api``).

from slimline_client import Slimline

client = Slimline("http://127.0.0.1:8000", api_key="sk_...")  # or Client(url, api_key)
model = client.models.upload("cnn.onnx")
dataset = client.datasets.upload("data.npz")
job = client.jobs.create(model.id, dataset.id, recipe={"passes": [{"type": "quantize", "mode": "auto"}]})
job.wait(timeout=600, on_progress=lambda job, event: print(job.status, job.progress))
job.download("out/")

[row.hardware_class for row in client.hardware().classes]  # what `target.hardware` can name
job = client.jobs.create(model.id, dataset.id, recipe={"target": {"hardware": ["cpu-avx2", "cpu-avx512-vnni"]}})
job.wait().target("cpu-avx512-vnni").download("out-vnni/")  # one run per class; job.download(): the comparison
"""

from slimline_client.client import Client, Dataset, Job, Model, Slimline
from slimline_client.errors import (
    ConflictError,
    ForbiddenError,
    NotFoundError,
    PayloadTooLargeError,
    RateLimitedError,
    ServerUnavailableError,
    SlimlineError,
    UnauthorizedError,
    ValidationError,
)

__all__ = [
    "Client",
    "ConflictError",
    "Dataset",
    "ForbiddenError",
    "Job",
    "Model",
    "NotFoundError",
    "PayloadTooLargeError",
    "RateLimitedError",
    "ServerUnavailableError",
    "Slimline",
    "SlimlineError",
    "UnauthorizedError",
    "ValidationError",
]
