"""The sync server's tables: dealers, devices, enrolment codes and attempts, the record store,
and the idempotency ledgers for batches and ops.

Revision ID: s0001
Revises:
Create Date: 2025-01-01
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

from showroom.db.types import UTCDateTime

revision = "s0001"
down_revision = None
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "dealer",
        sa.Column("id", sa.String(36), nullable=False),
        sa.Column("name", sa.String(100), nullable=False),
        sa.Column("created_at", UTCDateTime(), nullable=False),
        sa.Column("last_seq", sa.BigInteger(), server_default="0", nullable=False),
        sa.Column("epoch", sa.String(32), nullable=False),
        sa.Column("epoch_base_seq", sa.BigInteger(), server_default="0", nullable=False),
        sa.Column("purged_through", sa.BigInteger(), server_default="0", nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_dealer"),
    )
    op.create_table(
        "device",
        sa.Column("id", sa.String(36), nullable=False),
        sa.Column("dealer_id", sa.String(36), nullable=False),
        sa.Column("name", sa.String(100), nullable=False),
        sa.Column("token_hash", sa.String(64), nullable=False),
        sa.Column("enrolled_at", UTCDateTime(), nullable=False),
        sa.Column("revoked_at", UTCDateTime(), nullable=True),
        sa.Column("last_seen_at", UTCDateTime(), nullable=True),
        sa.Column("last_pulled_seq", sa.BigInteger(), server_default="0", nullable=False),
        sa.Column("schema_version", sa.Integer(), nullable=True),
        sa.ForeignKeyConstraint(["dealer_id"], ["dealer.id"], name="fk_device_dealer_id_dealer"),
        sa.PrimaryKeyConstraint("id", name="pk_device"),
        sa.UniqueConstraint("token_hash", name="uq_device_token_hash"),
    )
    op.create_index("ix_device_dealer_id", "device", ["dealer_id"])
    op.create_table(
        "enrollment_code",
        sa.Column("code_hash", sa.String(64), nullable=False),
        sa.Column("dealer_id", sa.String(36), nullable=False),
        sa.Column("created_at", UTCDateTime(), nullable=False),
        sa.Column("expires_at", UTCDateTime(), nullable=False),
        sa.Column("used_at", UTCDateTime(), nullable=True),
        sa.Column("used_by_device", sa.String(36), nullable=True),
        sa.ForeignKeyConstraint(
            ["dealer_id"], ["dealer.id"], name="fk_enrollment_code_dealer_id_dealer"
        ),
        sa.PrimaryKeyConstraint("code_hash", name="pk_enrollment_code"),
    )
    op.create_table(
        "enroll_attempt",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("address", sa.String(64), nullable=False),
        sa.Column("at", UTCDateTime(), nullable=False),
        sa.Column("ok", sa.Boolean(), nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_enroll_attempt"),
    )
    op.create_index("ix_enroll_attempt_address_at", "enroll_attempt", ["address", "at"])
    op.create_table(
        "record",
        sa.Column("dealer_id", sa.String(36), nullable=False),
        sa.Column("table_name", sa.String(50), nullable=False),
        sa.Column("row_id", sa.String(36), nullable=False),
        sa.Column("version", sa.BigInteger(), nullable=False),
        sa.Column("deleted", sa.Boolean(), nullable=False),
        sa.Column("data", sa.Text(), nullable=False),
        sa.Column("updated_at", UTCDateTime(), nullable=False),
        sa.Column("updated_by_device", sa.String(36), nullable=True),
        sa.Column("updated_by_actor", sa.String(36), nullable=True),
        sa.PrimaryKeyConstraint("dealer_id", "table_name", "row_id", name="pk_record"),
    )
    op.create_index("ix_record_dealer_version", "record", ["dealer_id", "version"])
    op.create_table(
        "push_batch",
        sa.Column("dealer_id", sa.String(36), nullable=False),
        sa.Column("batch_id", sa.String(36), nullable=False),
        sa.Column("device_id", sa.String(36), nullable=False),
        sa.Column("response", sa.Text(), nullable=False),
        sa.Column("created_at", UTCDateTime(), nullable=False),
        sa.PrimaryKeyConstraint("dealer_id", "batch_id", name="pk_push_batch"),
    )
    op.create_table(
        "applied_op",
        sa.Column("dealer_id", sa.String(36), nullable=False),
        sa.Column("op_id", sa.String(36), nullable=False),
        sa.Column("result", sa.Text(), nullable=False),
        sa.Column("created_at", UTCDateTime(), nullable=False),
        sa.PrimaryKeyConstraint("dealer_id", "op_id", name="pk_applied_op"),
    )


def downgrade() -> None:
    for table in (
        "applied_op",
        "push_batch",
        "record",
        "enroll_attempt",
        "enrollment_code",
        "device",
        "dealer",
    ):
        op.drop_table(table)
