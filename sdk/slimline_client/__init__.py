"""Slimline's Python SDK: a thin, friendly layer over the generated client (``slimline_api``).

from slimline_client import Slimline

client = Slimline("http://127.0.0.1:8000", api_key="sk_...")  # or Client(url, api_key)
model = client.models.upload("cnn.onnx")
dataset = client.datasets.upload("data.npz")
job = client.jobs.create(model.id, dataset.id, recipe={"passes": [{"type": "quantize", "mode": "auto"}]})
job.wait(timeout=600, on_progress=lambda job, event: print(job.status, job.progress))
job.download("out/")
"""

from slimline_client.client import Client, Dataset, Job, Model, Slimline
from slimline_client.errors import (
    ConflictError,
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
