"""Customers: create, update, get, delete, duplicates; bad input writes nothing."""

from __future__ import annotations

import datetime as dt

import pytest
from sqlalchemy import func, select

from showroom.errors import NotFoundError, ValidationError
from showroom.models import Customer, CustomerPhone, CustomerVehicle, FollowUp, SyncOutbox
from showroom.services import customers
from showroom.services.customers import CustomerDraft, DuplicateCustomerError, VehicleDraft
from showroom.validation import id_check_digit, vin_check_digit

VIN = "LFV2A21K" + vin_check_digit("LFV2A21K03A123456") + "3A123456"
ID_NUMBER = "44030519900307123" + id_check_digit("44030519900307123")


def count(session, model):
    return session.scalar(select(func.count()).select_from(model))


def stored_phones(session, customer_id) -> list[str]:
    """The customer's live phones as stored, primary first (the services hand them out masked)."""
    rows = session.scalars(
        select(CustomerPhone)
        .where(CustomerPhone.customer_id == customer_id, CustomerPhone.deleted.is_(False))
        .order_by(CustomerPhone.is_primary.desc(), CustomerPhone.number)
    )
    return [p.number for p in rows]


def test_create_normalises_and_reads_back(db, sales):
    draft = CustomerDraft(
        name="  陈  晓明 ",
        phones=["138-1234-5678", "+86 139 0000 1111"],
        email="Chen@Example.COM",
        id_number=ID_NUMBER.lower(),
        intent_level="h",
        vehicles=[VehicleDraft(vin=VIN.lower(), plate="粤b·12345", mileage_km="12,000")],
    )
    with db.session_scope() as session:
        created = customers.create_customer(session, sales, draft)
    with db.session_scope() as session:
        c = customers.get_customer(session, sales, created.id)
        assert stored_phones(session, created.id) == ["+8613812345678", "+8613900001111"]
        assert session.get(Customer, created.id).id_number == ID_NUMBER
    assert c.name == "陈 晓明"
    assert [p.number for p in c.phones] == ["138****5678", "139****1111"]  # masked
    assert c.phones[0].is_primary and not c.phones[1].is_primary
    assert c.email == "chen@example.com"
    assert c.id_number == ID_NUMBER[:6] + "********" + ID_NUMBER[-4:]
    assert c.birthday == dt.date(1990, 3, 7)  # taken from the ID number
    assert c.gender == "male"
    assert c.intent_level == "H"
    assert c.assigned_to_id == sales.user_id  # a salesperson's new lead is theirs
    (vehicle,) = c.vehicles
    assert (vehicle.vin, vehicle.plate, vehicle.mileage_km) == (VIN, "粤B12345", 12000)


@pytest.mark.parametrize(
    ("draft", "field"),
    [
        (CustomerDraft(name="", phones=["13812345678"]), "name"),
        (CustomerDraft(name="陈晓明", phones=["1381234567"]), "phone"),
        (CustomerDraft(name="陈晓明", phones=["13812345678", "abc"]), "phone2"),
        (CustomerDraft(name="陈晓明", phones=[]), "phone"),
        (CustomerDraft(name="陈晓明", phones=["13812345678"], email="no-at-sign"), "email"),
        (CustomerDraft(name="陈晓明", phones=["13812345678"], id_number="440305199003071230"),
         "id_number"),
        (CustomerDraft(name="陈晓明", phones=["13812345678"], intent_level="Z"), "intent_level"),
        (CustomerDraft(name="陈晓明", phones=["13812345678"], intent_level="F"), "intent_level"),
        (CustomerDraft(name="陈晓明", phones=["13812345678"], birthday="1990-02-30"), "birthday"),
        (CustomerDraft(name="陈晓明", phones=["13812345678"], birthday="2999-01-01"), "birthday"),
        (CustomerDraft(name="陈晓明", phones=["13812345678"], id_number=ID_NUMBER,
                       birthday="1991-03-07"), "birthday"),
        (CustomerDraft(name="陈晓明", phones=["13812345678"], source="tv"), "source"),
        (CustomerDraft(name="陈晓明", phones=["13812345678"], assigned_to_id="nobody"),
         "assigned_to_id"),
        (CustomerDraft(name="陈晓明", phones=["13812345678"],
                       vehicles=[VehicleDraft(vin=VIN[:-1] + "0")]), "vin"),
        (CustomerDraft(name="陈晓明", phones=["13812345678"],
                       vehicles=[VehicleDraft(plate="粤B1234")]), "plate"),
        (CustomerDraft(name="陈晓明", phones=["13812345678"],
                       vehicles=[VehicleDraft(plate="粤B12345", mileage_km="很多")]), "mileage_km"),
    ],
)  # fmt: skip
def test_bad_input_names_the_field_and_writes_nothing(db, sales, draft, field):
    with db.session_scope() as session:
        before = count(session, SyncOutbox)
    with pytest.raises(ValidationError) as raised, db.session_scope() as session:
        customers.create_customer(session, sales, draft)
    assert raised.value.field == field
    assert raised.value.message_zh and raised.value.message_en
    with db.session_scope() as session:
        assert count(session, Customer) == 0
        assert count(session, CustomerPhone) == 0
        assert count(session, SyncOutbox) == before


def test_duplicate_by_phone_in_any_spelling(db, sales):
    with db.session_scope() as session:
        first = customers.create_customer(
            session, sales, CustomerDraft(name="陈晓明", phones=["13812345678"])
        )
    with pytest.raises(DuplicateCustomerError) as raised, db.session_scope() as session:
        customers.create_customer(
            session, sales, CustomerDraft(name="陈小明", phones=["+86 138 1234 5678"])
        )
    (candidate,) = raised.value.candidates
    assert candidate.customer_id == first.id
    assert candidate.reasons == ("phone", "similar_name")
    with db.session_scope() as session:
        assert count(session, Customer) == 1


def test_duplicate_by_id_number_vin_and_email(db, sales):
    with db.session_scope() as session:
        first = customers.create_customer(
            session,
            sales,
            CustomerDraft(
                name="陈晓明", phones=["13812345678"], id_number=ID_NUMBER,
                email="chen@example.com", vehicles=[VehicleDraft(vin=VIN)],
            ),
        )  # fmt: skip
    for draft, reason in [
        (CustomerDraft(name="张伟", phones=["13900000000"], id_number=ID_NUMBER), "id_number"),
        (CustomerDraft(name="张伟", phones=["13900000000"], vehicles=[VehicleDraft(vin=VIN)]),
         "vin"),
        (CustomerDraft(name="张伟", phones=["13900000000"], email="CHEN@example.com"), "email"),
    ]:  # fmt: skip
        with pytest.raises(DuplicateCustomerError) as raised, db.session_scope() as session:
            customers.create_customer(session, sales, draft)
        assert [c.customer_id for c in raised.value.candidates] == [first.id]
        assert raised.value.candidates[0].reasons == (reason,)


def test_force_creates_despite_duplicate_and_similar_name_ranks_first(db, sales):
    with db.session_scope() as session:
        customers.create_customer(
            session, sales, CustomerDraft(name="王芳", phones=["13800000001"])
        )
        customers.create_customer(
            session, sales, CustomerDraft(name="李强", phones=["13800000002"]), force=False
        )
        customers.create_customer(
            session, sales, CustomerDraft(name="王芳", phones=["13800000002"]), force=True
        )
        found = customers.find_duplicates(
            session, sales, name="王芳", phones=["13800000002", "13800000001"]
        )
    assert [c.name for c in found][:2] == ["王芳", "王芳"]
    assert found[-1].name == "李强"
    assert "similar_name" not in found[-1].reasons


def test_update_checks_duplicates_against_others_only(db, sales):
    with db.session_scope() as session:
        a = customers.create_customer(
            session, sales, CustomerDraft(name="王芳", phones=["13800000001"])
        )
        b = customers.create_customer(
            session, sales, CustomerDraft(name="李强", phones=["13800000002"])
        )
        # Saving a customer's own phone again is not a duplicate.
        customers.update_customer(session, sales, a.id, {"phones": ["13800000001"]})
    with pytest.raises(DuplicateCustomerError), db.session_scope() as session:
        customers.update_customer(session, sales, b.id, {"phones": ["13800000001"]})
    with db.session_scope() as session:
        assert stored_phones(session, b.id) == ["+8613800000002"]


def test_update_replaces_phones_and_keeps_history_rows(db, sales):
    with db.session_scope() as session:
        c = customers.create_customer(
            session, sales, CustomerDraft(name="王芳", phones=["13800000001"])
        )
        updated = customers.update_customer(
            session, sales, c.id, {"phones": ["13900000009", "13800000001"], "vip": "是"}
        )
    assert [p.number for p in updated.phones] == ["139****0009", "138****0001"]  # masked
    assert updated.phones[0].is_primary
    assert updated.vip is True
    with db.session_scope() as session:
        customers.update_customer(session, sales, c.id, {"phones": ["13900000009"]})
        rows = session.scalars(select(CustomerPhone).where(CustomerPhone.customer_id == c.id))
        assert sorted((p.number, p.deleted) for p in rows) == [
            ("+8613800000001", True),
            ("+8613900000009", False),
        ]


def test_update_rejects_unknown_field_and_empty_phone_list(db, sales):
    with db.session_scope() as session:
        c = customers.create_customer(
            session, sales, CustomerDraft(name="王芳", phones=["13800000001"])
        )
    with pytest.raises(ValidationError) as raised, db.session_scope() as session:
        customers.update_customer(session, sales, c.id, {"server_version": 9})
    assert raised.value.field == "server_version"
    with pytest.raises(ValidationError) as raised, db.session_scope() as session:
        customers.update_customer(session, sales, c.id, {"phones": []})
    assert raised.value.field == "phone"


def test_soft_delete_hides_the_customer_and_closes_tasks(db, sales):
    with db.session_scope() as session:
        c = customers.create_customer(
            session, sales, CustomerDraft(name="王芳", phones=["13800000001"], intent_level="A")
        )
        customers.delete_customer(session, sales, c.id)
    with db.session_scope() as session:
        assert session.get(Customer, c.id).deleted is True  # a tombstone, not gone
        assert session.scalar(select(FollowUp.deleted).where(FollowUp.customer_id == c.id))
        with pytest.raises(NotFoundError):
            customers.get_customer(session, sales, c.id)
        assert customers.search_customers(session, sales, "王芳") == []


def test_record_has_history_follow_ups_and_interactions(db, sales):
    from showroom.services.interactions import log_interaction

    with db.session_scope() as session:
        c = customers.create_customer(
            session, sales, CustomerDraft(name="王芳", phones=["13800000001"], intent_level="B")
        )
        log_interaction(session, sales, c.id, channel="phone", summary="询问途观L价格")
    with db.session_scope() as session:
        record = customers.get_customer_record(session, sales, c.id)
    assert [h.to_level for h in record.intent_history] == ["B"]
    assert len(record.follow_ups) == 1
    assert record.interactions[0].summary == "询问途观L价格"


def test_add_vehicle_detects_vin_on_another_customer(db, sales):
    with db.session_scope() as session:
        a = customers.create_customer(
            session, sales,
            CustomerDraft(name="王芳", phones=["13800000001"], vehicles=[VehicleDraft(vin=VIN)]),
        )  # fmt: skip
        b = customers.create_customer(
            session, sales, CustomerDraft(name="李强", phones=["13800000002"])
        )
    with pytest.raises(DuplicateCustomerError) as raised, db.session_scope() as session:
        customers.add_vehicle(session, sales, b.id, VehicleDraft(vin=VIN))
    assert raised.value.candidates[0].customer_id == a.id
    with db.session_scope() as session:
        v = customers.add_vehicle(session, sales, b.id, VehicleDraft(plate="粤BD12345"))
        assert v.plate == "粤BD12345"
        assert session.scalar(select(func.count()).select_from(CustomerVehicle)) == 2
