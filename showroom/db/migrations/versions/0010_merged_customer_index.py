"""merged customer index

An erasure covers the records merged into the erased customer, and the sync erases again, after
each round that pushed or pulled, what the pull brought of erased customers
(``showroom.services.privacy.forget_after_sync``). Both find the merged records by
``merged_into_id``; without an index SQLite built a temporary one over the whole customer table
for each of the dozen queries of a round. A partial index holds only merged records.

Revision ID: 0010
Revises: 0009
Create Date: 2026-12-07 04:00:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0010"
down_revision = "0009"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("customer", schema=None) as batch_op:
        batch_op.create_index(
            "ix_customer_merged_into_id",
            ["merged_into_id"],
            unique=False,
            sqlite_where=sa.text("merged_into_id IS NOT NULL"),
        )


def downgrade() -> None:
    with op.batch_alter_table("customer", schema=None) as batch_op:
        batch_op.drop_index("ix_customer_merged_into_id")
