"""Opaque, time-ordered ids: a prefix, 48 bits of milliseconds and 64 random bits in base32."""

from __future__ import annotations

import base64
import os
import time


def new_id(prefix: str) -> str:
    raw = int(time.time() * 1000).to_bytes(6, "big") + os.urandom(8)  # what secrets.token_bytes does, minus two calls
    return f"{prefix}_{base64.b32encode(raw).decode().rstrip('=').lower()}"
