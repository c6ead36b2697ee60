"""Merging two records of one customer keeps every related row and records the merge."""

from __future__ import annotations

import datetime as dt
import json

import pytest
from sqlalchemy import func, select

from showroom.db.outbox import CAPTURE
from showroom.errors import NotFoundError, ValidationError
from showroom.models import (
    Customer,
    CustomerMerge,
    CustomerPhone,
    CustomerVehicle,
    FollowUp,
    SyncConflict,
    SyncOutbox,
)
from showroom.services import audit, conflicts, customer_list, customers, follow_ups, merge
from showroom.services.customers import CustomerDraft, VehicleDraft
from showroom.services.interactions import log_interaction
from showroom.validation import vin_check_digit

VIN_A = "LSVAU2180N2" + "183294"
VIN_A = VIN_A[:8] + vin_check_digit(VIN_A) + VIN_A[9:]
VIN_B = "LFV3A23C9K3" + "000117"
VIN_B = VIN_B[:8] + vin_check_digit(VIN_B) + VIN_B[9:]


def related_counts(session, customer_id):
    return {
        model.__tablename__: session.scalar(
            select(func.count()).select_from(model).where(model.customer_id == customer_id)
        )
        for model in merge.customer_owned_models()
    }


@pytest.fixture
def pair(db, sales):
    """Two records of the same person, typed by two salespeople, each with history."""
    with db.session_scope() as session:
        a = customers.create_customer(
            session,
            sales,
            CustomerDraft(
                name="陈晓明",
                phones=["13812345678"],
                intent_level="B",
                vehicles=[VehicleDraft(vin=VIN_A, plate="粤B12345")],
            ),
        )
        b = customers.create_customer(
            session, sales,
            CustomerDraft(name="陈小明", phones=["13812345678", "13900001111"], intent_level="H",
                          email="chen@example.com", address="深圳市福田区",
                          vehicles=[VehicleDraft(vin=VIN_A), VehicleDraft(vin=VIN_B)],
                          notes="喜欢SUV"),
            force=True,
        )  # fmt: skip
        log_interaction(session, sales, a.id, channel="visit", summary="到店看车")
        log_interaction(session, sales, b.id, channel="phone", summary="电话询价")
        log_interaction(session, sales, b.id, channel="wechat", summary="发送报价")
    return a.id, b.id


def test_moves_every_related_row_to_the_survivor(db, sales, pair):
    a, b = pair
    with db.session_scope() as session:
        before_a, before_b = related_counts(session, a), related_counts(session, b)
    assert sum(before_b.values()) > 0

    with db.session_scope() as session:
        result = merge.merge_customers(session, sales, a, b)

    with db.session_scope() as session:
        after = related_counts(session, a)
        assert related_counts(session, b) == {t: 0 for t in before_b}
        for table in before_a:
            assert after[table] == before_a[table] + before_b[table], table
        assert result.moved == before_b
        # Shared phone and VIN are not doubled: the absorbed copies are tombstones.
        live_phones = session.scalars(
            select(CustomerPhone.number).where(
                CustomerPhone.customer_id == a, CustomerPhone.deleted.is_(False)
            )
        ).all()
        assert sorted(live_phones) == ["+8613812345678", "+8613900001111"]
        live_vins = session.scalars(
            select(CustomerVehicle.vin).where(
                CustomerVehicle.customer_id == a, CustomerVehicle.deleted.is_(False)
            )
        ).all()
        assert sorted(live_vins) == sorted([VIN_A, VIN_B])


def test_survivor_gains_missing_fields_and_absorbed_is_retired(db, sales, pair):
    a, b = pair
    with db.session_scope() as session:
        result = merge.merge_customers(session, sales, a, b)
    assert result.survivor.email == "chen@example.com"
    assert result.survivor.address == "深圳市福田区"
    assert result.survivor.intent_level == "B"  # the survivor's own value wins
    assert result.survivor.notes == "喜欢SUV"
    with db.session_scope() as session:
        absorbed = session.get(Customer, b)
        assert absorbed.merged_into_id == a and absorbed.deleted
        with pytest.raises(NotFoundError):
            customers.get_customer(session, sales, b)
        hits = customers.search_customers(session, sales, "13812345678")
        assert [h.id for h in hits] == [a]
        assert [h.id for h in customers.search_customers(session, sales, "001111")] == [a]


def test_merge_is_recorded_with_a_full_snapshot(db, sales, pair):
    a, b = pair
    with db.session_scope() as session:
        merge.merge_customers(session, sales, a, b)
    with db.session_scope() as session:
        record = session.scalar(select(CustomerMerge))
        snapshot = json.loads(record.snapshot)
        assert (record.survivor_id, record.merged_id, record.merged_by_id) == (a, b, sales.user_id)
        assert snapshot["customer"]["name"] == "陈小明"
        assert snapshot["customer"]["email"] == "chen@example.com"
        assert len(snapshot["rows"]["interaction"]) == 2
        assert [v["vin"] for v in snapshot["dropped_duplicates"]["customer_vehicle"]] == [VIN_A]
        full = customers.get_customer_record(session, sales, a)
        assert full.merged_from == (b,)
        assert len(full.interactions) == 3


def test_refuses_self_and_repeated_merges(db, sales, pair):
    a, b = pair
    with pytest.raises(ValidationError) as raised, db.session_scope() as session:
        merge.merge_customers(session, sales, a, a)
    assert raised.value.field == "merged_id"
    with db.session_scope() as session:
        merge.merge_customers(session, sales, a, b)
    with pytest.raises(NotFoundError), db.session_scope() as session:
        merge.merge_customers(session, sales, a, b)


def test_every_synced_customer_table_is_covered():
    tables = {m.__tablename__ for m in merge.customer_owned_models()}
    assert tables == {
        "consent", "customer_phone", "customer_vehicle", "follow_up", "intent_change",
        "interaction", "quote", "test_drive",
    }  # fmt: skip


def test_new_record_typed_for_an_existing_customer_folds_into_it(db, sales, pair):
    a, _ = pair
    draft = CustomerDraft(name="陈晓明", phones=["13812345678"], wechat_id="chenxm88")
    with db.session_scope() as session:
        result = merge.create_and_merge(session, sales, draft, a)
    assert result.survivor.id == a
    assert result.survivor.wechat_id == "chenxm88"  # what was typed is kept
    with db.session_scope() as session:
        assert session.scalar(select(func.count()).select_from(CustomerMerge)) == 1


# --- merges another laptop's work crossed, settled after a sync round --------------------------


def pulled(db, change) -> None:
    """Change rows the way the sync client applies pulled ones: no outbox ops of their own."""
    with db.session_scope() as session:
        session.info[CAPTURE] = False
        change(session)


def outbox_count(db) -> int:
    with db.session_scope(write=False) as session:
        return session.scalar(select(func.count()).select_from(SyncOutbox))


def settle(db) -> tuple[bool, int]:
    with db.session_scope(write=False) as session:
        unsettled = merge.merges_unsettled(session)
    with db.session_scope() as session:
        return unsettled, merge.settle_after_sync(session)


def live_phones(session, customer_id) -> list[tuple[str, bool]]:
    rows = session.execute(
        select(CustomerPhone.number, CustomerPhone.is_primary).where(
            CustomerPhone.customer_id == customer_id, CustomerPhone.deleted.is_(False)
        )
    )
    return sorted((number, primary) for number, primary in rows)


def test_settling_moves_what_another_laptop_added_to_a_merged_record(
    today, db, sales, manager, pair
):
    a, b = pair
    with db.session_scope() as session:
        merge.merge_customers(session, sales, a, b)
    due = today

    def added_offline(session):  # another laptop, before the merge reached it
        session.add_all(
            [
                CustomerPhone(customer_id=b, number="+8613700002222", is_primary=True),
                CustomerPhone(customer_id=b, number="+8613900001111", is_primary=False),
                CustomerPhone(customer_id=b, number="+8613600003333", deleted=True),
                FollowUp(customer_id=b, owner_id=sales.user_id, due=due, purpose="回访"),
            ]
        )

    pulled(db, added_offline)
    with db.session_scope(write=False) as session:
        # The sync looks at the customers its pull brought rows of; b's were among them.
        assert merge.merges_unsettled(session, around={b})
        assert not merge.merges_unsettled(session, around={a})
        assert not merge.merges_unsettled(session, around=set())
    before = outbox_count(db)
    assert settle(db) == (True, 3)
    with db.session_scope(write=False) as session:
        # The new number joins the survivor (not as its primary); the one it has is not doubled.
        assert live_phones(session, a) == [
            ("+8613700002222", False), ("+8613812345678", True), ("+8613900001111", False),
        ]  # fmt: skip
        assert live_phones(session, b) == []
        tombstone = select(CustomerPhone).where(CustomerPhone.number == "+8613600003333")
        assert session.scalar(tombstone).customer_id == b  # it stays where it was
        tasks = follow_ups.due_follow_ups(session, sales)
        assert [(t.customer_id, t.purpose) for t in tasks] == [(a, "回访")]
    # Synced edits, for the other laptops, and the audit entry that says what the sync did.
    assert outbox_count(db) == before + 4
    with db.session_scope(write=False) as session:
        entries = audit.list_audit(session, manager, action="merge_settle")
    [entry] = entries
    assert (entry.target_id, entry.actor_id, entry.actor_name) == (a, None, "")
    assert entry.detail == {
        "from_ids": [b],
        "moved": {"customer_phone": 1, "follow_up": 1},
        "duplicates": {"customer_phone": 1},
    }
    assert settle(db) == (False, 0)  # nothing left: the sync's rounds stop


def test_settling_follows_a_chain_of_merges_to_its_end(today, db, sales, pair):
    a, b = pair
    with db.session_scope() as session:
        c = customers.create_customer(
            session, sales, CustomerDraft(name="陈晓鸣", phones=["13500004444"])
        ).id
        merge.merge_customers(session, sales, a, b)
    due = today

    def elsewhere(session):  # a was merged into c on one laptop; b got a task on another
        survivor = session.get(Customer, a)
        survivor.deleted, survivor.merged_into_id = True, c
        for model in merge.customer_owned_models():
            for row in session.scalars(select(model).where(model.customer_id == a)):
                row.customer_id = c
        session.add(FollowUp(customer_id=b, owner_id=sales.user_id, due=due, purpose="回访"))

    pulled(db, elsewhere)
    assert settle(db) == (True, 1)
    with db.session_scope(write=False) as session:
        tasks = follow_ups.due_follow_ups(session, sales)
        assert [t.customer_id for t in tasks] == [c]


def test_settling_a_pair_merged_both_ways_keeps_the_smaller_id(db, sales, manager, pair):
    a, b = pair
    with db.session_scope() as session:
        merge.merge_customers(session, sales, a, b)
        a_email = session.get(Customer, a).email
    assert a_email == "chen@example.com"  # filled from b by the merge

    def other_way(session):  # another laptop merged a into b meanwhile, joining the notes
        survivor = session.get(Customer, a)
        survivor.deleted, survivor.merged_into_id, survivor.email = True, b, None
        survivor.notes = "喜欢SUV\n想要白色"
        absorbed = session.get(Customer, b)
        absorbed.email, absorbed.notes = "chen@example.com", "想要白色\n喜欢SUV"

    pulled(db, other_way)
    with db.session_scope(write=False) as session:
        assert customer_list.count_customers(session, sales) == 0  # the person is in no list
    keep, gone = sorted([a, b])
    unsettled, changed = settle(db)
    assert unsettled and changed >= 1
    with db.session_scope(write=False) as session:
        kept, retired = session.get(Customer, keep), session.get(Customer, gone)
        assert (kept.deleted, kept.merged_into_id) == (False, None)
        assert (retired.deleted, retired.merged_into_id) == (True, keep)
        assert kept.email == "chen@example.com" and kept.address == "深圳市福田区"
        assert sorted(kept.notes.split("\n")) == ["喜欢SUV", "想要白色"]  # each line once
        assert {p for p, _ in live_phones(session, keep)} == {"+8613812345678", "+8613900001111"}
        assert customer_list.count_customers(session, sales) == 1
        [entry] = audit.list_audit(session, manager, action="merge_settle")
        assert (entry.target_id, entry.detail["kept_over_ids"]) == (keep, [gone])
    assert settle(db) == (False, 0)


def test_settling_a_pair_merged_both_ways_closes_only_the_conflicts_it_made_moot(db, sales, pair):
    a, b = pair
    with db.session_scope() as session:
        merge.merge_customers(session, sales, a, b)
    detected = dt.datetime(2026, 12, 7, 9, 30, tzinfo=dt.UTC)

    def other_way(session):  # as the server records them when the two merges meet there
        survivor = session.get(Customer, a)
        survivor.deleted, survivor.merged_into_id = True, b

        def conflict(row_id: str, mine: dict) -> SyncConflict:
            text = json.dumps(mine, ensure_ascii=False)
            return SyncConflict(
                kind="delete_edit", table_name="customer", row_id=row_id, mine_value=text,
                detected_at=detected,
            )  # fmt: skip

        session.add_all(
            [
                # this laptop's fill of a met the other's delete of a
                conflict(a, {"email": "chen@example.com", "notes": "喜欢SUV"}),
                # the other's merge met this laptop's delete of b
                conflict(b, {"deleted": True, "merged_into_id": a}),
                # a third laptop's edit of b, which no merge brought to the survivor
                conflict(b, {"wechat_id": "chen_xm"}),
            ]
        )

    pulled(db, other_way)
    keep, _gone = sorted([a, b])
    settle(db)
    with db.session_scope(write=False) as session:
        found = session.scalars(select(SyncConflict).order_by(SyncConflict.mine_value)).all()
        states = {json.loads(c.mine_value).popitem()[0]: (c.status, c.resolution) for c in found}
        assert states == {
            "notes": ("resolved", conflicts.MERGED),
            "merged_into_id": ("resolved", conflicts.MERGED),
            "wechat_id": ("open", None),
        }
        closed = [c for c in found if c.status == "resolved"]
        # The same on every laptop that settles: no one chose, at the time it was recorded.
        assert {(c.resolved_by_id, c.resolved_at) for c in closed} == {(None, detected)}
        assert session.get(Customer, keep).wechat_id is None


def test_settling_leaves_a_plain_merge_and_a_deleted_customer_alone(today, db, sales, pair):
    a, b = pair
    with db.session_scope() as session:
        merge.merge_customers(session, sales, a, b)
    due = today

    def deleted_survivor(session):  # the survivor was deleted outright on another laptop
        session.get(Customer, a).deleted = True
        session.add(FollowUp(customer_id=b, owner_id=sales.user_id, due=due))

    assert settle(db) == (False, 0)
    before = outbox_count(db)
    pulled(db, deleted_survivor)
    assert settle(db) == (False, 0)
    assert outbox_count(db) == before
