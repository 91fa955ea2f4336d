#!/usr/bin/env bash
# GPU check, for a machine with a GPU and a torch 2.11 installation but no Rust:
#   scripts/gpu-check.sh [BINARY] [TORCH_PYTHON]
# BINARY defaults to target/release/fer-pipeline (built elsewhere: `cargo build --release`;
# carry `fer-pipeline-worker` beside it: it holds the LibTorch half), TORCH_PYTHON to
# /opt/torch/.venv/bin/python; LibTorch comes from that torch (LD_LIBRARY_PATH).
# Prints CUDA availability and the GPU's name, then training images/s per model for this
# program and for PyTorch eager on the same GPU, then runs a small matrix on CUDA. ~5 minutes.
set -uo pipefail
cd "$(dirname "$0")/.."
BIN=${1:-target/release/fer-pipeline}
PY=${2:-/opt/torch/.venv/bin/python}
TORCH_LIB=$("$PY" -c 'import os, torch; print(os.path.join(os.path.dirname(torch.__file__), "lib"))' 2>/dev/null)
if [ -z "$TORCH_LIB" ]; then echo "gpu-check: no torch under $PY" >&2; exit 1; fi
if [ ! -x "$(dirname "$BIN")/fer-pipeline-worker" ]; then echo "gpu-check: no fer-pipeline-worker beside $BIN" >&2; exit 1; fi
export LD_LIBRARY_PATH="$TORCH_LIB${LD_LIBRARY_PATH:+:$LD_LIBRARY_PATH}"
export FER_BENCH_PYTHON="$PY"
OUT=${OUT:-$(mktemp -d)}
echo "== doctor"; "$BIN" --store "$OUT/store" doctor
echo "== nvidia-smi"; nvidia-smi --query-gpu=name,memory.total,driver_version --format=csv,noheader 2>/dev/null || true
echo "== training throughput and latency, this program vs PyTorch eager on the same GPU"
timeout 300 "$BIN" bench --device cuda --threads 4 --steps 50 --only train --only latency --out "$OUT/bench-gpu.csv"
echo "== several jobs sharing the GPU (aggregate images/s)"
timeout 240 "$BIN" bench --device cuda --threads 2 --steps 100 --only pack --out "$OUT/bench-pack.csv"
echo "== Deep-Emotion on a FER2013-sized set (examples/fer2013-sized.yaml, 20 epochs, extrapolated to 500)"
start=$(date +%s.%N)
timeout 300 "$BIN" -q --store "$OUT/store" run examples/fer2013-sized.yaml --device cuda
end=$(date +%s.%N)
for p in "$OUT"/store/train/*/provenance.json; do
  secs=$(sed -n 's/.*"seconds": *\([0-9.]*\).*/\1/p' "$p")
  [ -n "$secs" ] && awk -v s="$secs" 'BEGIN { printf "train job: %.1f s for 20 epochs -> %.1f s for 500 epochs\n", s, s * 25 }'
done
echo "== a small matrix on CUDA (examples/gpu.yaml)"
start=$(date +%s)
timeout 240 "$BIN" --store "$OUT/store" run examples/gpu.yaml --device cuda
echo "matrix wall time: $(( $(date +%s) - start )) s"
for p in "$OUT"/store/train/*/provenance.json; do
  [ -f "$p" ] && grep -h '"device"\|"seconds"' "$p" | tr -d ' \n' && echo
done
echo "results: $OUT"
