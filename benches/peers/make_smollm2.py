"""Writes a Hugging Face folder with SmolLM2-135M's architecture and seeded random weights, and a
file of seeded random token ids, for scripts/gpu-check.sh on a machine that has no copy of the
model (and no network): tokens/s and memory depend on the shapes, not on the weights' values.

usage: make_smollm2.py OUT_DIR IDS.json N_IDS [SEED]
"""
import json
import random
import sys

import torch
from transformers import LlamaConfig, LlamaForCausalLM

# HuggingFaceTB/SmolLM2-135M(-Instruct)'s config.json, the shapes that matter.
SMOLLM2_135M = dict(
    vocab_size=49152, hidden_size=576, intermediate_size=1536, num_hidden_layers=30,
    num_attention_heads=9, num_key_value_heads=3, max_position_embeddings=8192,
    rms_norm_eps=1e-5, rope_theta=100000.0, tie_word_embeddings=True, hidden_act="silu",
    bos_token_id=1, eos_token_id=2, initializer_range=0.041666666666666664)


def main():
    if len(sys.argv) < 4:
        sys.exit(__doc__)
    out, ids_file, n = sys.argv[1], sys.argv[2], int(sys.argv[3])
    seed = int(sys.argv[4]) if len(sys.argv) > 4 else 0
    torch.manual_seed(seed)
    config = LlamaConfig(**SMOLLM2_135M)
    LlamaForCausalLM(config).to(torch.float32).save_pretrained(out, safe_serialization=True)
    rng = random.Random(seed)
    with open(ids_file, "w") as f:
        json.dump([rng.randrange(config.vocab_size) for _ in range(n)], f)
    print(f"wrote {out} (SmolLM2-135M shapes, random weights, seed {seed}) and {n} ids")


if __name__ == "__main__":
    main()
