"""History marks: a random id for every commit that hands out versions, kept per dealer, and the
latest one on the dealer row. Laptops send marks back so that a restore from an older backup
is noticed even when another laptop has pushed the counter past theirs.

Revision ID: s0003
Revises: s0002
Create Date: 2026-12-04
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

from showroom.db.types import UTCDateTime

revision = "s0003"
down_revision = "s0002"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("dealer") as batch:
        batch.add_column(sa.Column("last_commit", sa.String(16), nullable=True))
    op.create_table(
        "history",
        sa.Column("dealer_id", sa.String(36), nullable=False),
        sa.Column("seq", sa.BigInteger(), nullable=False),
        sa.Column("commit_id", sa.String(16), nullable=False),
        sa.Column("at", UTCDateTime(), nullable=False),
        sa.ForeignKeyConstraint(["dealer_id"], ["dealer.id"], name="fk_history_dealer_id_dealer"),
        sa.PrimaryKeyConstraint("dealer_id", "seq", name="pk_history"),
    )


def downgrade() -> None:
    op.drop_table("history")
    with op.batch_alter_table("dealer") as batch:
        batch.drop_column("last_commit")
