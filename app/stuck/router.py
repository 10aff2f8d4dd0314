"""A tenant's stuck thresholds: GET shows rules and defaults, PUT replaces the rules."""

from __future__ import annotations

from fastapi import APIRouter

from app.api.deps import AdminDep, NowDep, ReadDep, SessionDep
from app.api.one_thread import OneThreadRoute
from app.carriers.service import carrier_codes
from app.core.errors import ValidationFailed
from app.stuck import checks as stuck_checks
from app.stuck import rules as stuck_rules
from app.stuck.schemas import StuckRuleIn, StuckRulesRead, StuckRulesUpdate
from app.stuck.verdict import RULE_STATUSES

router = APIRouter(prefix="/v1/settings", tags=["settings"], route_class=OneThreadRoute)


def _read(rules: list[StuckRuleIn]) -> StuckRulesRead:
    return StuckRulesRead(
        rules=rules,
        defaults=stuck_rules.default_thresholds(),
        carrier_classes=stuck_rules.carrier_classes(),
    )


def _validate(rules: list[StuckRuleIn]) -> None:
    known = set(carrier_codes())
    seen: dict[tuple[str | None, str | None, str | None], int] = {}
    for index, rule in enumerate(rules):
        if rule.carrier is not None and rule.carrier not in known:
            raise ValidationFailed(
                f"rules.{index}.carrier",
                f"unknown carrier {rule.carrier!r}; known: {sorted(known)}",
            )
        if rule.status is not None and rule.status not in RULE_STATUSES:
            raise ValidationFailed(
                f"rules.{index}.status",
                f"unknown status {rule.status!r}; one of {sorted(RULE_STATUSES)}",
            )
        key = (rule.carrier, rule.status, rule.destination_country)
        if key in seen:
            raise ValidationFailed(
                f"rules.{index}", f"same carrier, status and destination as rules.{seen[key]}"
            )
        seen[key] = index


@router.get("/stuck-rules", response_model=StuckRulesRead)
def get_stuck_rules(principal: ReadDep, session: SessionDep) -> StuckRulesRead:
    return _read(stuck_rules.rule_inputs(session, principal.tenant_id))


@router.put("/stuck-rules", response_model=StuckRulesRead)
def put_stuck_rules(
    body: StuckRulesUpdate, principal: AdminDep, session: SessionDep, now: NowDep
) -> StuckRulesRead:
    """Replace every rule of the tenant; active parcels are re-judged on the next tick."""
    _validate(body.rules)
    stuck_rules.replace_rules(session, principal.tenant_id, body.rules)
    stuck_checks.recheck_tenant(session, tenant_id=principal.tenant_id, now=now)
    return _read(stuck_rules.rule_inputs(session, principal.tenant_id))
