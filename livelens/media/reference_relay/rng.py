"""Where sequence-number and timestamp starts come from. They need unpredictability, not
secrecy (SRTP protects them): OS randomness by default, or splitmix64 from a seed so that
this relay and the Rust one produce byte-identical output."""

from __future__ import annotations

from typing import Protocol

U64 = 0xFFFFFFFFFFFFFFFF


class RandomBits(Protocol):
    def getrandbits(self, k: int, /) -> int: ...


class SplitMix64:
    """Sebastiano Vigna's splitmix64: the seeded generator, written the same in Rust."""

    def __init__(self, seed: int) -> None:
        self._state = seed & U64

    def next_u64(self) -> int:
        self._state = (self._state + 0x9E3779B97F4A7C15) & U64
        z = self._state
        z = ((z ^ (z >> 30)) * 0xBF58476D1CE4E5B9) & U64
        z = ((z ^ (z >> 27)) * 0x94D049BB133111EB) & U64
        return z ^ (z >> 31)

    def getrandbits(self, k: int) -> int:
        """``k`` (1-64) random bits: the top bits of one draw."""
        return self.next_u64() >> (64 - k)
