"""erased customer index

After every push the laptop blanks the values its acknowledged outbox ops hold about erased
customers (now ``showroom.services.privacy.forget_after_sync``), which starts by finding every
erased customer. A partial index holds only those few rows, so the search no longer reads the
whole customer table on each sync (about 35 ms at 100,000 customers).

Revision ID: 0006
Revises: 0005
Create Date: 2026-11-22 22:15:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0006"
down_revision = "0005"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("customer", schema=None) as batch_op:
        batch_op.create_index(
            "ix_customer_erased_at",
            ["erased_at"],
            unique=False,
            sqlite_where=sa.text("erased_at IS NOT NULL"),
        )


def downgrade() -> None:
    with op.batch_alter_table("customer", schema=None) as batch_op:
        batch_op.drop_index("ix_customer_erased_at")
