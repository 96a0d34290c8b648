#!/usr/bin/env bash
# The GPU checks in one prepared run (docs/performance.md, "Scale beyond one core"): what a
# session with a lent CUDA device runs, in about 5 minutes. Everything passes without one
# (the CPU figures come from `make bench`); this script refuses to run without CUDA.
#
#   bash bench/gpu.sh [OUT_DIR]        # default bench/gpu
#
# 1. the engine-equivalence, TorchRL and item-policy tests on CUDA (CPSS_TEST_DEVICE=cuda);
# 2. env steps/s of the batched museum at 1 024-16 384 days against the numpy env;
# 3. item_mappo training throughput (env steps/s, learner included) at 1 024 and 4 096 days.
set -euo pipefail
OUT="${1:-bench/gpu}"
PY="${PY:-.venv/bin/python}"
mkdir -p "$OUT"
"$PY" -c "import torch, sys; sys.exit(0 if torch.cuda.is_available() else 'bench/gpu.sh: no CUDA device')"
nvidia-smi > "$OUT/nvidia-smi.txt" 2>&1 || true
CPSS_TEST_DEVICE=cuda "$PY" -m pytest -q -p no:cacheprovider tests/test_batched.py tests/test_torchrl.py \
    tests/test_items.py 2>&1 | tail -20 > "$OUT/tests.txt" || true
"$PY" bench/batched.py --device cuda --sizes 1024,4096,16384 --repeats 3 --out "$OUT/batched-cuda.json"
for days in 1024 4096; do
    "$PY" bench/training.py --device cuda --days "$days" --updates 2 --out "$OUT/training-cuda-$days.json"
done
cat "$OUT/tests.txt"
