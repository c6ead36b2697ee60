"""Record store: which enrolment last wrote each row exactly as that laptop holds it, so a pull
that asks for it can leave such rows out for that laptop. Devices: whether the device is in a
pull that started from 0 (a full resync may go on below purged tombstones).

Revision ID: s0002
Revises: s0001
Create Date: 2025-02-01
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "s0002"
down_revision = "s0001"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("record") as batch:
        batch.add_column(sa.Column("clean_for", sa.String(16), nullable=True))
    with op.batch_alter_table("device") as batch:
        batch.add_column(
            sa.Column("full_pull", sa.Boolean(), server_default=sa.false(), nullable=False)
        )


def downgrade() -> None:
    with op.batch_alter_table("device") as batch:
        batch.drop_column("full_pull")
    with op.batch_alter_table("record") as batch:
        batch.drop_column("clean_for")
