"""Tenants and their API keys. A key is shown once; only its SHA-256 is stored."""

from __future__ import annotations

import hashlib
import secrets
import string
import uuid
from dataclasses import dataclass
from datetime import datetime
from typing import Literal

from sqlalchemy import bindparam
from sqlalchemy.exc import IntegrityError
from sqlmodel import Session, col, select

from app.core.errors import NotFound, ValidationFailed
from app.core.models import ApiKey, Tenant
from app.db.types import utcnow

SCOPES: tuple[str, ...] = (
    "read",
    "parcels:write",
    "incidents:write",
    "incidents:approve",
    "webhooks:manage",
    "admin",
)
KEY_PREFIX = "rt_"
_ALPHABET = string.ascii_letters + string.digits


@dataclass(frozen=True, slots=True)
class Principal:
    """Who is calling: resolved from the bearer key on every request."""

    tenant_id: uuid.UUID
    tenant_slug: str
    api_key_id: uuid.UUID
    key_name: str
    key_hash: str
    scopes: frozenset[str]

    def has(self, scope: str) -> bool:
        return scope in self.scopes or "admin" in self.scopes


@dataclass(frozen=True, slots=True)
class IssuedKey:
    key: ApiKey
    secret: str  # shown once, never stored


def hash_key(secret: str) -> str:
    return hashlib.sha256(secret.encode()).hexdigest()


def generate_secret() -> str:
    """``rt_`` + 43 base62 characters (256 bits): double-click selects it whole."""
    return KEY_PREFIX + "".join(secrets.choice(_ALPHABET) for _ in range(43))


def parse_scopes(raw: str | list[str]) -> frozenset[str]:
    names = raw.replace(",", " ").split() if isinstance(raw, str) else raw
    unknown = sorted(set(names) - set(SCOPES))
    if unknown or not names:
        raise ValidationFailed(
            "scopes", f"unknown or empty scopes {unknown}; choose from {list(SCOPES)}"
        )
    return frozenset(names)


def ensure_tenant(session: Session, *, slug: str, name: str | None = None) -> Tenant:
    tenant = session.exec(select(Tenant).where(Tenant.slug == slug)).first()
    if tenant is None:
        tenant = Tenant(slug=slug, name=name or slug)
        session.add(tenant)
        session.flush()
    return tenant


def issue_key(
    session: Session,
    *,
    tenant: Tenant,
    name: str,
    scopes: frozenset[str],
    secret: str | None = None,
) -> IssuedKey:
    """Create a key; ``secret`` is only passed for the bootstrap key an operator chose."""
    secret = secret or generate_secret()
    key = ApiKey(
        tenant_id=tenant.id,
        name=name,
        prefix=secret[:10],
        last4=secret[-4:],
        key_hash=hash_key(secret),
        scopes=" ".join(sorted(scopes)),
    )
    session.add(key)
    session.flush()
    return IssuedKey(key=key, secret=secret)


def ensure_bootstrap_key(session: Session, secret: str) -> Literal["active", "revoked"]:
    """Make ``secret`` a key with every scope for tenant ``default`` (idempotent).

    A bootstrap key someone revoked stays revoked: the setting only creates the key, it never
    brings one back (a leaked key revoked at 3 a.m. must not return with the next deploy).
    Replicas starting together on a new database all run this: the one that loses the race
    for the tenant or key row finds them on its second pass instead of failing to start.
    """
    try:
        with session.begin_nested():
            return _ensure_bootstrap_key(session, secret)
    except IntegrityError:
        return _ensure_bootstrap_key(session, secret)


def _ensure_bootstrap_key(session: Session, secret: str) -> Literal["active", "revoked"]:
    existing = session.exec(select(ApiKey).where(ApiKey.key_hash == hash_key(secret))).first()
    if existing is not None:
        if existing.revoked_at is not None:
            return "revoked"
        existing.scopes = " ".join(SCOPES)
        return "active"
    tenant = ensure_tenant(session, slug="default", name="Default tenant")
    issue_key(session, tenant=tenant, name="bootstrap", scopes=frozenset(SCOPES), secret=secret)
    return "active"


# built once: every request runs it, and building a statement costs as much as running it
_ACTIVE_KEY = (
    select(ApiKey, Tenant)
    .join(Tenant, col(Tenant.id) == col(ApiKey.tenant_id))
    .where(col(ApiKey.key_hash) == bindparam("key_hash"), col(ApiKey.revoked_at).is_(None))
)


def authenticate(session: Session, secret: str) -> Principal | None:
    key_hash = hash_key(secret)
    row = session.exec(_ACTIVE_KEY, params={"key_hash": key_hash}).first()
    if row is None:
        return None
    key, tenant = row
    return Principal(
        tenant_id=tenant.id,
        tenant_slug=tenant.slug,
        api_key_id=key.id,
        key_name=key.name,
        key_hash=key_hash,
        scopes=frozenset(key.scopes.split()),
    )


def revoke_key(session: Session, *, key_id: uuid.UUID, now: datetime | None = None) -> ApiKey:
    key = session.get(ApiKey, key_id)
    if key is None:
        raise NotFound(f"API key {key_id} does not exist")
    key.revoked_at = key.revoked_at or now or utcnow()
    return key


def list_keys(session: Session, *, tenant: Tenant) -> list[ApiKey]:
    return list(session.exec(select(ApiKey).where(ApiKey.tenant_id == tenant.id)))
