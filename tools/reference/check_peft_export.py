#!/usr/bin/env python3
"""Checks a PEFT directory written by `edgenode finetune` against the GGUF adapter beside it, with
the official readers: `safetensors` (Hugging Face) for adapter_model.safetensors and `gguf`
(llama.cpp) for adapter.gguf.

For every adapted projection: lora_A equals the GGUF lora_a; lora_B equals the GGUF lora_b after
undoing llama.cpp's q/k row permutation (convert_hf_to_gguf.py's `permute`: rows reshaped to
(n_head, 2, hd/2) and axes 1, 2 swapped; applied here to the HF-side tensor, which must give back
the GGUF one). Also checks adapter_config.json's r and lora_alpha against adapter.lora.alpha.

    check_peft_export.py OUT_DIR MODEL.gguf
A development aid (needs `pip install safetensors` in the reference venv); prints JSON.
"""
import json
import sys

import gguf
import numpy as np
from safetensors.numpy import load_file

out, model = sys.argv[1], sys.argv[2]
meta = gguf.GGUFReader(model)
n_head = int(meta.fields["llama.attention.head_count"].parts[-1][0])
n_kv = int(meta.fields["llama.attention.head_count_kv"].parts[-1][0])

def permute(w, heads):
    return w.reshape(heads, 2, w.shape[0] // heads // 2, *w.shape[1:]).swapaxes(1, 2).reshape(w.shape)

ad = gguf.GGUFReader(out + "/adapter.gguf")
theirs = {t.name: np.asarray(t.data).reshape([int(x) for x in reversed(t.shape)]) for t in ad.tensors}
peft = load_file(out + "/peft/adapter_model.safetensors")
cfg = json.load(open(out + "/peft/adapter_config.json"))
names = {"attn_q": "self_attn.q_proj", "attn_k": "self_attn.k_proj", "attn_v": "self_attn.v_proj",
         "attn_output": "self_attn.o_proj", "ffn_gate": "mlp.gate_proj", "ffn_up": "mlp.up_proj", "ffn_down": "mlp.down_proj"}
worst, checked = 0.0, 0
for name, a in theirs.items():
    if not name.endswith(".lora_a"):
        continue
    _, layer, target, _, _ = name.split(".")
    base = f"base_model.model.model.layers.{layer}.{names[target]}"
    b = theirs[name[:-1] + "b"]
    pa, pb = peft[base + ".lora_A.weight"], peft[base + ".lora_B.weight"]
    if target == "attn_q":
        pb = permute(pb, n_head)
    elif target == "attn_k":
        pb = permute(pb, n_kv)
    worst = max(worst, float(np.abs(pa - a).max()), float(np.abs(pb - b).max()))
    checked += 1
alpha = float(ad.fields["adapter.lora.alpha"].parts[-1][0])
rank = next(iter(theirs.values())).shape
print(json.dumps({"projections": checked, "peft_tensors": len(peft), "max_abs_difference": worst,
                  "config_r": cfg["r"], "config_alpha": cfg["lora_alpha"], "gguf_alpha": alpha,
                  "ok": worst == 0.0 and cfg["lora_alpha"] == alpha and len(peft) == 2 * checked}, indent=1))
