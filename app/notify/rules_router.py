"""A tenant's notice rules: GET shows one per automatic incident type, PUT replaces them."""

from __future__ import annotations

from fastapi import APIRouter

from app.api.deps import AdminDep, NowDep, ReadDep, SessionDep
from app.api.one_thread import OneThreadRoute
from app.notify import rules
from app.notify.rules_schemas import NoticeRulesRead, NoticeRulesUpdate

router = APIRouter(prefix="/v1/settings", tags=["settings"], route_class=OneThreadRoute)


@router.get("/notice-rules", response_model=NoticeRulesRead)
def get_notice_rules(principal: ReadDep, session: SessionDep) -> NoticeRulesRead:
    return NoticeRulesRead(rules=rules.rules_read(rules.rules_of(session, principal.tenant_id)))


@router.put("/notice-rules", response_model=NoticeRulesRead)
def put_notice_rules(
    body: NoticeRulesUpdate, principal: AdminDep, session: SessionDep, now: NowDep
) -> NoticeRulesRead:
    """Replace every rule of the tenant; they apply to incidents opened from now on."""
    rules.replace_rules(session, tenant_id=principal.tenant_id, rules=body.rules, now=now)
    return NoticeRulesRead(rules=rules.rules_read(rules.rules_of(session, principal.tenant_id)))
