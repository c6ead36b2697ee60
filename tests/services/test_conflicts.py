"""Conflict review: each choice changes the record and leaves outbox ops, managers only."""

from __future__ import annotations

import datetime as dt
import json

import pytest
from sqlalchemy import select

from showroom.db.outbox import CAPTURE
from showroom.errors import ConflictError, NotFoundError, PermissionDeniedError, ValidationError
from showroom.models import Customer, SyncConflict, SyncOutbox, TestDrive
from showroom.services import conflicts, customers
from showroom.services.customers import CustomerDraft

LAPTOP_B = "0190a000-0000-7000-8000-00000000000b"


def server_rows(db, *rows) -> None:
    """Store rows the way the sync client applies pulled ones: no outbox ops of their own."""
    with db.session_scope() as session:
        session.info[CAPTURE] = False
        session.add_all(rows)


def field_conflict(customer_id, field, base, theirs, mine, **extra) -> SyncConflict:
    return SyncConflict(
        kind="field",
        table_name="customer",
        row_id=customer_id,
        field=field,
        base_value=json.dumps(base, ensure_ascii=False),
        theirs_value=json.dumps(theirs, ensure_ascii=False),
        mine_value=json.dumps(mine, ensure_ascii=False),
        detected_at=dt.datetime(2026, 11, 22, 9, 30, tzinfo=dt.UTC),
        server_version=7,
        **extra,
    )


def new_customer(db, actor, name="陈晓明", phone="13812345678", **fields) -> str:
    with db.session_scope() as session:
        return customers.create_customer(
            session, actor, CustomerDraft(name=name, phones=[phone], **fields)
        ).id


def outbox_after(db, seq: int) -> list[SyncOutbox]:
    with db.session_scope(write=False) as session:
        return list(
            session.scalars(select(SyncOutbox).where(SyncOutbox.seq > seq).order_by(SyncOutbox.seq))
        )


def last_seq(db) -> int:
    with db.session_scope(write=False) as session:
        return session.scalar(select(SyncOutbox.seq).order_by(SyncOutbox.seq.desc()).limit(1)) or 0


def test_listing_explains_a_field_conflict(db, manager, sales, staff):
    cid = new_customer(db, sales, address="深圳市福田区")
    conflict = field_conflict(
        cid,
        "address",
        "深圳市福田区",
        "深圳市南山区",
        "深圳市宝安区",
        theirs_device=db.device_id,
        mine_device=LAPTOP_B,
        theirs_actor=sales.user_id,
        mine_actor=staff["sales2"].user_id,
    )
    server_rows(db, conflict)
    with db.session_scope(write=False) as session:
        (found,) = conflicts.list_conflicts(session, manager)
    assert found.record_label == "陈晓明"
    assert found.customer_id == cid
    assert (found.base, found.theirs, found.mine) == (
        "深圳市福田区",
        "深圳市南山区",
        "深圳市宝安区",
    )
    assert found.field_label() == "地址" and found.field_label("en") == "Address"
    assert found.theirs_by == "李娜" and found.mine_by == "王磊"
    assert found.theirs_is_this_device and not found.mine_is_this_device
    assert found.choices == ("keep", "revert")
    with db.session_scope(write=False) as session:
        assert conflicts.list_conflicts(session, manager, "resolved") == []


def test_revert_writes_the_overwritten_value_back_as_a_synced_edit(db, manager, sales):
    cid = new_customer(db, sales, address="深圳市宝安区")
    conflict = field_conflict(cid, "address", "深圳市福田区", "深圳市南山区", "深圳市宝安区")
    server_rows(db, conflict)
    before = last_seq(db)
    with db.session_scope() as session:
        result = conflicts.resolve_conflict(session, manager, conflict.id, "revert")
    assert result.status == "resolved" and result.resolution == "reverted"
    assert result.resolved_by == "周经理" and result.choices == ()
    with db.session_scope(write=False) as session:
        assert session.get(Customer, cid).address == "深圳市南山区"
        stored = session.get(SyncConflict, conflict.id)
        assert stored.status == "resolved" and stored.resolved_by_id == manager.user_id
        assert stored.resolved_at is not None
    ops = {(op.table_name, op.row_id): op for op in outbox_after(db, before)}
    edit = json.loads(ops[("customer", cid)].fields)
    assert edit == {"address": {"new": "深圳市南山区", "base": "深圳市宝安区"}}
    decision = json.loads(ops[("sync_conflict", conflict.id)].fields)
    assert decision["status"] == {"new": "resolved", "base": "open"}
    assert decision["resolution"]["new"] == "reverted"
    assert ops[("sync_conflict", conflict.id)].base_version == 7
    assert ops[("customer", cid)].actor_id == manager.user_id


def test_keep_leaves_the_record_alone_and_records_the_decision(db, manager, sales):
    cid = new_customer(db, sales, address="深圳市宝安区")
    conflict = field_conflict(cid, "address", "深圳市福田区", "深圳市南山区", "深圳市宝安区")
    server_rows(db, conflict)
    before = last_seq(db)
    with db.session_scope() as session:
        conflicts.resolve_conflict(session, manager, conflict.id, "keep")
    with db.session_scope(write=False) as session:
        assert session.get(Customer, cid).address == "深圳市宝安区"
        (resolved,) = conflicts.list_conflicts(session, manager, "resolved")
    assert resolved.resolution == "kept"
    assert [(op.table_name, op.op) for op in outbox_after(db, before)] == [
        ("sync_conflict", "update")
    ]


def test_revert_converts_wire_values_to_the_column_type(db, manager, sales):
    cid = new_customer(db, sales, vip=True, expected_purchase_date="2026-12-20")
    server_rows(
        db,
        vip := field_conflict(cid, "vip", False, False, True),
        date := field_conflict(cid, "expected_purchase_date", None, "2027-01-15", "2026-12-20"),
    )
    with db.session_scope() as session:
        conflicts.resolve_conflict(session, manager, vip.id, "revert")
        conflicts.resolve_conflict(session, manager, date.id, "revert")
    with db.session_scope(write=False) as session:
        row = session.get(Customer, cid)
        assert row.vip is False
        assert row.expected_purchase_date == dt.date(2027, 1, 15)


def test_a_kept_value_that_no_longer_fits_names_the_field(db, manager, sales):
    cid = new_customer(db, sales)
    conflict = field_conflict(cid, "birthday", None, "not a date", "1990-01-01")
    server_rows(db, conflict)
    with pytest.raises(ValidationError) as raised, db.session_scope() as session:
        conflicts.resolve_conflict(session, manager, conflict.id, "revert")
    assert raised.value.field == "birthday"
    with db.session_scope(write=False) as session:
        assert session.get(SyncConflict, conflict.id).status == "open"  # nothing half-done


def test_restore_brings_back_a_deleted_record_with_the_edit(db, manager, sales):
    cid = new_customer(db, sales, address="深圳市福田区")
    with db.session_scope() as session:
        session.info[CAPTURE] = False
        session.get(Customer, cid).deleted = True  # the delete arrived from the server
    conflict = SyncConflict(
        kind="delete_edit",
        table_name="customer",
        row_id=cid,
        field=None,
        # The edit arrived after the delete: the server keeps it as "mine".
        mine_value=json.dumps({"address": "深圳市罗湖区", "notes": "想看途观L"}),
        detected_at=dt.datetime(2026, 11, 22, 10, 0, tzinfo=dt.UTC),
    )
    server_rows(db, conflict)
    with db.session_scope(write=False) as session:
        (found,) = conflicts.list_conflicts(session, manager)
    assert found.record_deleted and found.choices == ("keep", "restore")
    assert found.kept_edit == {"address": "深圳市罗湖区", "notes": "想看途观L"}
    assert found.kept_edit_side == "mine"
    before = last_seq(db)
    with db.session_scope() as session:
        conflicts.resolve_conflict(session, manager, conflict.id, "restore")
    with db.session_scope(write=False) as session:
        row = session.get(Customer, cid)
        assert not row.deleted
        assert (row.address, row.notes) == ("深圳市罗湖区", "想看途观L")
    edit = next(op for op in outbox_after(db, before) if op.table_name == "customer")
    fields = json.loads(edit.fields)
    assert fields["deleted"] == {"new": False, "base": True}
    assert fields["address"]["new"] == "深圳市罗湖区"


def test_restore_after_a_late_delete_brings_back_what_the_record_held(db, manager, sales):
    cid = new_customer(db, sales, address="深圳市福田区")
    with db.session_scope() as session:
        session.info[CAPTURE] = False
        row = session.get(Customer, cid)
        row.deleted, row.address = True, "深圳市福田区"
    held = {"name": "陈晓明", "address": "深圳市龙岗区", "vip": True, "a_future_column": 1}
    conflict = SyncConflict(
        kind="delete_edit",
        table_name="customer",
        row_id=cid,
        # The delete arrived after another laptop's edit: "theirs" is the record it deleted.
        theirs_value=json.dumps(held, ensure_ascii=False),
        mine_value=json.dumps({"deleted": True}),
        detected_at=dt.datetime(2026, 11, 22, 10, 0, tzinfo=dt.UTC),
    )
    server_rows(db, conflict)
    with db.session_scope(write=False) as session:
        (found,) = conflicts.list_conflicts(session, manager)
    assert found.kept_edit_side == "theirs" and found.kept_edit["address"] == "深圳市龙岗区"
    with db.session_scope() as session:
        conflicts.resolve_conflict(session, manager, conflict.id, "restore")
    with db.session_scope(write=False) as session:
        row = session.get(Customer, cid)
        assert not row.deleted and row.address == "深圳市龙岗区" and row.vip is True


def merged_pair_with_conflict(db, sales, **conflict_values) -> tuple[str, str, SyncConflict]:
    """陈小明 (the survivor, with notes) and the record merged into it, and a conflict about the
    retired record as the server records another laptop's edit that met the merge."""
    from showroom.services import merge

    survivor = new_customer(db, sales, name="陈小明", phone="13900001111", notes="喜欢SUV")
    absorbed = new_customer(db, sales, phone="13812345678", address="深圳市福田区")
    with db.session_scope() as session:
        merge.merge_customers(session, sales, survivor, absorbed)
    conflict = SyncConflict(
        kind="delete_edit",
        table_name="customer",
        row_id=absorbed,
        detected_at=dt.datetime(2026, 11, 22, 10, 0, tzinfo=dt.UTC),
        **{k: json.dumps(v, ensure_ascii=False) for k, v in conflict_values.items()},
    )
    server_rows(db, conflict)
    return survivor, absorbed, conflict


def test_restore_of_a_record_merged_away_brings_it_back_into_the_list(db, manager, sales):
    from showroom.services import customer_list

    survivor, absorbed, conflict = merged_pair_with_conflict(
        db, sales, mine_value={"notes": "想看途观L"}
    )
    with db.session_scope() as session:
        conflicts.resolve_conflict(session, manager, conflict.id, "restore")
    with db.session_scope(write=False) as session:
        row = session.get(Customer, absorbed)
        assert (row.deleted, row.merged_into_id, row.notes) == (False, None, "想看途观L")
        listed = {r.id for r in customer_list.list_customers(session, manager).rows}
    assert {survivor, absorbed} <= listed


def test_an_edit_that_met_a_merge_can_go_onto_the_customer_kept(db, manager, sales):
    survivor, absorbed, conflict = merged_pair_with_conflict(
        db, sales, mine_value={"email": "chen@example.com", "notes": "喜欢SUV\n想看途观L"}
    )
    with db.session_scope(write=False) as session:
        (found,) = conflicts.list_conflicts(session, manager)
    assert found.choices == ("keep", "restore", conflicts.APPLY_TO_MERGED)
    assert found.merged_into_label == "陈小明"
    assert found.customer_id == survivor  # "open customer" shows where the person is now
    before = last_seq(db)
    with db.session_scope() as session:
        done = conflicts.resolve_conflict(session, manager, conflict.id, conflicts.APPLY_TO_MERGED)
    assert (done.status, done.resolution, done.choices) == ("resolved", "applied_to_merged", ())
    with db.session_scope(write=False) as session:
        kept, retired = session.get(Customer, survivor), session.get(Customer, absorbed)
        assert kept.email == "chen@example.com"
        # The new line joins the notes; none is doubled or dropped.
        assert kept.notes == "喜欢SUV\n想看途观L"
        assert (retired.deleted, retired.merged_into_id) == (True, survivor)
    ops = [op for op in outbox_after(db, before) if op.table_name == "customer"]
    assert [op.row_id for op in ops] == [survivor]  # a synced edit of the survivor only


def test_an_edit_that_met_a_merge_goes_on_along_a_chain_of_merges(db, manager, sales):
    from showroom.services import merge

    survivor, _absorbed, conflict = merged_pair_with_conflict(
        db, sales, mine_value={"wechat_id": "chen_xm"}
    )
    last = new_customer(db, sales, name="陈晓鸣", phone="13500004444")
    with db.session_scope() as session:
        merge.merge_customers(session, sales, last, survivor)
        conflicts.resolve_conflict(session, manager, conflict.id, conflicts.APPLY_TO_MERGED)
    with db.session_scope(write=False) as session:
        assert session.get(Customer, last).wechat_id == "chen_xm"


def test_the_merged_choice_is_offered_only_with_an_edit_and_a_customer_to_take_it(
    db, manager, sales
):
    # A delete that arrived late with nothing to compare with keeps the whole record: that is
    # not an edit to write over another customer.
    _survivor, _absorbed, whole_row = merged_pair_with_conflict(
        db, sales, theirs_value={"name": "陈晓明", "address": "深圳市龙岗区"},
        mine_value={"deleted": True},
    )  # fmt: skip
    with db.session_scope() as session:
        assert conflicts.get_conflict(session, whole_row.id).choices == ("keep", "restore")
        with pytest.raises(ValidationError) as refused:
            conflicts.resolve_conflict(session, manager, whole_row.id, conflicts.APPLY_TO_MERGED)
        assert refused.value.field == "choice"
    # A customer deleted outright, not merged, has no one to take the edit.
    plain = new_customer(db, sales, name="王芳", phone="13700002222")
    with db.session_scope() as session:
        session.info[CAPTURE] = False
        session.get(Customer, plain).deleted = True
    deleted = SyncConflict(
        kind="delete_edit", table_name="customer", row_id=plain,
        mine_value=json.dumps({"email": "wang@example.com"}),
        detected_at=dt.datetime(2026, 11, 22, 10, 0, tzinfo=dt.UTC),
    )  # fmt: skip
    server_rows(db, deleted)
    with db.session_scope() as session:
        found = conflicts.get_conflict(session, deleted.id)
        assert (found.choices, found.merged_into_label) == (("keep", "restore"), None)


def test_a_late_merge_carries_only_the_edit_it_had_not_seen(db, manager, sales):
    # The merge's delete arrived after another laptop's edit, with what it held to compare:
    # the field it had not seen is the edit.
    survivor, _absorbed, late = merged_pair_with_conflict(
        db, sales, base_value={"name": "陈晓明", "address": "深圳市福田区"},
        theirs_value={"name": "陈晓明", "address": "深圳市龙岗区"},
        mine_value={"deleted": True, "merged_into_id": "the survivor"},
    )  # fmt: skip
    with db.session_scope() as session:
        found = conflicts.get_conflict(session, late.id)
        # The review names the address as the edit, not where the merge put the record.
        assert (found.kept_edit, found.kept_edit_side) == ({"address": "深圳市龙岗区"}, "theirs")
        conflicts.resolve_conflict(session, manager, late.id, conflicts.APPLY_TO_MERGED)
    with db.session_scope(write=False) as session:
        kept = session.get(Customer, survivor)
        assert (kept.name, kept.address) == ("陈小明", "深圳市龙岗区")


def test_keep_after_a_delete_leaves_the_record_deleted(db, manager, sales):
    cid = new_customer(db, sales)
    with db.session_scope() as session:
        session.info[CAPTURE] = False
        session.get(Customer, cid).deleted = True
    conflict = SyncConflict(
        kind="delete_edit",
        table_name="customer",
        row_id=cid,
        field="notes",
        theirs_value=json.dumps("回访"),
        detected_at=dt.datetime(2026, 11, 22, 10, 0, tzinfo=dt.UTC),
    )
    server_rows(db, conflict)
    with db.session_scope() as session:
        conflicts.resolve_conflict(session, manager, conflict.id, "keep")
    with db.session_scope(write=False) as session:
        assert session.get(Customer, cid).deleted
        assert session.get(SyncConflict, conflict.id).resolution == "kept"


def double_booking(db, sales, staff):
    cid = new_customer(db, sales)
    other = new_customer(db, sales, name="王芳", phone="13912345678")
    start = dt.datetime(2026, 11, 23, 2, 0, tzinfo=dt.UTC)
    first = TestDrive(
        customer_id=cid,
        salesperson_id=sales.user_id,
        demo_car="粤B·D1234",
        starts_at=start,
        ends_at=start + dt.timedelta(hours=1),
    )
    second = TestDrive(
        customer_id=other,
        salesperson_id=staff["sales2"].user_id,
        demo_car="粤B·D1234",
        starts_at=start + dt.timedelta(minutes=30),
        ends_at=start + dt.timedelta(minutes=90),
    )
    server_rows(db, first, second)
    conflict = SyncConflict(
        kind="double_booking",
        table_name="test_drive",
        row_id=first.id,
        other_row_id=second.id,
        detected_at=dt.datetime(2026, 11, 22, 11, 0, tzinfo=dt.UTC),
    )
    server_rows(db, conflict)
    return conflict, first, second


def test_double_booking_shows_both_bookings(db, manager, sales, staff):
    conflict, first, second = double_booking(db, sales, staff)
    with db.session_scope(write=False) as session:
        (found,) = conflicts.list_conflicts(session, manager)
    assert found.id == conflict.id
    assert (found.booking.id, found.other_booking.id) == (first.id, second.id)
    assert found.record_label == "陈晓明 · 粤B·D1234"
    assert found.booking.customer_name == "陈晓明" and found.booking.salesperson_name == "李娜"
    assert found.other_booking.customer_name == "王芳"
    assert found.other_booking.salesperson_name == "王磊"
    assert found.choices == ("keep", "cancel_other", "cancel_this")


@pytest.mark.parametrize(("choice", "cancelled"), [("cancel_other", 1), ("cancel_this", 0)])
def test_cancelling_one_booking_is_a_synced_edit(db, manager, sales, staff, choice, cancelled):
    conflict, *bookings = double_booking(db, sales, staff)
    before = last_seq(db)
    with db.session_scope() as session:
        conflicts.resolve_conflict(session, manager, conflict.id, choice)
    with db.session_scope(write=False) as session:
        statuses = [session.get(TestDrive, b.id).status for b in bookings]
    expected = ["booked", "booked"]
    expected[cancelled] = "cancelled"
    assert statuses == expected
    op = next(op for op in outbox_after(db, before) if op.table_name == "test_drive")
    assert op.row_id == bookings[cancelled].id
    assert json.loads(op.fields) == {"status": {"new": "cancelled", "base": "booked"}}


def test_only_managers_resolve(db, sales):
    cid = new_customer(db, sales)
    conflict = field_conflict(cid, "notes", None, "a", "b")
    server_rows(db, conflict)
    before = last_seq(db)
    with pytest.raises(PermissionDeniedError), db.session_scope() as session:
        conflicts.resolve_conflict(session, sales, conflict.id, "keep")
    with db.session_scope(write=False) as session:
        assert session.get(SyncConflict, conflict.id).status == "open"
    assert outbox_after(db, before) == []


def test_bad_choices_and_repeats_are_refused_by_name(db, manager, sales):
    cid = new_customer(db, sales)
    conflict = field_conflict(cid, "notes", None, "a", "b")
    server_rows(db, conflict)
    with pytest.raises(ValidationError) as raised, db.session_scope() as session:
        conflicts.resolve_conflict(session, manager, conflict.id, "restore")
    assert raised.value.field == "choice"
    with pytest.raises(NotFoundError), db.session_scope() as session:
        conflicts.resolve_conflict(session, manager, "no-such-conflict", "keep")
    with db.session_scope() as session:
        conflicts.resolve_conflict(session, manager, conflict.id, "keep")
    with pytest.raises(ConflictError) as raised, db.session_scope() as session:
        conflicts.resolve_conflict(session, manager, conflict.id, "revert")
    assert raised.value.field == "conflict"
    with pytest.raises(ValidationError) as raised, db.session_scope(write=False) as session:
        conflicts.list_conflicts(session, manager, "pending")
    assert raised.value.field == "status"


def reject_last_op(db, reason: str) -> int:
    """Mark the newest outbox op as the server's rejection, the way the client records it."""
    with db.session_scope() as session:
        op = session.scalar(select(SyncOutbox).order_by(SyncOutbox.seq.desc()).limit(1))
        op.acknowledged, op.result, op.reason = True, "rejected", reason
        return op.seq


def test_rejected_changes_are_listed_with_the_reason_and_can_be_dismissed(db, manager, sales):
    cid = new_customer(db, sales)
    with db.session_scope() as session:
        customers.update_customer(session, sales, cid, {"notes": "周六来店"})
    seq = reject_last_op(db, "customer does not exist on the server")
    with db.session_scope(write=False) as session:
        (rejected,) = conflicts.list_rejected(session)
    assert rejected.seq == seq and rejected.record_label == "陈晓明"
    assert rejected.fields == {"notes": "周六来店"}
    assert rejected.reason == "customer does not exist on the server"
    assert rejected.made_by == "李娜" and rejected.table_label() == "客户"

    with pytest.raises(PermissionDeniedError), db.session_scope() as session:
        conflicts.dismiss_rejected(session, sales, seq)
    with db.session_scope() as session:
        conflicts.dismiss_rejected(session, manager, seq)
    with db.session_scope(write=False) as session:
        assert conflicts.list_rejected(session) == []
        assert session.get(SyncOutbox, seq).reason  # kept for the record
    with pytest.raises(NotFoundError), db.session_scope() as session:
        conflicts.dismiss_rejected(session, manager, seq)


def decided_twice(decided: SyncConflict, field, theirs, mine, **extra) -> SyncConflict:
    """The conflict the server records when ``decided`` was decided on two laptops."""
    return SyncConflict(
        kind="field",
        table_name="sync_conflict",
        row_id=decided.id,
        field=field,
        base_value=json.dumps(None),
        theirs_value=json.dumps(theirs),
        mine_value=json.dumps(mine),
        detected_at=dt.datetime(2026, 11, 22, 12, 0, tzinfo=dt.UTC),
        **extra,
    )


def test_a_conflict_decided_differently_is_named_by_the_record_and_only_reviewed(
    db, manager, sales, staff
):
    cid = new_customer(db, sales, address="深圳市南山区")
    decided = field_conflict(
        cid, "address", "深圳市福田区", "深圳市南山区", "深圳市宝安区", status="resolved",
        resolution="reverted", resolved_by_id=staff["sales2"].user_id,
    )  # fmt: skip
    server_rows(db, decided)
    twice = decided_twice(
        decided, "resolution", "kept", "reverted",
        theirs_actor=manager.user_id, mine_actor=staff["sales2"].user_id,
    )  # fmt: skip
    server_rows(db, twice)
    with db.session_scope(write=False) as session:
        (found,) = conflicts.list_conflicts(session, manager)
    assert found.kind == conflicts.KIND_DECIDED_TWICE
    assert (found.record_label, found.customer_id) == ("陈晓明", cid)
    assert (found.theirs, found.mine) == ("kept", "reverted")
    assert found.theirs_by == manager.display_name and found.mine_by == "王磊"
    # What the record holds now, whichever decision the conflict row names.
    assert found.decided.id == decided.id and found.decided.current == "深圳市南山区"
    assert found.decided.field_label() == "地址"
    assert found.field_label() == "处理方式"
    # Writing the earlier decision back into the conflict row would not bring its changes back.
    assert found.choices == ("keep",)
    with db.session_scope() as session, pytest.raises(ValidationError) as refused:
        conflicts.resolve_conflict(session, manager, twice.id, "revert")
    assert refused.value.field == "choice"
    with db.session_scope() as session:
        done = conflicts.resolve_conflict(session, manager, twice.id, "keep")
    assert done.status == "resolved" and done.resolution == "kept"
    with db.session_scope(write=False) as session:
        assert session.get(SyncConflict, decided.id).resolution == "reverted"
        assert session.get(Customer, cid).address == "深圳市南山区"


def test_the_sync_closes_what_two_decisions_left_about_who_decided_and_when(
    db, manager, sales, staff
):
    cid = new_customer(db, sales)
    decided = field_conflict(cid, "address", "a", "b", "c", status="resolved", resolution="kept")
    server_rows(db, decided)
    first, later = "2026-11-22T10:00:00+00:00", "2026-11-22T10:05:00+00:00"
    when = decided_twice(decided, "resolved_at", first, later)
    who = decided_twice(decided, "resolved_by_id", manager.user_id, staff["sales2"].user_id)
    what = decided_twice(decided, "resolution", "kept", "reverted")
    server_rows(db, when, who, what)
    with db.session_scope(write=False) as session:
        assert conflicts.decisions_unsettled(session)
    before = last_seq(db)
    with db.session_scope() as session:
        assert conflicts.settle_decisions(session) == 2
    with db.session_scope(write=False) as session:
        assert not conflicts.decisions_unsettled(session)
        (still,) = conflicts.list_conflicts(session, manager)
        closed = conflicts.list_conflicts(session, manager, "resolved")
    assert still.id == what.id
    by_field = {c.field: c for c in closed if c.table_name == "sync_conflict"}
    assert set(by_field) == {"resolved_at", "resolved_by_id"}
    for c in by_field.values():
        # Closed alike on every laptop: no person, the time the server recorded it.
        assert (c.resolution, c.resolved_by, c.resolved_at) == (
            conflicts.SETTLED_DECISION, None, c.detected_at
        )  # fmt: skip
    # Both decisions' people are kept, by name.
    assert (by_field["resolved_by_id"].theirs, by_field["resolved_by_id"].mine) == (
        manager.user_id, staff["sales2"].user_id,
    )  # fmt: skip
    assert by_field["resolved_by_id"].people[staff["sales2"].user_id] == "王磊"
    # The closings are synced edits of those two conflict rows only.
    assert {op.row_id for op in outbox_after(db, before)} == {when.id, who.id}
    with db.session_scope() as session:
        assert conflicts.settle_decisions(session) == 0


def test_a_double_booking_decided_twice_shows_both_bookings_now(db, manager, sales, staff):
    conflict, _first, second = double_booking(db, sales, staff)
    with db.session_scope() as session:
        conflicts.resolve_conflict(session, manager, conflict.id, "cancel_this")
        # The other laptop's manager cancelled the other booking: both changes are in place.
        session.get(TestDrive, second.id).status = "cancelled"
    server_rows(db, decided_twice(conflict, "resolution", "cancelled_other", "cancelled_this"))
    with db.session_scope(write=False) as session:
        (found,) = conflicts.list_conflicts(session, manager)
    assert found.record_label == "陈晓明 · 粤B·D1234"
    assert (found.decided.booking.status, found.decided.other_booking.status) == (
        "cancelled", "cancelled",
    )  # fmt: skip
