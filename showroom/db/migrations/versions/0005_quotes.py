"""quotes

Quotes (``quote``) with their price lines (``quote_line``), both synced; the store's invoice
price of a trim (``catalogue_trim.dealer_cost``, nullable), against which a quote's margin is
measured. ``quote.number`` is indexed but not unique: see ``showroom.models.quote``.

Revision ID: 0005
Revises: 0004
Create Date: 2026-11-22 20:42:05
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

import showroom.db.types

revision = "0005"
down_revision = "0004"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "quote",
        sa.Column("number", sa.String(length=40), nullable=False),
        sa.Column("customer_id", sa.String(length=36), nullable=False),
        sa.Column("salesperson_id", sa.String(length=36), nullable=True),
        sa.Column("trim_id", sa.String(length=36), nullable=False),
        sa.Column("colour", sa.String(length=50), nullable=True),
        sa.Column("vehicle_price", showroom.db.types.Money(), nullable=False),
        sa.Column("discount", showroom.db.types.Money(), nullable=False),
        sa.Column("total", showroom.db.types.Money(), nullable=False),
        sa.Column("dealer_cost", showroom.db.types.Money(), nullable=True),
        sa.Column("valid_until", sa.Date(), nullable=False),
        sa.Column("status", sa.String(length=20), server_default="draft", nullable=False),
        sa.Column("approved_by_id", sa.String(length=36), nullable=True),
        sa.Column("approved_at", showroom.db.types.UTCDateTime(), nullable=True),
        sa.Column("rejection_reason", sa.Text(), nullable=True),
        sa.Column("issued_at", showroom.db.types.UTCDateTime(), nullable=True),
        sa.Column("notes", sa.Text(), nullable=True),
        sa.Column("created_at", showroom.db.types.UTCDateTime(), nullable=False),
        sa.Column("created_by_id", sa.String(length=36), nullable=True),
        sa.Column("id", sa.String(length=36), nullable=False),
        sa.Column("server_version", sa.Integer(), server_default="0", nullable=False),
        sa.Column("deleted", sa.Boolean(), server_default=sa.text("0"), nullable=False),
        sa.Column("updated_at", showroom.db.types.UTCDateTime(), nullable=False),
        sa.Column("updated_by_device", sa.String(length=36), nullable=True),
        sa.ForeignKeyConstraint(
            ["approved_by_id"], ["app_user.id"], name=op.f("fk_quote_approved_by_id_app_user")
        ),
        sa.ForeignKeyConstraint(
            ["created_by_id"], ["app_user.id"], name=op.f("fk_quote_created_by_id_app_user")
        ),
        sa.ForeignKeyConstraint(
            ["customer_id"], ["customer.id"], name=op.f("fk_quote_customer_id_customer")
        ),
        sa.ForeignKeyConstraint(
            ["salesperson_id"], ["app_user.id"], name=op.f("fk_quote_salesperson_id_app_user")
        ),
        sa.ForeignKeyConstraint(
            ["trim_id"], ["catalogue_trim.id"], name=op.f("fk_quote_trim_id_catalogue_trim")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_quote")),
    )
    with op.batch_alter_table("quote", schema=None) as batch_op:
        batch_op.create_index(
            "ix_quote_customer_created", ["customer_id", "created_at"], unique=False
        )
        batch_op.create_index("ix_quote_number", ["number"], unique=False)
        batch_op.create_index("ix_quote_status", ["status"], unique=False)

    op.create_table(
        "quote_line",
        sa.Column("quote_id", sa.String(length=36), nullable=False),
        sa.Column("kind", sa.String(length=20), nullable=False),
        sa.Column("code", sa.String(length=20), nullable=True),
        sa.Column("description", sa.String(length=200), nullable=False),
        sa.Column("quantity", sa.Integer(), server_default="1", nullable=False),
        sa.Column("unit_price", showroom.db.types.Money(), nullable=False),
        sa.Column("position", sa.Integer(), server_default="0", nullable=False),
        sa.Column("id", sa.String(length=36), nullable=False),
        sa.Column("server_version", sa.Integer(), server_default="0", nullable=False),
        sa.Column("deleted", sa.Boolean(), server_default=sa.text("0"), nullable=False),
        sa.Column("updated_at", showroom.db.types.UTCDateTime(), nullable=False),
        sa.Column("updated_by_device", sa.String(length=36), nullable=True),
        sa.ForeignKeyConstraint(
            ["quote_id"], ["quote.id"], name=op.f("fk_quote_line_quote_id_quote")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_quote_line")),
    )
    with op.batch_alter_table("quote_line", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_quote_line_quote_id"), ["quote_id"], unique=False)

    with op.batch_alter_table("catalogue_trim", schema=None) as batch_op:
        batch_op.add_column(sa.Column("dealer_cost", showroom.db.types.Money(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("catalogue_trim", schema=None) as batch_op:
        batch_op.drop_column("dealer_cost")

    with op.batch_alter_table("quote_line", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_quote_line_quote_id"))

    op.drop_table("quote_line")
    with op.batch_alter_table("quote", schema=None) as batch_op:
        batch_op.drop_index("ix_quote_status")
        batch_op.drop_index("ix_quote_number")
        batch_op.drop_index("ix_quote_customer_created")

    op.drop_table("quote")
