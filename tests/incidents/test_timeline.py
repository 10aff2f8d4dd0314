"""The hash chain on its own: no database, no HTTP."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime

from app.incidents.models import TimelineEntry
from app.incidents.timeline import GENESIS, canonical_json, entry_hash, verify_chain

INCIDENT = uuid.uuid4()
AT = datetime(2026, 3, 12, 9, 30, tzinfo=UTC)
ANNA = uuid.uuid4()


def chain(*summaries: str) -> list[TimelineEntry]:
    entries, prev = [], GENESIS
    for seq, summary in enumerate(summaries, start=1):
        entry = TimelineEntry(
            tenant_id=uuid.uuid4(),
            incident_id=INCIDENT,
            seq=seq,
            kind="note",
            actor_type="user",
            actor_id=ANNA,
            actor_name="Anna Berg",
            summary=summary,
            data=canonical_json({"n": seq}),
            occurred_at=AT,
            recorded_at=AT,
            prev_hash=prev,
            hash="",
        )
        entry.hash = entry_hash(entry)
        prev = entry.hash
        entries.append(entry)
    return entries


def test_untouched_chain_verifies() -> None:
    verdict = verify_chain(chain("a", "b", "c"))
    assert verdict.valid
    assert verdict.entries == 3
    assert verdict.head_hash is not None


def test_empty_chain_is_valid() -> None:
    assert verify_chain([]).valid


def test_each_kind_of_tampering_is_found_where_it_happened() -> None:
    edited = chain("a", "b", "c")
    edited[1].summary = "refund promised"
    moved = chain("a", "b", "c")
    moved[0].occurred_at = AT.replace(hour=8)
    reordered = chain("a", "b", "c")
    reordered[1], reordered[2] = reordered[2], reordered[1]
    rehashed = chain("a", "b", "c")  # an editor who recomputes one hash still breaks the link
    rehashed[1].summary = "x"
    rehashed[1].hash = entry_hash(rehashed[1])
    other_incident = chain("a", "b")
    other_incident[0].incident_id = uuid.uuid4()

    assert verify_chain(edited).first_broken_seq == 2
    assert verify_chain(moved).first_broken_seq == 1
    assert verify_chain(reordered).first_broken_seq == 2
    assert verify_chain(rehashed).first_broken_seq == 3
    assert verify_chain(other_incident).first_broken_seq == 1


def test_hash_ignores_nothing_that_is_shown() -> None:
    entry = chain("a")[0]
    for field, value in {
        "kind": "refund_issued",
        "actor_name": "mallory",
        "actor_type": "api_key",
        "actor_id": uuid.uuid4(),
        "hash_version": 1,
        "data": "{}",
        "recorded_at": AT.replace(minute=31),
        "seq": 2,
    }.items():
        assert entry_hash(replace_field(entry, field, value)) != entry.hash, field


def replace_field(entry: TimelineEntry, field: str, value: object) -> TimelineEntry:
    copy = entry.model_copy()
    setattr(copy, field, value)
    return copy
