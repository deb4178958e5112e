"""The app package never imports torch, onnxruntime or worker (the API enqueues by task name)."""

from __future__ import annotations

import json
import subprocess
import sys

HEAVY = ["torch", "onnxruntime", "worker", "onnxscript", "onnxconverter_common"]


def test_importing_the_app_pulls_in_no_engine_modules():
    code = (
        "import json, sys\n"
        "import app, app.main, app.cli, app.jobs.endpoints, app.uploads.endpoints, app.uploads.validation\n"
        "import app.jobs.lifecycle\n"
        "app.main.create_app()\n"
        f"print(json.dumps([m for m in {HEAVY!r} if m in sys.modules]))\n"
    )
    out = subprocess.run(
        [sys.executable, "-c", code],
        capture_output=True,
        text=True,
        check=True,
        env={"SLIMLINE_DATA_DIR": "/tmp/slimline-boundary-test", "PATH": "/usr/bin:/bin"},
    )
    assert json.loads(out.stdout.strip().splitlines()[-1]) == []
