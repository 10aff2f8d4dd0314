"""A tenant's stuck thresholds: overrides stored per (carrier, status, destination)."""

from __future__ import annotations

import uuid
from decimal import Decimal

from sqlmodel import Session, col, delete, select

from adapters import registry
from app.db.tx_cache import forget, per_transaction
from app.stuck.models import StuckRuleRecord
from app.stuck.schemas import DefaultThreshold, StuckRuleIn
from app.stuck.verdict import DEFAULT_THRESHOLDS, StuckRule

_CACHE_KEY = "stuck_rules"


def rules_for(session: Session, tenant_id: uuid.UUID) -> list[StuckRule]:
    """The tenant's overrides, read once per transaction (a poll stores hundreds of parcels)."""
    by_tenant: dict[uuid.UUID, list[StuckRule]] = per_transaction(session, _CACHE_KEY)
    if tenant_id not in by_tenant:
        rows = session.exec(select(StuckRuleRecord).where(StuckRuleRecord.tenant_id == tenant_id))
        by_tenant[tenant_id] = [
            StuckRule(
                business_days=float(r.business_days),
                carrier=r.carrier,
                status=r.status,
                destination_country=r.destination_country,
            )
            for r in rows
        ]
    return by_tenant[tenant_id]


def replace_rules(session: Session, tenant_id: uuid.UUID, rules: list[StuckRuleIn]) -> None:
    forget(session, _CACHE_KEY)
    session.execute(delete(StuckRuleRecord).where(col(StuckRuleRecord.tenant_id) == tenant_id))
    for rule in rules:
        session.add(
            StuckRuleRecord(
                tenant_id=tenant_id,
                carrier=rule.carrier,
                status=rule.status,
                destination_country=rule.destination_country,
                business_days=Decimal(str(rule.business_days)),
            )
        )
    session.flush()


def default_thresholds() -> list[DefaultThreshold]:
    return [
        DefaultThreshold(status=str(status), express=express, postal=postal)
        for status, (express, postal) in DEFAULT_THRESHOLDS.items()
    ]


def carrier_classes() -> dict[str, str]:
    return {code: registry.network(code) for code in registry.ADAPTERS}


def rule_inputs(session: Session, tenant_id: uuid.UUID) -> list[StuckRuleIn]:
    """The stored rules as the API shows them, most specific first."""
    rules = sorted(rules_for(session, tenant_id), key=lambda r: -r.specificity)
    return [
        StuckRuleIn(
            carrier=r.carrier,
            status=r.status,
            destination_country=r.destination_country,
            business_days=r.business_days,
        )
        for r in rules
    ]
