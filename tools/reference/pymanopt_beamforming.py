#!/usr/bin/env python3
"""Reference for `basestation solve`: Pymanopt's ConjugateGradient on ComplexGrassmann.

For each subcarrier n of a channel file (complex64 .npy, shape (N_sc, K, N_r, N_t)) it minimises
    f(A) = max_k c_k tr((A^H G_k A)^-1),  G_k = H_k H_k^H,  c_k = w_k^2 / P_{k,n},
over A in Gr(N_r, L) from R random starts with Pymanopt (log-sum-exp smoothing with the same
continuation schedule as ours: temperatures 0.1 .. 0.001 of the objective), keeps the best true
objective, and compares it with the beamformers our solver saved (.npy, shape (N_sc, N_r, L)).
Also reports Pymanopt's wall time per subcarrier for one cold start.

A development aid, not a CI dependency. Environment:
    python3 -m venv ~/.cache/airfl-pymanopt && ~/.cache/airfl-pymanopt/bin/pip install pymanopt numpy scipy
    (or tools/reference/env.sh, which also has it)
Usage:
    pymanopt_beamforming.py CH.npy A.npy --streams 4 [--restarts 32] [--subcarriers 8] [--power-dbm 23]
"""
import argparse
import json
import sys
import time

import numpy as np
import pymanopt
from pymanopt.manifolds import ComplexGrassmann
from pymanopt.optimizers import ConjugateGradient

TEMPERATURES = [0.1, 0.01, 0.001, 0.0003]


def terms(A, G, c):
    return np.array([ck * np.trace(np.linalg.inv(A.conj().T @ Gk @ A)).real for Gk, ck in zip(G, c)])


def solve(G, c, n_r, L, start, temperatures):
    manifold = ComplexGrassmann(n_r, L)
    A = start
    for tau in temperatures:
        scale = terms(A, G, c).max()

        @pymanopt.function.numpy(manifold)
        def cost(X):
            f = terms(X, G, c) / scale
            m = f.max()
            return m + tau * np.log(np.sum(np.exp((f - m) / tau)))

        @pymanopt.function.numpy(manifold)
        def euclidean_gradient(X):
            f = terms(X, G, c) / scale
            m = f.max()
            e = np.exp((f - m) / tau)
            pi = e / e.sum()
            g = np.zeros_like(X)
            for Gk, ck, pk in zip(G, c, pi):
                Minv = np.linalg.inv(X.conj().T @ Gk @ X)
                g += pk * (-2.0 * ck / scale) * (Gk @ X @ Minv @ Minv)
            return g

        problem = pymanopt.Problem(manifold, cost, euclidean_gradient=euclidean_gradient)
        result = ConjugateGradient(verbosity=0, max_iterations=1000).run(problem, initial_point=A)
        A = result.point
    return A


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("channels")
    ap.add_argument("beamformers", nargs="?")
    ap.add_argument("--streams", type=int, required=True)
    ap.add_argument("--restarts", type=int, default=32)
    ap.add_argument("--subcarriers", type=int, default=8)
    ap.add_argument("--power-dbm", type=float, default=23.0)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--temperatures", default=",".join(str(t) for t in TEMPERATURES),
                    help="continuation schedule, comma-separated (default: the project's)")
    args = ap.parse_args()
    temperatures = [float(t) for t in args.temperatures.split(",")]

    H = np.load(args.channels).astype(np.complex128)
    n_sc, K, n_r, n_t = H.shape
    L = args.streams
    P = 10 ** ((args.power_dbm - 30) / 10) / n_sc
    c = np.full(K, (1.0 / K) ** 2 / P)
    ours = np.load(args.beamformers).astype(np.complex128) if args.beamformers else None
    rng = np.random.default_rng(args.seed)
    rows = []
    for n in range(min(args.subcarriers, n_sc)):
        G = [H[n, k] @ H[n, k].conj().T for k in range(K)]
        best, first_time = np.inf, None
        for r in range(args.restarts):
            X0 = rng.standard_normal((n_r, L)) + 1j * rng.standard_normal((n_r, L))
            X0, _ = np.linalg.qr(X0)
            t0 = time.perf_counter()
            A = solve(G, c, n_r, L, X0, temperatures)
            if first_time is None:
                first_time = time.perf_counter() - t0
            best = min(best, terms(A, G, c).max())
        row = {"subcarrier": n, "pymanopt_best": best, "pymanopt_ms_one_start": first_time * 1e3}
        if ours is not None:
            row["ours"] = terms(ours[n], G, c).max()
            row["ratio"] = row["ours"] / best
        rows.append(row)
        print(json.dumps(row), file=sys.stderr)
    summary = {
        "subcarriers": len(rows),
        "restarts": args.restarts,
        "pymanopt_best_mean": float(np.mean([r["pymanopt_best"] for r in rows])),
        "pymanopt_ms_per_subcarrier_one_start": float(np.mean([r["pymanopt_ms_one_start"] for r in rows])),
    }
    if ours is not None:
        summary["ours_mean"] = float(np.mean([r["ours"] for r in rows]))
        summary["mean_ratio"] = summary["ours_mean"] / summary["pymanopt_best_mean"]
        summary["worst_ratio"] = float(max(r["ratio"] for r in rows))
    print(json.dumps(summary, indent=1))


if __name__ == "__main__":
    main()
