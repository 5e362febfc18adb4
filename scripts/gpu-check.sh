#!/usr/bin/env bash
# assay's CUDA build against PyTorch + PEFT on the same NVIDIA GPU (issue #18): SmolLM2-135M,
# LoRA r=8 on q,v, sequence 512, batch 8, AdamW; tokens/s and peak GPU memory of each, in
# alternating rounds (every round a fresh process), within 8 minutes all told; prints a table.
#
# The model: ASSAY_GPU_MODEL (a GGUF file or a Hugging Face folder; PyTorch needs the `gguf`
# package for a GGUF), else a folder with SmolLM2-135M's shapes and seeded random weights made
# here by benches/peers/make_smollm2.py: speed and memory depend on the shapes, not the values,
# and a GPU machine without network has no copy of the model. Both sides train on the same
# seeded random token ids.
#
# The sides: assay's built-in trainer (benches/lora_gpu.rs: `Trainer::train_step`, f32, the
# frozen projections' backward computing only the input gradient) and PyTorch + PEFT
# (benches/peers/peft_peer.py) in each dtype of ASSAY_GPU_DTYPES. Peak GPU memory is what
# nvidia-smi reports in use on the GPU during the round above what it reported just before (the
# CUDA context included, the same measure for both); "torch peak" is PyTorch's allocator's own.
#
# Needs an NVIDIA GPU with its driver (nvidia-smi), a python3 with torch (CUDA), transformers
# and peft (ASSAY_PEER_PYTHON, default python3), and the lora_gpu bench built with
# `--features cuda`: ASSAY_GPU_BENCH names a prebuilt one (a machine without Rust gets it
# carried: see .ci/cuda-build for the build without a GPU), else it is built here with cargo
# (nvcc needed: `eval "$(bash .ci/cuda-toolkit)"` provides one).
#
#   ASSAY_GPU_ROUNDS (3)  ASSAY_GPU_WARMUP (3)  ASSAY_GPU_STEPS (10 timed steps a round)
#   ASSAY_GPU_DTYPES ("f32 bf16": the peer's dtypes; assay trains in f32)
#   ASSAY_GPU_BUDGET_S (480: the whole check, build excluded)  ASSAY_GPU_WORK (target/gpu-check)
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT=$PWD
SEQ=512 BATCH=8 RANK=8
ROUNDS=${ASSAY_GPU_ROUNDS:-3}
WARMUP=${ASSAY_GPU_WARMUP:-3}
STEPS=${ASSAY_GPU_STEPS:-10}
DTYPES=${ASSAY_GPU_DTYPES:-f32 bf16}
BUDGET=${ASSAY_GPU_BUDGET_S:-480}
WORK=${ASSAY_GPU_WORK:-${CARGO_TARGET_DIR:-$ROOT/target}/gpu-check}
PY=${ASSAY_PEER_PYTHON:-python3}
PEERS=$ROOT/benches/peers

die() {
    echo "gpu-check: $*" >&2
    exit 2
}
# The build (when there is one) is not counted in the budget.
deadline=$((SECONDS + BUDGET))
# Seconds left in the budget, for `timeout`; stops the check when they run out.
left() {
    local n=$((deadline - SECONDS))
    [ "$n" -gt 5 ] || die "over the ${BUDGET}s budget (ASSAY_GPU_BUDGET_S); lower ASSAY_GPU_ROUNDS or ASSAY_GPU_STEPS"
    echo "$n"
}

command -v nvidia-smi >/dev/null 2>&1 || die "nvidia-smi not found: this check needs an NVIDIA GPU and its driver"
gpu=$(nvidia-smi --query-gpu=name,driver_version,memory.total --format=csv,noheader -i 0 2>&1) ||
    die "nvidia-smi sees no GPU: $gpu"
command -v "$PY" >/dev/null 2>&1 || die "no $PY (set ASSAY_PEER_PYTHON to a python with torch, transformers, peft)"
"$PY" - <<'EOF' || die "$PY cannot run the PyTorch side (see above)"
import sys
try:
    import torch, transformers, peft
except ImportError as e:
    sys.exit(f"{e}: this check needs torch (a CUDA build), transformers and peft")
if not torch.cuda.is_available():
    sys.exit(f"torch {torch.__version__} (CUDA {torch.version.cuda}) sees no GPU: "
             "torch.cuda.is_available() is False (a CPU-only torch, or a driver it cannot use)")
print(f"torch {torch.__version__} (CUDA {torch.version.cuda}), transformers "
      f"{transformers.__version__}, peft {peft.__version__}, on {torch.cuda.get_device_name(0)}")
EOF

mkdir -p "$WORK"
if [ -n "${ASSAY_GPU_BENCH:-}" ]; then
    BENCH=$ASSAY_GPU_BENCH
    [ -x "$BENCH" ] || die "ASSAY_GPU_BENCH=$BENCH is not an executable file"
else
    command -v cargo >/dev/null 2>&1 || die "no cargo: build the bench elsewhere and set ASSAY_GPU_BENCH"
    echo "== building benches/lora_gpu.rs (--release --features cuda)"
    build_start=$SECONDS
    BENCH=$(cargo build --release --features cuda --bench lora_gpu --message-format=json-render-diagnostics |
        "$PY" -c 'import json, sys
for line in sys.stdin:
    m = json.loads(line)
    if m.get("reason") == "compiler-artifact" and m["target"]["name"] == "lora_gpu" and m.get("executable"):
        print(m["executable"])') || die "cargo build --features cuda failed (nvcc on PATH? see .ci/cuda-toolkit)"
    [ -n "$BENCH" ] || die "cargo built no lora_gpu executable"
    deadline=$((deadline + SECONDS - build_start))
fi

# The bench links cuBLAS, cuRAND, NVRTC and the CUDA runtime (CUDA 13: libcublas.so.13 ...) and
# the driver's libcuda.so.1: PyTorch's CUDA wheels carry the former (nvidia/cu13/lib, or
# nvidia/<lib>/lib for CUDA 12 wheels).
libs=$("$PY" -c 'import glob, os
try:
    import nvidia
except ImportError:
    raise SystemExit(0)
dirs = [d for p in nvidia.__path__ for d in glob.glob(os.path.join(p, "*", "lib"))]
print(":".join(sorted(set(dirs))))')
export LD_LIBRARY_PATH=${libs}${LD_LIBRARY_PATH:+:$LD_LIBRARY_PATH}
missing=$(ldd "$BENCH" | sed -n 's/^[[:space:]]*\([^ ]*\) => not found.*/\1/p' | tr '\n' ' ')
[ -z "$missing" ] || die "$BENCH cannot find $missing(searched LD_LIBRARY_PATH=$LD_LIBRARY_PATH)"

IDS=$WORK/ids.json
if [ -n "${ASSAY_GPU_MODEL:-}" ]; then
    MODEL=$ASSAY_GPU_MODEL
    [ -e "$MODEL" ] || die "ASSAY_GPU_MODEL=$MODEL does not exist"
    # Ids below 256 are in any real vocabulary; which ids they are changes no timing.
    "$PY" -c 'import json, random, sys; r = random.Random(0); json.dump([r.randrange(256) for _ in range(int(sys.argv[2]))], open(sys.argv[1], "w"))' "$IDS" $((SEQ + 1))
    what="$MODEL"
else
    MODEL=$WORK/smollm2-135m-random
    if [ ! -f "$MODEL/config.json" ]; then
        n=$(left) || exit 2
        timeout "$n" "$PY" "$PEERS/make_smollm2.py" "$MODEL" "$IDS" $((SEQ + 1)) ||
            die "making the SmolLM2-135M-shaped model failed"
    fi
    what="SmolLM2-135M shapes, seeded random weights"
fi
[ -f "$IDS" ] || die "no token ids at $IDS"

# `sampled SIDE LOG COMMAND...` runs one side for one round with nvidia-smi sampling the GPU's
# memory in use every 50 ms, and prints the peak above the first sample (taken before the side
# starts), in MiB.
sampled() {
    local side=$1 log=$2 samples=$WORK/samples.txt n status=0
    shift 2
    n=$(left) || exit 2
    nvidia-smi --query-gpu=memory.used --format=csv,noheader,nounits -i 0 -lms 50 >"$samples" 2>/dev/null &
    local sampler=$!
    sleep 0.3
    timeout "$n" "$@" >"$log" 2>&1 || status=$?
    sleep 0.2
    kill "$sampler" 2>/dev/null || true
    wait "$sampler" 2>/dev/null || true
    if [ "$status" -ne 0 ]; then
        tail -n 20 "$log" >&2
        die "$side failed (exit $status$([ "$status" -eq 124 ] && echo ': out of time'); log $log)"
    fi
    awk 'NR == 1 { base = $1 } $1 + 0 > max { max = $1 + 0 } END { print max - base }' "$samples"
}

RESULTS=$WORK/results.tsv
: >"$RESULTS"
echo "== $gpu; $what; LoRA r=$RANK q,v, seq $SEQ, batch $BATCH; $ROUNDS rounds of $WARMUP + $STEPS steps"
for round in $(seq 1 "$ROUNDS"); do
    log=$WORK/assay-$round.log
    peak=$(sampled assay "$log" env ASSAY_DEVICE=cuda:0 "$BENCH" "$MODEL" "$IDS" $SEQ $BATCH $RANK "$WARMUP" "$STEPS")
    read -r _ s_step tok_s loss _ < <(grep '^ASSAY ' "$log") || die "no ASSAY line in $log"
    printf 'assay (candle, f32)\t%s\t%s\t%s\t%s\t-\t%s\n' "$round" "$s_step" "$tok_s" "$peak" "$loss" >>"$RESULTS"
    echo "round $round assay: $tok_s tok/s, peak $peak MiB"
    for dtype in $DTYPES; do
        log=$WORK/peft-$dtype-$round.log
        peak=$(sampled "PyTorch + PEFT ($dtype)" "$log" "$PY" "$PEERS/peft_peer.py" "$MODEL" "$IDS" $SEQ $RANK "$WARMUP" "$STEPS" $BATCH cuda:0 "$dtype")
        read -r _ s_step _ _ < <(grep '^PEER ' "$log") || die "no PEER line in $log"
        read -r _ alloc _ loss < <(grep '^PEER_CUDA ' "$log") || die "no PEER_CUDA line in $log"
        tok_s=$(awk -v s="$s_step" -v n=$((SEQ * BATCH)) 'BEGIN { printf "%.1f", n / s }')
        printf 'PyTorch + PEFT (%s)\t%s\t%s\t%s\t%s\t%s\t%s\n' "$dtype" "$round" "$s_step" "$tok_s" "$peak" "$alloc" "$loss" >>"$RESULTS"
        echo "round $round PyTorch + PEFT ($dtype): $tok_s tok/s, peak $peak MiB"
    done
done
echo
"$PY" "$PEERS/gpu_table.py" "$RESULTS"
echo "gpu-check: done in $((SECONDS - deadline + BUDGET))s; logs in $WORK"
