"""Outgoing mail behind one small interface, chosen by the MAIL_BACKEND setting.

"console" (the default) writes each message to the log, which is enough for development and for a
small site whose operator reads the log; "memory" keeps messages in a list that tests read.
A real SMTP backend would be one more class with the same `send`.
"""
from __future__ import annotations

import logging
from dataclasses import dataclass
from typing import Any, Protocol

logger = logging.getLogger("zhongcao.mail")
DEFAULT_SENDER = "种草 Zhongcao <no-reply@zhongcao.invalid>"
_EXTENSION_KEY = "zhongcao.mail"


@dataclass(frozen=True)
class Message:
    to: str
    subject: str
    body: str
    sender: str = DEFAULT_SENDER


class MailBackend(Protocol):
    def send(self, message: Message) -> None: ...


class ConsoleBackend:
    """Writes every message to the `zhongcao.mail` logger."""

    def send(self, message: Message) -> None:
        logger.warning("mail to %s from %s: %s\n%s", message.to, message.sender, message.subject, message.body)


class MemoryBackend:
    """Keeps every message in `outbox`, for tests."""

    def __init__(self) -> None:
        self.outbox: list[Message] = []

    def send(self, message: Message) -> None:
        self.outbox.append(message)


BACKENDS: dict[str, type] = {"console": ConsoleBackend, "memory": MemoryBackend}


def backend_for(app: Any) -> MailBackend:
    """The app's backend named by MAIL_BACKEND, created once per app and name. Raises ValueError for an unknown name."""
    name = str(app.config.get("MAIL_BACKEND") or "console").lower()
    if name not in BACKENDS:
        raise ValueError(f"MAIL_BACKEND must be one of {sorted(BACKENDS)}, not {name!r}")
    backends = app.extensions.setdefault(_EXTENSION_KEY, {})
    if name not in backends:
        backends[name] = BACKENDS[name]()
    return backends[name]


def send_mail(app: Any, *, to: str, subject: str, body: str) -> Message:
    """Send one plain-text message through the app's backend and return it."""
    message = Message(to=to, subject=subject, body=body, sender=app.config.get("MAIL_SENDER") or DEFAULT_SENDER)
    backend_for(app).send(message)
    return message


def outbox(app: Any) -> list[Message]:
    """The messages the memory backend holds (switching the app to it if needed): for tests."""
    app.config["MAIL_BACKEND"] = "memory"
    return backend_for(app).outbox
