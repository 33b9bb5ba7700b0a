#!/usr/bin/env python3
"""An independent Python implementation of SeededGenerator (SplitMix64 seeding xoshiro256**),
which prints the reference outputs that Tests/RandomnessTests/SeededGeneratorTests.swift asserts
(run from anywhere; needs only the standard library):

    python3 Tests/RandomnessTests/Reference/xoshiro_reference.py

It first checks itself against the published vectors: SplitMix64 from state 0, and xoshiro256**
from state (1, 2, 3, 4) (11520, 0, 1509978240, ...).
"""

MASK = (1 << 64) - 1


# SplitMix64 (Vigna) seeding xoshiro256** (Blackman & Vigna).

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
    print_prng_reference()
