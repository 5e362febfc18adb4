#!/usr/bin/env bash
# Launches LLaMA-Factory on this node for assay run {{run_id}}, from the folder this script is in.
# One node:      bash launch.sh
# Several nodes: on each, NNODES={{nodes}} NODE_RANK=<0..{{nodes}}-1> MASTER_ADDR=<node 0's address> bash launch.sh
# Settings come from the environment, with these defaults: NNODES (1), NODE_RANK (0),
# MASTER_ADDR (127.0.0.1), MASTER_PORT (29500), NPROC_PER_NODE ({{gpus_per_node}}: processes,
# one per GPU, on this node). train.sbatch and sky.yaml set them from Slurm and SkyPilot.
# ASSAY_LAUNCHER=torchrun (default) runs torchrun with LLaMA-Factory's own launcher module;
# ASSAY_LAUNCHER=llamafactory-cli runs `llamafactory-cli train` with FORCE_TORCHRUN=1, which
# reads the same variables and starts the same torchrun.
set -euo pipefail
cd "$(dirname "$0")"
[ -f train.yaml ] || { echo "launch.sh: no train.yaml beside this script" >&2; exit 2; }

export NNODES="${NNODES:-1}"
export NODE_RANK="${NODE_RANK:-0}"
export MASTER_ADDR="${MASTER_ADDR:-127.0.0.1}"
export MASTER_PORT="${MASTER_PORT:-29500}"
export NPROC_PER_NODE="${NPROC_PER_NODE:-{{gpus_per_node}}}"
# What `llamafactory-cli` sets for its torchrun as well.
export PYTORCH_CUDA_ALLOC_CONF="${PYTORCH_CUDA_ALLOC_CONF:-expandable_segments:True}"
export TORCH_NCCL_AVOID_RECORD_STREAMS="${TORCH_NCCL_AVOID_RECORD_STREAMS:-1}"
export PYTHONUNBUFFERED=1
mkdir -p output

case "${ASSAY_LAUNCHER:-torchrun}" in
    torchrun)
        exec torchrun \
            --nnodes "$NNODES" \
            --node_rank "$NODE_RANK" \
            --nproc_per_node "$NPROC_PER_NODE" \
            --master_addr "$MASTER_ADDR" \
            --master_port "$MASTER_PORT" \
            -m llamafactory.launcher train.yaml
        ;;
    llamafactory-cli)
        export FORCE_TORCHRUN=1
        exec {{program}} train train.yaml
        ;;
    *)
        echo "launch.sh: ASSAY_LAUNCHER must be torchrun or llamafactory-cli" >&2
        exit 2
        ;;
esac
