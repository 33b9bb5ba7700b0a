#!/usr/bin/env python3
"""How much held-out perplexity an AirComp run's accumulated aggregation error costs, measured by
adding that error, as white Gaussian noise, to an error-free run's final adapter.

    REF=~/.cache/airfl-reference   # ../shared/tools/reference-env.sh makes it (it has `gguf`)
    $REF/bin/python tools/noise_injection.py \
        --adapter results/experiments/paper-baselines/ideal-seed1/adapter.gguf \
        --run results/experiments/paper-baselines/eigen-seed1 --draws 2 \
        --model models/SmolLM2-135M-Instruct.Q4_1.gguf --text HELDOUT.txt --ctx 64

Why: an AirComp baseline can show an aggregation NMSE far above 1 (the error's energy over the
round's update's) and still end close to ideal FL. NMSE is relative to one round's update, which
is small; what the loss sees is the error accumulated in the adapter's reals, σ² = Σ_rounds
`mse_per_real` (metrics.csv, squared parameter units), against the curvature of the loss in
random directions. This script measures that directly: for each variance it writes a copy of the
adapter with N(0, σ²) added to every real of A and B, and runs `edgenode eval` on it. The run's
own penalty should be at most this (later rounds train part of the early error away).

Each --run adds Σ mse_per_real over its non-pilot rounds; --variance adds explicit values.
Prints one line per variance and draw: variance, draw, perplexity, and its ratio to the clean
adapter's. Draws are seeded (numpy's default_rng(draw)), so a rerun prints the same numbers.
"""
import argparse
import csv
import json
import os
import subprocess
import sys
import tempfile

import gguf
import numpy as np


def accumulated_variance(run):
    """Σ mse_per_real over the run's rounds (its global rows), pilot rounds excluded."""
    total = 0.0
    with open(os.path.join(run, "metrics.csv")) as f:
        for row in csv.DictReader(f):
            if row["node"] == "global" and row["status"] != "pilot" and row["mse_per_real"]:
                total += float(row["mse_per_real"])
    return total


def write_noisy(src, variance, draw, out):
    """A copy of the GGUF adapter `src` with N(0, variance) added to every tensor entry."""
    reader = gguf.GGUFReader(src)
    field = reader.fields["adapter.lora.alpha"]
    alpha = float(field.parts[field.data[0]][0])
    writer = gguf.GGUFWriter(out, "llama")
    writer.add_string("general.type", "adapter")
    writer.add_string("adapter.type", "lora")
    writer.add_float32("adapter.lora.alpha", alpha)
    rng = np.random.default_rng(draw)
    for tensor in reader.tensors:
        values = np.array(tensor.data, dtype=np.float32)
        noise = rng.normal(0.0, np.sqrt(variance), values.shape).astype(np.float32)
        writer.add_tensor(tensor.name, values + noise)
    writer.write_header_to_file()
    writer.write_kv_data_to_file()
    writer.write_tensors_to_file()
    writer.close()


def perplexity(args, adapter):
    command = [args.edgenode, "eval", "--model", args.model, "--text", args.text, "--adapter", adapter,
               "--ctx", str(args.ctx), "--max-tokens", str(args.max_tokens), "--json"]
    result = subprocess.run(command, check=True, capture_output=True, text=True)
    return json.loads(result.stdout)["perplexity"]


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--adapter", required=True, help="the error-free run's adapter.gguf")
    parser.add_argument("--run", action="append", default=[], help="an AirComp run directory (metrics.csv)")
    parser.add_argument("--variance", action="append", type=float, default=[], help="σ² per real")
    parser.add_argument("--draws", type=int, default=2)
    parser.add_argument("--model", required=True)
    parser.add_argument("--text", required=True, help="held-out text (UTF-8)")
    parser.add_argument("--ctx", type=int, default=64)
    parser.add_argument("--max-tokens", type=int, default=8192)
    parser.add_argument("--edgenode", default=".build/release/edgenode")
    args = parser.parse_args()
    levels = [(os.path.basename(os.path.normpath(r)), accumulated_variance(r)) for r in args.run]
    levels += [(f"σ²={v:g}", v) for v in args.variance]
    if not levels:
        sys.exit("give --run or --variance")
    clean = perplexity(args, args.adapter)
    print(f"clean adapter: perplexity {clean:.4f}")
    with tempfile.TemporaryDirectory() as tmp:
        noisy = os.path.join(tmp, "noisy.gguf")
        for label, variance in levels:
            for draw in range(1, args.draws + 1):
                write_noisy(args.adapter, variance, draw, noisy)
                p = perplexity(args, noisy)
                print(f"{label}: σ² {variance:.3e} per real, draw {draw}: perplexity {p:.4f} ({p / clean:.4f}× clean)")


if __name__ == "__main__":
    main()
