"""Fixtures of the e-mail tests: a real SMTP server on 127.0.0.1 (``tests.mail_server``)."""

from __future__ import annotations

from tests.mail_server import smtp_server

__all__ = ["smtp_server"]
