"""Opaque, signed keyset page tokens bound to the filters they were made with."""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import uuid
from datetime import datetime
from typing import Any

from app.core.errors import BadRequest


def filters_digest(filters: dict[str, Any]) -> str:
    material = json.dumps(filters, sort_keys=True, default=str)
    return hashlib.sha256(material.encode()).hexdigest()[:16]


def encode_token(
    secret: bytes, *, position: tuple[datetime, uuid.UUID], filters: dict[str, Any]
) -> str:
    body = json.dumps(
        {"t": position[0].isoformat(), "i": str(position[1]), "f": filters_digest(filters)},
        separators=(",", ":"),
    ).encode()
    signature = hmac.new(secret, body, hashlib.sha256).digest()[:16]
    return base64.urlsafe_b64encode(body + signature).decode().rstrip("=")


def decode_token(
    secret: bytes, token: str, *, filters: dict[str, Any]
) -> tuple[datetime, uuid.UUID]:
    """The keyset position in ``token``; 400 if it was tampered with or made for other filters."""
    try:
        raw = base64.urlsafe_b64decode(token + "=" * (-len(token) % 4))
        body, signature = raw[:-16], raw[-16:]
        expected = hmac.new(secret, body, hashlib.sha256).digest()[:16]
        if not hmac.compare_digest(signature, expected):
            raise ValueError("bad signature")
        data = json.loads(body)
        if data["f"] != filters_digest(filters):
            raise BadRequest(
                "page_token was made for other filters; repeat the query without it",
                errors=[{"field": "page_token", "message": "filters changed"}],
            )
        return datetime.fromisoformat(data["t"]), uuid.UUID(data["i"])
    except BadRequest:
        raise
    except (ValueError, KeyError, TypeError, json.JSONDecodeError) as exc:
        raise BadRequest(
            "page_token is not valid", errors=[{"field": "page_token", "message": str(exc)}]
        ) from None
