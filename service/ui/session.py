"""The web page's session: an HMAC-signed cookie holding the key's SHA-256 (never the key), a CSRF token and
the id of its server-side session row (service/usecases/ui_sessions.py), which signing out ends."""

from __future__ import annotations

import base64
import hashlib
import hmac
import secrets
from dataclasses import dataclass
from datetime import datetime

import orjson

COOKIE = "sg_session"
CSRF_FIELD = "csrf_token"


@dataclass(frozen=True, slots=True)
class UiSession:
    csrf: str
    key_hash: str = ""  # empty = not signed in (the login form still needs its CSRF token)
    issued_at: float = 0.0
    session_id: str = ""

    @classmethod
    def anonymous(cls) -> UiSession:
        return cls(csrf=secrets.token_urlsafe(32))

    def signed_in(self, key_hash: str, now: datetime, session_id: str) -> UiSession:
        # A fresh CSRF token at sign-in: a token seen before signing in is worth nothing after.
        return UiSession(csrf=secrets.token_urlsafe(32), key_hash=key_hash, issued_at=now.timestamp(),
                         session_id=session_id)


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).decode().rstrip("=")


def _unb64(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


def _mac(secret: bytes, payload: str) -> str:
    return _b64(hmac.new(secret, b"supportgate-ui-session|" + payload.encode(), hashlib.sha256).digest())


def encode(session: UiSession, secret: bytes) -> str:
    payload = _b64(orjson.dumps({"c": session.csrf, "k": session.key_hash, "t": session.issued_at, "s": session.session_id}))
    return f"{payload}.{_mac(secret, payload)}"


def decode(value: str | None, secret: bytes, *, now: datetime, max_age_seconds: float) -> UiSession | None:
    """The session in a cookie, or None when it is missing, tampered with or too old."""
    if not value or value.count(".") != 1:
        return None
    payload, mac = value.split(".")
    if not hmac.compare_digest(mac, _mac(secret, payload)):
        return None
    try:
        data = orjson.loads(_unb64(payload))
        session = UiSession(csrf=str(data["c"]), key_hash=str(data["k"]), issued_at=float(data["t"]),
                            session_id=str(data.get("s") or ""))
    except (ValueError, KeyError, TypeError):
        return None
    if session.key_hash and now.timestamp() - session.issued_at > max_age_seconds:
        return None
    return session


def csrf_ok(session: UiSession | None, presented: str | None) -> bool:
    return bool(session and presented and hmac.compare_digest(session.csrf.encode(), presented.encode()))
