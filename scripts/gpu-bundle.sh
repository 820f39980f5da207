#!/usr/bin/env bash
# Builds everything a GPU check needs into gpu/ (git-ignored), for a machine that has a GPU
# but no Rust toolchain: the release binary, the test binaries (GPU tests included), and
# PyTorch's side-by-side script. Carry `gpu` to that machine and run scripts/gpu-check.sh.
set -euo pipefail
cd "$(dirname "$0")/.."
rm -rf gpu && mkdir -p gpu/tests
cargo build --release
cp target/release/gpubench gpu/
# Test binaries: cargo prints their paths as JSON; keep the executable ones.
cargo test --release --no-run --message-format=json 2>/dev/null \
  | python3 -c '
import json, sys, shutil, os
for line in sys.stdin:
    try:
        m = json.loads(line)
    except ValueError:
        continue
    if m.get("reason") == "compiler-artifact" and m.get("executable") and m.get("profile", {}).get("test"):
        name = m["target"]["name"] + ("-lib" if "lib" in m["target"]["kind"] else "")
        shutil.copy(m["executable"], os.path.join("gpu/tests", name))
'
cp ../shared/scripts/torch_matmul.py gpu/ 2>/dev/null || echo "note: ../shared/scripts/torch_matmul.py not found; PyTorch comparison skipped"
cp benches/train_step.py gpu/ 2>/dev/null || true
cp -r data gpu/ 2>/dev/null || true
du -sh gpu
