"""Notice rules: per tenant and automatic incident type, whether to tell the customer at once.

Every rule is off until the tenant turns it on (``PUT /v1/settings/notice-rules``). The types
are the automatic ones the desk suggests a template for (``SUGGESTED_TEMPLATES``); detection
opens ``damaged`` and ``wrong_address`` incidents too, from a carrier's exception, but no
template fits telling the customer before anyone looked at those, so they have no rule.

The default templates, all in the library:

=============== ==================== ==================================================
type            template             params
=============== ==================== ==================================================
delay           delay_notice         reason carrier_backlog
customs         delay_notice         reason customs_screening
lost            parcel_lost          next_step investigation
returned        parcel_returned      reason: from the carrier's words (see below)
delivery_failed in_transit_update    none
tracking_error  in_transit_update    none
=============== ==================== ==================================================

A ``parcel_returned`` rule for returns may leave ``reason`` out: it is then read from the
carrier's words, as the incident's next step is (``return_reason``).
"""

from __future__ import annotations

import json
import uuid
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlmodel import Session, col, delete, select

from app.auto_incidents.service import SUGGESTED_TEMPLATES, return_reason
from app.core.errors import NotFound, ValidationFailed
from app.db.tx_cache import forget, per_transaction
from app.notify.models import NoticeRule
from app.notify.rules_schemas import NoticeRuleIn, NoticeRuleRead
from app.parcels.models import Parcel
from app.workflow.templates.catalogue import parse_params, spec_for

DEFAULT_PARAMS: dict[str, dict[str, Any]] = {
    "delay": {"reason": "carrier_backlog"},
    "customs": {"reason": "customs_screening"},
    "lost": {"next_step": "investigation"},
    "returned": {},
    "delivery_failed": {},
    "tracking_error": {},
}
RULE_TYPES: tuple[str, ...] = tuple(SUGGESTED_TEMPLATES)
# the carrier's reason for a return (``return_reason``) as parcel_returned's ``reason``
RETURN_PARAM = {
    "wrong_address": "wrong_address",
    "duties_unpaid": "unpaid_duties",
    "refused": "refused",
    "not_collected": "not_collected",
}
_CACHE_KEY = "notice_rules"


@dataclass(frozen=True, slots=True)
class Rule:
    incident_type: str
    enabled: bool
    template_key: str
    params: dict[str, Any]
    is_default: bool


def default_rule(incident_type: str) -> Rule:
    return Rule(
        incident_type,
        False,
        SUGGESTED_TEMPLATES[incident_type],
        dict(DEFAULT_PARAMS[incident_type]),
        True,
    )


def rules_of(session: Session, tenant_id: uuid.UUID) -> dict[str, Rule]:
    """Every type's rule (stored or default), read once per transaction: a detection tick
    opens incidents by the thousand."""
    by_tenant: dict[uuid.UUID, dict[str, Rule]] = per_transaction(session, _CACHE_KEY)
    if tenant_id not in by_tenant:
        rules = {kind: default_rule(kind) for kind in RULE_TYPES}
        for row in session.exec(select(NoticeRule).where(NoticeRule.tenant_id == tenant_id)):
            if row.incident_type in rules:
                rules[row.incident_type] = Rule(
                    row.incident_type, row.enabled, row.template_key, json.loads(row.params), False
                )
        by_tenant[tenant_id] = rules
    return by_tenant[tenant_id]


def rule_view(rule: Rule) -> NoticeRuleRead:
    return NoticeRuleRead(
        incident_type=rule.incident_type,
        enabled=rule.enabled,
        template_key=rule.template_key,
        params=rule.params,
        is_default=rule.is_default,
    )


def replace_rules(
    session: Session, *, tenant_id: uuid.UUID, rules: list[NoticeRuleIn], now: datetime
) -> None:
    """Check every rule (the first problem named ``rules.<i>.<field>``), then replace them."""
    seen: dict[str, int] = {}
    for index, rule in enumerate(rules):
        _check(index, rule)
        if rule.incident_type in seen:
            raise ValidationFailed(
                f"rules.{index}.incident_type",
                f"{rule.incident_type} is already rules.{seen[rule.incident_type]}",
            )
        seen[rule.incident_type] = index
    forget(session, _CACHE_KEY)
    session.execute(delete(NoticeRule).where(col(NoticeRule.tenant_id) == tenant_id))
    for rule in rules:
        session.add(
            NoticeRule(
                tenant_id=tenant_id,
                incident_type=rule.incident_type,
                enabled=rule.enabled,
                template_key=rule.template_key,
                params=json.dumps(rule.params, default=str),
                updated_at=now,
            )
        )
    session.flush()


def _check(index: int, rule: NoticeRuleIn) -> None:
    where = f"rules.{index}"
    if rule.incident_type not in RULE_TYPES:
        raise ValidationFailed(
            f"{where}.incident_type",
            f"no notice rule for {rule.incident_type!r}; one of {list(RULE_TYPES)}",
        )
    try:
        spec = spec_for(rule.template_key)
    except NotFound as exc:
        raise ValidationFailed(f"{where}.template_key", exc.detail) from None
    sample = {"reason": "refused"} if _derives_reason(rule.incident_type, spec.key) else {}
    try:
        parse_params(spec, {**sample, **rule.params})
    except ValidationFailed as exc:
        [error] = exc.extensions["errors"]
        raise ValidationFailed(f"{where}.{error['field']}", error["message"]) from None


def _derives_reason(incident_type: str, template_key: str) -> bool:
    return incident_type == "returned" and template_key == "parcel_returned"


def params_for(rule: Rule, parcel: Parcel) -> dict[str, Any]:
    """The rule's parameters, with a return's reason read from the carrier when it gives none."""
    if not _derives_reason(rule.incident_type, rule.template_key) or "reason" in rule.params:
        return dict(rule.params)
    words = " ".join(t for t in (parcel.last_exception_reason, parcel.last_scan_description) if t)
    reason = RETURN_PARAM.get(return_reason(words))
    return {**rule.params, **({"reason": reason} if reason else {})}


def rules_read(rules: Mapping[str, Rule]) -> list[NoticeRuleRead]:
    return [rule_view(rules[kind]) for kind in RULE_TYPES]
