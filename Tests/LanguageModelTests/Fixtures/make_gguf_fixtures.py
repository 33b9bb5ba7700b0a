#!/usr/bin/env python3
"""Writes the GGUF fixtures the LanguageModel tests read, with llama.cpp's own `gguf` package
(PyPI `gguf`): its GGUFWriter lays out the file and its quants module quantises and dequantises,
so the expected values come from code nobody here wrote.

    pip install gguf numpy && python3 make_gguf_fixtures.py
Outputs (next to this script): tensors.gguf and expected_<tensor>.npy (float32, row-major,
numpy shape = reversed GGUF dims).
"""
import os

import numpy as np
import gguf
from gguf import GGMLQuantizationType as Q
from gguf import quants

here = os.path.dirname(os.path.abspath(__file__))
rng = np.random.default_rng(20261125)

w = gguf.GGUFWriter(os.path.join(here, "tensors.gguf"), arch="llama")
w.add_name("fixture")
w.add_uint32("llama.block_count", 2)
w.add_float32("llama.rope.freq_base", 100000.0)
w.add_bool("fixture.flag", True)
w.add_int64("fixture.i64", -1234567890123)
w.add_uint64("fixture.u64", 1234567890123)
w.add_int8("fixture.i8", -5)
w.add_uint16("fixture.u16", 65000)
w.add_int32("fixture.i32", -70000)
w.add_float64("fixture.f64", 3.141592653589793)
w.add_array("fixture.strings", ["a", "bé", "<|im_end|>"])
w.add_array("fixture.ints", [1, -2, 3])

cases = {
    "f32": (Q.F32, (3, 5)),
    "f16": (Q.F16, (2, 64)),
    "bf16": (Q.BF16, (2, 64)),
    "q8_0": (Q.Q8_0, (4, 64)),
    "q4_0": (Q.Q4_0, (4, 64)),
    "q4_1": (Q.Q4_1, (4, 96)),
}
for name, (qtype, shape) in cases.items():
    x = (rng.standard_normal(shape) * 0.7).astype(np.float32)
    if qtype == Q.F32:
        w.add_tensor(name, x)
        expected = x
    elif qtype == Q.F16:
        w.add_tensor(name, x.astype(np.float16))
        expected = x.astype(np.float16).astype(np.float32)
    else:
        data = quants.quantize(x, qtype)
        w.add_tensor(name, data, raw_shape=data.shape, raw_dtype=qtype)
        expected = quants.dequantize(data, qtype).astype(np.float32)
    np.save(os.path.join(here, f"expected_{name}.npy"), expected.reshape(shape))

w.write_header_to_file()
w.write_kv_data_to_file()
w.write_tensors_to_file()
w.close()
print("wrote", os.path.join(here, "tensors.gguf"))
