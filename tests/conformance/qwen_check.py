"""The Qwen family in assay's built-in trainer against transformers + PEFT, on tiny randomly
initialised models that transformers itself creates: Qwen2 untied, Qwen2 tied (q/k/v biases)
and Qwen3 (per-head q/k RMSNorm, heads of 32 on a hidden size of 64).

usage:
  qwen_check.py make WORK TOKENIZER_DIR
      For each case, WORK/<case>/ gets: model/ (config.json + model.safetensors from
      save_pretrained, the tokenizer of TOKENIZER_DIR), init_adapter/ (a PEFT LoRA adapter on all
      seven projections with B nonzero: init_lora_weights=False), ids.json (two sequences) and
      reference.safetensors (transformers' logits with and without the adapter, PEFT's loss and
      every lora_A / lora_B gradient after one backward pass of the causal-LM loss).
  qwen_check.py compare WORK
      Reads WORK/<case>/assay.safetensors (written by `cargo test --test qwen_parity -- --ignored`)
      and prints one JSON result per check: {"check", "ok", "detail"}.

Tolerances: logits within 1e-4 (absolute, f32); each gradient within 1e-3 of the largest
magnitude of PEFT's gradient for that tensor (relative), the loss within 1e-5.
Biases are drawn with std 0.1 and every norm weight from [0.7, 1.3), because transformers
initialises them to 0 and 1, which would leave the paths under test unexercised.
"""
import json
import os
import sys
import traceback

import torch

CASES = {
    "qwen2": dict(arch="qwen2", tied=False),
    "qwen2-tied": dict(arch="qwen2", tied=True),
    "qwen3": dict(arch="qwen3", tied=False),
}
TARGETS = ["q_proj", "k_proj", "v_proj", "o_proj", "gate_proj", "up_proj", "down_proj"]
LOGITS_TOL = 1e-4
GRAD_TOL = 1e-3
LOSS_TOL = 1e-5


def report(name, fn):
    try:
        ok, detail = True, fn()
    except BaseException as e:
        ok, detail = False, f"{type(e).__name__}: {e}".splitlines()[0][:200]
        traceback.print_exc(file=sys.stderr)
    print(json.dumps({"check": name, "ok": ok, "detail": detail}, ensure_ascii=False), flush=True)


def build(arch, tied, vocab, eos):
    from transformers import Qwen2Config, Qwen2ForCausalLM, Qwen3Config, Qwen3ForCausalLM

    common = dict(vocab_size=vocab, hidden_size=64, intermediate_size=128, num_hidden_layers=2,
                  num_attention_heads=4, num_key_value_heads=2, max_position_embeddings=512,
                  rms_norm_eps=1e-6, rope_parameters={"rope_theta": 1e6, "rope_type": "default"},
                  tie_word_embeddings=tied, initializer_range=0.1, eos_token_id=eos,
                  pad_token_id=eos, bos_token_id=None)
    if arch == "qwen2":
        model = Qwen2ForCausalLM(Qwen2Config(**common))
    else:
        model = Qwen3ForCausalLM(Qwen3Config(head_dim=32, **common))
    with torch.no_grad():
        for name, p in model.named_parameters():
            if name.endswith(".bias"):
                p.normal_(0.0, 0.1)
            elif "norm" in name:
                p.uniform_(0.7, 1.3)
    return model.float()


def make(work, tok_dir):
    from peft import LoraConfig, get_peft_model
    from safetensors.torch import save_file
    from transformers import AutoTokenizer

    torch.set_num_threads(2)
    tok = AutoTokenizer.from_pretrained(tok_dir)
    vocab = len(tok)
    eos = tok.convert_tokens_to_ids("<|im_end|>")
    for i, (case, spec) in enumerate(CASES.items()):
        torch.manual_seed(1234 + i)
        root = os.path.join(work, case)
        model_dir = os.path.join(root, "model")
        model = build(spec["arch"], spec["tied"], vocab, eos)
        model.save_pretrained(model_dir, safe_serialization=True)
        tok.save_pretrained(model_dir)
        gen = torch.Generator().manual_seed(99 + i)
        ids = torch.randint(0, vocab, (2, 17), generator=gen)
        json.dump(ids.tolist(), open(os.path.join(root, "ids.json"), "w"))
        model.eval()
        with torch.no_grad():
            base_logits = model(input_ids=ids).logits
        cfg = LoraConfig(r=4, lora_alpha=8, lora_dropout=0.0, target_modules=TARGETS,
                         init_lora_weights=False, task_type="CAUSAL_LM")
        peft = get_peft_model(model, cfg)
        peft.save_pretrained(os.path.join(root, "init_adapter"))
        peft.eval()
        with torch.no_grad():
            logits = peft(input_ids=ids).logits
        peft.train()
        out = peft(input_ids=ids, labels=ids)
        out.loss.backward()
        tensors = {"logits": logits[:].contiguous(), "base_logits": base_logits.contiguous(),
                   "loss": out.loss.detach().reshape(1)}
        for name, p in peft.named_parameters():
            if p.requires_grad:
                tensors["grad." + name.replace(".default", "")] = p.grad.detach().contiguous()
        save_file(tensors, os.path.join(root, "reference.safetensors"))
        print(f"{case}: {len(tensors) - 3} LoRA tensors, loss {out.loss.item():.4f}",
              file=sys.stderr)


def compare(work):
    from safetensors.torch import load_file

    for case in CASES:
        root = os.path.join(work, case)
        ref = load_file(os.path.join(root, "reference.safetensors"))
        path = os.path.join(root, "assay.safetensors")
        got = load_file(path) if os.path.exists(path) else {}

        def need(name):
            assert name in got, f"{path} has no `{name}` (did the qwen_parity test run?)"
            return got[name]

        def logits(key):
            def check():
                g, r = need(key), ref[key]
                assert g.shape == r.shape, f"shape {tuple(g.shape)} != {tuple(r.shape)}"
                d = (g - r).abs().max().item()
                assert d <= LOGITS_TOL, f"max |diff| {d:.2e} > {LOGITS_TOL}"
                return f"max |diff| {d:.2e} over {r.numel()} logits (max |logit| {r.abs().max().item():.2f})"
            return check

        def grads():
            names = sorted(k for k in ref if k.startswith("grad."))
            assert len(names) == 2 * 2 * len(TARGETS), f"{len(names)} gradients in the reference"
            worst, worst_name = 0.0, ""
            for k in names:
                g, r = need(k), ref[k]
                assert g.shape == r.shape, f"{k}: shape {tuple(g.shape)} != {tuple(r.shape)}"
                scale = r.abs().max().item()
                assert scale > 0, f"{k}: PEFT's gradient is zero; the check would be vacuous"
                rel = (g - r).abs().max().item() / scale
                if rel > worst:
                    worst, worst_name = rel, k
            assert worst <= GRAD_TOL, f"{worst_name}: relative diff {worst:.2e} > {GRAD_TOL}"
            short = worst_name.replace("grad.base_model.model.model.", "")
            return f"{len(names)} tensors, worst relative diff {worst:.2e} ({short})"

        def loss():
            g, r = need("loss").item(), ref["loss"].item()
            assert abs(g - r) <= LOSS_TOL, f"assay {g:.6f} vs PEFT {r:.6f}"
            return f"assay {g:.6f}, PEFT {r:.6f}"

        report(f"{case}: base logits vs transformers", logits("base_logits"))
        report(f"{case}: logits with a PEFT adapter vs PEFT", logits("logits"))
        report(f"{case}: causal-LM loss vs PEFT", loss)
        report(f"{case}: every LoRA gradient vs PEFT", grads)


def main():
    if len(sys.argv) >= 4 and sys.argv[1] == "make":
        make(sys.argv[2], sys.argv[3])
    elif len(sys.argv) >= 3 and sys.argv[1] == "compare":
        compare(sys.argv[2])
    else:
        sys.exit(__doc__)


if __name__ == "__main__":
    main()
