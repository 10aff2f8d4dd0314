"""Operator commands: serve, migrate, tenants and API keys.

python -m app serve
python -m app migrate
python -m app tenants create acme --name "Acme Ltd"
python -m app keys create --tenant acme --scopes read,incidents:write --name helpdesk
python -m app keys list --tenant acme
python -m app keys revoke <key id>
python -m app users create --tenant acme --email anna@acme.example --name "Anna" --role agent \
    --password-stdin < password.txt
python -m app users list --tenant acme
python -m app users disable anna@acme.example [--tenant acme]
python -m app users reset-password anna@acme.example [--tenant acme] --password-stdin
"""

from __future__ import annotations

import argparse
import getpass
import sys
import uuid
from collections.abc import Sequence
from typing import TextIO

import structlog
from sqlmodel import Session, select

from app.core.errors import AppError, Conflict, ValidationFailed
from app.core.logging import configure_logging
from app.core.models import Tenant
from app.core.settings import Settings, get_settings
from app.core.tenancy import ensure_tenant, issue_key, list_keys, parse_scopes, revoke_key
from app.db.engine import Database
from app.db.migrate import upgrade_to_head
from app.db.types import utcnow
from app.people.models import User
from app.people.roles import ROLES
from app.people.service import (
    AmbiguousUser,
    create_user,
    disable_user,
    find_user,
    list_users,
    reset_password,
    tenant_named,
)
from app.startup import wire

log = structlog.get_logger("app")


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="python -m app", description=__doc__.split("\n")[0])
    commands = parser.add_subparsers(dest="command", required=True, metavar="<command>")
    serve = commands.add_parser(
        "serve", help="serve the API (migrating first unless RT_AUTO_MIGRATE=false)"
    )
    serve.add_argument("--host", default=None, help="address to bind (default: RT_HOST)")
    serve.add_argument("--port", type=int, default=None, help="port (default: RT_PORT)")
    commands.add_parser("migrate", help="apply database migrations")

    tenants = commands.add_parser("tenants", help="create and list tenants").add_subparsers(
        dest="action", required=True, metavar="<action>"
    )
    create_tenant = tenants.add_parser("create", help="create a tenant (nothing if it exists)")
    create_tenant.add_argument("slug", help="short name, e.g. acme")
    create_tenant.add_argument("--name", help="display name")
    tenants.add_parser("list", help="list tenants: slug, name, id")

    keys = commands.add_parser("keys", help="create, list and revoke API keys").add_subparsers(
        dest="action", required=True, metavar="<action>"
    )
    create_key = keys.add_parser("create", help="create a key (and the tenant if new)")
    create_key.add_argument("--tenant", required=True, help="tenant slug")
    create_key.add_argument("--scopes", required=True, help="comma-separated, e.g. read,admin")
    create_key.add_argument("--name", default="cli", help="what the key is for")
    list_cmd = keys.add_parser("list", help="list a tenant's keys (never their secrets)")
    list_cmd.add_argument("--tenant", required=True, help="tenant slug")
    revoke = keys.add_parser("revoke", help="revoke a key at once")
    revoke.add_argument("key_id", type=uuid.UUID, help="the key id `keys list` shows")
    _users_parser(commands)
    return parser


def _users_parser(commands: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    users = commands.add_parser(
        "users", help="create, list and disable the people who sign in to the desk"
    ).add_subparsers(dest="action", required=True, metavar="<action>")
    stdin_help = "required: read the password from standard input, never from the command line"
    create = users.add_parser("create", help="create a person of a tenant", allow_abbrev=False)
    create.add_argument("--tenant", required=True, help="tenant slug")
    create.add_argument("--email", required=True, help="their e-mail: what they sign in with")
    create.add_argument("--name", required=True, help="display name, shown on what they do")
    create.add_argument("--role", required=True, choices=ROLES, help="what they may do")
    create.add_argument("--password-stdin", action="store_true", help=stdin_help)
    list_users = users.add_parser("list", help="list a tenant's people (never their passwords)")
    list_users.add_argument("--tenant", required=True, help="tenant slug")
    disable = users.add_parser("disable", help="disable a person: their sessions end at once")
    reset = users.add_parser(
        "reset-password", help="set a new password; their sessions end", allow_abbrev=False
    )
    for parser in (disable, reset):
        parser.add_argument("email", help="their e-mail")
        parser.add_argument("--tenant", help="tenant slug, if the e-mail is in several tenants")
    reset.add_argument("--password-stdin", action="store_true", help=stdin_help)
    for parser in (create, reset):
        # taken only to refuse it, without echoing it: argv is in shell history and `ps`
        parser.add_argument("--password", nargs="?", const="", help=argparse.SUPPRESS)


def main(argv: Sequence[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    settings = get_settings()
    configure_logging(settings.log_level, settings.log_format)
    wire()
    if args.command == "serve":
        host = args.host if args.host is not None else settings.host
        port = args.port if args.port is not None else settings.port
        _serve(settings.model_copy(update={"host": host, "port": port}))
        return 0
    db = Database(settings.database_url)
    try:
        upgrade_to_head(db.engine)
        if args.command == "migrate":
            print("database is at the latest migration")
            return 0
        with db.unit_of_work() as session:
            _run(session, args)
        return 0
    except AppError as exc:
        print(f"error: {exc.detail}", file=sys.stderr)
        return 2
    finally:
        db.dispose()


def _serve(settings: Settings) -> None:
    """uvicorn on the address in ``settings``, which the app then also knows (webhook links)."""
    import uvicorn

    from app.main import create_app

    url = f"http://{_url_host(settings.host)}:{settings.port}"
    log.info("serving the API", url=url, docs=f"{url}/docs")
    app = create_app(settings)  # its lifespan settles the process once started
    uvicorn.run(
        app,
        host=settings.host,
        port=settings.port,
        log_config=None,  # uvicorn's lines go through our handler, in RT_LOG_FORMAT
    )


def _url_host(host: str) -> str:
    return f"[{host}]" if ":" in host else host


def _run(session: Session, args: argparse.Namespace) -> None:
    if args.command == "users":
        _run_users(session, args, settings=get_settings())
    elif args.command == "tenants" and args.action == "create":
        tenant = ensure_tenant(session, slug=args.slug, name=args.name)
        print(f"tenant {tenant.slug} ({tenant.id})")
    elif args.command == "tenants":
        for tenant in session.exec(select(Tenant).order_by(Tenant.slug)):
            print(f"{tenant.slug}\t{tenant.name}\t{tenant.id}")
    elif args.action == "create":
        tenant = ensure_tenant(session, slug=args.tenant)
        issued = issue_key(session, tenant=tenant, name=args.name, scopes=parse_scopes(args.scopes))
        print(f"key id:  {issued.key.id}\nscopes:  {issued.key.scopes}")
        print(f"API key: {issued.secret}\n(shown once: store it now)")
    elif args.action == "list":
        tenant = ensure_tenant(session, slug=args.tenant)
        for key in list_keys(session, tenant=tenant):
            state = f"revoked {key.revoked_at:%Y-%m-%d}" if key.revoked_at else "active"
            print(f"{key.id}\t{key.name}\t{key.prefix}…{key.last4}\t{key.scopes}\t{state}")
    else:
        key = revoke_key(session, key_id=args.key_id)
        print(f"revoked {key.id} ({key.name})")


def _run_users(session: Session, args: argparse.Namespace, *, settings: Settings) -> None:
    if getattr(args, "password", None) is not None:
        raise ValidationFailed(
            "password",
            "never on the command line (shell history and the process list keep it): "
            "pipe it to --password-stdin",
        )
    if args.action in ("create", "reset-password") and not args.password_stdin:
        raise ValidationFailed(
            "password", "read from standard input only: add --password-stdin and pipe it in"
        )
    now = utcnow()
    if args.action == "create":
        tenant = tenant_named(session, args.tenant)
        user = create_user(
            session,
            tenant=tenant,
            email=args.email,
            display_name=args.name,
            role=args.role,
            password=read_password(sys.stdin),
            password_min_length=settings.password_min_length,
            now=now,
        )
        print(f"created {user.email} ({user.role}) in tenant {tenant.slug}: {user.id}")
    elif args.action == "list":
        for user in list_users(session, tenant=tenant_named(session, args.tenant)):
            state = f"disabled {user.disabled_at:%Y-%m-%d}" if user.disabled_at else "active"
            print(f"{user.email}\t{user.display_name}\t{user.role}\t{state}\t{user.id}")
    elif args.action == "disable":
        user = disable_user(session, _person(session, args), now=now)
        print(f"disabled {user.email}: their sessions have ended")
    else:
        user = _person(session, args)
        password = read_password(sys.stdin)
        reset_password(
            session,
            user,
            password=password,
            password_min_length=settings.password_min_length,
            now=now,
        )
        print(f"new password set for {user.email}: their other sessions have ended")


def _person(session: Session, args: argparse.Namespace) -> User:
    try:
        return find_user(session, email=args.email, tenant_slug=args.tenant)
    except AmbiguousUser as exc:
        raise Conflict(
            f"{args.email} is a user of several tenants ({', '.join(exc.tenants)}): "
            "add --tenant <slug> to say which"
        ) from exc


def read_password(stdin: TextIO) -> str:
    """One line from standard input, or typed twice at a terminal without echo."""
    if stdin.isatty():
        password = getpass.getpass("password: ")
        if getpass.getpass("the same again: ") != password:
            raise ValidationFailed("password", "the two entries differ")
        return password
    text = stdin.read()
    password = text.removesuffix("\n").removesuffix("\r")
    if not password:
        raise ValidationFailed(
            "password", "nothing on standard input: pipe it in, e.g. --password-stdin < file"
        )
    if "\n" in password:
        raise ValidationFailed("password", "standard input has several lines; give one")
    return password
