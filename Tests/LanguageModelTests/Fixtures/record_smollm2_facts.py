#!/usr/bin/env python3
"""Records what llama.cpp's `gguf` package reads from SmolLM2-135M-Instruct.Q4_1.gguf, for
GGUFTests.testSmolLM2MatchesTheGGUFPackage: metadata, the tensor table, and dequantised values of
a few tensors (first values, sums) computed by gguf.quants.dequantize.

    pip install gguf numpy && python3 record_smollm2_facts.py ../../../models/SmolLM2-135M-Instruct.Q4_1.gguf
Writes smollm2_facts.json next to this script.
"""
import json
import os
import sys

import numpy as np
import gguf
from gguf import quants

path = sys.argv[1]
r = gguf.GGUFReader(path)


def field(name):
    f = r.fields[name]
    if f.types[0] == gguf.GGUFValueType.STRING:
        return bytes(f.parts[f.data[0]]).decode()
    return f.parts[f.data[0]].tolist()[0]


facts = {
    "tensor_count": len(r.tensors),
    "metadata": {k: field(k) for k in [
        "general.architecture", "llama.block_count", "llama.embedding_length", "llama.feed_forward_length",
        "llama.attention.head_count", "llama.attention.head_count_kv", "llama.rope.freq_base",
        "llama.context_length", "tokenizer.ggml.model", "tokenizer.ggml.bos_token_id", "tokenizer.ggml.eos_token_id"]},
    "vocab_size": len(r.fields["tokenizer.ggml.tokens"].data),
    "merges": len(r.fields["tokenizer.ggml.merges"].data),
    "first_tokens": [bytes(r.fields["tokenizer.ggml.tokens"].parts[i]).decode() for i in r.fields["tokenizer.ggml.tokens"].data[:5]],
    "tensors": {},
}
for t in r.tensors:
    facts["tensors"][t.name] = {"type": t.tensor_type.name, "dims": [int(d) for d in t.shape]}
for name in ["token_embd.weight", "blk.0.attn_q.weight", "blk.29.ffn_down.weight", "output_norm.weight"]:
    t = next(t for t in r.tensors if t.name == name)
    x = quants.dequantize(t.data, t.tensor_type).astype(np.float64).reshape(-1)
    facts["tensors"][name].update({"first": x[:8].tolist(), "sum": float(x.sum()), "sum_squares": float((x * x).sum())})
with open(os.path.join(os.path.dirname(os.path.abspath(__file__)), "smollm2_facts.json"), "w") as f:
    json.dump(facts, f, indent=1)
print("tensors:", len(r.tensors))
