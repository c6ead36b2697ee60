"""The sync status the status bar shows: read from local state, the outbox and conflicts."""

from __future__ import annotations

import datetime as dt

from sqlalchemy import select

from showroom.db.outbox import CAPTURE
from showroom.models import LocalState, SyncConflict, SyncOutbox
from showroom.models.local import SyncKeys
from showroom.services import customers
from showroom.services.customers import CustomerDraft
from showroom.services.sync_status import sync_status


def set_state(db, **values: str) -> None:
    with db.session_scope() as session:
        for key, value in values.items():
            session.merge(LocalState(key=getattr(SyncKeys, key), value=value))


def test_a_fresh_laptop_is_not_enrolled_and_has_nothing_waiting(db):
    with db.session_scope(write=False) as session:
        status = sync_status(session)
    assert not status.enrolled
    assert status.online is None and status.last_success_at is None
    assert (status.pending_changes, status.open_conflicts, status.rejected_changes) == (0, 0, 0)


def test_enrolled_laptop_reports_times_errors_and_counts(db, sales):
    set_state(
        db,
        SERVER_URL="https://sync.example.cn",
        TOKEN="secret",
        DEALER_NAME="华通大众4S店",
        LAST_ATTEMPT_AT="2026-11-22T10:05:00+00:00",
        LAST_SUCCESS_AT="2026-11-22T09:00:00+00:00",
        LAST_ERROR="server unreachable",
        ONLINE="0",
        CLOCK_SKEW_SECONDS="-420.5",
    )
    with db.session_scope() as session:
        customers.create_customer(
            session, sales, CustomerDraft(name="陈晓明", phones=["13812345678"])
        )
    with db.session_scope() as session:
        ops = list(session.scalars(select(SyncOutbox).order_by(SyncOutbox.seq)))
        ops[0].acknowledged, ops[0].result, ops[0].reason = True, "rejected", "bad"
        ops[1].acknowledged, ops[1].result = True, "applied"
        session.info[CAPTURE] = False
        for status in ("open", "open", "resolved"):
            session.add(
                SyncConflict(
                    kind="field",
                    table_name="customer",
                    row_id=ops[0].row_id,
                    detected_at=dt.datetime.now(dt.UTC),
                    status=status,
                )
            )
        pending = len(ops) - 2
    with db.session_scope(write=False) as session:
        status = sync_status(session)
    assert status.enrolled and status.server_url == "https://sync.example.cn"
    assert status.dealer_name == "华通大众4S店"
    assert status.online is False and status.last_error == "server unreachable"
    assert status.last_success_at == dt.datetime(2026, 11, 22, 9, 0, tzinfo=dt.UTC)
    assert status.last_attempt_at == dt.datetime(2026, 11, 22, 10, 5, tzinfo=dt.UTC)
    assert status.clock_skew_seconds == -420.5
    assert status.pending_changes == pending > 0
    assert status.open_conflicts == 2
    assert status.rejected_changes == 1


def test_damaged_state_reads_as_unknown_rather_than_failing(db):
    set_state(
        db, SERVER_URL="http://x", TOKEN="t", LAST_SUCCESS_AT="yesterday", CLOCK_SKEW_SECONDS="n/a"
    )
    with db.session_scope(write=False) as session:
        status = sync_status(session)
    assert status.enrolled
    assert status.last_success_at is None and status.clock_skew_seconds is None
