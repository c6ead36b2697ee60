"""sync outbox held

A delete op keeps the values the laptop showed when the row was deleted. A push's merged answer
gives a row the server's newest version before the laptop's pull has brought the other laptops'
fields; a delete made in that state carries the newest version as its base, and only the values
tell the server that the laptop had not seen the row as it is (``sync.server.push``).

Revision ID: 0009
Revises: 0008
Create Date: 2026-12-07 00:00:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0009"
down_revision = "0008"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("sync_outbox", schema=None) as batch_op:
        batch_op.add_column(sa.Column("held", sa.Text(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("sync_outbox", schema=None) as batch_op:
        batch_op.drop_column("held")
