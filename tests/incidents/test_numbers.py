"""Human incident numbers: never duplicated, and on PostgreSQL no queue behind open transactions."""

from __future__ import annotations

import uuid

import pytest
from sqlalchemy import text

from app.core.models import Tenant
from app.core.tenancy import ensure_tenant
from app.db.engine import Database
from app.incidents.service import next_number


def _tenant(db: Database, slug: str = "acme") -> uuid.UUID:
    with db.session() as session:
        tenant_id = ensure_tenant(session, slug=slug).id
        session.commit()
    return tenant_id


def _stored_seq(db: Database, tenant_id: uuid.UUID) -> int:
    with db.session() as session:
        tenant = session.get(Tenant, tenant_id)
        assert tenant is not None
        return tenant.incident_seq


def test_numbers_are_consecutive_and_a_batch_reserves_a_block(db: Database) -> None:
    tenant_id = _tenant(db)
    with db.session() as session:
        first = next_number(session, tenant_id)
        block_end = next_number(session, tenant_id, count=5)
        after = next_number(session, tenant_id)
        session.commit()
    assert (first, block_end, after) == (1, 6, 7)
    assert _stored_seq(db, tenant_id) == 7


@pytest.mark.postgres_only  # SQLite has one writer at a time: the second session would wait
def test_an_open_transaction_does_not_hold_up_the_next_creation(db: Database) -> None:
    """The tenant's counter is not locked until the first creator commits."""
    tenant_id = _tenant(db)
    with db.session() as first, db.session() as second:
        assert next_number(first, tenant_id) == 1
        # the first transaction is still open; waiting on its lock would hit this timeout
        second.execute(text("SET LOCAL statement_timeout = '5s'"))
        assert next_number(second, tenant_id) == 2
        second.commit()
        first.rollback()
    # the rolled-back creation leaves a gap, never a number handed out twice
    with db.session() as third:
        assert next_number(third, tenant_id) == 3
        third.commit()


def test_a_tenant_created_in_the_same_transaction_gets_numbers(db: Database) -> None:
    """Its row is invisible to (or locked against) any other connection until commit."""
    with db.session() as session:
        tenant = ensure_tenant(session, slug=f"new-{uuid.uuid4().hex[:6]}")
        assert next_number(session, tenant.id) == 1
        assert next_number(session, tenant.id, count=2) == 3
        session.commit()
        tenant_id = tenant.id
    assert _stored_seq(db, tenant_id) == 3


def test_a_counter_changed_by_the_callers_own_transaction_is_reserved_there(db: Database) -> None:
    """The caller holds the tenant's row: reserving elsewhere would wait on it, so it does not."""
    tenant_id = _tenant(db)
    with db.session() as session:
        tenant = session.get(Tenant, tenant_id)
        assert tenant is not None
        tenant.name = "Acme Trading"
        session.flush()  # the row is now locked by this transaction
        assert next_number(session, tenant_id) == 1
        session.commit()
    assert _stored_seq(db, tenant_id) == 1
