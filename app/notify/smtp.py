"""Handing e-mail to the SMTP server, and what its answer means for the message.

A ``Mailer`` keeps one connection open and sends message after message on it (STARTTLS when
``RT_SMTP_STARTTLS``, AUTH when ``RT_SMTP_USERNAME`` is set); a connection that broke is
opened again for the next message. Every answer is data, never an exception:

    Outcome("sent", <the server's reply, e.g. "2.0.0 Ok: queued as 4Vx1">)
    Outcome("failed", <reason>)  a 5xx for this message (unknown recipient, refused content):
                                 sending it again cannot help
    Outcome("retry", <reason>)   a 4xx, the server down or gone mid-conversation, no answer
                                 within RT_SMTP_TIMEOUT_SECONDS, the login refused: try later

A message whose conversation broke after its data went out may have been taken anyway; it is
sent again (at least once; its Message-ID is the same, so mail clients show one).
"""

from __future__ import annotations

import ssl
from dataclasses import dataclass
from types import TracebackType
from typing import Literal, Self

import aiosmtplib
import anyio

from app.core.settings import Settings

Result = Literal["sent", "failed", "retry", "not_sent"]
MAX_DETAIL = 200  # the queue id column holds 200, the reason 500: keep both readable


@dataclass(frozen=True, slots=True)
class Outcome:
    result: Result
    detail: str  # the server's reply when sent, else the reason

    @classmethod
    def of(cls, result: Result, detail: str) -> Outcome:
        text = " ".join(detail.split())
        return cls(result, text if len(text) <= MAX_DETAIL else text[: MAX_DETAIL - 1] + "…")


def by_code(code: int, message: str, what: str) -> Outcome:
    """A 5xx is permanent, anything else (4xx, odd codes) worth another try."""
    result: Result = "failed" if 500 <= code < 600 else "retry"
    return Outcome.of(result, f"{what}: {code} {message}")


class Mailer:
    """One SMTP connection, opened on first use and reused for every message after it."""

    def __init__(self, settings: Settings, *, tls_context: ssl.SSLContext | None = None) -> None:
        if not settings.smtp_host:
            raise ValueError("RT_SMTP_HOST is not set")
        password = settings.smtp_password
        self.timeout = settings.smtp_timeout_seconds
        self._options = {
            "hostname": settings.smtp_host,
            "port": settings.smtp_port,
            "username": settings.smtp_username,
            "password": password.get_secret_value() if password is not None else None,
            "start_tls": settings.smtp_starttls,
            "tls_context": tls_context,
            "timeout": settings.smtp_timeout_seconds,
            "local_hostname": "localhost",  # never a DNS lookup of our own name per connection
        }
        self._client: aiosmtplib.SMTP | None = None
        self.connections = 0  # how many times this mailer connected (tests check the reuse)

    async def _connected(self) -> tuple[aiosmtplib.SMTP, bool]:
        """The open connection (and True), or a new one (and False)."""
        if self._client is not None and self._client.is_connected:
            return self._client, True
        self._drop()
        client = aiosmtplib.SMTP(**self._options)  # type: ignore[arg-type]
        await client.connect()
        self._client = client
        self.connections += 1
        return client, False

    def _drop(self) -> None:
        if self._client is not None:
            self._client.close()
            self._client = None

    async def _hand_over(self, mail: bytes, sender: str, recipient: str) -> str:
        client, reused = await self._connected()
        try:
            _, reply = await client.sendmail(sender, [recipient], mail)
        except aiosmtplib.SMTPServerDisconnected:
            if not reused:
                raise
            # the server closed the idle connection we kept: one try on a fresh one
            self._drop()
            client, _ = await self._connected()
            _, reply = await client.sendmail(sender, [recipient], mail)
        return reply

    async def send(self, mail: bytes, *, sender: str, recipient: str) -> Outcome:
        """Hand ``mail`` to the server for ``recipient`` (envelope from ``sender``)."""
        try:
            with anyio.fail_after(self.timeout):
                reply = await self._hand_over(mail, sender, recipient)
        except aiosmtplib.SMTPRecipientsRefused as exc:
            refused = exc.recipients[0]
            return by_code(refused.code, refused.message, "recipient refused")
        except aiosmtplib.SMTPAuthenticationError as exc:
            self._drop()
            return Outcome.of("retry", f"SMTP login refused: {exc.code} {exc.message}")
        except aiosmtplib.SMTPResponseException as exc:  # MAIL FROM, DATA, 421 closing, ...
            if exc.code == 421 or not 400 <= exc.code < 600:
                self._drop()
            what = "sender refused" if isinstance(exc, aiosmtplib.SMTPSenderRefused) else "refused"
            return by_code(exc.code, exc.message, what)
        except TimeoutError:  # ours (fail_after) or the client's own
            self._drop()
            return Outcome.of("retry", f"the SMTP server did not answer within {self.timeout} s")
        except (aiosmtplib.SMTPException, OSError) as exc:  # refused, reset, TLS, ...
            self._drop()
            return Outcome.of("retry", f"{type(exc).__name__}: {exc}")
        return Outcome.of("sent", reply)

    async def aclose(self) -> None:
        """Say QUIT if the connection still stands; never raise."""
        client, self._client = self._client, None
        if client is None or not client.is_connected:
            return
        try:
            with anyio.move_on_after(min(self.timeout, 5)):
                await client.quit()
        except (aiosmtplib.SMTPException, OSError):
            pass
        if client.is_connected:
            client.close()

    async def __aenter__(self) -> Self:
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        await self.aclose()
