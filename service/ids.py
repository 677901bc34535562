"""Opaque, time-ordered ids: a prefix, 48 bits of milliseconds and 64 random bits in base32."""

from __future__ import annotations

import base64
import secrets
import time


def new_id(prefix: str) -> str:
    raw = int(time.time() * 1000).to_bytes(6, "big") + secrets.token_bytes(8)
    return f"{prefix}_{base64.b32encode(raw).decode().rstrip('=').lower()}"
