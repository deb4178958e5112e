"""The baseline for benchmarks/service.py: a bare FastAPI endpoint returning a fixed JSON document
of the same size as a job, with no auth, no database and no middleware.

    python -m benchmarks.bare_app PORT HTTP LOOP    # two processes, served as `slimline api` serves (TCP_NODELAY)
"""

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


if __name__ == "__main__":
    import sys

    import uvicorn

    from app.cli import run_uvicorn

    port, http, loop = int(sys.argv[1]), sys.argv[2], sys.argv[3]
    run_uvicorn(
        uvicorn.Config(
            "benchmarks.bare_app:app", host="127.0.0.1", port=port, workers=2, http=http, loop=loop,  # type: ignore[arg-type]
            access_log=False, log_level="warning",
        )
    )  # fmt: skip
