#!/usr/bin/env bash
# The same bench (training step, batch 128, synthetic data, three processes sharing 60 s) on
# each backend and precision, one after the other: the table in docs/benchmarks.md ("One
# question, six answers") and README. Usage: bash benchmarks/precision_backends.sh OUT_DIR
set -euo pipefail
out="${1:?give a folder for the results}"
mkdir -p "$out"
for backend in tensorflow jax torch; do
  for precision in float32 mixed_bfloat16; do
    dsbench bench --backend "$backend" --precision "$precision" --batch-size 128 \
      --output-dir "$out/$backend-$precision" --force --quiet
  done
done
dsbench report "$out" --format markdown
