"""Through the service: a pretrained CNN learns digits 5-9 (named classes), then is quantized, in one job."""

from __future__ import annotations

import numpy as np
import pytest

from tests.engine.prune_models import digits
from tests.factories import npz_bytes
from tests.helpers import submit_job

pytestmark = pytest.mark.e2e


def test_transfer_then_quantize_in_one_job_reports_named_classes(http, auth, worker, cnn_bytes):
    x, y = digits()
    rows = np.flatnonzero(y >= 5)[:200]
    names = np.array(["five", "six", "seven", "eight", "nine"])
    data = npz_bytes(x=x[rows], labels=(y[rows] - 5).astype(np.int64), label_names=names)
    recipe = {
        "passes": [{"type": "transfer", "mode": "probe"}, {"type": "quantize", "mode": "dynamic"}],
        "quality": {"max_accuracy_drop": 0.05},
    }
    done = submit_job(http, auth, cnn_bytes, data, recipe=recipe)
    assert done["status"] == "succeeded", done["error"]
    report = done["result"]["report"]
    assert report["baseline_model"] == "transferred"
    transfer = report["passes"][0]
    assert transfer["type"] == "transfer" and transfer["classes"] == 5 and transfer["head"]["old_classes"] == 10
    assert [c["name"] for c in report["task_metrics"]["optimized"]["per_class"]] == names.tolist()
    assert report["baseline"]["accuracy"]["top1"] == pytest.approx(transfer["metrics"]["transferred"]["accuracy"])
