"""sync upload ack

The versions the server gave the rows of an initial upload, kept until their table is
answered (``showroom.models.local.SyncUploadAck``) and then written into it in one pass.

Revision ID: 0007
Revises: 0006
Create Date: 2026-12-05 09:20:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0007"
down_revision = "0006"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "sync_upload_ack",
        sa.Column("table_name", sa.String(length=50), nullable=False),
        sa.Column("row_id", sa.String(length=36), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint("table_name", "row_id", name=op.f("pk_sync_upload_ack")),
        sqlite_with_rowid=False,
    )


def downgrade() -> None:
    op.drop_table("sync_upload_ack")
