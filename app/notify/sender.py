"""Who customer e-mail is from: ``RT_SMTP_FROM``, or what the tenant set for itself.

Each of the tenant's three settings overrides on its own: the sender name replaces the name of
``RT_SMTP_FROM``, the From address its address, and a Reply-To sends the customer's answers to
the seller's helpdesk. A tenant's own From must be an address the SMTP server may send for
(SPF, DKIM); otherwise set only the name and Reply-To. The envelope sender (where bounces go)
stays the ``RT_SMTP_FROM`` address.
"""

from __future__ import annotations

import uuid
from datetime import datetime
from email.utils import parseaddr

from pydantic import BaseModel, EmailStr, Field
from sqlalchemy.exc import IntegrityError
from sqlmodel import Session, col, select

from app.core.schemas import InputModel
from app.core.settings import Settings
from app.notify.email import SenderIdentity
from app.notify.models import SenderSettings

NO_CONTROL_CHARACTERS = r"^[^\x00-\x1f\x7f]*$"  # a name with a line break would forge headers


class SenderSettingsUpdate(InputModel):
    """The tenant's sender; a null field uses the service's default (``RT_SMTP_FROM``)."""

    sender_name: str | None = Field(
        default=None, min_length=1, max_length=200, pattern=NO_CONTROL_CHARACTERS
    )
    from_address: EmailStr | None = Field(default=None, max_length=320)
    reply_to: EmailStr | None = Field(default=None, max_length=320)


class SenderSettingsRead(BaseModel):
    sender_name: str | None = Field(description="The tenant's own; null: the default's name.")
    from_address: str | None = Field(description="The tenant's own; null: the default address.")
    reply_to: str | None = Field(description="Where customers' answers go; null: to From.")
    effective_from: str = Field(description="The From header customers see.")
    effective_reply_to: str | None
    sending: bool = Field(description="False: RT_SMTP_HOST is not set, so nothing is sent.")
    updated_at: datetime | None


def default_identity(settings: Settings) -> SenderIdentity:
    name, address = parseaddr(settings.smtp_from)
    return SenderIdentity(name=name or None, address=address or settings.smtp_from)


def envelope_sender(settings: Settings) -> str:
    """MAIL FROM: the service's own address, whoever the header says the mail is from."""
    return default_identity(settings).address


def identity(own: SenderSettings | None, settings: Settings) -> SenderIdentity:
    base = default_identity(settings)
    if own is None:
        return base
    return SenderIdentity(
        name=own.sender_name or base.name,
        address=own.from_address or base.address,
        reply_to=own.reply_to,
    )


def identities(
    session: Session, tenant_ids: set[uuid.UUID], settings: Settings
) -> dict[uuid.UUID, SenderIdentity]:
    """Each tenant's sender, in one query."""
    own = {
        row.tenant_id: row
        for row in session.exec(
            select(SenderSettings).where(col(SenderSettings.tenant_id).in_(tenant_ids))
        )
    }
    return {tenant_id: identity(own.get(tenant_id), settings) for tenant_id in tenant_ids}


def sender_view(own: SenderSettings | None, settings: Settings) -> SenderSettingsRead:
    effective = identity(own, settings)
    return SenderSettingsRead(
        sender_name=own.sender_name if own else None,
        from_address=own.from_address if own else None,
        reply_to=own.reply_to if own else None,
        effective_from=effective.from_header,
        effective_reply_to=effective.reply_to,
        sending=bool(settings.smtp_host),
        updated_at=own.updated_at if own else None,
    )


def get_sender(session: Session, tenant_id: uuid.UUID) -> SenderSettings | None:
    return session.get(SenderSettings, tenant_id)


def _row_for_update(session: Session, tenant_id: uuid.UUID, now: datetime) -> SenderSettings:
    """The tenant's row, locked; created first if it has none (two first PUTs at once: the
    loser's insert fails in its savepoint and it takes the winner's row)."""
    own = session.get(SenderSettings, tenant_id, with_for_update=True)
    if own is not None:
        return own
    try:
        with session.begin_nested():
            own = SenderSettings(tenant_id=tenant_id, updated_at=now)
            session.add(own)
            session.flush()
        return own
    except IntegrityError:
        won = session.get(SenderSettings, tenant_id, with_for_update=True, populate_existing=True)
        assert won is not None
        return won


def replace_sender(
    session: Session, *, tenant_id: uuid.UUID, body: SenderSettingsUpdate, now: datetime
) -> SenderSettings:
    """Set all three at once (a null clears one back to the default)."""
    own = _row_for_update(session, tenant_id, now)
    own.sender_name = body.sender_name
    own.from_address = str(body.from_address) if body.from_address else None
    own.reply_to = str(body.reply_to) if body.reply_to else None
    own.updated_at = now
    session.add(own)
    session.flush()
    return own
