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


def test_masked_record_hides_every_phone_and_the_id_number(db, sales, customer_id):
    with db.session_scope() as session:
        record = customers.get_customer_record(session, sales, customer_id)
    masked = masking.masked_record(record).customer
    assert masked.id_number.startswith("110101********")
    assert sorted(p.number for p in masked.phones) == ["+44 2* **** 0958", "138****8000"]
    assert masked.name == "陈晓明"


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
