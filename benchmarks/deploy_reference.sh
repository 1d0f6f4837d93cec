#!/usr/bin/env bash
# deploy on the reference VGG and the ResNet-style example, each trained 3 epochs on 2,000
# synthetic images (no CIFAR-10 copy here) with --checkpoint, then exported and measured
# (LiteRT float32 / dynamic int8 / int8, ONNX float32; 1 thread and every core; 60 s of
# latency and images/s timing each): the tables in docs/benchmarks.md ("deploy: LiteRT and ONNX on this
# CPU"). Needs dsbench[deploy]. Usage: bash benchmarks/deploy_reference.sh OUT_DIR
set -euo pipefail
out="${1:?give a folder for the results}"
mkdir -p "$out"
common=(--dataset synthetic --train-size 2000 --test-size 1000 --epochs 3 --checkpoint
        --no-inference --force --quiet)
dsbench compare "${common[@]}" --output-dir "$out/vgg"
dsbench deploy "$out/vgg"
dsbench compare "${common[@]}" --arch examples/resnet_cifar.py:build --output-dir "$out/resnet"
dsbench deploy "$out/resnet" --arch examples/resnet_cifar.py:build
