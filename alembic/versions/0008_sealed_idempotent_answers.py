"""sealed idempotent answers: a stored answer is encrypted at rest, and the answers that
carried a webhook signing secret in clear text lose their body

Revision ID: 0008
Revises: 0007
Create Date: 2026-12-07 09:00:00.000000

Rows stored before this revision keep a plain body (``sealed`` false) and are replayed as
they are, except those of the two answers that carry a signing secret: their body goes, and
the row becomes ``committed`` (the work was done), so a retry is told that the answer is no
longer available instead of running again or reading the secret back. Without the server key
a migration cannot encrypt them instead.
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0008"
down_revision: str | None = "0007"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("idempotency_keys", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column("sealed", sa.Boolean(), nullable=False, server_default=sa.false())
        )
    op.execute(
        "UPDATE idempotency_keys SET response_body = NULL, state = 'committed' "
        "WHERE response_body IS NOT NULL AND (path = '/v1/webhook-endpoints' "
        "OR path LIKE '/v1/webhook-endpoints/%/rotate-secret')"
    )


def downgrade() -> None:
    # the code before 0008 can neither read a sealed body nor tell 'committed' from 'done'
    # (it would replay an empty answer): those keys are forgotten, and a retry runs again
    op.execute("DELETE FROM idempotency_keys WHERE sealed OR state = 'committed'")
    with op.batch_alter_table("idempotency_keys", schema=None) as batch_op:
        batch_op.drop_column("sealed")
