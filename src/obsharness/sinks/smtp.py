"""A real SMTP server (aiosmtpd) on 127.0.0.1 that captures Alertmanager's emails."""

from __future__ import annotations

import time
from dataclasses import dataclass
from email import message_from_bytes, policy
from email.message import EmailMessage
from typing import Any

from aiosmtpd.controller import Controller

from obsharness.errors import ComponentUnavailableError
from obsharness.ports import LOOPBACK, free_port
from obsharness.report import evidence
from obsharness.sinks.base import RecordingSink
from obsharness.waiting import eventually, holds_for


@dataclass(frozen=True)
class Mail:
    received_at: float
    mail_from: str
    recipients: tuple[str, ...]
    message: EmailMessage

    @property
    def subject(self) -> str:
        return str(self.message.get("Subject", ""))

    @property
    def text(self) -> str:
        part = self.message.get_body(preferencelist=("plain", "html"))
        return part.get_content() if part is not None else ""

    def summary(self) -> str:
        return f"to {', '.join(self.recipients)}: {self.subject!r}"


class _Handler:
    def __init__(self, sink: SmtpSink) -> None:
        self.sink = sink

    async def handle_DATA(  # noqa: N802 - aiosmtpd's hook name
        self, server: Any, session: Any, envelope: Any  # noqa: ARG002 - its signature
    ) -> str:
        raw = envelope.original_content or envelope.content
        message = message_from_bytes(raw, policy=policy.default)
        assert isinstance(message, EmailMessage)
        self.sink._record(
            Mail(time.time(), str(envelope.mail_from), tuple(envelope.rcpt_tos), message)
        )
        return "250 Message accepted for delivery"


class SmtpSink(RecordingSink[Mail]):
    """Session-scoped mail relay with a cheap per-scenario clear()."""

    def __init__(self, *, port: int = 0, host: str = LOOPBACK, reachable: bool = True) -> None:
        """reachable=False: the stack's Alertmanager cannot hand mail to this relay (a
        deployed stack); waiting for an email then skips with that reason."""
        super().__init__()
        self.host = host
        self.reachable = reachable
        self.port = port or free_port()
        self._controller = Controller(_Handler(self), hostname=host, port=self.port)

    @property
    def address(self) -> str:
        return f"{self.host}:{self.port}"

    def start(self) -> SmtpSink:
        self._controller.start()
        return self

    def stop(self) -> None:
        self._controller.stop()

    def matching(self, *, to: str | None = None, subject_contains: tuple[str, ...] = (),
                 since: float = 0.0) -> list[Mail]:
        return [
            m for m in self.received()
            if m.received_at >= since
            and (to is None or to in m.recipients)
            and all(part in m.subject for part in subject_contains)
        ]

    def _require_reachable(self) -> None:
        if not self.reachable:
            raise ComponentUnavailableError(
                component="mail-relay", reason="the deployed Alertmanager cannot reach this "
                "machine's SMTP sink", how_to_get="set receivers_reachable: true in the external "
                "config and point the deployment's smarthost at this machine, or run on the "
                "process or docker backend")

    def wait_for(self, *, to: str, subject_contains: tuple[str, ...], since: float,
                 timeout: float) -> Mail:
        self._require_reachable()
        def describe() -> str:
            seen = [m.summary() for m in self.received()] or ["no mail at all"]
            return (f"an email to {to} whose subject contains {list(subject_contains)} "
                    f"(received so far: {'; '.join(seen[-8:])})")

        outcome = eventually(
            lambda: self.matching(to=to, subject_contains=subject_contains, since=since),
            bool, what=describe, timeout=timeout, interval=0.05,
        )
        mail: Mail = outcome.value[0]
        evidence.record("email", f"to {to}: {mail.subject}",
                        {"received_at": mail.received_at, "from": mail.mail_from,
                         "to": list(mail.recipients), "subject": mail.subject, "text": mail.text})
        return mail

    def assert_none_for(self, *, subject_contains: tuple[str, ...], since: float,
                        duration: float) -> None:
        self._require_reachable()  # an unreachable relay would prove silence for free
        holds_for(
            lambda: self.matching(subject_contains=subject_contains, since=since),
            lambda found: not found,
            what=f"absence of an email whose subject contains {list(subject_contains)}",
            duration=duration,
        )
