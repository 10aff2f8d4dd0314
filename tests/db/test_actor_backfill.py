"""Migration 0010 on a database that already has history: names become actors, the chain holds.

A fresh database (SQLite file, or a PostgreSQL database of its own) is brought to 0009, given
rows as the service wrote them then (an actor was a bare name, hashed as such), and upgraded.
"""

from __future__ import annotations

import hashlib
import json
import uuid
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa
from alembic import command
from sqlalchemy.engine import make_url
from sqlmodel import select

from app.core.actors import Actor
from app.db.engine import Database
from app.db.migrate import alembic_config, upgrade_to_head
from app.db.types import UTCDateTime
from app.incidents import timeline
from app.incidents.models import CompensationProposal, TimelineEntry
from app.workflow.messages.models import CustomerMessage

AT = datetime(2026, 3, 1, 8, 0, tzinfo=UTC)
TENANT, OTHER_TENANT = uuid.uuid4(), uuid.uuid4()
ANNA_KEY, SHARED_1, SHARED_2, GLOBEX_ANNA = (uuid.uuid4() for _ in range(4))
PARCEL, INCIDENT = uuid.uuid4(), uuid.uuid4()


@pytest.fixture
def empty_url(database_url: str, tmp_path: Path) -> Iterator[str]:
    """An empty database on the same engine as the suite's: SQLite file or PostgreSQL."""
    if database_url.startswith("sqlite"):
        yield f"sqlite:///{tmp_path / 'at-0009.db'}"
        return
    name = f"rt_mig_{uuid.uuid4().hex[:12]}"
    admin = sa.create_engine(database_url, isolation_level="AUTOCOMMIT")
    with admin.connect() as connection:
        connection.execute(sa.text(f'CREATE DATABASE "{name}"'))
    try:
        yield make_url(database_url).set(database=name).render_as_string(hide_password=False)
    finally:
        with admin.connect() as connection:
            connection.execute(sa.text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()


def _table(table_name: str, /, **columns: Any) -> sa.TableClause:
    return sa.table(table_name, *(sa.column(column, kind) for column, kind in columns.items()))


ID = sa.Uuid()
TIME = UTCDateTime()


def old_hash(row: dict[str, Any]) -> str:
    """How the service hashed an entry before 0010, written out here rather than imported."""
    material = {
        "incident_id": str(row["incident_id"]),
        "seq": row["seq"],
        "kind": row["kind"],
        "actor": row["actor"],
        "summary": row["summary"],
        "data": row["data"],
        "occurred_at": row["occurred_at"].isoformat(timespec="microseconds"),
        "recorded_at": row["recorded_at"].isoformat(timespec="microseconds"),
        "prev_hash": row["prev_hash"],
    }
    text = json.dumps(material, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    return hashlib.sha256(text.encode()).hexdigest()


OLD_ACTORS = ["system", "agent-anna", "shared", "renamed-long-ago", "agent-anna"]


def _history_at_0009(engine: sa.Engine) -> None:
    tenants = _table("tenants", id=ID, slug=sa.String(), name=sa.String(),
                     incident_seq=sa.Integer(), created_at=TIME)  # fmt: skip
    keys = _table("api_keys", id=ID, tenant_id=ID, name=sa.String(), prefix=sa.String(),
                  last4=sa.String(), key_hash=sa.String(), scopes=sa.String(),
                  created_at=TIME)  # fmt: skip
    parcels = _table("parcels", id=ID, tenant_id=ID, carrier=sa.String(),
                     tracking_number=sa.String(), order_id=sa.String(), status=sa.String(),
                     created_at=TIME, updated_at=TIME)  # fmt: skip
    incidents = _table("incidents", id=ID, tenant_id=ID, number=sa.Integer(), parcel_id=ID,
                       type=sa.String(), source=sa.String(), status=sa.String(),
                       opened_at=TIME, version=sa.Integer(), created_at=TIME,
                       updated_at=TIME)  # fmt: skip
    entries = _table("timeline_entries", id=ID, tenant_id=ID, incident_id=ID,
                     seq=sa.Integer(), kind=sa.String(), actor=sa.String(),
                     summary=sa.String(), data=sa.Text(), occurred_at=TIME, recorded_at=TIME,
                     prev_hash=sa.String(), hash=sa.String())  # fmt: skip
    messages = _table("incident_messages", id=ID, tenant_id=ID, incident_id=ID,
                      direction=sa.String(), channel=sa.String(), body=sa.Text(),
                      summary=sa.String(), actor=sa.String(), occurred_at=TIME,
                      created_at=TIME)  # fmt: skip
    proposals = _table("compensation_proposals", id=ID, tenant_id=ID, incident_id=ID,
                       seq=sa.Integer(), solution=sa.Text(), needs_approval=sa.Boolean(),
                       status=sa.String(), proposed_by=sa.String(), proposed_by_key_id=ID,
                       decided_by=sa.String(), decided_by_key_id=ID,
                       created_at=TIME)  # fmt: skip
    with engine.begin() as connection:
        connection.execute(tenants.insert(), [
            {"id": TENANT, "slug": "acme", "name": "Acme", "incident_seq": 1, "created_at": AT},
            {"id": OTHER_TENANT, "slug": "globex", "name": "Globex", "incident_seq": 0,
             "created_at": AT},
        ])  # fmt: skip
        key = {"prefix": "rt_", "last4": "abcd", "scopes": "admin", "created_at": AT}
        connection.execute(keys.insert(), [
            {**key, "id": ANNA_KEY, "tenant_id": TENANT, "name": "agent-anna", "key_hash": "1"},
            {**key, "id": SHARED_1, "tenant_id": TENANT, "name": "shared", "key_hash": "2"},
            {**key, "id": SHARED_2, "tenant_id": TENANT, "name": "shared", "key_hash": "3"},
            # the same name in another tenant must not make acme's "agent-anna" ambiguous
            {**key, "id": GLOBEX_ANNA, "tenant_id": OTHER_TENANT, "name": "agent-anna",
             "key_hash": "4"},
        ])  # fmt: skip
        connection.execute(parcels.insert(), [{
            "id": PARCEL, "tenant_id": TENANT, "carrier": "dhl", "tracking_number": "JJD1",
            "order_id": "SO-1", "status": "in_transit", "created_at": AT, "updated_at": AT,
        }])  # fmt: skip
        connection.execute(incidents.insert(), [{
            "id": INCIDENT, "tenant_id": TENANT, "number": 1, "parcel_id": PARCEL,
            "type": "delay", "source": "auto", "status": "escalated", "opened_at": AT,
            "version": 3, "created_at": AT, "updated_at": AT,
        }])  # fmt: skip
        prev = timeline.GENESIS
        for seq, actor in enumerate(OLD_ACTORS, start=1):
            moment = AT + timedelta(minutes=seq)
            row = {
                "id": uuid.uuid4(), "tenant_id": TENANT, "incident_id": INCIDENT, "seq": seq,
                "kind": "note", "actor": actor, "summary": f"step {seq} by {actor}",
                "data": json.dumps({"n": seq}), "occurred_at": moment, "recorded_at": moment,
                "prev_hash": prev,
            }  # fmt: skip
            row["hash"] = prev = old_hash(row)
            connection.execute(entries.insert(), [row])
        connection.execute(messages.insert(), [{
            "id": uuid.uuid4(), "tenant_id": TENANT, "incident_id": INCIDENT, "direction": "out",
            "channel": "email", "body": "Hello", "summary": "Hello", "actor": "agent-anna",
            "occurred_at": AT, "created_at": AT,
        }])  # fmt: skip
        connection.execute(proposals.insert(), [{
            "id": uuid.uuid4(), "tenant_id": TENANT, "incident_id": INCIDENT, "seq": 1,
            "solution": "Refund", "needs_approval": True, "status": "approved",
            "proposed_by": "shared", "proposed_by_key_id": SHARED_1,
            "decided_by": "agent-anna", "decided_by_key_id": ANNA_KEY, "created_at": AT,
        }])  # fmt: skip


@pytest.fixture
def upgraded(empty_url: str) -> Iterator[Database]:
    database = Database(empty_url)
    config = alembic_config()
    with database.engine.begin() as connection:
        config.attributes["connection"] = connection
        command.upgrade(config, "0009")
    _history_at_0009(database.engine)
    upgrade_to_head(database.engine)
    yield database
    database.dispose()


def test_old_entries_get_actors_from_their_names_and_still_verify(upgraded: Database) -> None:
    with upgraded.session() as session:
        entries = timeline.entries_for(session, INCIDENT)

        assert [entry.actor for entry in entries] == [
            Actor.system(),
            Actor("api_key", ANNA_KEY, "agent-anna"),
            Actor("api_key", None, "shared"),  # two keys of that name: which one is unknown
            Actor("api_key", None, "renamed-long-ago"),  # no key of that name any more
            Actor("api_key", ANNA_KEY, "agent-anna"),
        ]
        assert {entry.hash_version for entry in entries} == {1}
        verdict = timeline.verify_chain(entries)
        assert (verdict.valid, verdict.entries) == (True, 5)


def test_new_entries_chain_onto_old_ones_and_cover_the_whole_actor(upgraded: Database) -> None:
    person = Actor("user", uuid.uuid4(), "Anna Berg")
    with upgraded.unit_of_work() as session:
        timeline.append_entry(
            session, tenant_id=TENANT, incident_id=INCIDENT, kind="note", actor=person,
            summary="after the upgrade", now=AT + timedelta(days=1),
        )  # fmt: skip
    with upgraded.session() as session:
        entries = timeline.entries_for(session, INCIDENT)
        assert (entries[-1].hash_version, entries[-1].actor) == (2, person)
        assert timeline.verify_chain(entries).valid

        # who did it is part of the record now: another person breaks the chain there
        entries[-1].actor_id = uuid.uuid4()
        verdict = timeline.verify_chain(entries)
        assert (verdict.valid, verdict.first_broken_seq) == (False, 6)


def test_version_one_hashes_cannot_be_claimed_by_new_entries(upgraded: Database) -> None:
    with upgraded.unit_of_work() as session:
        timeline.append_entry(
            session, tenant_id=TENANT, incident_id=INCIDENT, kind="note",
            actor=Actor("api_key", ANNA_KEY, "agent-anna"), summary="new", now=AT + timedelta(1),
        )  # fmt: skip
    with upgraded.session() as session:
        entries = timeline.entries_for(session, INCIDENT)
        entries[-1].hash_version = 1

        assert timeline.verify_chain(entries).first_broken_seq == 6


def test_messages_and_proposals_keep_their_names_and_gain_ids(upgraded: Database) -> None:
    with upgraded.session() as session:
        message = session.exec(select(CustomerMessage)).one()
        proposal = session.exec(select(CompensationProposal)).one()

        assert message.actor == Actor("api_key", ANNA_KEY, "agent-anna")
        # proposals knew their keys by id: the name "shared" is no longer ambiguous there
        assert proposal.proposer == Actor("api_key", SHARED_1, "shared")
        assert proposal.decider == Actor("api_key", ANNA_KEY, "agent-anna")


def test_entries_read_back_through_the_api_shape(upgraded: Database) -> None:
    with upgraded.session() as session:
        first: TimelineEntry = timeline.entries_for(session, INCIDENT)[0]

        assert first.actor.view().model_dump(mode="json") == {
            "type": "system",
            "id": None,
            "name": "system",
        }
