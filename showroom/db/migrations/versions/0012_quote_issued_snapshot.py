"""quote issued snapshot

An issued quote now keeps what the customer was handed when it was first printed, so that a
change another laptop made offline to the same quote is told apart and the printed quote can be
put back. Quotes issued before have none, and are left as they are.

Revision ID: 0012
Revises: 0011
Create Date: 2026-12-07 19:50:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0012"
down_revision = "0011"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("quote", schema=None) as batch_op:
        batch_op.add_column(sa.Column("issued_snapshot", sa.Text(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("quote", schema=None) as batch_op:
        batch_op.drop_column("issued_snapshot")
