"""R's default random-number generator, to reproduce published placebo draws exactly.

``RRandom(seed)`` behaves like R ≥ 3.6 after ``set.seed(seed)`` (Mersenne-Twister,
``sample.kind = "Rejection"``): ``unif_rand()`` and ``sample(n)`` (a random permutation of
0..n−1, i.e. R's ``sample(1:n) - 1``). The Mersenne-Twister itself is numpy's MT19937, loaded with
the state R's ``set.seed`` builds (initial scrambling by the LCG 69069·s + 1, as in R's
``RNG_Init``); R turns each 32-bit output into a double by multiplying by 2^-32.
"""

from __future__ import annotations

import math

import numpy as np

_MASK32 = 0xFFFFFFFF
_TO_UNIT = 2.3283064365386963e-10  # 2^-32, R's MT_genrand
_I2_32M1 = 2.328306437080797e-10  # 1 / (2^32 - 1), R's fixup


class RRandom:
    """R's Mersenne-Twister stream after ``set.seed(seed)``."""

    def __init__(self, seed: int):
        value = int(seed) & _MASK32
        for _ in range(50):
            value = (69069 * value + 1) & _MASK32
        state = []
        for _ in range(625):
            value = (69069 * value + 1) & _MASK32
            state.append(value)
        # state[0] is R's position slot (set to 624 = "regenerate before the next draw").
        self._bitgen = np.random.MT19937()
        self._bitgen.state = {"bit_generator": "MT19937",
                              "state": {"key": np.array(state[1:], dtype=np.uint32), "pos": 624}}

    def unif_rand(self) -> float:
        x = float(self._bitgen.random_raw()) * _TO_UNIT
        if x <= 0.0:
            return 0.5 * _I2_32M1
        if 1.0 - x <= 0.0:
            return 1.0 - 0.5 * _I2_32M1
        return x

    def _rbits(self, bits: int) -> int:
        v = 0
        for _ in range(0, bits + 1, 16):
            v = 65536 * v + int(math.floor(self.unif_rand() * 65536))
        return v & ((1 << bits) - 1)

    def unif_index(self, n: int) -> int:
        """R_unif_index: uniform on 0..n−1 by rejection sampling on random bits."""
        if n <= 0:
            return 0
        bits = int(math.ceil(math.log2(n)))
        while True:
            v = self._rbits(bits)
            if v < n:
                return v

    def sample(self, n: int) -> np.ndarray:
        """R's ``sample(1:n) - 1``: a random permutation of 0..n−1."""
        pool = list(range(n))
        out = []
        remaining = n
        for _ in range(n):
            j = self.unif_index(remaining)
            out.append(pool[j])
            remaining -= 1
            pool[j] = pool[remaining]
        return np.array(out, dtype=int)
