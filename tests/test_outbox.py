"""Every change through a Session leaves sync_outbox ops in the same transaction."""

from __future__ import annotations

import json

import pytest
from sqlalchemy import func, select

from showroom.errors import ValidationError
from showroom.models import Customer, CustomerPhone, SyncOutbox
from showroom.services import customers
from showroom.services.customers import CustomerDraft


def ops(session, table=None):
    query = select(SyncOutbox).order_by(SyncOutbox.seq)
    if table:
        query = query.where(SyncOutbox.table_name == table)
    return list(session.scalars(query))


def test_create_writes_insert_ops_with_all_fields(db, sales):
    with db.session_scope() as session:
        before = len(ops(session))
        c = customers.create_customer(
            session, sales, CustomerDraft(name="陈晓明", phones=["13812345678"], vip=True)
        )
    with db.session_scope() as session:
        new_ops = ops(session)[before:]
        by_table = {(o.table_name, o.op) for o in new_ops}
        assert ("customer", "insert") in by_table
        assert ("customer_phone", "insert") in by_table
        insert = next(o for o in new_ops if o.table_name == "customer")
        fields = json.loads(insert.fields)
        assert insert.row_id == c.id
        assert fields["name"] == {"new": "陈晓明", "base": None}
        assert fields["vip"]["new"] is True
        assert insert.device_id == db.device_id
        assert insert.actor_id == sales.user_id
        row = session.get(Customer, c.id)
        assert row.updated_by_device == db.device_id


def test_update_records_new_and_base_values_and_version(db, sales):
    with db.session_scope() as session:
        c = customers.create_customer(
            session, sales, CustomerDraft(name="陈晓明", phones=["13812345678"])
        )
        session.get(Customer, c.id).server_version = 0
    with db.session_scope() as session:
        before = len(ops(session))
        customers.update_customer(session, sales, c.id, {"address": "深圳市南山区科技园"})
    with db.session_scope() as session:
        (update,) = ops(session)[before:]
        assert update.op == "update"
        assert update.table_name == "customer"
        assert json.loads(update.fields) == {"address": {"new": "深圳市南山区科技园", "base": None}}
        assert update.base_version == 0


def test_soft_delete_is_a_delete_op(db, sales):
    with db.session_scope() as session:
        c = customers.create_customer(
            session, sales, CustomerDraft(name="陈晓明", phones=["13812345678"])
        )
    with db.session_scope() as session:
        customers.delete_customer(session, sales, c.id)
    with db.session_scope() as session:
        last = ops(session, "customer")[-1]
        assert last.op == "delete"
        assert json.loads(last.fields)["deleted"] == {"new": True, "base": False}
        # The row as the laptop showed it, for the server to see an edit it had missed.
        held = json.loads(last.held)
        assert held["name"] == "陈晓明"
        assert "deleted" not in held
        assert all(o.held is None for o in ops(session) if o.op != "delete")


def test_hard_delete_through_the_session_is_captured(db, sales):
    with db.session_scope() as session:
        c = customers.create_customer(
            session, sales, CustomerDraft(name="陈晓明", phones=["13812345678", "13912345678"])
        )
    with db.session_scope() as session:
        phone = session.scalar(select(CustomerPhone).where(CustomerPhone.number.like("+86139%")))
        session.delete(phone)
    with db.session_scope() as session:
        last = ops(session, "customer_phone")[-1]
        assert (last.op, last.row_id) == ("delete", phone.id)
        assert json.loads(last.held)["number"] == "+8613912345678"
        assert c.id  # the customer itself is untouched
        assert ops(session, "customer")[-1].op == "insert"


def test_rollback_leaves_no_op_and_no_row(db, sales):
    with db.session_scope() as session:
        before = session.scalar(select(func.count()).select_from(SyncOutbox))
    with pytest.raises(RuntimeError), db.session_scope() as session:
        customers.create_customer(
            session, sales, CustomerDraft(name="陈晓明", phones=["13812345678"])
        )
        raise RuntimeError("the user action failed after the flush")
    with db.session_scope() as session:
        assert session.scalar(select(func.count()).select_from(SyncOutbox)) == before
        assert session.scalar(select(func.count()).select_from(Customer)) == 0


def test_failed_validation_writes_no_op(db, sales):
    with db.session_scope() as session:
        before = session.scalar(select(func.count()).select_from(SyncOutbox))
    with pytest.raises(ValidationError), db.session_scope() as session:
        customers.create_customer(session, sales, CustomerDraft(name="陈晓明", phones=["12345"]))
    with db.session_scope() as session:
        assert session.scalar(select(func.count()).select_from(SyncOutbox)) == before


def test_unchanged_assignment_makes_no_op(db, sales):
    with db.session_scope() as session:
        c = customers.create_customer(
            session, sales, CustomerDraft(name="陈晓明", phones=["13812345678"])
        )
    with db.session_scope() as session:
        before = len(ops(session))
        session.get(Customer, c.id).name = "陈晓明"
    with db.session_scope() as session:
        assert len(ops(session)) == before
