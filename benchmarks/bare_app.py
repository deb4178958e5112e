"""The baseline for benchmarks/service.py: a bare FastAPI endpoint returning a fixed JSON document
of the same size as a job, with no auth, no database and no middleware."""

from __future__ import annotations

import json
import os

from fastapi import FastAPI
from fastapi.responses import Response

DOCUMENT = os.environ.get("BARE_DOCUMENT", "{}").encode()
app = FastAPI()


@app.get("/doc")
def doc() -> Response:
    return Response(DOCUMENT, media_type="application/json")


def size() -> int:
    return len(json.dumps(json.loads(DOCUMENT)))
