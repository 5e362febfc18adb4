"""llama.cpp (llama-cpp-python) on the same GGUF, prompt and thread count as assay's benchmark.

Usage: python llama_cpp_peer.py MODEL.gguf PROMPT_FILE NEW_TOKENS THREADS
Prints one JSON line: prompt_tokens, prompt_tok_s, gen_tokens, gen_tok_s, peak_rss_mb.
Greedy decoding, end of turn ignored, so every run generates exactly NEW_TOKENS.
"""
import json
import resource
import sys
import time

import numpy as np
from llama_cpp import Llama

model_path, prompt_file, new_tokens, threads = sys.argv[1], sys.argv[2], int(sys.argv[3]), int(sys.argv[4])
prompt = open(prompt_file, encoding="utf-8").read()
# use_extra_bufts=False: the AMX path segfaults on machines whose kernel does not enable AMX.
m = Llama(model_path, n_threads=threads, n_threads_batch=threads, n_ctx=1024, n_batch=512,
          verbose=False, use_extra_bufts=False, logits_all=False)
tokens = m.tokenize(prompt.encode("utf-8"), add_bos=False, special=True)
best = None
for _ in range(2):
    m.reset()
    c0, t0 = time.process_time(), time.perf_counter()
    m.eval(tokens)
    c1, t1 = time.process_time(), time.perf_counter()
    for _ in range(new_tokens):
        nxt = int(np.argmax(m.scores[m.n_tokens - 1]))
        m.eval([nxt])
    c2, t2 = time.process_time(), time.perf_counter()
    # Tokens per second of wall time, and per second of the process's CPU time (all threads).
    run = (len(tokens) / (t1 - t0), new_tokens / (t2 - t1),
           len(tokens) / max(c1 - c0, 1e-9), new_tokens / max(c2 - c1, 1e-9))
    best = run if best is None else tuple(max(a, b) for a, b in zip(best, run))
peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
print(json.dumps({"prompt_tokens": len(tokens), "prompt_tok_s": best[0], "gen_tokens": new_tokens,
                  "gen_tok_s": best[1], "prompt_cpu_tok_s": best[2], "gen_cpu_tok_s": best[3],
                  "peak_rss_mb": peak}))
