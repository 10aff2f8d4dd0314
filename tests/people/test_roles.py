"""What each role may do: agents work, supervisors also approve, admins also manage."""

from __future__ import annotations

import pytest

from app.people.roles import PERMISSIONS, ROLES, Permission, can


@pytest.mark.parametrize(
    ("permission", "agent", "supervisor", "admin"),
    [
        (Permission.WORK_INCIDENTS, True, True, True),
        (Permission.APPROVE_COMPENSATION, False, True, True),
        (Permission.MANAGE_PEOPLE, False, False, True),
        (Permission.MANAGE_KEYS, False, False, True),
        (Permission.MANAGE_WEBHOOKS, False, False, True),
        (Permission.MANAGE_STUCK_RULES, False, False, True),
    ],
)
def test_each_role_allows_what_the_issue_says(
    permission: Permission, agent: bool, supervisor: bool, admin: bool
) -> None:
    assert (can("agent", permission), can("supervisor", permission), can("admin", permission)) == (
        agent,
        supervisor,
        admin,
    )


def test_roles_are_the_three_the_cli_offers() -> None:
    assert ROLES == ("agent", "supervisor", "admin")


def test_every_permission_belongs_to_some_role() -> None:
    assert set(Permission) == PERMISSIONS["admin"]


@pytest.mark.parametrize("role", ["", "root", "Admin", "owner"])
def test_an_unknown_role_allows_nothing(role: str) -> None:
    assert not any(can(role, permission) for permission in Permission)
