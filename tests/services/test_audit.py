"""The audit trail: one entry per audited action, synced, append-only, readable by managers."""

from __future__ import annotations

import json

import pytest
from sqlalchemy import select

from showroom.errors import PermissionDeniedError, ValidationError
from showroom.models import AuditEntry, SyncOutbox
from showroom.services import audit


def test_record_appends_one_synced_entry_with_actor_device_and_target(db, sales):
    with db.session_scope() as session:
        audit.record(
            session, sales, "print", target_table="customer", target_id="c-1",
            detail={"document": "quote"},
        )  # fmt: skip
    with db.session_scope() as session:
        entries = session.scalars(select(AuditEntry)).all()
        assert len(entries) == 1
        entry = entries[0]
        assert (entry.actor_id, entry.actor_name, entry.actor_role) == (
            sales.user_id,
            "李娜",
            "salesperson",
        )
        assert (entry.action, entry.target_table, entry.target_id) == ("print", "customer", "c-1")
        assert entry.at is not None and entry.at.utcoffset().total_seconds() == 0
        assert entry.device_id == db.device_id
        assert json.loads(entry.detail) == {"document": "quote"}
        ops = session.scalars(select(SyncOutbox).where(SyncOutbox.table_name == "audit_log")).all()
        assert [op.row_id for op in ops] == [entry.id]


def test_unknown_action_is_refused_and_names_the_field(db, sales):
    with db.session_scope() as session, pytest.raises(ValidationError) as error:
        audit.record(session, sales, "tickle")
    assert error.value.field == "action"


def test_only_managers_read_the_trail(db, sales, manager):
    with db.session_scope() as session:
        audit.record(session, sales, "export", target_table="customer", target_id="c-1")
        audit.record(session, sales, "print", target_table="customer", target_id="c-2")
    with db.session_scope() as session:
        with pytest.raises(PermissionDeniedError):
            audit.list_audit(session, sales)
        rows = audit.list_audit(session, manager)
        assert [r.action for r in rows] == ["print", "export"]
        assert [r.target_id for r in audit.list_audit(session, manager, target_id="c-1")] == ["c-1"]
        assert [r.action for r in audit.list_audit(session, manager, action="print")] == ["print"]
        first = audit.list_audit(session, manager, limit=1)
        rest = audit.list_audit(session, manager, before=(first[0].at, first[0].id))
        assert [r.action for r in first + rest] == ["print", "export"]


def test_delete_and_merge_each_leave_exactly_one_entry(db, sales, manager):
    from showroom.services import customers, merge
    from showroom.services.customers import CustomerDraft

    with db.session_scope() as session:
        a = customers.create_customer(
            session, sales, CustomerDraft(name="陈晓明", phones=["13812345678"])
        )
        b = customers.create_customer(
            session, sales, CustomerDraft(name="陈小明", phones=["13812345678"]), force=True
        )
        gone = customers.create_customer(
            session, sales, CustomerDraft(name="测试客户", phones=["13900001111"])
        )
    with db.session_scope() as session:
        merge.merge_customers(session, manager, a.id, b.id)
    with db.session_scope() as session:
        customers.delete_customer(session, sales, gone.id)
    with db.session_scope() as session:
        entries = audit.list_audit(session, manager)
        assert [(e.action, e.target_id, e.actor_id) for e in entries] == [
            ("delete", gone.id, sales.user_id),
            ("merge", a.id, manager.user_id),
        ]
        assert entries[1].detail["merged_id"] == b.id
        audit_ops = session.scalars(
            select(SyncOutbox.row_id).where(SyncOutbox.table_name == "audit_log")
        ).all()
        assert sorted(audit_ops) == sorted(e.id for e in entries)
