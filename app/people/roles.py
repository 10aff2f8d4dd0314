"""What each role may do: one table the desk (and later the API) asks through ``can``.

An agent works incidents; a supervisor also approves compensation and sends bulk notices to
customers (an agent may preview one); an admin also manages people, API keys, webhooks and
stuck rules.
"""

from __future__ import annotations

from enum import StrEnum


class Permission(StrEnum):
    WORK_INCIDENTS = "work_incidents"
    APPROVE_COMPENSATION = "approve_compensation"
    SEND_NOTICES = "send_notices"
    MANAGE_PEOPLE = "manage_people"
    MANAGE_KEYS = "manage_keys"
    MANAGE_WEBHOOKS = "manage_webhooks"
    MANAGE_STUCK_RULES = "manage_stuck_rules"


_AGENT = frozenset({Permission.WORK_INCIDENTS})
_SUPERVISOR = _AGENT | {Permission.APPROVE_COMPENSATION, Permission.SEND_NOTICES}
_ADMIN = _SUPERVISOR | {
    Permission.MANAGE_PEOPLE,
    Permission.MANAGE_KEYS,
    Permission.MANAGE_WEBHOOKS,
    Permission.MANAGE_STUCK_RULES,
}
PERMISSIONS: dict[str, frozenset[Permission]] = {
    "agent": _AGENT,
    "supervisor": _SUPERVISOR,
    "admin": _ADMIN,
}
ROLES: tuple[str, ...] = tuple(PERMISSIONS)


def can(role: str, permission: Permission) -> bool:
    """Whether ``role`` allows ``permission``; an unknown role allows nothing."""
    return permission in PERMISSIONS.get(role, frozenset())
