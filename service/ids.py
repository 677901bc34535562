"""Opaque, time-ordered ids: a prefix, 48 bits of milliseconds and 64 random bits in base32."""

from __future__ import annotations

import os
import random
import time

_ALPHABET = "abcdefghijklmnopqrstuvwxyz234567"  # RFC 4648 base32, lower-cased
# Two base32 digits per 10 bits: 12 table lookups for an id instead of base64.b32encode's
# pure-Python loop (an id is made for every decision, so this is on the check's hot path).
_PAIRS = [a + b for a in _ALPHABET for b in _ALPHABET]
_SHIFTS = range(110, -1, -10)
# Ids must be unique, not secret (no id grants anything; keys and secrets come from `secrets`):
# a private generator seeded from os.urandom, reseeded in a forked child, costs a fifth of an
# os.urandom call, which here is a system call.
_random = random.Random()
if hasattr(os, "register_at_fork"):
    os.register_at_fork(after_in_child=_random.seed)


def random_hex(bits: int = 128) -> str:
    """A unique, unguessable-enough token for request ids (not for secrets)."""
    return f"{_random.getrandbits(bits):0{bits // 4}x}"


def b32_of_14_bytes(raw: bytes) -> str:
    """base64.b32encode(raw).rstrip(b"=").lower() for 14 bytes, about four times faster."""
    n = int.from_bytes(raw, "big") << 8  # 112 bits -> 120: twelve pairs, the last character dropped
    pairs = _PAIRS
    return "".join([pairs[(n >> shift) & 1023] for shift in _SHIFTS])[:23]


def new_id(prefix: str) -> str:
    raw = ((int(time.time() * 1000) % (1 << 48)) << 64 | _random.getrandbits(64)).to_bytes(14, "big")
    return f"{prefix}_{b32_of_14_bytes(raw)}"
