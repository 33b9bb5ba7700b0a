#!/usr/bin/env python3
"""Generates the committed test fixtures of Tests/NumpyIOTests (run from anywhere):

    python3 Tests/NumpyIOTests/Fixtures/make_fixtures.py

The Swift tests never run Python; they read the files written here.

Fixtures (all written by NumPy itself, so they are ground truth for the Swift .npy code):
  channels_3x2x4x2.npy      complex64, shape (3, 2, 4, 2), format 1.0 (np.save)
  channels_3x2x4x2_c16.npy  the same values as complex128, format 1.0
  channels_3x2x4x2_v2.npy   the same values as complex64, format 2.0
  real_2x3.npy              float32 [[0, 1, 2], [3, 4, 5]] / 4, format 1.0

Element [n, k, r, t] of the channel fixtures is n*1000 + k*100 + r*10 + t + 1j*(t - r - 0.5*n):
every real part is distinct, so a transposed index shows up as a wrong value.
"""
import os

import numpy as np

HERE = os.path.dirname(os.path.abspath(__file__))


def channel_values(dtype):
    n, k, r, t = np.indices((3, 2, 4, 2))
    return (n * 1000 + k * 100 + r * 10 + t + 1j * (t - r - 0.5 * n)).astype(dtype)


def write_fixtures():
    a = channel_values(np.complex64)
    np.save(os.path.join(HERE, "channels_3x2x4x2.npy"), a)
    np.save(os.path.join(HERE, "channels_3x2x4x2_c16.npy"), channel_values(np.complex128))
    with open(os.path.join(HERE, "channels_3x2x4x2_v2.npy"), "wb") as f:
        np.lib.format.write_array(f, a, version=(2, 0))
    np.save(os.path.join(HERE, "real_2x3.npy"), (np.arange(6, dtype=np.float32).reshape(2, 3) / 4))


if __name__ == "__main__":
    write_fixtures()
