"""Operator commands: serve, migrate, tenants and API keys.

python -m app serve
python -m app migrate
python -m app tenants create acme --name "Acme Ltd"
python -m app keys create --tenant acme --scopes read,incidents:write --name helpdesk
python -m app keys list --tenant acme
python -m app keys revoke <key id>
"""

from __future__ import annotations

import argparse
import sys
import uuid
from collections.abc import Sequence

import structlog
from sqlmodel import Session, select

from app.core.errors import AppError
from app.core.logging import configure_logging
from app.core.models import Tenant
from app.core.settings import Settings, get_settings
from app.core.tenancy import ensure_tenant, issue_key, list_keys, parse_scopes, revoke_key
from app.db.engine import Database
from app.db.migrate import upgrade_to_head
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
    return parser


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
    uvicorn.run(
        create_app(settings),
        host=settings.host,
        port=settings.port,
        log_config=None,  # uvicorn's lines go through our handler, in RT_LOG_FORMAT
    )


def _url_host(host: str) -> str:
    return f"[{host}]" if ":" in host else host


def _run(session: Session, args: argparse.Namespace) -> None:
    if args.command == "tenants" and args.action == "create":
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
