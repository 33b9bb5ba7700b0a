#!/usr/bin/env python3
"""Generates the committed test fixtures of Tests/RadioTests (run from anywhere):

    python3 Tests/RadioTests/Fixtures/make_fixtures.py

The Swift tests never run Python; they read the files written here and assert the literals
printed here.

Fixtures (all written by NumPy itself, so they are ground truth for the Swift .npy code):
  channels_3x2x4x2.npy      complex64, shape (3, 2, 4, 2), format 1.0 (np.save)
  channels_3x2x4x2_c16.npy  the same values as complex128, format 1.0
  channels_3x2x4x2_v2.npy   the same values as complex64, format 2.0
  real_2x3.npy              float32 [[0, 1, 2], [3, 4, 5]] / 4, format 1.0

Element [n, k, r, t] of the channel fixtures is n*1000 + k*100 + r*10 + t + 1j*(t - r - 0.5*n):
every real part is distinct, so a transposed index shows up as a wrong value.

It also prints the first outputs of SeededGenerator (SplitMix64-seeded xoshiro256**), computed
here independently of the Swift code, which RadioTests/ChannelModelTests.swift asserts.
"""
import os

import numpy as np

HERE = os.path.dirname(os.path.abspath(__file__))
MASK = (1 << 64) - 1


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


# --- SeededGenerator reference: SplitMix64 (Vigna) seeding xoshiro256** (Blackman & Vigna) ---

def splitmix64(state):
    state = (state + 0x9E3779B97F4A7C15) & MASK
    z = state
    z = ((z ^ (z >> 30)) * 0xBF58476D1CE4E5B9) & MASK
    z = ((z ^ (z >> 27)) * 0x94D049BB133111EB) & MASK
    return state, z ^ (z >> 31)


def rotl(x, k):
    return ((x << k) | (x >> (64 - k))) & MASK


class Xoshiro256StarStar:
    def __init__(self, seed):
        s = []
        for _ in range(4):
            seed, v = splitmix64(seed)
            s.append(v)
        self.s = s

    @classmethod
    def substream(cls, seed, labels):
        h = seed ^ 0x243F6A8885A308D3
        for label in labels:
            _, h = splitmix64(h ^ ((label * 0x9E3779B97F4A7C15) & MASK))
        return cls(h)

    def next(self):
        s = self.s
        result = (rotl((s[1] * 5) & MASK, 7) * 9) & MASK
        t = (s[1] << 17) & MASK
        s[2] ^= s[0]
        s[3] ^= s[1]
        s[1] ^= s[2]
        s[0] ^= s[3]
        s[2] ^= t
        s[3] = rotl(s[3], 45)
        return result


def print_prng_reference():
    # Self-checks against published vectors: SplitMix64 from state 0, xoshiro256** from (1, 2, 3, 4).
    assert splitmix64(0)[1] == 0xE220A8397B1DCDAF
    g = Xoshiro256StarStar(0)
    g.s = [1, 2, 3, 4]
    assert [g.next() for _ in range(4)] == [11520, 0, 1509978240, 1215971899390074240]
    g = Xoshiro256StarStar(42)
    print("SeededGenerator(seed: 42):", ", ".join("0x%016X" % g.next() for _ in range(4)))
    g = Xoshiro256StarStar.substream(42, [1, 3])
    print("SeededGenerator(seed: 42, stream: [1, 3]):", ", ".join("0x%016X" % g.next() for _ in range(4)))


if __name__ == "__main__":
    write_fixtures()
    print_prng_reference()
