#!/bin/sh
# Prints what a Hugging Face Trainer script prints: tqdm bars redrawn with carriage returns
# around `{'loss': ...}` dict lines, then an eval dict. `$1`: exit code at the end (default 0).
# `$2`: a file to wait for before finishing (lets a test act while the run is still going).
code=${1:-0}
printf 'Map: 100%%|##########| 8/8 [00:00<00:00, 900.00 examples/s]\n'
for step in 1 2 3 4; do
  printf '\r %s%%|##        | %s/4 [00:0%s<00:03,  1.00it/s]' "$((step * 25))" "$step" "$step"
  printf "\n{'loss': %s.5, 'grad_norm': 0.8, 'learning_rate': 2e-05, 'epoch': 0.%s}\n" "$((5 - step))" "$step"
done
if [ -n "${2:-}" ]; then
  while [ ! -e "$2" ]; do sleep 0.1; done
fi
printf "\n{'eval_loss': 1.75, 'eval_runtime': 0.1, 'epoch': 1.0}\n"
echo "Traceback (most recent call last): just kidding, last line" >&2
exit "$code"
