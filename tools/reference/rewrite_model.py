#!/usr/bin/env python3
"""Rewrites a GGUF model's matrices in another type with the official `gguf` package (its own
quantisers), for checking our forward against llama.cpp on more than the file we ship.

    rewrite_model.py IN.gguf OUT.gguf --type F16|Q8_0|Q4_0 [--untie]

Every 2-D tensor becomes --type (dequantised from the input first); vectors stay F32. --untie
adds `output.weight` as a copy of the embeddings, so the output matrix is its own tensor.
A development aid for BENCHMARKS.md; not a CI dependency.
"""
import argparse

import numpy as np
from gguf import GGMLQuantizationType, GGUFReader, GGUFValueType, GGUFWriter
from gguf.quants import dequantize, quantize

ap = argparse.ArgumentParser()
ap.add_argument("input")
ap.add_argument("output")
ap.add_argument("--type", required=True, choices=["F16", "Q8_0", "Q4_0"])
ap.add_argument("--untie", action="store_true")
args = ap.parse_args()
target = GGMLQuantizationType[args.type]

reader = GGUFReader(args.input)
arch = reader.fields["general.architecture"]
writer = GGUFWriter(args.output, bytes(arch.parts[arch.data[0]]).decode())
for name, field in reader.fields.items():
    if name.startswith("GGUF.") or name == "general.architecture":
        continue
    kind = field.types[0]
    if kind == GGUFValueType.ARRAY:
        sub = field.types[1]
        if sub == GGUFValueType.STRING:
            values = [bytes(field.parts[i]).decode("utf-8", errors="surrogateescape") for i in field.data]
        else:
            values = [field.parts[i].tolist()[0] for i in field.data]
        writer.add_key_value(name, values, kind, sub_type=sub)
    elif kind == GGUFValueType.STRING:
        writer.add_key_value(name, bytes(field.parts[field.data[0]]).decode(), kind)
    else:
        writer.add_key_value(name, field.parts[field.data[0]].tolist()[0], kind)


def add(name, floats):
    """floats: numpy array in numpy order (rows, row length)."""
    if floats.ndim == 2:
        data = floats.astype(np.float16) if target == GGMLQuantizationType.F16 else quantize(floats.astype(np.float32), target)
        writer.add_tensor(name, data, raw_dtype=target)
    else:
        writer.add_tensor(name, floats.astype(np.float32))


embeddings = None
for t in reader.tensors:
    floats = dequantize(t.data, t.tensor_type).reshape([int(d) for d in reversed(t.shape)])
    add(t.name, floats)
    if t.name == "token_embd.weight":
        embeddings = floats
if args.untie and embeddings is not None and not any(t.name == "output.weight" for t in reader.tensors):
    add("output.weight", embeddings)
writer.write_header_to_file()
writer.write_kv_data_to_file()
writer.write_tensors_to_file()
writer.close()
print(f"{args.output}: matrices {args.type}{', untied output' if args.untie else ''}")
