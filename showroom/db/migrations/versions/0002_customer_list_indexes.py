"""customer list indexes

The customer list pages with keyset cursors (``showroom.services.customer_list``): each sort
reads one of these indexes in order from the last row of the previous page, so no page needs
a sort of the whole table. The id closes each index because it breaks ties in every sort.

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-23 10:00:00
"""

from __future__ import annotations

from alembic import op

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("customer", schema=None) as batch_op:
        batch_op.create_index("ix_customer_updated_at_id", ["updated_at", "id"], unique=False)
        batch_op.create_index("ix_customer_created_at_id", ["created_at", "id"], unique=False)
        batch_op.create_index("ix_customer_name_id", ["name", "id"], unique=False)
        # By level: one range per level, read by name.
        batch_op.create_index(
            "ix_customer_intent_level_name_id", ["intent_level", "name", "id"], unique=False
        )
    with op.batch_alter_table("follow_up", schema=None) as batch_op:
        # By next follow-up: every open task in due order.
        batch_op.create_index(
            "ix_follow_up_open_due_customer",
            ["done", "deleted", "due", "customer_id"],
            unique=False,
        )
        # One customer's open tasks by due: "is one overdue", "which is next". Without it the
        # planner answers those per-customer questions from the index above, by a long scan.
        batch_op.create_index(
            "ix_follow_up_customer_open_due",
            ["customer_id", "done", "deleted", "due"],
            unique=False,
        )


def downgrade() -> None:
    with op.batch_alter_table("follow_up", schema=None) as batch_op:
        batch_op.drop_index("ix_follow_up_customer_open_due")
        batch_op.drop_index("ix_follow_up_open_due_customer")
    with op.batch_alter_table("customer", schema=None) as batch_op:
        batch_op.drop_index("ix_customer_intent_level_name_id")
        batch_op.drop_index("ix_customer_name_id")
        batch_op.drop_index("ix_customer_created_at_id")
        batch_op.drop_index("ix_customer_updated_at_id")
