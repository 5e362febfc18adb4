"""Peer for benches/import.rs: Hugging Face `datasets` loading a JSONL file (writes an Arrow cache)."""
import sys

from datasets import load_dataset

ds = load_dataset("json", data_files=sys.argv[1], cache_dir=sys.argv[2], split="train")
print(len(ds))
