"""Mail transports: SMTP through aiosmtplib, or a folder of .eml files when no SMTP server is set."""

from __future__ import annotations

import asyncio
import concurrent.futures
import os
import re
import tempfile
from collections.abc import Coroutine
from dataclasses import dataclass
from datetime import UTC, datetime
from email.message import EmailMessage
from pathlib import Path
from typing import Any, Protocol, TypeVar
from urllib.parse import parse_qs, unquote, urlsplit

import aiosmtplib

from service.settings import Settings

DEFAULT_TIMEOUT = 30.0
_T = TypeVar("_T")
_UNSAFE = re.compile(r"[^A-Za-z0-9._-]+")


class MailError(Exception):
    """A failed attempt to hand a message over."""


class TemporaryMailError(MailError):
    """Worth retrying: a 4xx answer, a refused or dropped connection, a timeout."""


class PermanentMailError(MailError):
    """The server refused the message for good (5xx): retrying would not help."""


class MailTransport(Protocol):
    def send(self, message: EmailMessage) -> None: ...


def _run(coro: Coroutine[Any, Any, _T]) -> _T:
    """Run a coroutine to its end from sync code; on a thread that already runs a loop, on a helper thread."""
    try:
        asyncio.get_running_loop()
    except RuntimeError:
        return asyncio.run(coro)
    with concurrent.futures.ThreadPoolExecutor(max_workers=1, thread_name_prefix="supportgate-smtp") as pool:
        return pool.submit(asyncio.run, coro).result()


def _flag(value: str | None) -> bool | None:
    if value is None:
        return None
    return value.strip().lower() in ("1", "true", "yes", "on")


@dataclass(frozen=True, slots=True)
class SmtpTransport:
    hostname: str
    port: int
    use_tls: bool = False
    # None: upgrade with STARTTLS when the server offers it (aiosmtplib's default); True: require it.
    start_tls: bool | None = None
    username: str | None = None
    password: str | None = None
    timeout: float = DEFAULT_TIMEOUT

    @classmethod
    def from_url(cls, url: str) -> SmtpTransport:
        """smtp://user:pass@host:587?starttls=true, smtps://user:pass@host:465 (implicit TLS)."""
        parts = urlsplit(url)
        if parts.scheme not in ("smtp", "smtps") or not parts.hostname:
            raise ValueError("SUPPORTGATE_SMTP_URL must look like smtp://user:pass@host:587?starttls=true or smtps://host:465")
        query = {k: v[-1] for k, v in parse_qs(parts.query).items()}
        implicit_tls = parts.scheme == "smtps"
        start_tls = False if implicit_tls else _flag(query.get("starttls"))
        port = parts.port or (465 if implicit_tls else 587 if start_tls else 25)
        return cls(
            hostname=parts.hostname, port=port, use_tls=implicit_tls, start_tls=start_tls,
            username=unquote(parts.username) if parts.username else None,
            password=unquote(parts.password) if parts.password else None,
            timeout=float(query.get("timeout", DEFAULT_TIMEOUT)),
        )

    async def send_async(self, message: EmailMessage) -> None:
        try:
            await aiosmtplib.send(
                message, hostname=self.hostname, port=self.port, use_tls=self.use_tls, start_tls=self.start_tls,
                username=self.username, password=self.password, timeout=self.timeout,
            )
        except aiosmtplib.SMTPRecipientsRefused as exc:
            codes = [r.code for r in exc.recipients]
            detail = "; ".join(f"{r.code} {r.message}" for r in exc.recipients)
            if codes and all(500 <= c < 600 for c in codes):
                raise PermanentMailError(detail) from None
            raise TemporaryMailError(detail) from None
        except aiosmtplib.SMTPAuthenticationError as exc:
            # Our own credentials, not the recipient: keep the mail and retry once the setting is fixed.
            raise TemporaryMailError(f"SMTP login refused: {exc.code} {exc.message}") from None
        except aiosmtplib.SMTPResponseException as exc:
            if 500 <= exc.code < 600:
                raise PermanentMailError(f"{exc.code} {exc.message}") from None
            raise TemporaryMailError(f"{exc.code} {exc.message}") from None
        except (aiosmtplib.SMTPException, OSError, TimeoutError) as exc:
            raise TemporaryMailError(f"{type(exc).__name__}: {exc}") from None

    def send(self, message: EmailMessage) -> None:
        _run(self.send_async(message))


@dataclass(frozen=True, slots=True)
class MailDirTransport:
    """Each message as an .eml file, so a newcomer can open the mail and its links without a server."""

    directory: Path

    def send(self, message: EmailMessage) -> None:
        try:
            self.directory.mkdir(parents=True, exist_ok=True)
            stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%S%fZ")
            name = _UNSAFE.sub("_", str(message.get("Message-ID", "")).strip("<>"))[:120] or "message"
            # Written aside, then renamed: a reader of the folder never sees half a message.
            fd, temporary = tempfile.mkstemp(dir=self.directory, prefix=".tmp-", suffix=".eml")
            with os.fdopen(fd, "wb") as handle:
                handle.write(message.as_bytes())
            os.replace(temporary, self.directory / f"{stamp}-{name}.eml")
        except OSError as exc:
            raise TemporaryMailError(f"cannot write to {self.directory}: {exc}") from None


def build_transport(settings: Settings) -> SmtpTransport | MailDirTransport:
    if settings.smtp_url is not None and settings.smtp_url.get_secret_value().strip():
        return SmtpTransport.from_url(settings.smtp_url.get_secret_value().strip())
    return MailDirTransport(Path(settings.mail_dir))
