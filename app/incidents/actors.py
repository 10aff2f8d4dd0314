"""Who a bare name stands for, when all we have is the name (an imported spreadsheet's log).

The same reading migration 0010 gave the names stored before actors had ids, with people added:
``system`` is the system; the name of exactly one API key or person (display name) of the
tenant is that key or person; any other name is kept as written, as an API key we cannot tell
(type ``api_key``, id null): it came in through the key that imported it.
"""

from __future__ import annotations

import uuid

from sqlmodel import Session, select

from app.core.actors import SYSTEM_NAME, Actor
from app.core.models import ApiKey
from app.people.models import User


def actor_named(session: Session, *, tenant_id: uuid.UUID, name: str) -> Actor:
    if name == SYSTEM_NAME:
        return Actor.system()
    keys = session.exec(
        select(ApiKey.id).where(ApiKey.tenant_id == tenant_id, ApiKey.name == name).limit(2)
    ).all()
    people = session.exec(
        select(User).where(User.tenant_id == tenant_id, User.display_name == name).limit(2)
    ).all()
    if len(keys) + len(people) == 1:
        return Actor("api_key", keys[0], name) if keys else Actor.user(people[0])
    return Actor("api_key", None, name)
