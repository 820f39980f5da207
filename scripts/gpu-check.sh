#!/usr/bin/env bash
# Runs every GPU check on the GPU machine, from the repository root with gpu/
# carried (see scripts/gpu-bundle.sh). Profiles land in results/ (copied to $OUT when set),
# logs in $OUT (or gpu/out). Pick the parts with the first argument (default: all):
#   run      all dtypes at 8192, fp16/bf16 at 16384, PyTorch side by side; fp8 with
#            fast accumulation; short products (held-stream timing) at 256 and 1024
#   tests    every test binary with --include-ignored, except those that fetch NVIDIA wheels
#            or build the emulated device (no network or cargo here; plain `cargo test` runs them)
#   sweep    bf16 shape sweep, 60 s sustained run, plots
#   calib    calibrate three GPT sizes and time the same PyTorch training steps
#   comm     NCCL collectives on this machine's GPUs, 8 B to 8 GiB (gpubench finds the
#            libnccl.so.2 of PyTorch's wheel under site-packages/nvidia/nccl/lib by itself)
#   layout   the estimating docs' worked example from measured profiles: a bf16 GEMM profile, a
#            calibration of llama-2-70b's tp 8 rank, this node's collectives, then the layout
#            estimate and plan from them (output in $OUT/worked-example.txt)
#   node     every GPU of the machine at once, then a 60 s burn-in of all of them; this
#            node's links saved for `gpubench report` (several nodes: run it on each into one
#            shared folder, LINKS=/shared/dir)
set -uo pipefail
cd "$(dirname "$0")/.."
out=${OUT:-gpu/out}
what=${1:-all}
mkdir -p "$out" results
b=gpu/gpubench
nvidia-smi --query-gpu=name,driver_version,power.limit,clocks.max.sm --format=csv > "$out/nvidia-smi.csv" 2>&1
step() { echo "== $*" | tee -a "$out/log.txt"; "$@" 2>&1 | tee -a "$out/log.txt"; echo "rc=${PIPESTATUS[0]}" | tee -a "$out/log.txt"; }
want() { [ "$what" = all ] || [ "$what" = "$1" ]; }

if want run; then
  step "$b" run --dtype all --n 8192
  step "$b" run --dtype fp16,bf16 --n 16384
  step "$b" run --dtype fp8 --n 8192 --fp8-fast-accum
  # Short products: per-product times must be device times (a few us), not host enqueue costs.
  step "$b" run --dtype fp16 --n 256 --no-save
  step "$b" run --dtype bf16 --n 1024 --no-save
  [ -f gpu/torch_matmul.py ] && step python3 gpu/torch_matmul.py --dtype fp16,bf16,tf32,fp32,fp64 --n 8192,16384 --json-out "$out/torch_matmul.json"
fi
if want tests; then
  export CARGO_BIN_EXE_gpubench="$PWD/gpu/gpubench"   # assert_cmd finds the binary here
  for t in gpu/tests/*; do
    case "$(basename "$t")" in
      nvrtc|emulated*|comm) continue ;;   # wheels from PyPI / cargo: run by plain `cargo test`
      cuda) step "$t" --include-ignored --test-threads 1 --skip real_cublaslt --skip on_the_emulated_device ;;
      *) step "$t" --include-ignored --test-threads 1 ;;
    esac
  done
fi
if want sweep; then
  step "$b" sweep --dtype bf16 --m 1024:16384:2048 --n 1024:16384:2048 --k 1024:16384:4096 --algos 4
  step "$b" run --dtype bf16 --n 8192 --duration 60
  for p in results/*sweep*.json results/*sustained*.json; do
    [ -f "$p" ] && step "$b" plot "$p" -o "${p%.json}.svg"
  done
fi
if want calib; then
  for spec in "gpt3-125m 8" "gpt3-350m 4" "gpt3-1.3b 2"; do
    set -- $spec
    step "$b" calibrate --model "$1" --seq 2048 --micro-batch "$2"
    [ -f gpu/train_step.py ] && step python3 gpu/train_step.py --preset "$1" --seq 2048 --micro-batch "$2" --gpubench "$b"
  done
fi
if want comm; then
  # With one GPU the reductions' bus factor is 0 (as in nccl-tests): broadcast's figure is the
  # one to read; every result is still checked. Several GPUs give every curve.
  step "$b" comm --dtype bf16,fp32 --max-bytes 8G --save results/comm.json --force
  [ -f results/comm.json ] && step "$b" estimate --model llama-2-70b --tokens 2T --gpus 1024 --tp 8 --pp 4 --micro-batch 1 --global-batch 1024 --seq 4096 --gpu h200 --comm-profile results/comm.json
fi
if want layout; then
  w="$out/worked-example.txt"
  ex() { echo "\$ gpubench ${*}" >> "$w"; "$b" "$@" >> "$w" 2>&1; echo "rc=$?" | tee -a "$out/log.txt"; }
  step "$b" run --dtype bf16 --n 8192 -o results/gemm-bf16.json --force
  step "$b" calibrate --model llama-2-70b --tp 8 --micro-batch 1 --seq 4096 --recompute selective -o results/calibration-llama-2-70b-tp8.json --force
  [ -f results/comm.json ] || step "$b" comm --dtype bf16,fp32 --max-bytes 8G --save results/comm.json --force
  : > "$w"
  for prof in results/gemm-bf16.json results/calibration-llama-2-70b-tp8.json; do
    ex estimate --model llama-2-70b --tokens 2T --gpus 1024 --tp 8 --pp 4 --micro-batch 1 --global-batch 1024 --seq 4096 --sequence-parallel --zero 1 --recompute selective --profile "$prof" --comm-profile results/comm.json
  done
  ex plan --model llama-2-70b --gpus 1024 --global-batch 1024 --seq 4096 --profile results/gemm-bf16.json --comm-profile results/comm.json
  cat "$w"
fi
if want node; then
  # One GPU gives one row and no flags; the outlier rules need a node of several GPUs.
  step "$b" run --device all --dtype bf16 --n 8192 -o results/node.json --force
  step "$b" run --device all --dtype bf16 --n 8192 --duration 60 -o results/node-burn-in.json --force
  step "$b" show results/node-burn-in.json
  links=${LINKS:-results/links}
  step "$b" comm --op all_reduce,send_recv --max-bytes 1G --results-dir "$links" --force
  step "$b" report "$links"
fi
cp results/*.json results/*.svg "$out/" 2>/dev/null || true
