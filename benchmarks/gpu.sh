#!/usr/bin/env bash
# On a machine with a CUDA GPU: the tests that need one, then the pruning benchmark with fine-tuning on the GPU
# beside the CPU. Every file it writes goes to OUT_DIR (gpu.txt, pytest.txt, bench.txt, RESULTS-gpu.md).
#
#   bash benchmarks/gpu.sh OUT_DIR [FASHION_MNIST_DIR]      # PYTHON=... to choose the interpreter
set -uo pipefail
cd "$(dirname "$0")/.."
out=${1:?usage: bash benchmarks/gpu.sh OUT_DIR [FASHION_MNIST_DIR]}
fashion=${2:-/usr/share/datasets/fashion-mnist}
py=${PYTHON:-python3}
mkdir -p "$out"

nvidia-smi --query-gpu=name,driver_version,memory.total --format=csv | tee "$out/gpu.txt"
"$py" - <<'PY' 2>&1 | tee -a "$out/gpu.txt"
import onnxruntime as ort
import torch

print("torch", torch.__version__, "cuda", torch.version.cuda, "available", torch.cuda.is_available())
print("gpu", torch.cuda.get_device_name(0) if torch.cuda.is_available() else None)
print("onnxruntime", ort.__version__, ort.get_available_providers())
PY

# only tests/engine's conftest: these tests need the engine's packages, not the service's databases
"$py" -m pytest -q -rA -p no:cacheprovider --confcutdir tests/engine tests/engine/test_prune.py -k "cuda or cancellation" \
  2>&1 | tee "$out/pytest.txt"
tests=$?

"$py" benchmarks/prune.py --threads 1 --job-threads 8 --finetune-device cuda --models cnn-fashion \
  --fashion-dir "$fashion" --out "$out/RESULTS-gpu.md" 2>&1 | tee "$out/bench.txt"
bench=$?
echo "tests exit $tests, benchmark exit $bench"
exit $((tests || bench))
