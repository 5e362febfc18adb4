"""Builds a transformers model folder from the offline SmolLM2 GGUF, fixing the two pitfalls of
transformers' GGUF conversion (TECH_NOTES, "The real tools"):
  1. it drops SmolLM2's `Digits(individual)` pre-tokenizer: put it back into tokenizer.json
     (else numbers tokenize differently from llama.cpp and from assay);
  2. it makes `<|im_start|>` the end token: set eos and pad to `<|im_end|>`.
The weights are dequantised to fp32, the same values assay's loader computes from the GGUF.

usage: make_model.py MODEL.gguf OUT_DIR
"""
import json
import os
import sys

import torch
from transformers import AutoModelForCausalLM, AutoTokenizer


def main():
    gguf, out = sys.argv[1], sys.argv[2]
    torch.set_num_threads(2)
    d, f = os.path.dirname(os.path.abspath(gguf)), os.path.basename(gguf)
    tok = AutoTokenizer.from_pretrained(d, gguf_file=f)
    model = AutoModelForCausalLM.from_pretrained(d, gguf_file=f, dtype=torch.float32)
    tok.eos_token = "<|im_end|>"
    tok.pad_token = "<|im_end|>"
    model.config.eos_token_id = tok.convert_tokens_to_ids("<|im_end|>")
    model.config.pad_token_id = model.config.eos_token_id
    if model.generation_config is not None:
        model.generation_config.eos_token_id = model.config.eos_token_id
        model.generation_config.pad_token_id = model.config.eos_token_id
    os.makedirs(out, exist_ok=True)
    model.save_pretrained(out)
    tok.save_pretrained(out)

    path = os.path.join(out, "tokenizer.json")
    spec = json.load(open(path, encoding="utf-8"))
    digits = {"type": "Digits", "individual_digits": True}
    pre = spec.get("pre_tokenizer")
    if pre is None:
        spec["pre_tokenizer"] = {"type": "Sequence", "pretokenizers": [digits]}
    elif pre.get("type") == "Sequence":
        if digits not in pre["pretokenizers"]:
            pre["pretokenizers"].insert(0, digits)
    else:
        spec["pre_tokenizer"] = {"type": "Sequence", "pretokenizers": [digits, pre]}
    json.dump(spec, open(path, "w", encoding="utf-8"), ensure_ascii=False)

    # The fixes hold: digits split one by one, and the end token is <|im_end|>.
    tok = AutoTokenizer.from_pretrained(out)
    ids = tok("2024", add_special_tokens=False)["input_ids"]
    assert len(ids) == 4, f"digits are not split individually: {ids}"
    assert tok.eos_token == "<|im_end|>", tok.eos_token
    print(f"model folder {out}: eos {tok.eos_token}, digits split")


if __name__ == "__main__":
    main()
