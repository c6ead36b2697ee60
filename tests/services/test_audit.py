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
