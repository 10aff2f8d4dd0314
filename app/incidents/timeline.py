"""The incident timeline: append-only entries, each holding the hash of the one before.

``hash = sha256(canonical JSON of the entry's fields + prev_hash)``. Editing, deleting or
reordering any stored entry breaks the chain at that point, and ``verify`` says where. The
first entry's ``prev_hash`` is ``GENESIS`` so that an entry cannot be moved to another incident.

What "the entry's fields" are depends on the entry's ``hash_version``:

- 1, entries written before migration 0010: the actor was a name, and only the name is
  hashed (``"actor": "agent-anna"``). Their ``actor_type`` and ``actor_id`` were filled in
  afterwards by the migration, from the name; the hash does not cover them.
- 2, every entry since: the whole actor is hashed (``"actor": {"type", "id", "name"}``), so
  changing who did it breaks the chain like changing what was done.

A version-1 hash can never match a version-2 entry (the actor is a string in one, an object in
the other), so changing ``hash_version`` is caught too.
"""

from __future__ import annotations

import hashlib
import json
import uuid
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from sqlmodel import Session, col, select

from app.core.actors import Actor
from app.core.schemas import json_default
from app.incidents.models import TimelineEntry

SYSTEM = Actor.system()
"""The actor of entries the service writes by itself (scheduler jobs, automatic incidents)."""
HASH_VERSION = 2
HASH_VERSIONS = frozenset({1, HASH_VERSION})

GENESIS = "0" * 64


def canonical_json(data: Any) -> str:
    """The stored (and hashed) text of an entry's data; times in the API's ISO 8601 form.

    Entries written before that (``default=str``: ``2026-12-06 02:36:32+00:00``) still verify:
    the hash covers the stored text, never a re-encoding of it.
    """
    return json.dumps(
        data, sort_keys=True, separators=(",", ":"), ensure_ascii=False, default=json_default
    )


def _iso(moment: datetime) -> str:
    return moment.astimezone(UTC).isoformat(timespec="microseconds")


_HASHED = (
    "incident_id", "seq", "kind", "actor_type", "actor_id", "actor_name", "hash_version",
    "summary", "data", "occurred_at", "recorded_at", "prev_hash",
)  # fmt: skip


def _hashed_actor(fields: Mapping[str, Any]) -> str | dict[str, str | None]:
    """Version 1 hashed the actor's name alone; version 2 the whole actor."""
    if fields["hash_version"] == 1:
        return str(fields["actor_name"])
    actor_id = fields["actor_id"]
    return {
        "type": fields["actor_type"],
        "id": str(actor_id) if actor_id else None,
        "name": fields["actor_name"],
    }


def entry_hash(entry: TimelineEntry) -> str:
    return _hash_of({name: getattr(entry, name) for name in _HASHED})


def _hash_of(fields: Mapping[str, Any]) -> str:
    """The hash of an entry given as its columns (an entry's own, or a row not yet built)."""
    material = canonical_json(
        {
            "incident_id": str(fields["incident_id"]),
            "seq": fields["seq"],
            "kind": fields["kind"],
            "actor": _hashed_actor(fields),
            "summary": fields["summary"],
            "data": fields["data"],
            "occurred_at": _iso(fields["occurred_at"]),
            "recorded_at": _iso(fields["recorded_at"]),
            "prev_hash": fields["prev_hash"],
        }
    )
    return hashlib.sha256(material.encode()).hexdigest()


def append_entry(
    session: Session,
    *,
    tenant_id: uuid.UUID,
    incident_id: uuid.UUID,
    kind: str,
    actor: Actor,
    summary: str,
    now: datetime,
    data: dict[str, Any] | None = None,
    occurred_at: datetime | None = None,
) -> TimelineEntry:
    """Append one entry. The caller holds the incident's row lock, so seq cannot race."""
    last = session.exec(
        select(TimelineEntry.seq, TimelineEntry.hash)
        .where(TimelineEntry.incident_id == incident_id)
        .order_by(col(TimelineEntry.seq).desc())
        .limit(1)
    ).first()
    entry = chained_entry(
        tenant_id=tenant_id,
        incident_id=incident_id,
        after=(last[0], last[1]) if last else None,
        kind=kind,
        actor=actor,
        summary=summary,
        now=now,
        data=data,
        occurred_at=occurred_at,
    )
    session.add(entry)
    session.flush()
    return entry


def chained_entry(
    *,
    tenant_id: uuid.UUID,
    incident_id: uuid.UUID,
    after: tuple[int, str] | None,
    kind: str,
    actor: Actor,
    summary: str,
    now: datetime,
    data: dict[str, Any] | None = None,
    occurred_at: datetime | None = None,
) -> TimelineEntry:
    """The entry that follows ``after`` (its seq and hash; None: the incident's first entry).

    Not added to a session: a caller opening many incidents at once adds them in one flush.
    """
    return TimelineEntry(
        **chained_values(
            tenant_id=tenant_id,
            incident_id=incident_id,
            after=after,
            kind=kind,
            actor=actor,
            summary=summary,
            now=now,
            data=data,
            occurred_at=occurred_at,
        )
    )


def chained_values(
    *,
    tenant_id: uuid.UUID,
    incident_id: uuid.UUID,
    after: tuple[int, str] | None,
    kind: str,
    actor: Actor,
    summary: str,
    now: datetime,
    data: dict[str, Any] | None = None,
    occurred_at: datetime | None = None,
) -> dict[str, Any]:
    """``chained_entry``'s columns, hash included, as a row for a multi-row insert (building
    thousands of model objects costs more than writing them)."""
    seq, prev_hash = (after[0] + 1, after[1]) if after else (1, GENESIS)
    fields: dict[str, Any] = {
        "id": uuid.uuid4(),
        "tenant_id": tenant_id,
        "incident_id": incident_id,
        "seq": seq,
        "kind": kind,
        "actor_type": actor.type,
        "actor_id": actor.id,
        "actor_name": actor.name[:200],
        "hash_version": HASH_VERSION,
        "summary": summary[:1000],
        "data": canonical_json(data or {}),
        "occurred_at": (occurred_at or now).astimezone(UTC),
        "recorded_at": now.astimezone(UTC),
        "prev_hash": prev_hash,
    }
    fields["hash"] = _hash_of(fields)
    return fields


def entries_for(session: Session, incident_id: uuid.UUID) -> list[TimelineEntry]:
    return list(
        session.exec(
            select(TimelineEntry)
            .where(TimelineEntry.incident_id == incident_id)
            .order_by(col(TimelineEntry.seq))
        )
    )


@dataclass(frozen=True, slots=True)
class ChainVerdict:
    valid: bool
    entries: int
    head_hash: str | None
    first_broken_seq: int | None = None
    reason: str | None = None


def verify_chain(entries: Sequence[TimelineEntry]) -> ChainVerdict:
    """Recompute every hash in order; the first mismatch is where the record was altered."""
    prev = GENESIS
    for expected_seq, entry in enumerate(entries, start=1):
        if entry.seq != expected_seq:
            return ChainVerdict(False, len(entries), None, expected_seq, "entry missing")
        if entry.prev_hash != prev:
            return ChainVerdict(False, len(entries), None, entry.seq, "link to previous broken")
        if entry.hash_version not in HASH_VERSIONS or entry_hash(entry) != entry.hash:
            return ChainVerdict(False, len(entries), None, entry.seq, "entry content altered")
        prev = entry.hash
    return ChainVerdict(True, len(entries), prev if entries else None)


def decode_data(entry: TimelineEntry) -> dict[str, Any]:
    value = json.loads(entry.data)
    return value if isinstance(value, dict) else {"value": value}
