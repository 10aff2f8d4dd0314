"""actors and owners: who did it as (type, id, name) everywhere; an incident's assignee

Revision ID: 0010
Revises: 0009
Create Date: 2026-12-06 08:30:00

Every record of an act gets ``<prefix>_type`` (user, api_key, system) and ``<prefix>_id``
beside the name it already kept. Rows written before this revision only had a name; it is read
as follows, within the row's tenant:

- ``system``: the system (id null);
- the name of exactly one API key of the tenant: that key;
- anything else (a key renamed or of a name shared by several keys, a name from an imported
  spreadsheet): an API key whose id we cannot tell (type ``api_key``, id null), name kept.

Proposals already kept the proposing and deciding keys' ids: those are used, and the
``*_key_id`` columns go (a person at the desk has no key).

Timeline entries: the column ``actor`` becomes ``actor_name``; ``hash_version`` says what each
entry's hash covers (1: the name only, every entry written before; 2: type, id and name), so
every old entry still verifies (app/incidents/timeline.py).
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0010"
down_revision: str | None = "0009"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

# (table, name column, type column, id column, the name column is nullable)
ACTORS = (
    ("timeline_entries", "actor_name", "actor_type", "actor_id", False),
    ("incident_messages", "actor_name", "actor_type", "actor_id", False),
    ("evidence_files", "uploaded_by", "uploaded_by_type", "uploaded_by_id", False),
    ("evidence_files", "deleted_by", "deleted_by_type", "deleted_by_id", True),
    ("carrier_claims", "created_by", "created_by_type", "created_by_id", False),
)


def _backfill_by_name(table: str, name: str, type_: str, id_: str) -> None:
    """The rules of the module docstring, as statements both PostgreSQL and SQLite run."""
    rows = sa.table(
        table, sa.column("tenant_id"), sa.column(name), sa.column(type_), sa.column(id_)
    )
    keys = sa.table("api_keys", sa.column("id"), sa.column("tenant_id"), sa.column("name"))
    same_name = (keys.c.tenant_id == rows.c.tenant_id) & (keys.c.name == rows.c[name])
    only_key = sa.select(keys.c.id).where(same_name).scalar_subquery()
    count = sa.select(sa.func.count()).select_from(keys).where(same_name).scalar_subquery()
    untyped = rows.c[type_].is_(None)
    op.execute(rows.update().where(rows.c[name] == "system").values({type_: "system"}))
    op.execute(rows.update().where(untyped, count == 1).values({type_: "api_key", id_: only_key}))
    op.execute(rows.update().where(untyped, rows.c[name].is_not(None)).values({type_: "api_key"}))


def upgrade() -> None:
    for table in ("timeline_entries", "incident_messages"):
        with op.batch_alter_table(table) as batch:
            batch.alter_column(
                "actor",
                new_column_name="actor_name",
                existing_type=sa.String(length=200),
                existing_nullable=False,
            )
    for table, _name, type_, id_, _nullable in ACTORS:
        with op.batch_alter_table(table) as batch:
            batch.add_column(sa.Column(type_, sa.String(length=16), nullable=True))
            batch.add_column(sa.Column(id_, sa.Uuid(), nullable=True))
    for table, name, type_, id_, _nullable in ACTORS:
        _backfill_by_name(table, name, type_, id_)
    for table, _name, type_, _id, nullable in ACTORS:
        if not nullable:
            with op.batch_alter_table(table) as batch:
                batch.alter_column(type_, existing_type=sa.String(length=16), nullable=False)

    with op.batch_alter_table("timeline_entries") as batch:
        batch.add_column(
            sa.Column("hash_version", sa.Integer(), nullable=False, server_default="1")
        )
    with op.batch_alter_table("timeline_entries") as batch:
        batch.alter_column("hash_version", existing_type=sa.Integer(), server_default=None)

    with op.batch_alter_table("compensation_proposals") as batch:
        batch.add_column(sa.Column("proposed_by_type", sa.String(length=16), nullable=True))
        batch.add_column(sa.Column("proposed_by_id", sa.Uuid(), nullable=True))
        batch.add_column(sa.Column("decided_by_type", sa.String(length=16), nullable=True))
        batch.add_column(sa.Column("decided_by_id", sa.Uuid(), nullable=True))
    op.execute(
        "UPDATE compensation_proposals "
        "SET proposed_by_type = 'api_key', proposed_by_id = proposed_by_key_id"
    )
    op.execute(
        "UPDATE compensation_proposals SET decided_by_type = 'api_key', "
        "decided_by_id = decided_by_key_id WHERE decided_by_key_id IS NOT NULL"
    )
    with op.batch_alter_table("compensation_proposals") as batch:
        batch.alter_column("proposed_by_type", existing_type=sa.String(length=16), nullable=False)
        batch.drop_constraint(
            "fk_compensation_proposals_proposed_by_key_id_api_keys", type_="foreignkey"
        )
        batch.drop_constraint(
            "fk_compensation_proposals_decided_by_key_id_api_keys", type_="foreignkey"
        )
        batch.drop_column("proposed_by_key_id")
        batch.drop_column("decided_by_key_id")

    # a plain ADD COLUMN, not a batch: SQLite would rebuild the table, and dropping the old
    # one fails while timeline entries, messages and events point at it
    if op.get_bind().dialect.name == "sqlite":
        op.execute(
            "ALTER TABLE incidents ADD COLUMN assignee_id CHAR(32) "
            "CONSTRAINT fk_incidents_assignee_id_users REFERENCES users (id)"
        )
    else:
        op.add_column(
            "incidents",
            sa.Column(
                "assignee_id",
                sa.Uuid(),
                sa.ForeignKey("users.id", name=op.f("fk_incidents_assignee_id_users")),
                nullable=True,
            ),
        )
    op.create_index("ix_incidents_tenant_id_assignee_id", "incidents", ["tenant_id", "assignee_id"])


def downgrade() -> None:
    """Back to names only. Fails (NOT NULL) if a person proposed a compensation: 0009 cannot
    say so. On SQLite with incidents in it, dropping ``assignee_id`` rebuilds ``incidents``,
    which its foreign keys refuse: restore a backup instead. Entries written since 0010
    (hash version 2) do not verify under 0009's code."""
    with op.batch_alter_table("incidents") as batch:
        batch.drop_index("ix_incidents_tenant_id_assignee_id")
        batch.drop_constraint("fk_incidents_assignee_id_users", type_="foreignkey")
        batch.drop_column("assignee_id")

    with op.batch_alter_table("compensation_proposals") as batch:
        batch.add_column(sa.Column("proposed_by_key_id", sa.Uuid(), nullable=True))
        batch.add_column(sa.Column("decided_by_key_id", sa.Uuid(), nullable=True))
    op.execute(
        "UPDATE compensation_proposals SET proposed_by_key_id = proposed_by_id "
        "WHERE proposed_by_type = 'api_key'"
    )
    op.execute(
        "UPDATE compensation_proposals SET decided_by_key_id = decided_by_id "
        "WHERE decided_by_type = 'api_key'"
    )
    with op.batch_alter_table("compensation_proposals") as batch:
        batch.alter_column("proposed_by_key_id", existing_type=sa.Uuid(), nullable=False)
        batch.create_foreign_key(
            batch.f("fk_compensation_proposals_proposed_by_key_id_api_keys"),
            "api_keys",
            ["proposed_by_key_id"],
            ["id"],
        )
        batch.create_foreign_key(
            batch.f("fk_compensation_proposals_decided_by_key_id_api_keys"),
            "api_keys",
            ["decided_by_key_id"],
            ["id"],
        )
        batch.drop_column("decided_by_id")
        batch.drop_column("decided_by_type")
        batch.drop_column("proposed_by_id")
        batch.drop_column("proposed_by_type")

    with op.batch_alter_table("timeline_entries") as batch:
        batch.drop_column("hash_version")
    for table, _name, type_, id_, _nullable in reversed(ACTORS):
        with op.batch_alter_table(table) as batch:
            batch.drop_column(id_)
            batch.drop_column(type_)
    for table in ("timeline_entries", "incident_messages"):
        with op.batch_alter_table(table) as batch:
            batch.alter_column(
                "actor_name",
                new_column_name="actor",
                existing_type=sa.String(length=200),
                existing_nullable=False,
            )
