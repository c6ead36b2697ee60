"""Merging two records of one customer keeps every related row and records the merge."""

from __future__ import annotations

import json

import pytest
from sqlalchemy import func, select

from showroom.errors import NotFoundError, ValidationError
from showroom.models import Customer, CustomerMerge, CustomerPhone, CustomerVehicle
from showroom.services import customers, merge
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
