#!/usr/bin/env python3
"""Reference for `edgenode eval`: llama.cpp (llama-cpp-python) log-probabilities and perplexity
with the same chunking: the text tokenized without BOS, non-overlapping windows of CTX tokens, every
token but each window's first scored from the tokens before it in its window.

    llamacpp_perplexity.py MODEL.gguf TEXT --ctx 128 [--max-tokens N] [--lora A.gguf] [--ours OURS.json] [--record FIXTURE.json]
OURS.json is `edgenode eval --json` output: then the per-token log-probabilities are compared too.
A development aid, not a CI dependency (tools/reference/env.sh makes its environment).
"""
import argparse
import json

import numpy as np
from llama_cpp import Llama

ap = argparse.ArgumentParser()
ap.add_argument("model")
ap.add_argument("text")
ap.add_argument("--ctx", type=int, default=256)
ap.add_argument("--max-tokens", type=int, default=0)
ap.add_argument("--ours")
ap.add_argument("--lora", help="a GGUF LoRA adapter for llama.cpp to apply")
ap.add_argument("--record", help="also write {text, ctx, tokens, perplexity, log_probabilities} here (test fixture)")
args = ap.parse_args()

llm = Llama(model_path=args.model, n_ctx=args.ctx, n_batch=args.ctx, logits_all=True, verbose=False, lora_path=args.lora)
tokens = llm.tokenize(open(args.text, encoding="utf-8").read().encode(), add_bos=False, special=False)
if args.max_tokens:
    tokens = tokens[: args.max_tokens]
logps = []
for start in range(0, len(tokens) - 1, args.ctx):
    window = tokens[start : start + args.ctx]
    if len(window) < 2:
        break
    llm.reset()
    llm.eval(window)
    logits = np.array(llm.scores[: len(window)], dtype=np.float64)
    logits -= logits.max(axis=1, keepdims=True)
    logsm = logits - np.log(np.exp(logits).sum(axis=1, keepdims=True))
    logps += [logsm[i, window[i + 1]] for i in range(len(window) - 1)]
ppl = float(np.exp(-np.mean(logps)))
out = {"perplexity": ppl, "scored_tokens": len(logps), "tokens": len(tokens)}
if args.ours:
    ours = json.load(open(args.ours))
    a, b = np.array(ours["log_probabilities"]), np.array(logps)
    out.update({"ours_perplexity": ours["perplexity"], "relative_difference": ours["perplexity"] / ppl - 1,
                "logprob_max_abs_diff": float(np.abs(a - b).max()), "logprob_mean_abs_diff": float(np.abs(a - b).mean()),
                "logprob_correlation": float(np.corrcoef(a, b)[0, 1])})
if args.record:
    json.dump({"text": open(args.text, encoding="utf-8").read(), "ctx": args.ctx, "max_tokens": args.max_tokens, "tokens": tokens,
               "perplexity": ppl, "log_probabilities": [float(x) for x in logps]}, open(args.record, "w"), ensure_ascii=False)
print(json.dumps(out, indent=1))
