"""Consent recording and the consent filter; PIPL export and erasure of one customer."""

from __future__ import annotations

import datetime as dt
import json

import pytest
from sqlalchemy import select

from showroom.errors import ValidationError
from showroom.models import AuditEntry, Consent, SyncOutbox
from showroom.services import consents, customers
from showroom.services.customers import CustomerDraft


def new_customer(db, actor, name, *, birthday=None, phones=("13812348000",)):
    with db.session_scope() as session:
        return customers.create_customer(
            session,
            actor,
            CustomerDraft(name=name, phones=list(phones), birthday=birthday),
            force=True,
        ).id


def give(db, actor, customer_id, granted=True, *, channel="sms", purpose="marketing", at=None):
    with db.session_scope() as session:
        return consents.record_consent(
            session, actor, customer_id, channel=channel, purpose=purpose,
            granted=granted, source="paper_form", given_at=at,
        )  # fmt: skip


# --- consent --------------------------------------------------------------------------------


def test_consent_is_recorded_with_time_source_and_staff_and_audited(db, sales):
    cid = new_customer(db, sales, "陈晓明")
    given = give(db, sales, cid, channel="wechat", purpose="surveys")
    assert (given.channel, given.purpose, given.granted) == ("wechat", "surveys", True)
    assert given.recorded_by_id == sales.user_id and given.source == "paper_form"
    assert abs(given.given_at - dt.datetime.now(dt.UTC)) < dt.timedelta(minutes=1)
    with db.session_scope() as session:
        (entry,) = session.scalars(select(AuditEntry)).all()
        assert (entry.action, entry.actor_id, entry.target_id) == ("consent", sales.user_id, cid)
        assert json.loads(entry.detail)["purpose"] == "surveys"
        tables = set(session.scalars(select(SyncOutbox.table_name)))
        assert {"consent", "audit_log"} <= tables


@pytest.mark.parametrize(
    ("field", "kwargs"),
    [
        ("channel", {"channel": "fax"}),
        ("purpose", {"purpose": "spam"}),
        ("given_at", {"at": dt.datetime.now(dt.UTC) + dt.timedelta(days=2)}),
    ],
)
def test_bad_consent_input_names_the_field(db, sales, field, kwargs):
    cid = new_customer(db, sales, "陈晓明")
    with pytest.raises(ValidationError) as error:
        give(db, sales, cid, **kwargs)
    assert error.value.field == field
    with db.session_scope() as session:
        assert session.scalars(select(Consent)).all() == []
        assert session.scalars(select(AuditEntry)).all() == []


def test_consent_filter_takes_the_newest_recording_per_channel_and_purpose(db, sales):
    yes = new_customer(db, sales, "同意")
    withdrawn = new_customer(db, sales, "撤回")
    never = new_customer(db, sales, "从未")
    other_purpose = new_customer(db, sales, "仅销售")
    give(db, sales, yes)
    earlier = dt.datetime.now(dt.UTC) - dt.timedelta(days=30)
    give(db, sales, withdrawn, at=earlier)
    give(db, sales, withdrawn, granted=False)
    give(db, sales, other_purpose, purpose="sales")
    with db.session_scope() as session:
        assert consents.consented_customer_ids(session, "marketing") == {yes}
        assert consents.consented_customer_ids(session, "marketing", "sms") == {yes}
        assert consents.consented_customer_ids(session, "marketing", "email") == set()
        assert consents.consented_customer_ids(session, "sales") == {other_purpose}
        assert never not in consents.consented_customer_ids(session, "sales")
        current = consents.current_consents(session, withdrawn)
        assert current[("sms", "marketing")].granted is False


def test_birthday_care_list_leaves_out_customers_without_consent(db, sales):
    today = dt.date(2026, 12, 30)
    near = new_customer(db, sales, "新年生日", birthday=dt.date(1990, 1, 2))
    soon = new_customer(db, sales, "年底生日", birthday=dt.date(1985, 12, 31))
    no_consent = new_customer(db, sales, "未同意", birthday=dt.date(1991, 12, 31))
    far = new_customer(db, sales, "远期", birthday=dt.date(1992, 6, 1))
    for cid in (near, soon, far):
        give(db, sales, cid)
    with db.session_scope() as session:
        listed = consents.birthday_care_list(session, sales, today=today, days=7)
    assert [c.customer_id for c in listed] == [soon, near]
    assert no_consent not in {c.customer_id for c in listed}
    with db.session_scope() as session, pytest.raises(ValidationError) as error:
        consents.birthday_care_list(session, sales, days=0)
    assert error.value.field == "days"
