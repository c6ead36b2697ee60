"""Masking per role, and the audited reveal of a full ID number or phone."""

from __future__ import annotations

import pytest
from sqlalchemy import select

from showroom import masking
from showroom.actor import Actor
from showroom.errors import PermissionDeniedError, ValidationError
from showroom.models import AuditEntry, SyncOutbox
from showroom.services import customers
from showroom.services.customers import CustomerDraft
from showroom.vocabulary import Role

ID_NUMBER = "11010119900307123X"


@pytest.fixture
def customer_id(db, sales):
    from showroom.validation import id_check_digit

    id_number = ID_NUMBER[:17] + id_check_digit(ID_NUMBER[:17])
    with db.session_scope() as session:
        created = customers.create_customer(
            session,
            sales,
            CustomerDraft(
                name="陈晓明",
                phones=["13812348000", "+44 20 7946 0958"],
                id_number=id_number,
                assigned_to_id=sales.user_id,
            ),
        )
    return created.id


@pytest.fixture
def advisor() -> Actor:
    return Actor(user_id="advisor-1", display_name="赵敏", role=Role.SERVICE_ADVISOR)


def audit_entries(db):
    with db.session_scope() as session:
        return session.scalars(select(AuditEntry).order_by(AuditEntry.at)).all()


def test_masks_mainland_and_international_numbers_and_id_numbers():
    assert masking.mask_phone("+8613812348000") == "138****8000"
    assert masking.mask_phone("+442079460958") == "+44 2* **** 0958"
    assert masking.mask_id_number("110101199003071234") == "110101********1234"
    # A stored value that no longer parses is still masked, never shown and never a crash.
    assert masking.mask_id_number("ABC123456789") == "********6789"
    assert masking.mask_phone("12") == "**"
    assert masking.mask_phone(None) == ""


def test_masking_a_masked_value_leaves_it_as_it_is():
    assert masking.mask_phone("138****8000") == "138****8000"
    assert masking.mask_id_number("110101********1234") == "110101********1234"
    assert masking.is_masked("138****8000") and not masking.is_masked("+8613812348000")


FULL_VALUES = ("13812348000", "2079460958", "19900307")


def _assert_masked(dto) -> None:
    text = repr(dto)
    for value in FULL_VALUES:
        assert value not in text


def test_the_customer_services_hand_out_masked_phones_and_id_numbers(db, staff, customer_id):
    """Even a manager, who may reveal, gets masked values until they ask for a reveal."""
    for actor in (staff["sales"], staff["manager"]):
        with db.session_scope() as session:
            record = customers.get_customer_record(session, actor, customer_id)
            customer = customers.get_customer(session, actor, customer_id)
            hits = customers.search_customers(session, actor, "13812348000")
            twins = customers.find_duplicates(session, actor, phones=["13812348000"])
            updated = customers.update_customer(session, actor, customer_id, {"notes": "来店"})
        assert record.customer.id_number.startswith("110101********")
        assert sorted(p.number for p in customer.phones) == ["+44 2* **** 0958", "138****8000"]
        assert record.customer.name == "陈晓明"
        assert [(h.id, h.phone) for h in hits] == [(customer_id, "138****8000")]
        assert [(t.customer_id, t.phone) for t in twins] == [(customer_id, "138****8000")]
        for dto in (record, customer, hits, twins, updated):
            _assert_masked(dto)
    assert audit_entries(db) == []  # nothing was revealed


def _stored(db, customer_id):
    from showroom.models import Customer, CustomerPhone

    with db.session_scope(write=False) as session:
        phones = session.scalars(
            select(CustomerPhone.number).where(
                CustomerPhone.customer_id == customer_id, CustomerPhone.deleted.is_(False)
            )
        ).all()
        return sorted(phones), session.get(Customer, customer_id).id_number


def test_a_masked_value_never_overwrites_the_stored_one(db, sales, customer_id):
    before = _stored(db, customer_id)
    for changes, field in (
        ({"phones": ["138****8000"]}, "phone"),
        ({"phones": ["13900001111", "+44 2* **** 0958"]}, "phone2"),
        ({"id_number": "110101********1234"}, "id_number"),
    ):
        with pytest.raises(ValidationError) as raised, db.session_scope() as session:
            customers.update_customer(session, sales, customer_id, changes)
        assert raised.value.field == field
    assert _stored(db, customer_id) == before


def test_a_kept_phone_is_named_by_its_id_and_keeps_its_full_number(db, sales, customer_id):
    from showroom.services.customers import KeptPhone

    with db.session_scope() as session:
        phones = customers.get_customer(session, sales, customer_id).phones
        by_mask = {p.number: p.id for p in phones}
        customers.update_customer(
            session,
            sales,
            customer_id,
            {"phones": ["139 0000 1111", KeptPhone(by_mask["138****8000"])]},
        )
    numbers, _ = _stored(db, customer_id)
    assert numbers == ["+8613812348000", "+8613900001111"]  # the UK number was dropped
    with db.session_scope() as session:
        primary = customers.get_customer(session, sales, customer_id).phones[0]
        assert primary.number == "139****1111"
        with pytest.raises(ValidationError) as raised:
            customers.update_customer(
                session, sales, customer_id, {"phones": [KeptPhone("someone-elses-phone")]}
            )
    assert raised.value.field == "phone"


def test_roles_that_may_reveal(db, staff, advisor, customer_id):
    assert masking.may_reveal(staff["manager"], None)
    assert masking.may_reveal(staff["sales"], staff["sales"].user_id)
    assert not masking.may_reveal(staff["sales2"], staff["sales"].user_id)
    assert not masking.may_reveal(staff["sales"], None)
    assert not masking.may_reveal(advisor, None)


def test_reveal_returns_the_full_value_and_records_one_synced_entry(db, sales, customer_id):
    with db.session_scope() as session:
        number = masking.reveal_personal_data(session, sales, customer_id, "phone")
    assert number == "+8613812348000"
    (entry,) = audit_entries(db)
    assert (entry.action, entry.actor_id, entry.target_id) == (
        "reveal_phone",
        sales.user_id,
        customer_id,
    )
    assert "13812348000" not in (entry.detail or "")
    with db.session_scope() as session:
        full_id = masking.reveal_personal_data(session, sales, customer_id, "id_number")
        assert session.scalar(
            select(SyncOutbox.row_id).where(SyncOutbox.table_name == "audit_log").limit(1)
        )
    assert full_id.startswith("110101199003071")
    assert [e.action for e in audit_entries(db)] == ["reveal_phone", "reveal_id_number"]


@pytest.mark.parametrize("who", ["sales2", "advisor"])
def test_a_denied_reveal_raises_and_records_nothing(db, staff, advisor, customer_id, who):
    actor = advisor if who == "advisor" else staff[who]
    with db.session_scope() as session, pytest.raises(PermissionDeniedError) as error:
        masking.reveal_personal_data(session, actor, customer_id, "id_number")
    assert "证件号" in error.value.message("zh_CN")
    assert audit_entries(db) == []


def test_reveal_of_something_else_names_the_field(db, manager, customer_id):
    with db.session_scope() as session, pytest.raises(ValidationError) as error:
        masking.reveal_personal_data(session, manager, customer_id, "address")
    assert error.value.field == "what"


def test_reveal_profile_records_one_entry_per_value(db, sales, customer_id):
    with db.session_scope() as session:
        shown = masking.reveal_profile(session, sales, customer_id)
    assert sorted(shown.phones.values()) == ["+442079460958", "+8613812348000"]
    assert shown.id_number.startswith("110101199003071")
    actions = sorted(e.action for e in audit_entries(db))
    assert actions == ["reveal_id_number", "reveal_phone", "reveal_phone"]


def test_reveal_profile_denied_records_nothing(db, advisor, customer_id):
    with db.session_scope() as session, pytest.raises(PermissionDeniedError):
        masking.reveal_profile(session, advisor, customer_id)
    assert audit_entries(db) == []
