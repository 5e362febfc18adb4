"""PyTorch + PEFT peer for benches/lora.rs (CPU) and scripts/gpu-check.sh (CUDA): LoRA on q,v of
the same model (a GGUF, dequantised to fp32 by transformers, or a Hugging Face folder), the same
token ids, sequence, batch, rank, AdamW.

usage: peft_peer.py MODEL IDS.json SEQ RANK WARMUP STEPS [BATCH [DEVICE [DTYPE]]]

BATCH defaults to 1, DEVICE to cpu (2 threads, as benches/lora.rs runs candle), DTYPE to f32;
on cuda the weights can be bf16 (PEFT keeps the LoRA weights in fp32). Every row of the batch
trains on the same ids, as the Rust side does.
"""
import json
import os
import sys
import time

import torch
from peft import LoraConfig, get_peft_model
from transformers import AutoModelForCausalLM

DTYPES = {"f32": torch.float32, "bf16": torch.bfloat16}


def load(model_path, dtype):
    if os.path.isdir(model_path):
        return AutoModelForCausalLM.from_pretrained(model_path, dtype=dtype)
    return AutoModelForCausalLM.from_pretrained(
        os.path.dirname(os.path.abspath(model_path)), gguf_file=os.path.basename(model_path),
        dtype=dtype)


def main():
    if len(sys.argv) < 7:
        sys.exit(__doc__)
    model_path, ids_file, seq, rank, warmup, steps = sys.argv[1:7]
    seq, rank, warmup, steps = int(seq), int(rank), int(warmup), int(steps)
    batch = int(sys.argv[7]) if len(sys.argv) > 7 else 1
    device = sys.argv[8] if len(sys.argv) > 8 else "cpu"
    dtype = sys.argv[9] if len(sys.argv) > 9 else "f32"
    if dtype not in DTYPES:
        sys.exit(f"DTYPE must be one of {', '.join(DTYPES)}, got {dtype!r}")
    cuda = device.startswith("cuda")
    if cuda and not torch.cuda.is_available():
        sys.exit(f"torch {torch.__version__} sees no CUDA GPU (torch.cuda.is_available() is False)")
    if not cuda:
        torch.set_num_threads(2)
    torch.manual_seed(0)
    model = load(model_path, DTYPES[dtype]).to(device)
    cfg = LoraConfig(r=rank, lora_alpha=16, lora_dropout=0.0, target_modules=["q_proj", "v_proj"],
                     task_type="CAUSAL_LM")
    model = get_peft_model(model, cfg)
    model.train()
    opt = torch.optim.AdamW([p for p in model.parameters() if p.requires_grad], lr=1e-4)
    ids = json.load(open(ids_file))
    x = torch.tensor(ids[:seq]).unsqueeze(0).repeat(batch, 1).to(device)
    y = torch.tensor(ids[1:seq + 1]).unsqueeze(0).repeat(batch, 1).to(device)
    if cuda:
        torch.cuda.reset_peak_memory_stats()
    times, cpu = [], []
    for step in range(warmup + steps):
        t0 = time.perf_counter()
        c0 = time.process_time()
        logits = model(input_ids=x).logits
        loss = torch.nn.functional.cross_entropy(
            logits.float().view(-1, logits.size(-1)), y.view(-1))
        loss.backward()
        opt.step()
        opt.zero_grad()
        if cuda:
            torch.cuda.synchronize()
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
    if cuda:
        # And for scripts/gpu-check.sh: the caching allocator's peaks and the last loss.
        mib = 1024 * 1024
        print(f"PEER_CUDA {torch.cuda.max_memory_allocated() / mib:.1f} "
              f"{torch.cuda.max_memory_reserved() / mib:.1f} {loss.item():.4f}")
    print(f"torch {torch.__version__}", file=sys.stderr)


if __name__ == "__main__":
    main()
