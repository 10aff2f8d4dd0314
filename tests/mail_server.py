"""A real SMTP server (aiosmtpd) on 127.0.0.1, in its own thread, that can refuse on purpose.

Every message it takes is kept as a parsed ``EmailMessage`` with its envelope. Recipients are
answered by ``rules``: the first rule whose key is part of the address gives the reply
(default: 550 for an address containing ``refuse``, 450 for ``busy``). ``stop()`` takes the
server down (connections are refused) and ``start()`` brings it back on the same port.
``MailServer(tls=True, users={...})`` offers STARTTLS with a throw-away certificate for
127.0.0.1 (``client_tls_context()`` trusts it) and requires AUTH.

Use the ``smtp_server`` fixture (import it into a conftest), or the class as a context manager.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import email
import email.policy
import ipaddress
import socket
import ssl
import tempfile
import threading
import time
import warnings
from collections.abc import Iterator
from dataclasses import dataclass
from email.message import EmailMessage
from pathlib import Path
from types import TracebackType
from typing import Any, Self

import pytest
from aiosmtpd.controller import Controller
from aiosmtpd.smtp import SMTP, AuthResult, Envelope, LoginPassword, Session
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID

# aiosmtpd sets its own deprecated Session.login_data on every AUTH: not ours to fix
warnings.filterwarnings("ignore", "Session.login_data is deprecated", DeprecationWarning)

DEFAULT_RULES = {
    "refuse": "550 5.1.1 <{rcpt}>: Recipient address rejected: User unknown",
    "busy": "450 4.2.1 <{rcpt}>: Mailbox busy, try again later",
}


@dataclass(frozen=True, slots=True)
class Received:
    """One message the server took: envelope, parsed message, and the client's address."""

    mail_from: str
    rcpt_tos: tuple[str, ...]
    message: EmailMessage
    peer: tuple[str, int]  # the client's (host, port): one port = one reused connection
    queue_id: str
    authenticated_as: str | None

    def __getitem__(self, header: str) -> Any:
        return self.message[header]


def _peer(peer: object) -> tuple[str, int]:
    """(host, port) of the client, as aiosmtpd's session holds it."""
    assert isinstance(peer, tuple)
    return str(peer[0]), int(peer[1])


def body_of(mail: EmailMessage, subtype: str) -> str:
    """The text of the ``text/<subtype>`` part a mail client would show."""
    part = mail.get_body((subtype,))
    assert part is not None, f"no text/{subtype} part"
    content: str = part.get_content()
    return content


class _Handler:
    def __init__(self, server: MailServer) -> None:
        self.server = server

    async def handle_RCPT(
        self, smtp: SMTP, session: Session, envelope: Envelope, address: str, options: list[str]
    ) -> str:
        for key, reply in self.server.rules.items():
            if key in address:
                return reply.format(rcpt=address)
        envelope.rcpt_tos.append(address)
        return "250 2.1.5 Ok"

    async def handle_DATA(self, smtp: SMTP, session: Session, envelope: Envelope) -> str:
        if self.server.data_delay:
            await asyncio.sleep(self.server.data_delay)
        content = envelope.content
        raw = content if isinstance(content, bytes) else str(content).encode()
        parsed = email.message_from_bytes(raw, policy=email.policy.default)
        assert isinstance(parsed, EmailMessage)
        with self.server.lock:
            self.server.counter += 1
            queue_id = f"Q{self.server.counter:05d}"
            self.server.received.append(
                Received(
                    mail_from=str(envelope.mail_from),
                    rcpt_tos=tuple(envelope.rcpt_tos),
                    message=parsed,
                    peer=_peer(session.peer),
                    queue_id=queue_id,
                    authenticated_as=_login(session),
                )
            )
        return f"250 2.0.0 Ok: queued as {queue_id}"


def _login(session: Session) -> str | None:
    data = session.auth_data
    if isinstance(data, LoginPassword):
        return data.login.decode()
    return None


def _self_signed(directory: Path) -> tuple[Path, Path, bytes]:
    """A certificate for 127.0.0.1 valid for a day: (cert file, key file, cert PEM)."""
    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "127.0.0.1")])
    now = dt.datetime.now(dt.UTC)
    cert = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - dt.timedelta(minutes=5))
        .not_valid_after(now + dt.timedelta(days=1))
        .add_extension(
            x509.SubjectAlternativeName([x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]),
            critical=False,
        )
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .sign(key, hashes.SHA256())
    )
    pem = cert.public_bytes(serialization.Encoding.PEM)
    cert_file, key_file = directory / "cert.pem", directory / "key.pem"
    cert_file.write_bytes(pem)
    key_file.write_bytes(
        key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
    )
    return cert_file, key_file, pem


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
        return port


class MailServer:
    def __init__(self, *, tls: bool = False, users: dict[str, str] | None = None) -> None:
        self.host = "127.0.0.1"
        self.port = free_port()
        self.rules: dict[str, str] = dict(DEFAULT_RULES)
        self.data_delay = 0.0  # seconds to wait before answering DATA (to outlast a timeout)
        self.received: list[Received] = []
        self.lock = threading.Lock()
        self.counter = 0
        self.users = users
        self._tls_dir = tempfile.TemporaryDirectory(prefix="rt-smtp-") if tls else None
        self._cert_pem = b""
        self._tls_context: ssl.SSLContext | None = None
        if self._tls_dir is not None:
            cert, key, self._cert_pem = _self_signed(Path(self._tls_dir.name))
            self._tls_context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
            self._tls_context.load_cert_chain(cert, key)
        self._controller: Controller | None = None

    def client_tls_context(self) -> ssl.SSLContext:
        """A client context that trusts this server's certificate (and nothing else)."""
        return ssl.create_default_context(cadata=self._cert_pem.decode())

    def _authenticate(
        self, server: SMTP, session: Session, envelope: Envelope, mechanism: str, data: Any
    ) -> AuthResult:
        if isinstance(data, LoginPassword) and self.users is not None:
            login, password = data.login.decode(), data.password.decode()
            if self.users.get(login) == password:
                return AuthResult(success=True, auth_data=data)
        return AuthResult(success=False, handled=False)

    def start(self) -> None:
        kwargs: dict[str, Any] = {}
        if self._tls_context is not None:
            kwargs.update(tls_context=self._tls_context, require_starttls=True)
        if self.users is not None:
            kwargs.update(authenticator=self._authenticate, auth_required=True)
        controller = Controller(
            _Handler(self), hostname=self.host, port=self.port, ready_timeout=10, **kwargs
        )
        controller.start()
        self._controller = controller

    def stop(self) -> None:
        """Take the server down: new connections are refused until ``start()``."""
        if self._controller is not None:
            self._controller.stop()
            self._controller = None

    @property
    def running(self) -> bool:
        return self._controller is not None

    def messages(self) -> list[EmailMessage]:
        with self.lock:
            return [r.message for r in self.received]

    def to(self, address: str) -> list[Received]:
        """What arrived for ``address``, oldest first."""
        with self.lock:
            return [r for r in self.received if address in r.rcpt_tos]

    def wait_for(self, count: int, timeout: float = 5.0) -> list[Received]:
        deadline = time.monotonic() + timeout
        while len(self.received) < count:
            assert time.monotonic() < deadline, f"{len(self.received)} of {count} messages"
            time.sleep(0.01)
        with self.lock:
            return list(self.received)

    def __enter__(self) -> Self:
        self.start()
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.stop()
        if self._tls_dir is not None:
            self._tls_dir.cleanup()


@pytest.fixture
def smtp_server() -> Iterator[MailServer]:
    """A plain SMTP server on 127.0.0.1 (no TLS, no AUTH), empty for each test."""
    with MailServer() as server:
        yield server
