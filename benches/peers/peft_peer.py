"""PyTorch + PEFT peer for benches/lora.rs: LoRA on q,v of the same GGUF (dequantised to fp32
by transformers) or Hugging Face folder, the same token ids, sequence, batch 1, rank, 2 threads,
AdamW.

usage: peft_peer.py MODEL.gguf|MODEL_DIR IDS.json SEQ RANK WARMUP STEPS
"""
import json
import os
import sys
import time

import torch
from peft import LoraConfig, get_peft_model
from transformers import AutoModelForCausalLM


def main():
    gguf, ids_file, seq, rank, warmup, steps = sys.argv[1:7]
    seq, rank, warmup, steps = int(seq), int(rank), int(warmup), int(steps)
    torch.set_num_threads(2)
    torch.manual_seed(0)
    if os.path.isdir(gguf):
        model = AutoModelForCausalLM.from_pretrained(gguf, dtype=torch.float32)
    else:
        model = AutoModelForCausalLM.from_pretrained(
            os.path.dirname(os.path.abspath(gguf)), gguf_file=os.path.basename(gguf),
            torch_dtype=torch.float32)
    cfg = LoraConfig(r=rank, lora_alpha=16, lora_dropout=0.0, target_modules=["q_proj", "v_proj"],
                     task_type="CAUSAL_LM")
    model = get_peft_model(model, cfg)
    model.train()
    opt = torch.optim.AdamW([p for p in model.parameters() if p.requires_grad], lr=1e-4)
    ids = json.load(open(ids_file))
    x = torch.tensor(ids[:seq]).unsqueeze(0)
    y = torch.tensor(ids[1:seq + 1]).unsqueeze(0)
    times, cpu = [], []
    for step in range(warmup + steps):
        t0 = time.perf_counter()
        c0 = time.process_time()
        logits = model(input_ids=x).logits
        loss = torch.nn.functional.cross_entropy(logits.view(-1, logits.size(-1)), y.view(-1))
        loss.backward()
        opt.step()
        opt.zero_grad()
        dt = time.perf_counter() - t0
        if os.environ.get("ASSAY_BENCH_VERBOSE"):
            print(f"peer step {step}: loss {loss.item():.4f} {dt:.3f}s", file=sys.stderr)
        if step >= warmup:
            times.append(dt)
            cpu.append(time.process_time() - c0)
    mean = sum(times) / len(times)
    cpu_step = sum(cpu) / len(cpu)
    # ru_maxrss survives exec (it would report the Rust parent's peak); VmHWM is this process's.
    peak = next(int(l.split()[1]) for l in open("/proc/self/status") if l.startswith("VmHWM")) / 1024
    # One machine-readable line for benches/lora.rs: s/step wall, CPU-s/step, peak RSS MiB.
    print(f"PEER {mean:.6f} {cpu_step:.6f} {peak:.1f}")
    print(f"torch {torch.__version__}", file=sys.stderr)


if __name__ == "__main__":
    main()
