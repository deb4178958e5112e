"""Through the service: a KV-cache language model and a dataset of token ids alone (no past arrays, no mask),
quantized and judged on tokens by a real worker."""

from __future__ import annotations

import numpy as np
import pytest

from tests.engine.lm_models import tiny_cache_lm
from tests.factories import npz_bytes
from tests.helpers import submit_job

pytestmark = pytest.mark.e2e


def test_a_cache_language_model_is_judged_on_tokens_through_the_service(http, auth, worker, tmp_path):
    model = tiny_cache_lm(tmp_path / "lm.onnx", vocab=40).read_bytes()
    ids = np.random.default_rng(0).integers(0, 40, (24, 20)).astype(np.int64)
    recipe = {"passes": [{"type": "quantize", "mode": "dynamic"}], "evaluation": {"prompt_length": 4}}
    done = submit_job(http, auth, model, npz_bytes(input_ids=ids), recipe=recipe)
    assert done["status"] == "succeeded", done["error"]
    report = done["result"]["report"]
    assert [o["kind"] for o in report["verdict"]["outputs"]] == ["language_model"]
    lm = report["language_model"]
    assert lm["kind"] == "decoder" and lm["kv_cache"] and lm["vocab_size"] == 40 and lm["prompt_length"] == 4
    assert lm["continuation_tokens"] == 16 and lm["prompts"] == lm["sequences"] == 12
    assert lm["baseline_latency"]["decode_tokens_per_s"] > 0 and lm["optimized_latency"]["prefill_ms_p50"] > 0
    metrics = report["optimized"]["per_output"][0]["metrics"]
    assert metrics["next_token_agreement"] == pytest.approx(lm["next_token_agreement"])
