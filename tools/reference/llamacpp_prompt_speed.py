#!/usr/bin/env python3
"""llama.cpp's prompt-processing speed on a model (llama-cpp-python, logits for the last token only,
as llama-bench's pp test): tokens per second over `--repeats` windows of `--ctx` tokens.

    llamacpp_prompt_speed.py MODEL.gguf TEXT --ctx 256 [--repeats 8] [--threads 2]
A development aid for BENCHMARKS.md; not a CI dependency.
"""
import argparse
import json
import time

from llama_cpp import Llama

ap = argparse.ArgumentParser()
ap.add_argument("model")
ap.add_argument("text")
ap.add_argument("--ctx", type=int, default=256)
ap.add_argument("--repeats", type=int, default=8)
ap.add_argument("--threads", type=int, default=2)
args = ap.parse_args()
llm = Llama(model_path=args.model, n_ctx=args.ctx, n_batch=args.ctx, n_threads=args.threads, n_threads_batch=args.threads, verbose=False)
tokens = llm.tokenize(open(args.text, encoding="utf-8").read().encode(), add_bos=False, special=False)
windows = [tokens[i:i + args.ctx] for i in range(0, len(tokens) - args.ctx + 1, args.ctx)][: args.repeats]
llm.reset(); llm.eval(windows[0])  # warm-up
start = time.perf_counter()
for w in windows:
    llm.reset()
    llm.eval(w)
elapsed = time.perf_counter() - start
print(json.dumps({"windows": len(windows), "ctx": args.ctx, "tokens_per_s": len(windows) * args.ctx / elapsed}))
