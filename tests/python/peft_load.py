"""Checks that an adapter written by assay loads in PEFT on top of the same base and gives the
same logits as assay computed.

usage: peft_load.py BASE.gguf ADAPTER_DIR
ADAPTER_DIR holds adapter_config.json, adapter_model.safetensors and probe.json
({"ids": [...], "logits": [...last position...]}), as tests/train_gguf.rs writes them.
Prints `peft-load ok max_abs_diff=...` and exits 0, or exits 1 with the difference.
Needs: torch, transformers, peft, gguf.
"""
import json
import os
import sys

import torch
from peft import PeftModel
from transformers import AutoModelForCausalLM


def main():
    gguf, adapter = sys.argv[1], sys.argv[2]
    torch.set_num_threads(2)
    base = AutoModelForCausalLM.from_pretrained(
        os.path.dirname(os.path.abspath(gguf)), gguf_file=os.path.basename(gguf),
        torch_dtype=torch.float32)
    model = PeftModel.from_pretrained(base, adapter)
    model.eval()
    probe = json.load(open(os.path.join(adapter, "probe.json")))
    ids = torch.tensor(probe["ids"]).unsqueeze(0)
    with torch.no_grad():
        logits = model(input_ids=ids).logits[0, -1]
    want = torch.tensor(probe["logits"])
    diff = (logits - want).abs().max().item()
    moved = (want - torch.tensor(probe["base_logits"])).abs().max().item()
    print(f"peft-load max_abs_diff={diff:.3e} (adapter moves logits by {moved:.3e})")
    if diff > 1e-3 or moved < 1e-2:
        sys.exit(1)
    print("peft-load ok")


if __name__ == "__main__":
    main()
