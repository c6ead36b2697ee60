"""quote approved signature

A quote's approval now records what it covered (a hash of the prices, lines and discount the
manager approved), so that the sync can tell an approval another laptop's change has outgrown.
Quotes approved before have none, and their approval is left as it is.

Revision ID: 0011
Revises: 0010
Create Date: 2026-12-07 17:00:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0011"
down_revision = "0010"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("quote", schema=None) as batch_op:
        batch_op.add_column(sa.Column("approved_signature", sa.String(length=64), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("quote", schema=None) as batch_op:
        batch_op.drop_column("approved_signature")
