"""A tenant's people: created with a clean e-mail and name, one per e-mail in a tenant."""

from __future__ import annotations

import pytest
from sqlmodel import Session

from app.core.errors import Conflict, NotFound, ValidationFailed
from app.core.tenancy import ensure_tenant
from app.people.passwords import verify_password
from app.people.service import (
    AmbiguousUser,
    change_role,
    create_user,
    disable_user,
    find_user,
    list_users,
    reset_password,
)
from tests.factories import START
from tests.people.conftest import PASSWORD, add_person


def test_a_person_is_stored_with_a_lower_cased_e_mail_and_a_hashed_password(
    session: Session,
) -> None:
    anna = add_person(session, email="  Anna.Agent@ACME.example ", name="Anna  Agent")

    assert anna.email == "anna.agent@acme.example"
    assert anna.display_name == "Anna Agent"
    assert anna.role == "agent"
    assert anna.password_hash.startswith("$argon2id$")
    assert verify_password(anna.password_hash, PASSWORD)
    assert (anna.created_at, anna.password_changed_at, anna.disabled_at) == (START, START, None)
    assert anna.session_epoch == 0


def test_the_same_e_mail_twice_in_a_tenant_is_a_conflict_whatever_its_case(
    session: Session,
) -> None:
    add_person(session, email="anna@acme.example")

    with pytest.raises(Conflict) as conflict:
        add_person(session, email="ANNA@acme.example", name="Another Anna")
    assert conflict.value.detail == "anna@acme.example is already a user of tenant acme"


def test_the_same_e_mail_may_be_a_person_of_two_tenants(session: Session) -> None:
    in_acme = add_person(session, tenant="acme")
    in_globex = add_person(session, tenant="globex")

    assert in_acme.id != in_globex.id
    assert [u.email for u in list_users(session, tenant=ensure_tenant(session, slug="globex"))] == [
        "anna@acme.example"
    ]


@pytest.mark.parametrize(
    ("fields", "field", "message"),
    [
        ({"email": "not-an-address"}, "email", "is not an e-mail address"),
        ({"email": "anna@localhost"}, "email", "is not an e-mail address"),
        ({"role": "owner"}, "role", "'owner' is not a role; choose from"),
        ({"name": "   "}, "name", "must not be empty"),
        ({"name": "x" * 201}, "name", "at most 200"),
        ({"password": "too short"}, "password", "at least 12 characters"),
        ({"password": "anna@acme.example"}, "password", "must not be the e-mail"),
    ],
)
def test_bad_fields_are_refused_naming_the_field(
    session: Session, fields: dict[str, str], field: str, message: str
) -> None:
    person = {"email": "anna@acme.example", "name": "Anna", "role": "agent", "password": PASSWORD}
    person |= fields
    with pytest.raises(ValidationFailed) as refused:
        add_person(
            session,
            email=person["email"],
            name=person["name"],
            role=person["role"],
            password=person["password"],
        )

    [error] = refused.value.extensions["errors"]
    assert error["field"] == field
    assert message in error["message"]


def test_a_name_loses_control_and_direction_characters(session: Session) -> None:
    anna = add_person(session, name="Anna\u202e Agent\x07\n")

    assert anna.display_name == "Anna Agent"


def test_people_are_listed_by_e_mail_within_their_tenant_only(session: Session) -> None:
    add_person(session, email="zoe@acme.example", name="Zoe")
    add_person(session, email="ben@acme.example", name="Ben", role="supervisor")
    add_person(session, email="carl@globex.example", tenant="globex", name="Carl")

    listed = list_users(session, tenant=ensure_tenant(session, slug="acme"))

    assert [(u.email, u.role) for u in listed] == [
        ("ben@acme.example", "supervisor"),
        ("zoe@acme.example", "agent"),
    ]


def test_an_e_mail_of_two_tenants_needs_the_tenant_to_be_found(session: Session) -> None:
    add_person(session, tenant="globex")
    in_acme = add_person(session, tenant="acme")

    with pytest.raises(AmbiguousUser) as ambiguous:
        find_user(session, email="anna@acme.example")
    assert ambiguous.value.tenants == ["acme", "globex"]

    assert find_user(session, email="ANNA@acme.example", tenant_slug="acme").id == in_acme.id


@pytest.mark.parametrize(
    ("email", "tenant", "message"),
    [
        ("ben@acme.example", None, "ben@acme.example is not a user of any tenant"),
        ("anna@acme.example", "globex", "anna@acme.example is not a user of tenant globex"),
        (
            "anna@acme.example",
            "initech",
            "there is no tenant 'initech' (create it with: tenants create initech)",
        ),
    ],
)
def test_finding_nobody_says_where_it_looked(
    session: Session, email: str, tenant: str | None, message: str
) -> None:
    add_person(session)
    ensure_tenant(session, slug="globex")

    with pytest.raises(NotFound) as not_found:
        find_user(session, email=email, tenant_slug=tenant)

    assert not_found.value.detail == message


def test_disabling_stamps_the_time_and_moves_the_epoch_once(session: Session) -> None:
    anna = add_person(session)

    disable_user(session, anna, now=START)
    disable_user(session, anna, now=START.replace(hour=12))  # again: nothing more changes

    assert (anna.disabled_at, anna.session_epoch) == (START, 1)
    assert not anna.is_active


def test_a_password_reset_replaces_the_hash_and_moves_the_epoch(session: Session) -> None:
    anna = add_person(session)
    later = START.replace(hour=15)

    reset_password(
        session, anna, password="a brand new passphrase", password_min_length=12, now=later
    )

    assert verify_password(anna.password_hash, "a brand new passphrase")
    assert not verify_password(anna.password_hash, PASSWORD)
    assert (anna.password_changed_at, anna.session_epoch) == (later, 1)


def test_a_reset_password_meets_the_same_rules(session: Session) -> None:
    anna = add_person(session)
    with pytest.raises(ValidationFailed, match="at least 12"):
        reset_password(session, anna, password="short", password_min_length=12, now=START)
    assert anna.session_epoch == 0


def test_create_user_takes_the_roles_of_the_issue(session: Session) -> None:
    tenant = ensure_tenant(session, slug="acme")
    made = [
        create_user(
            session,
            tenant=tenant,
            email=f"{role}@acme.example",
            display_name=role.title(),
            role=role,
            password=PASSWORD,
            password_min_length=12,
            now=START,
        ).role
        for role in ("agent", "supervisor", "admin")
    ]
    assert made == ["agent", "supervisor", "admin"]


def test_a_role_change_keeps_the_session_and_refuses_unknown_roles(session: Session) -> None:
    anna = add_person(session)

    change_role(session, anna, role="supervisor")
    with pytest.raises(ValidationFailed, match="'owner' is not a role"):
        change_role(session, anna, role="owner")

    assert (anna.role, anna.session_epoch) == ("supervisor", 0)  # the next request reads it
