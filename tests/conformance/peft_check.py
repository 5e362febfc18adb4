"""Checks an adapter from assay's built-in trainer and the model `assay merge` made of it:
the adapter resolves its base through `AutoPeftModelForCausalLM` and its files are 0644; PEFT
on the base, and the merged folder on its own in transformers (with its own tokenizer), give
the logits assay computed (probe.json, written by `assay merge --probe`) within 1e-3.

usage: peft_check.py ADAPTER_DIR MERGED_DIR [PREFIX]
Prints one JSON result per check: {"check", "ok", "detail"}, each name after PREFIX (the Qwen
checks run it once per tiny model: "qwen2: ").
"""
import json
import os
import stat
import sys
import traceback

import torch

TOL = 1e-3


def report(name, fn):
    try:
        ok, detail = True, fn()
    except BaseException as e:
        ok, detail = False, f"{type(e).__name__}: {e}".splitlines()[0][:200]
        traceback.print_exc(file=sys.stderr)
    print(json.dumps({"check": name, "ok": ok, "detail": detail}, ensure_ascii=False), flush=True)


def main():
    adapter, merged = sys.argv[1], sys.argv[2]
    prefix = sys.argv[3] if len(sys.argv) > 3 else ""
    torch.set_num_threads(2)
    probe = json.load(open(os.path.join(merged, "probe.json")))
    ids = torch.tensor(probe["ids"]).unsqueeze(0)
    want = torch.tensor(probe["logits"])
    moved = (want - torch.tensor(probe["base_logits"])).abs().max().item()

    def logits_of(model):
        model.eval()
        with torch.no_grad():
            return model(input_ids=ids).logits[0, -1]

    def adapter_files():
        modes = {f: stat.S_IMODE(os.stat(os.path.join(adapter, f)).st_mode)
                 for f in ("adapter_config.json", "adapter_model.safetensors")}
        bad = {f: oct(m) for f, m in modes.items() if m != 0o644}
        assert not bad, f"not 0644: {bad}"
        return "0644"

    def peft_auto():
        from peft import AutoPeftModelForCausalLM

        model = AutoPeftModelForCausalLM.from_pretrained(adapter, dtype=torch.float32)
        diff = (logits_of(model) - want).abs().max().item()
        assert diff <= TOL, f"max |diff| {diff:.2e} > {TOL}"
        return f"max |diff| {diff:.2e} (training moved logits by {moved:.2e})"

    def merged_model():
        from transformers import AutoModelForCausalLM, AutoTokenizer

        tok = AutoTokenizer.from_pretrained(merged)
        got_ids = tok(probe["text"], add_special_tokens=False)["input_ids"]
        assert got_ids == probe["ids"], f"tokenizer ids {got_ids[:8]}... != assay's {probe['ids'][:8]}..."
        model = AutoModelForCausalLM.from_pretrained(merged, dtype=torch.float32)
        diff = (logits_of(model) - want).abs().max().item()
        assert diff <= TOL, f"max |diff| {diff:.2e} > {TOL}"
        return f"max |diff| {diff:.2e}, same token ids"

    report(prefix + "adapter files 0644", adapter_files)
    report(prefix + "adapter: AutoPeftModelForCausalLM, logits vs assay", peft_auto)
    report(prefix + "merged model: transformers + its tokenizer, logits vs assay", merged_model)


if __name__ == "__main__":
    main()
