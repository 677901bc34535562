"""A real SMTP server in the test process (aiosmtpd), answering DATA with a scripted list of replies."""

from __future__ import annotations

import asyncio
import socket
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from email import message_from_bytes, policy
from email.message import EmailMessage
from typing import Any

from aiosmtpd.controller import Controller
from aiosmtpd.smtp import AuthResult, LoginPassword


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


@dataclass
class ScriptedHandler:
    """Replies to DATA from `script` in turn (then 250 OK); keeps what it accepted."""

    script: list[str] = field(default_factory=list)
    received: list[EmailMessage] = field(default_factory=list)
    attempts: int = 0
    delay: float = 0.0  # seconds before each answer to DATA (a slow server)

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        self.attempts += 1
        if self.delay:
            await asyncio.sleep(self.delay)
        reply = self.script.pop(0) if self.script else "250 OK"
        if reply.startswith("250"):
            parsed = message_from_bytes(envelope.original_content or envelope.content, policy=policy.default)
            assert isinstance(parsed, EmailMessage)
            self.received.append(parsed)
        return reply


@contextmanager
def smtp_server(handler: ScriptedHandler, *, login: tuple[str, str] | None = None) -> Iterator[str]:
    """Runs the server on a free port; yields its SMTP URL."""
    port = free_port()
    options: dict[str, Any] = {}
    if login is not None:
        def authenticate(server: Any, session: Any, envelope: Any, mechanism: str, auth_data: Any) -> AuthResult:
            good = isinstance(auth_data, LoginPassword) and (auth_data.login.decode(), auth_data.password.decode()) == login
            return AuthResult(success=good, handled=False)

        options = {"authenticator": authenticate, "auth_required": True, "auth_require_tls": False}
    controller = Controller(handler, hostname="127.0.0.1", port=port, **options)
    controller.start()
    try:
        credentials = f"{login[0]}:{login[1]}@" if login else ""
        yield f"smtp://{credentials}127.0.0.1:{port}"
    finally:
        controller.stop()
