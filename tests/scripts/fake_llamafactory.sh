#!/bin/sh
# Stands in for `llamafactory-cli train <yaml>` in tests: reads output_dir from the YAML assay
# wrote and appends trainer_log.jsonl lines over time, one of them in two writes (a partial line
# the tail must hold back), then exits 0.
set -eu
[ "$1" = "train" ] || { echo "usage: $0 train CONFIG.yaml" >&2; exit 2; }
out=$(sed -n 's/^output_dir: "\(.*\)"$/\1/p' "$2")
[ -n "$out" ] || { echo "no output_dir in $2" >&2; exit 2; }
mkdir -p "$out"
log="$out/trainer_log.jsonl"
echo "[INFO|trainer] ***** Running training *****"
for step in 1 2 3 4; do
  case $step in 1) loss=2.5 ;; 2) loss=2.0 ;; 3) loss=1.5 ;; *) loss=1.0 ;; esac
  printf '{"current_steps": %s, "total_steps": 4, "loss": %s, "lr": 0.0001, "epoch": %s, ' "$step" "$loss" "$step" >> "$log"
  sleep 0.2
  printf '"throughput": 100.5}\n' >> "$log"
  echo "step $step done"
done
echo '{"current_steps": 4, "total_steps": 4, "eval_loss": 1.25, "epoch": 4}' >> "$log"
mkdir -p "$out" && : > "$out/adapter_model.safetensors"
