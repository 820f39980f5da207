#!/usr/bin/env bash
# Runs every GPU check of the issues in one go, on the GPU machine, from the repository
# root with gpu/ carried (see scripts/gpu-bundle.sh). Profiles land in results/ (copied to
# $OUT/results when $OUT is set), logs in $OUT (or gpu/out).
set -uo pipefail
cd "$(dirname "$0")/.."
out=${OUT:-gpu/out}
mkdir -p "$out" results
b=gpu/gpubench
nvidia-smi --query-gpu=name,driver_version,power.limit,clocks.max.sm --format=csv > "$out/nvidia-smi.csv" 2>&1
step() { echo "== $*" | tee -a "$out/log.txt"; "$@" 2>&1 | tee -a "$out/log.txt"; echo "rc=${PIPESTATUS[0]}" | tee -a "$out/log.txt"; }
step "$b" run --dtype all --n 8192
step "$b" run --dtype fp16,bf16 --n 16384
if [ -f gpu/torch_matmul.py ]; then
  step python3 gpu/torch_matmul.py --dtype fp16,bf16,tf32,fp32,fp64 --n 8192,16384 --json-out "$out/torch_matmul.json"
fi
export CARGO_BIN_EXE_gpubench="$PWD/gpu/gpubench"   # assert_cmd finds the binary here
for t in gpu/tests/*; do step "$t" --include-ignored --test-threads 1; done
cp results/*.json "$out/" 2>/dev/null || true
