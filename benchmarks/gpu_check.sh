#!/usr/bin/env bash
# dsbench itself on a CUDA machine that has JAX but no TensorFlow and no network.
#
# Installs dsbench without its dependencies (TensorFlow cannot be installed there) plus the
# wheels the machine lacks, prints the device line, then runs dsbench on the JAX backend:
#   1. the reference compare: 10 epochs, batch 128, 50,000 / 10,000 synthetic images;
#   2. bench at batch 128, 512 and 2048 (train steps, both models alternating);
#   3. compares at batch 512 and 2048 in float32 and at 512 in mixed_bfloat16 (5 epochs);
#   4. the ResNet-style example and its separable twin (--arch examples/resnet_cifar.py:build);
#   5. one short compare on the torch backend (eager: 4 epochs of 10,000 images);
#   6. the per-epoch cost of each fit call around its steps (benchmarks/epoch_overhead.py);
# and writes everything, with a Markdown report, into one folder ($OUT, default gpu-check).
# About 8 minutes on an H100, estimated from benchmarks/gpu_keras.py's step times (not yet run
# on a GPU); GPU_CHECK_QUICK=1 shrinks every run to a smoke test (CPU).
#
# Wheels: on a machine with PyPI, for the GPU machine's Python (3.12 here):
#   python3 -m pip download --no-deps --only-binary=:all: --python-version 3.12 \
#     --implementation cp --platform manylinux_2_17_x86_64 --platform manylinux2014_x86_64 \
#     -d .whl keras namex optree filelock
# then WHEELS=.whl bash benchmarks/gpu_check.sh on the GPU machine.
set -euo pipefail
cd "$(dirname "$0")/.."
OUT=${OUT:-gpu-check}
mkdir -p "$OUT"
export PYTHONUNBUFFERED=1 KERAS_BACKEND=jax

if [ -n "${WHEELS:-}" ]; then
  python3 -m pip install -q --no-index --no-deps --no-compile --target /tmp/site "$WHEELS"/*.whl
  export PYTHONPATH=/tmp/site:$PWD${PYTHONPATH:+:$PYTHONPATH}
else
  export PYTHONPATH=$PWD${PYTHONPATH:+:$PYTHONPATH}
fi
DSBENCH=(python3 -m dsbench)

quick=${GPU_CHECK_QUICK:-}
if [ -n "$quick" ]; then  # a smoke test of every step: small models, few images
  sizes=(--train-size 4096 --test-size 128) epochs=2 sweep_epochs=2 bench_time=10
  vgg_model=(--blocks 8x1,16x1) arch_model=(--arch-options width=0.25)
  torch_sizes=(--train-size 2048 --test-size 128)
else
  sizes=(--train-size 50000 --test-size 10000) epochs=10 sweep_epochs=5 bench_time=90
  vgg_model=() arch_model=() torch_sizes=(--train-size 10000 --test-size 2000)
fi
common=(--backend jax --dataset synthetic "${sizes[@]}" --no-progress)

python3 - <<'EOF' | tee "$OUT/device.txt"
import jax, keras
print("jax", jax.__version__, "keras", keras.__version__, "backend", keras.backend.backend())
print("devices:", jax.devices())
EOF

run() {  # a named step: its output into $OUT/NAME.log, its wall time beside it
  local name=$1; shift
  local start=$SECONDS
  "$@" >"$OUT/$name.log" 2>&1 || echo "step $name failed: see $OUT/$name.log" | tee -a "$OUT/failed.txt"
  echo "$name: $((SECONDS - start)) s" | tee -a "$OUT/times.txt"
}

run compare-b128 "${DSBENCH[@]}" compare "${common[@]}" "${vgg_model[@]}" --epochs "$epochs" \
  --batch-size 128 --output-dir "$OUT/compare-b128" --force
run bench "${DSBENCH[@]}" bench --backend jax --batch-size 128,512,2048 --max-time "$bench_time" \
  "${vgg_model[@]}" --output-dir "$OUT/bench" --force
for variant in "512 float32" "2048 float32" "512 mixed_bfloat16"; do
  set -- $variant
  run "compare-b$1-$2" "${DSBENCH[@]}" compare "${common[@]}" "${vgg_model[@]}" \
    --epochs "$sweep_epochs" \
    --batch-size "$1" --precision "$2" --output-dir "$OUT/compare-b$1-$2" --force
done
run compare-arch-resnet "${DSBENCH[@]}" compare "${common[@]}" --epochs "$sweep_epochs" \
  --batch-size 128 --arch examples/resnet_cifar.py:build "${arch_model[@]}" \
  --output-dir "$OUT/compare-arch-resnet" --force
run compare-torch "${DSBENCH[@]}" compare --backend torch --dataset synthetic "${torch_sizes[@]}" \
  "${vgg_model[@]}" --epochs 4 --batch-size 128 --no-progress --output-dir "$OUT/compare-torch" \
  --force
run overhead python3 benchmarks/epoch_overhead.py --backend jax --epochs 8
"${DSBENCH[@]}" report "$OUT" --format markdown -o "$OUT/report.md" || true
cat "$OUT/times.txt"
