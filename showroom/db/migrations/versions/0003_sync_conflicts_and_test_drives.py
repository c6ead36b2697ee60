"""sync conflicts and test drives

Conflicts the server records are synced rows (``sync_conflict``), so a manager reviews them on
any laptop. Test drives are the first booking: the server flags a demo car booked twice. The
outbox keeps the server's answer to each op, and the reason when it was rejected.

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-22 18:00:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

import showroom.db.types

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "sync_conflict",
        sa.Column("kind", sa.String(length=20), nullable=False),
        sa.Column("table_name", sa.String(length=50), nullable=False),
        sa.Column("row_id", sa.String(length=36), nullable=False),
        sa.Column("field", sa.String(length=50), nullable=True),
        sa.Column("base_value", sa.Text(), nullable=True),
        sa.Column("theirs_value", sa.Text(), nullable=True),
        sa.Column("mine_value", sa.Text(), nullable=True),
        sa.Column("theirs_device", sa.String(length=36), nullable=True),
        sa.Column("mine_device", sa.String(length=36), nullable=True),
        sa.Column("theirs_actor", sa.String(length=36), nullable=True),
        sa.Column("mine_actor", sa.String(length=36), nullable=True),
        sa.Column("other_row_id", sa.String(length=36), nullable=True),
        sa.Column("detected_at", showroom.db.types.UTCDateTime(), nullable=False),
        sa.Column("status", sa.String(length=10), server_default="open", nullable=False),
        sa.Column("resolution", sa.String(length=20), nullable=True),
        sa.Column("resolved_by_id", sa.String(length=36), nullable=True),
        sa.Column("resolved_at", showroom.db.types.UTCDateTime(), nullable=True),
        sa.Column("id", sa.String(length=36), nullable=False),
        sa.Column("server_version", sa.Integer(), server_default="0", nullable=False),
        sa.Column("deleted", sa.Boolean(), server_default=sa.text("0"), nullable=False),
        sa.Column("updated_at", showroom.db.types.UTCDateTime(), nullable=False),
        sa.Column("updated_by_device", sa.String(length=36), nullable=True),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_sync_conflict")),
    )
    with op.batch_alter_table("sync_conflict", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_sync_conflict_row_id"), ["row_id"], unique=False)
        batch_op.create_index(
            "ix_sync_conflict_status_detected", ["status", "detected_at"], unique=False
        )

    op.create_table(
        "test_drive",
        sa.Column("customer_id", sa.String(length=36), nullable=False),
        sa.Column("salesperson_id", sa.String(length=36), nullable=True),
        sa.Column("demo_car", sa.String(length=40), nullable=False),
        sa.Column("starts_at", showroom.db.types.UTCDateTime(), nullable=False),
        sa.Column("ends_at", showroom.db.types.UTCDateTime(), nullable=False),
        sa.Column("status", sa.String(length=20), server_default="booked", nullable=False),
        sa.Column("notes", sa.Text(), nullable=True),
        sa.Column("id", sa.String(length=36), nullable=False),
        sa.Column("server_version", sa.Integer(), server_default="0", nullable=False),
        sa.Column("deleted", sa.Boolean(), server_default=sa.text("0"), nullable=False),
        sa.Column("updated_at", showroom.db.types.UTCDateTime(), nullable=False),
        sa.Column("updated_by_device", sa.String(length=36), nullable=True),
        sa.ForeignKeyConstraint(
            ["customer_id"], ["customer.id"], name=op.f("fk_test_drive_customer_id_customer")
        ),
        sa.ForeignKeyConstraint(
            ["salesperson_id"], ["app_user.id"], name=op.f("fk_test_drive_salesperson_id_app_user")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_test_drive")),
    )
    with op.batch_alter_table("test_drive", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_test_drive_customer_id"), ["customer_id"], unique=False
        )
        batch_op.create_index(
            "ix_test_drive_demo_car_starts", ["demo_car", "starts_at"], unique=False
        )

    with op.batch_alter_table("sync_outbox", schema=None) as batch_op:
        batch_op.add_column(sa.Column("result", sa.String(length=10), nullable=True))
        batch_op.add_column(sa.Column("reason", sa.Text(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("sync_outbox", schema=None) as batch_op:
        batch_op.drop_column("reason")
        batch_op.drop_column("result")

    with op.batch_alter_table("test_drive", schema=None) as batch_op:
        batch_op.drop_index("ix_test_drive_demo_car_starts")
        batch_op.drop_index(batch_op.f("ix_test_drive_customer_id"))

    op.drop_table("test_drive")
    with op.batch_alter_table("sync_conflict", schema=None) as batch_op:
        batch_op.drop_index("ix_sync_conflict_status_detected")
        batch_op.drop_index(batch_op.f("ix_sync_conflict_row_id"))

    op.drop_table("sync_conflict")
