"""Quotes: totals from the catalogue, validation naming the field, the discount approval, margins
per role, lead visibility, and the audited print."""

from __future__ import annotations

import datetime as dt
import json
from decimal import Decimal

import pytest
from quote_kit import MASKED_PHONE, PHONE, add_catalogue, add_customer, expire, pdf_text
from sqlalchemy import select

from showroom.actor import Actor
from showroom.errors import ConflictError, NotFoundError, PermissionDeniedError, ValidationError
from showroom.models import AuditEntry, Quote, QuoteLine, SyncOutbox
from showroom.services import dealer, quotes
from showroom.services.quotes import QuoteDraft, QuoteLineDraft
from showroom.vocabulary import Role


@pytest.fixture
def cat(db):
    return add_catalogue(db)


@pytest.fixture
def more_staff(db, staff):
    with db.session_scope() as session:
        admin = dealer.system_actor(session)
        reception = dealer.create_user(session, admin, "front1", "前台小张", Role.SERVICE_ADVISOR)
        boss = dealer.create_user(session, admin, "admin1", "管理员", Role.ADMIN)
    return {
        **staff,
        "reception": Actor(reception.id, reception.display_name, Role.SERVICE_ADVISOR),
        "admin": Actor(boss.id, boss.display_name, Role.ADMIN),
    }


@pytest.fixture
def customer(db, sales):
    return add_customer(db, sales)


def draft(cat, **changes) -> QuoteDraft:
    values = {
        "trim_id": cat.tiguan,
        "colour": "冰川蓝",
        "option_codes": ["PANO"],
        "extras": [
            QuoteLineDraft("insurance", "交强险+商业险", "6820.50"),
            QuoteLineDraft("registration", "上牌服务", "800"),
            QuoteLineDraft("accessory", "原厂脚垫", "450", 2),
        ],
        "discount": "2000",
    }
    values.update(changes)
    return QuoteDraft(**values)


def create(db, actor, customer_id, d) -> quotes.QuoteDTO:
    with db.session_scope() as session:
        return quotes.create_quote(session, actor, customer_id, d)


def audit_entries(db, action=None) -> list[AuditEntry]:
    with db.session_scope(write=False) as session:
        query = select(AuditEntry).order_by(AuditEntry.at)
        if action:
            query = query.where(AuditEntry.action == action)
        return list(session.scalars(query))


# --- totals and numbers ------------------------------------------------------------------------


def test_totals_come_from_the_catalogue_and_the_lines(db, sales, cat, customer, today):
    q = create(db, sales, customer, draft(cat))
    assert q.vehicle_price == Decimal("219900.00")
    # 219,900 + colour 2,000 + sunroof 6,000
    assert q.vehicle_subtotal == Decimal("227900.00")
    # 6,820.50 + 800 + 2 × 450
    assert q.fees_total == Decimal("8520.50")
    assert q.total == Decimal("227900.00") - Decimal("2000.00") + Decimal("8520.50")
    assert [(x.kind, x.description, x.amount) for x in q.lines] == [
        ("colour", "车身颜色：冰川蓝", Decimal("2000.00")),
        ("option", "全景天窗", Decimal("6000.00")),
        ("insurance", "交强险+商业险", Decimal("6820.50")),
        ("registration", "上牌服务", Decimal("800.00")),
        ("accessory", "原厂脚垫", Decimal("900.00")),
    ]
    assert q.status == "draft" and not q.needs_approval and q.printable
    assert q.valid_until == today + dt.timedelta(days=7)
    assert q.salesperson_id == sales.user_id and q.salesperson_name == "李娜"
    assert (q.brand, q.model, q.model_year) == ("大众", "途观L", 2026)
    with db.session_scope(write=False) as session:
        stored = session.get(Quote, q.id)
        assert stored.total == q.total and isinstance(stored.total, Decimal)


def test_amounts_round_to_fen(db, sales, cat, customer):
    extras = [QuoteLineDraft("service_fee", "金融服务费", "99.999")]
    q = create(db, sales, customer, draft(cat, extras=extras, discount="0.005"))
    assert q.lines[-1].unit_price == Decimal("100.00")
    assert q.discount == Decimal("0.01")
    assert q.total == Decimal("227900.00") - Decimal("0.01") + Decimal("100.00")


def test_numbers_carry_the_day_and_this_laptop_and_count_up(db, sales, cat, customer, today):
    first = create(db, sales, customer, draft(cat))
    second = create(db, sales, customer, draft(cat))
    code = quotes.device_code(db.device_id)
    assert first.number == f"Q{today:%Y%m%d}-{code}-0001"
    assert second.number == f"Q{today:%Y%m%d}-{code}-0002"
    # Another laptop makes its own sequence: the same day's first quote never collides.
    assert quotes.device_code("0190b3c2-7d41-7a8e-9f10-5c3b2a1d0e4f") != code


def test_a_quote_and_its_lines_are_synced_edits(db, sales, cat, customer):
    q = create(db, sales, customer, draft(cat))
    with db.session_scope(write=False) as session:
        ops = session.scalars(select(SyncOutbox.table_name).where(SyncOutbox.row_id == q.id))
        assert list(ops) == ["quote"]
        line_ops = session.scalars(
            select(SyncOutbox).where(SyncOutbox.table_name == "quote_line")
        ).all()
        assert len(line_ops) == len(q.lines)


def test_editing_reuses_lines_and_drops_the_rest(db, sales, cat, customer):
    q = create(db, sales, customer, draft(cat))
    with db.session_scope() as session:
        updated = quotes.update_quote(
            session, sales, q.id, draft(cat, colour="极地白", option_codes=[], extras=[])
        )
    assert updated.number == q.number
    assert updated.lines == ()
    assert updated.total == Decimal("219900.00") - Decimal("2000.00")
    with db.session_scope(write=False) as session:
        live = session.scalars(
            select(QuoteLine).where(QuoteLine.quote_id == q.id, QuoteLine.deleted.is_(False))
        ).all()
        assert live == []


def test_purchase_tax_follows_the_fuel_and_the_year():
    price = Decimal("226000")
    full = Decimal("20000.00")  # 226,000 / 1.13 × 10%
    assert quotes.purchase_tax(price, "petrol", dt.date(2026, 6, 1)) == full
    assert quotes.purchase_tax(price, "ev", dt.date(2025, 6, 1)) == Decimal("0.00")
    assert quotes.purchase_tax(price, "phev", dt.date(2026, 6, 1)) == Decimal("10000.00")
    # The 2026-27 relief is capped at 15,000 off.
    big = Decimal("565000")  # full tax 50,000
    assert quotes.purchase_tax(big, "ev", dt.date(2027, 1, 1)) == Decimal("35000.00")
    assert quotes.purchase_tax(price, "ev", dt.date(2028, 1, 1)) == full


# --- validation --------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("changes", "field"),
    [
        ({"trim_id": "no-such-trim"}, "trim_id"),
        ({"trim_id": ""}, "trim_id"),
        ({"colour": "荧光绿"}, "colour"),
        ({"colour": None}, "colour"),
        ({"option_codes": ["ROCKET"]}, "options"),
        ({"discount": "-100"}, "discount"),
        ({"discount": "lots"}, "discount"),
        ({"discount": "227900.01"}, "discount"),  # more than the vehicle with its options
        ({"valid_until": "next week"}, "valid_until"),
        ({"extras": [QuoteLineDraft("accessory", "脚垫", "-1")]}, "lines"),
        ({"extras": [QuoteLineDraft("accessory", "", "100")]}, "lines"),
        ({"extras": [QuoteLineDraft("accessory", "脚垫", "100", 0)]}, "lines"),
        ({"extras": [QuoteLineDraft("bribe", "红包", "100")]}, "lines"),
        ({"extras": [QuoteLineDraft("option", "自己加的选装", "100")]}, "lines"),
        ({"notes": "备" * 2001}, "notes"),
        ({"salesperson_id": "nobody"}, "salesperson_id"),
    ],
)
def test_bad_input_names_its_field_and_writes_nothing(db, sales, cat, customer, changes, field):
    with pytest.raises(ValidationError) as raised, db.session_scope() as session:
        quotes.create_quote(session, sales, customer, draft(cat, **changes))
    assert raised.value.field == field
    assert raised.value.message_zh and raised.value.message_en
    with db.session_scope(write=False) as session:
        assert session.scalars(select(Quote)).all() == []


@pytest.mark.parametrize("days", [-1, 91])
def test_a_validity_in_the_past_or_beyond_90_days_is_refused(db, sales, cat, customer, today, days):
    valid_until = today + dt.timedelta(days=days)
    with pytest.raises(ValidationError) as raised, db.session_scope() as session:
        quotes.create_quote(session, sales, customer, draft(cat, valid_until=valid_until))
    assert raised.value.field == "valid_until"
    with db.session_scope(write=False) as session:
        assert session.scalars(select(Quote)).all() == []


def test_a_retired_trim_cannot_be_quoted(db, sales, cat, customer):
    with pytest.raises(ValidationError) as raised, db.session_scope() as session:
        quotes.create_quote(session, sales, customer, draft(cat, trim_id=cat.retired))
    assert raised.value.field == "trim_id"


def test_an_unknown_customer_is_not_found(db, sales, cat):
    with pytest.raises(NotFoundError), db.session_scope() as session:
        quotes.create_quote(session, sales, "no-such-customer", draft(cat))


# --- the discount limit and its approval -------------------------------------------------------


def test_a_discount_at_the_limit_needs_no_approval(db, sales, cat, customer):
    q = create(db, sales, customer, draft(cat, discount="3000"))
    assert q.discount_limit == quotes.DEFAULT_DISCOUNT_THRESHOLD == Decimal("3000.00")
    assert q.status == "draft" and q.printable


def test_salesperson_above_the_limit_waits_for_a_manager_who_approves(
    db, sales, manager, cat, customer
):
    q = create(db, sales, customer, draft(cat, discount="8000"))
    assert q.status == "pending_approval" and q.needs_approval and not q.printable
    # The salesperson can neither approve it nor print it.
    with pytest.raises(PermissionDeniedError), db.session_scope() as session:
        quotes.approve_discount(session, sales, q.id)
    for purpose in ("print", "save"):
        with pytest.raises(ValidationError) as refused, db.session_scope() as session:
            quotes.render_for_print(session, sales, q.id, purpose)
        assert refused.value.field == "discount"
    assert audit_entries(db) == []

    with db.session_scope() as session:
        approved = quotes.approve_discount(session, manager, q.id)
    assert approved.status == "approved" and approved.printable
    assert approved.approved_by_id == manager.user_id and approved.approved_by_name == "周经理"
    (entry,) = audit_entries(db, "discount")
    assert (entry.actor_id, entry.target_table, entry.target_id) == (
        manager.user_id, "customer", customer,
    )  # fmt: skip
    detail = json.loads(entry.detail)
    assert detail["decision"] == "approved" and detail["number"] == q.number
    assert detail["discount"] == "8000.00" and detail["limit"] == "3000.00"

    with db.session_scope() as session:
        printed = quotes.render_for_print(session, sales, q.id, "print")
    assert printed.pdf.startswith(b"%PDF")


def test_a_manager_rejects_with_a_reason_and_the_quote_stays_unprintable(
    db, sales, manager, cat, customer
):
    q = create(db, sales, customer, draft(cat, discount="8000"))
    with pytest.raises(ValidationError) as no_reason, db.session_scope() as session:
        quotes.reject_discount(session, manager, q.id, "  ")
    assert no_reason.value.field == "reason"
    with db.session_scope() as session:
        rejected = quotes.reject_discount(session, manager, q.id, "本月优惠额度已用完")
    assert rejected.status == "draft" and rejected.rejection_reason == "本月优惠额度已用完"
    assert rejected.needs_approval and not rejected.printable
    (entry,) = audit_entries(db, "discount")
    assert json.loads(entry.detail)["decision"] == "rejected"
    # The reason stays on the quote only: the append-only trail could not forget it in an
    # erasure of the customer.
    assert "本月优惠额度已用完" not in entry.detail
    with pytest.raises(ValidationError), db.session_scope() as session:
        quotes.render_for_print(session, sales, q.id, "print")
    # Nothing left to decide.
    with pytest.raises(ValidationError) as nothing, db.session_scope() as session:
        quotes.approve_discount(session, manager, q.id)
    assert nothing.value.field == "status"
    # Lowering the discount to the limit makes it printable without a manager.
    with db.session_scope() as session:
        lowered = quotes.update_quote(session, sales, q.id, draft(cat, discount="3000"))
    assert lowered.status == "draft" and lowered.printable and lowered.rejection_reason is None


def test_changing_an_approved_price_asks_again_but_a_note_does_not(
    db, sales, manager, cat, customer
):
    q = create(db, sales, customer, draft(cat, discount="8000"))
    with db.session_scope() as session:
        quotes.approve_discount(session, manager, q.id)
        noted = quotes.update_quote(
            session, sales, q.id, draft(cat, discount="8000", notes="周六提车")
        )
    assert noted.status == "approved"
    with db.session_scope() as session:
        bigger = quotes.update_quote(session, sales, q.id, draft(cat, discount="9000"))
    assert bigger.status == "pending_approval" and bigger.approved_by_id is None


def test_a_managers_own_discount_is_approved_and_audited(db, manager, cat, customer):
    q = create(db, manager, customer, draft(cat, discount="20000"))
    assert q.status == "approved" and q.approved_by_id == manager.user_id and q.printable
    assert [json.loads(e.detail)["decision"] for e in audit_entries(db, "discount")] == ["approved"]


def test_the_stores_limit_is_a_setting_managers_change(db, sales, manager, cat, customer):
    with pytest.raises(PermissionDeniedError), db.session_scope() as session:
        quotes.set_discount_threshold(session, sales, "50000")
    with pytest.raises(ValidationError) as bad, db.session_scope() as session:
        quotes.set_discount_threshold(session, manager, "-1")
    assert bad.value.field == "discount_threshold"
    with db.session_scope() as session:
        assert quotes.set_discount_threshold(session, manager, "10000") == Decimal("10000.00")
    q = create(db, sales, customer, draft(cat, discount="8000"))
    assert q.status == "draft" and q.discount_limit == Decimal("10000.00")


@pytest.mark.parametrize("role", ["reception", "sales"])
def test_only_managers_and_admins_approve(db, more_staff, cat, customer, role):
    q = create(db, more_staff["sales"], customer, draft(cat, discount="8000"))
    with pytest.raises(PermissionDeniedError) as refused, db.session_scope() as session:
        quotes.approve_discount(session, more_staff[role], q.id)
    assert "批准超过限额的折扣" in refused.value.message_zh
    with pytest.raises(PermissionDeniedError), db.session_scope() as session:
        quotes.reject_discount(session, more_staff[role], q.id, "不行")
    with db.session_scope() as session:
        assert quotes.approve_discount(session, more_staff["admin"], q.id).status == "approved"


# --- margins -----------------------------------------------------------------------------------


def test_margins_by_role(db, more_staff, cat, customer):
    q = create(db, more_staff["sales"], customer, draft(cat, discount="3000"))
    for role in ("sales", "manager", "admin"):
        with db.session_scope(write=False) as session:
            seen = quotes.get_quote(session, more_staff[role], q.id)
            assert seen.dealer_cost == Decimal("201000.00")
            # (219,900 − 3,000) − 201,000
            assert seen.margin == Decimal("15900.00")
            assert seen.margin_rate == Decimal("0.0733")
            assert quotes.quote_margin(session, more_staff[role], q.id) == (
                Decimal("201000.00"), Decimal("15900.00"),
            )  # fmt: skip
    reception = more_staff["reception"]
    with db.session_scope(write=False) as session:
        seen = quotes.get_quote(session, reception, q.id)
        (listed,) = quotes.list_quotes(session, reception, customer)
        choices = quotes.catalogue_choices(session, reception)
    for dto in (seen, listed):
        assert (dto.dealer_cost, dto.margin, dto.margin_rate) == (None, None, None)
        assert dto.total == q.total  # the price is theirs to see
    assert all(c.dealer_cost is None for c in choices)
    with pytest.raises(PermissionDeniedError) as refused, db.session_scope() as session:
        quotes.quote_margin(session, reception, q.id)
    assert "成本和毛利" in refused.value.message_zh


def test_no_dealer_cost_means_no_margin(db, sales, cat, customer):
    q = create(
        db, sales, customer, draft(cat, trim_id=cat.han_ev, colour="雪域白", option_codes=[])
    )
    assert q.dealer_cost is None and q.margin is None
    with pytest.raises(ValidationError) as raised, db.session_scope() as session:
        quotes.quote_margin(session, sales, q.id)
    assert raised.value.field == "dealer_cost"


# --- lead visibility ---------------------------------------------------------------------------


def test_a_salesperson_quotes_only_for_leads_they_may_edit(db, staff, cat):
    own = add_customer(db, staff["sales"])
    others = add_customer(db, staff["sales2"], name="王其他", phone="13900002222")
    q = create(db, staff["sales2"], others, draft(cat))
    # Read-only by default: listed, but no new quote, no change, no print.
    with db.session_scope(write=False) as session:
        assert [x.id for x in quotes.list_quotes(session, staff["sales"], others)] == [q.id]
    with pytest.raises(PermissionDeniedError), db.session_scope() as session:
        quotes.create_quote(session, staff["sales"], others, draft(cat))
    with pytest.raises(PermissionDeniedError), db.session_scope() as session:
        quotes.update_quote(session, staff["sales"], q.id, draft(cat))
    with pytest.raises(PermissionDeniedError), db.session_scope() as session:
        quotes.render_for_print(session, staff["sales"], q.id, "print")
    # Hidden: as if there were none.
    with db.session_scope() as session:
        dealer.set_lead_visibility(session, staff["manager"], "hidden")
    with pytest.raises(NotFoundError), db.session_scope(write=False) as session:
        quotes.list_quotes(session, staff["sales"], others)
    with pytest.raises(NotFoundError), db.session_scope(write=False) as session:
        quotes.get_quote(session, staff["sales"], q.id)
    # Their own lead is fine.
    assert create(db, staff["sales"], own, draft(cat)).customer_id == own


# --- printing ----------------------------------------------------------------------------------


def test_print_and_save_each_leave_exactly_one_audit_entry_and_issue_the_quote(
    db, sales, cat, customer
):
    q = create(db, sales, customer, draft(cat))
    with db.session_scope() as session:
        printed = quotes.render_for_print(session, sales, q.id, "print")
    entries = audit_entries(db)
    assert len(entries) == 1
    (entry,) = entries
    assert entry.action == "print" and entry.actor_id == sales.user_id
    assert entry.actor_name == "李娜" and entry.at is not None
    assert (entry.target_table, entry.target_id) == ("customer", customer)
    detail = json.loads(entry.detail)
    assert detail == {
        "document": "quote", "quote_id": q.id, "number": q.number, "purpose": "print",
    }  # fmt: skip
    assert printed.number == q.number and printed.customer_name == "陈晓明"
    with db.session_scope(write=False) as session:
        issued = quotes.get_quote(session, sales, q.id)
    assert issued.status == "issued" and issued.issued_at is not None

    with db.session_scope() as session:
        quotes.render_for_print(session, sales, q.id, "save")
    assert [json.loads(e.detail)["purpose"] for e in audit_entries(db, "print")] == [
        "print", "save",
    ]  # fmt: skip
    # An issued quote is not edited any more.
    with pytest.raises(ConflictError) as locked, db.session_scope() as session:
        quotes.update_quote(session, sales, q.id, draft(cat))
    assert locked.value.field == "status"


def test_preview_is_marked_and_neither_audited_nor_issued(db, sales, cat, customer):
    q = create(db, sales, customer, draft(cat, discount="8000"))  # pending approval
    with db.session_scope(write=False) as session:
        preview = quotes.render_preview(session, sales, q.id)
    assert preview.purpose == "preview" and preview.pdf.startswith(b"%PDF")
    assert audit_entries(db) == []
    with db.session_scope(write=False) as session:
        assert quotes.get_quote(session, sales, q.id).status == "pending_approval"


def test_a_bad_purpose_an_expired_or_cancelled_quote_is_not_printed(
    db, sales, cat, customer, today
):
    q = create(db, sales, customer, draft(cat))
    with pytest.raises(ValidationError) as bad, db.session_scope() as session:
        quotes.render_for_print(session, sales, q.id, "fax")
    assert bad.value.field == "purpose"
    with db.session_scope() as session:
        session.get(Quote, q.id).valid_until = today - dt.timedelta(days=1)
    with db.session_scope(write=False) as session:
        assert quotes.get_quote(session, sales, q.id).status == "expired"
    with pytest.raises(ValidationError) as expired, db.session_scope() as session:
        quotes.render_for_print(session, sales, q.id, "print")
    assert expired.value.field == "valid_until"
    with db.session_scope() as session:
        # Editing it needs a new date: the old one is past.
        with pytest.raises(ValidationError):
            quotes.update_quote(
                session, sales, q.id, draft(cat, valid_until=today - dt.timedelta(days=1))
            )
        quotes.update_quote(session, sales, q.id, draft(cat, valid_until=today))
        assert quotes.cancel_quote(session, sales, q.id).status == "cancelled"
    with pytest.raises(ValidationError) as cancelled, db.session_scope() as session:
        quotes.render_for_print(session, sales, q.id, "print")
    assert cancelled.value.field == "status"
    assert audit_entries(db) == []


def test_an_issued_quote_past_its_date_is_copied_not_edited(db, sales, cat, customer):
    """The customer's printed copy cannot change, so an expired issued quote asks for a copy;
    an expired draft asks for a new date."""
    issued = create(db, sales, customer, draft(cat))
    pending = create(db, sales, customer, draft(cat))
    with db.session_scope() as session:
        quotes.render_for_print(session, sales, issued.id, "print")
    expire(db, issued.id)
    expire(db, pending.id)
    with db.session_scope(write=False) as session:
        old = quotes.get_quote(session, sales, issued.id)
        draft_now = quotes.get_quote(session, sales, pending.id)
    assert (old.status, old.editable) == ("expired", False)
    assert (draft_now.status, draft_now.editable) == ("expired", True)
    with pytest.raises(ValidationError) as refused, db.session_scope() as session:
        quotes.render_for_print(session, sales, issued.id, "print")
    assert refused.value.field == "valid_until"
    assert issued.number in refused.value.message_zh and "复制为新报价" in refused.value.message_zh
    with pytest.raises(ValidationError) as refused, db.session_scope() as session:
        quotes.render_for_print(session, sales, pending.id, "print")
    assert "修改有效期" in refused.value.message_zh
    with pytest.raises(ConflictError) as refused, db.session_scope() as session:
        quotes.update_quote(session, sales, issued.id, draft(cat))
    assert refused.value.field == "status"


def test_the_masked_phone_reaches_the_document_never_the_full_one(db, sales, cat, customer):
    q = create(db, sales, customer, draft(cat))
    with db.session_scope() as session:
        printed = quotes.render_for_print(session, sales, q.id, "print")
    text = pdf_text(printed.pdf)
    assert MASKED_PHONE in text
    assert PHONE not in text.replace(" ", "") and PHONE[-8:] not in text.replace(" ", "")


# --- demo data ---------------------------------------------------------------------------------


def test_demo_data_has_quotes_in_every_status_with_consistent_totals(tmp_path):
    from showroom.db.engine import open_database
    from showroom.demo import generate_demo_data

    demo = open_database(tmp_path / "demo.db")
    try:
        summary = generate_demo_data(demo, 1500, seed=3)
        assert 0.02 * 1500 <= summary.quotes <= 0.08 * 1500
        assert summary.quote_lines >= 3 * summary.quotes
        with demo.session_scope(write=False) as session:
            manager = dealer.actor_for(session, "manager01")
            ids = session.scalars(select(Quote.id)).all()
            shown = [quotes.get_quote(session, manager, i) for i in ids]
            assert summary.quotes == len(shown)
        assert {q.status for q in shown} == set(quotes.STATUSES)
        for q in shown:
            assert q.total == q.vehicle_subtotal - q.discount + q.fees_total, q.number
            assert q.dealer_cost is not None and q.margin is not None
            if q.status == "approved":
                assert q.approved_by_id and not q.needs_approval
            if q.status == "pending_approval":
                assert q.discount > q.discount_limit and q.needs_approval
            if q.status == "issued":
                assert q.issued_at is not None and q.printable
                # What was printed is kept, and is what the quote holds.
                assert q.issued_total == q.total and not q.changed_after_issue
        code = quotes.device_code(demo.device_id)
        assert all(q.number.split("-")[1] == code for q in shown)
        assert len({q.number for q in shown}) == len(shown)
        with demo.session_scope(write=False) as session:
            stored = session.scalars(select(Quote).where(Quote.status == "approved")).all()
            # Each approval records what it covered, and covers the quote as the demo holds it:
            # the sync has nothing to put right.
            assert stored and all(q.approved_signature for q in stored)
            assert quotes.quotes_unsettled(session) == []
    finally:
        demo.dispose()


def test_a_merge_moves_the_quotes_with_their_lines(db, sales, cat, customer):
    from showroom.services import merge

    duplicate = add_customer(db, sales, name="陈晓明", phone="13900003333")
    q = create(db, sales, duplicate, draft(cat))
    with db.session_scope() as session:
        result = merge.merge_customers(session, sales, customer, duplicate)
    assert result.moved["quote"] == 1
    with db.session_scope(write=False) as session:
        (moved,) = quotes.list_quotes(session, sales, customer)
    assert moved.id == q.id and moved.customer_id == customer
    assert moved.lines == q.lines and moved.total == q.total


# --- after a sync: one quote changed on two laptops --------------------------------------------


def combined(db, quote_id, **fields) -> None:
    """Write ``fields`` the way a pulled row is written: as the server merged two laptops'
    edits, with no outbox op of this laptop's own."""
    from showroom.db.outbox import CAPTURE

    with db.session_scope() as session:
        session.info[CAPTURE] = False
        quote = session.get(Quote, quote_id)
        for name, value in fields.items():
            setattr(quote, name, value)


def quote_ops(db, quote_id) -> list[SyncOutbox]:
    with db.session_scope(write=False) as session:
        query = select(SyncOutbox).where(SyncOutbox.row_id == quote_id).order_by(SyncOutbox.seq)
        return list(session.scalars(query))


def settle(db, quote_ids=None) -> int:
    with db.session_scope() as session:
        return quotes.settle_quotes(session, quote_ids)


def unsettled(db) -> list[str]:
    with db.session_scope(write=False) as session:
        return quotes.quotes_unsettled(session)


def test_a_total_that_does_not_add_up_is_computed_again_and_the_approval_asked_again(
    db, sales, manager, cat, customer
):
    q = create(db, manager, customer, draft(cat, discount="5000"))
    assert (q.status, q.total) == ("approved", Decimal("231420.50"))
    untouched = create(db, sales, customer, draft(cat))
    # Another laptop's total (6,000 more, for an option it added) beside this one's discount.
    combined(db, q.id, total=Decimal("237420.50"))
    assert unsettled(db) == [q.id]
    before = quote_ops(db, q.id)

    assert settle(db) == 1
    with db.session_scope(write=False) as session:
        now = quotes.get_quote(session, manager, q.id)
        assert quotes.get_quote(session, sales, untouched.id) == untouched
    assert now.total == Decimal("231420.50") == now.vehicle_subtotal - now.discount + now.fees_total
    assert (now.status, now.approved_by_id, now.approved_at) == ("pending_approval", None, None)
    assert now.needs_approval
    # The settled values are edits to push, like a salesperson's.
    (pushed,) = quote_ops(db, q.id)[len(before) :]
    assert {"total", "status", "approved_by_id"} <= set(json.loads(pushed.fields))
    assert unsettled(db) == [] and settle(db) == 0


def test_settling_within_the_limit_leaves_a_draft_and_an_issued_quote_keeps_its_status(
    db, sales, cat, customer
):
    small = create(db, sales, customer, draft(cat))
    printed = create(db, sales, customer, draft(cat))
    with db.session_scope() as session:
        quotes.render_for_print(session, sales, printed.id)
    combined(db, small.id, total=Decimal("1.00"), status="approved")
    combined(db, printed.id, total=Decimal("2.00"))

    assert settle(db, [small.id, printed.id]) == 2
    with db.session_scope(write=False) as session:
        small_now = quotes.get_quote(session, sales, small.id)
        printed_now = quotes.get_quote(session, sales, printed.id)
    assert (small_now.status, small_now.total) == ("draft", small.total)
    assert (printed_now.status, printed_now.total) == ("issued", printed.total)


def test_only_the_quotes_asked_about_are_settled(db, sales, cat, customer):
    first = create(db, sales, customer, draft(cat))
    second = create(db, sales, customer, draft(cat))
    combined(db, first.id, total=Decimal("1.00"))
    combined(db, second.id, total=Decimal("2.00"))
    assert settle(db, [second.id]) == 1
    assert unsettled(db) == [first.id]


def test_a_conflict_between_two_totals_is_closed_and_offers_no_writing_back(
    db, sales, manager, cat, customer
):
    from showroom.models import SyncConflict
    from showroom.services import conflicts

    q = create(db, sales, customer, draft(cat))
    detected = dt.datetime(2026, 11, 22, 9, 30, tzinfo=dt.UTC)
    with db.session_scope() as session:
        conflict = SyncConflict(
            kind="field", table_name="quote", row_id=q.id, field="total",
            base_value='"1.00"', theirs_value='"2.00"', mine_value=f'"{q.total}"',
            detected_at=detected, server_version=7,
        )  # fmt: skip
        session.add(conflict)
        session.flush()
        conflict_id = conflict.id
    with db.session_scope(write=False) as session:
        listed = conflicts.get_conflict(session, conflict_id)
    assert listed.choices == ("keep",)
    assert unsettled(db) == [q.id]  # the quote adds up, but the conflict is open

    assert settle(db) == 1
    with db.session_scope(write=False) as session:
        closed = session.get(SyncConflict, conflict_id)
        assert (closed.status, closed.resolution) == ("resolved", "quote_settled")
        # The time the server recorded: two laptops closing it at once agree.
        assert (closed.resolved_by_id, closed.resolved_at) == (None, detected)
    with db.session_scope() as session, pytest.raises(ValidationError) as error:
        conflicts.resolve_conflict(session, manager, conflict_id, "revert")
    assert error.value.field == "choice"


def test_a_discount_written_back_from_a_conflict_recomputes_the_total(
    db, sales, manager, cat, customer
):
    from showroom.models import SyncConflict
    from showroom.services import conflicts

    q = create(db, sales, customer, draft(cat, discount="1000"))
    with db.session_scope() as session:
        conflict = SyncConflict(
            kind="field", table_name="quote", row_id=q.id, field="discount",
            base_value='"2000.00"', theirs_value='"5000.00"', mine_value='"1000.00"',
            detected_at=dt.datetime(2026, 11, 22, 9, 30, tzinfo=dt.UTC), server_version=7,
        )  # fmt: skip
        session.add(conflict)
        session.flush()
        conflict_id = conflict.id
    with db.session_scope() as session:
        conflicts.resolve_conflict(session, manager, conflict_id, "revert")
    with db.session_scope(write=False) as session:
        now = quotes.get_quote(session, sales, q.id)
    assert now.discount == Decimal("5000.00")
    assert now.total == q.total - Decimal("4000.00")
    # A discount above the limit, written back by the manager's choice, is not yet approved.
    assert now.status == "pending_approval"


def test_an_approval_covering_other_lines_is_asked_again(db, sales, manager, cat, customer):
    q = create(db, sales, customer, draft(cat, discount="5000"))
    with db.session_scope() as session:
        approved = quotes.approve_discount(session, manager, q.id)
    assert approved.status == "approved"
    assert unsettled(db) == []
    # Another laptop's wording of a line, beside this approval: the total is the same.
    from showroom.db.outbox import CAPTURE

    with db.session_scope() as session:
        session.info[CAPTURE] = False
        line = session.get(QuoteLine, q.lines[-1].id)
        line.description = "原厂全包围脚垫"
    assert unsettled(db) == [q.id]

    assert settle(db) == 1
    with db.session_scope(write=False) as session:
        now = quotes.get_quote(session, manager, q.id)
    assert (now.status, now.approved_by_id, now.total) == ("pending_approval", None, q.total)
    assert unsettled(db) == []


def test_what_an_approval_covers_moves_with_the_quote_and_a_note_leaves_it(
    db, sales, manager, cat, customer
):
    # A manager's own quote above the limit is approved as saved; a note changes nothing the
    # approval covers, so the quote stays approved and nothing is left to settle.
    q = create(db, manager, customer, draft(cat, discount="5000"))
    with db.session_scope() as session:
        noted = quotes.update_quote(
            session, manager, q.id, draft(cat, discount="5000", notes="周六提车")
        )
    assert noted.status == "approved" and unsettled(db) == []
    with db.session_scope(write=False) as session:
        signature = session.get(Quote, q.id).approved_signature
    assert signature and len(signature) == 64


def test_a_quote_approved_before_approvals_were_recorded_is_left_approved(
    db, sales, manager, cat, customer
):
    from showroom.db.outbox import CAPTURE

    q = create(db, manager, customer, draft(cat, discount="5000"))
    # As pulled from a laptop of schema 3, with a line worded on yet another laptop.
    combined(db, q.id, approved_signature=None)
    with db.session_scope() as session:
        session.info[CAPTURE] = False
        session.get(QuoteLine, q.lines[-1].id).description = "原厂全包围脚垫"
    assert unsettled(db) == [] and settle(db) == 0
    with db.session_scope(write=False) as session:
        assert quotes.get_quote(session, manager, q.id).status == "approved"


# --- an issued quote that another laptop changed -----------------------------------------------


def printed_then_changed_elsewhere(db, actor, customer_id, d) -> quotes.QuoteDTO:
    """A quote printed here, then changed as pulled from a laptop that had not seen the print:
    four floor mats instead of two (900.00 more), and the total that laptop worked out."""
    from showroom.db.outbox import CAPTURE

    q = create(db, actor, customer_id, d)
    with db.session_scope() as session:
        quotes.render_for_print(session, actor, q.id)
    with db.session_scope() as session:
        session.info[CAPTURE] = False
        session.get(QuoteLine, q.lines[-1].id).quantity = 4
        session.get(Quote, q.id).total = q.total + Decimal("900.00")
    return q


def test_an_issued_quote_changed_on_another_laptop_is_told_and_not_printed_again(
    db, sales, cat, customer
):
    untouched = create(db, sales, customer, draft(cat))
    with db.session_scope() as session:
        quotes.render_for_print(session, sales, untouched.id)
    q = printed_then_changed_elsewhere(db, sales, customer, draft(cat))
    with db.session_scope(write=False) as session:
        now = quotes.get_quote(session, sales, q.id)
        kept = quotes.get_quote(session, sales, untouched.id)
    assert (kept.changed_after_issue, kept.issued_total) == (False, untouched.total)
    assert now.status == "issued" and now.changed_after_issue
    assert (now.total, now.issued_total) == (q.total + Decimal("900.00"), q.total)
    # The customer holds the printed quote: its number is not printed over other lines.
    with pytest.raises(ValidationError) as refused, db.session_scope() as session:
        quotes.render_for_print(session, sales, q.id)
    assert refused.value.field == "status" and q.number in refused.value.message()
    assert [json.loads(e.detail)["quote_id"] for e in audit_entries(db, "print")] == [
        untouched.id, q.id,
    ]  # fmt: skip
    with db.session_scope() as session:
        assert quotes.render_preview(session, sales, q.id).pdf.startswith(b"%PDF")


def test_the_printed_quote_is_put_back_and_the_change_kept_as_a_new_quote(db, sales, cat, customer):
    q = printed_then_changed_elsewhere(db, sales, customer, draft(cat))
    with db.session_scope() as session:
        before = len(quote_ops(db, q.id))
        issued_at = session.get(Quote, q.id).issued_at
        new = quotes.split_after_issue(session, sales, q.id)

    assert new.id != q.id and new.number != q.number and new.customer_id == customer
    assert new.number == f"{q.number[:-4]}0002"  # this laptop's next number of the day
    assert (new.status, new.total) == ("draft", q.total + Decimal("900.00"))
    assert [(x.description, x.quantity) for x in new.lines][-1] == ("原厂脚垫", 4)
    with db.session_scope(write=False) as session:
        back = quotes.get_quote(session, sales, q.id)
    assert (back.status, back.issued_at, back.changed_after_issue) == ("issued", issued_at, False)
    assert back.lines == q.lines and back.total == q.total
    # The put-back and the new quote are edits to push; one audit entry tells what was done.
    assert len(quote_ops(db, q.id)) > before and quote_ops(db, new.id)
    (entry,) = audit_entries(db, "quote_split")
    assert (entry.actor_id, entry.target_id) == (sales.user_id, customer)
    assert json.loads(entry.detail) == {
        "quote_id": q.id, "number": q.number, "new_quote_id": new.id, "new_number": new.number,
    }  # fmt: skip
    # The printed quote prints again; there is nothing more to split.
    with db.session_scope() as session:
        assert quotes.render_for_print(session, sales, q.id).number == q.number
    with pytest.raises(ValidationError) as nothing, db.session_scope() as session:
        quotes.split_after_issue(session, sales, q.id)
    assert nothing.value.field == "status"


def test_a_change_above_the_limit_kept_as_a_new_quote_waits_for_a_manager(db, sales, cat, customer):
    from showroom.db.outbox import CAPTURE

    q = create(db, sales, customer, draft(cat))
    with db.session_scope() as session:
        quotes.render_for_print(session, sales, q.id)
    with db.session_scope() as session:  # the other laptop's discount of 5,000 and its total
        session.info[CAPTURE] = False
        session.get(Quote, q.id).discount = Decimal("5000.00")
        session.get(Quote, q.id).total = q.total - Decimal("3000.00")
    with db.session_scope() as session:
        new = quotes.split_after_issue(session, sales, q.id)
    assert (new.status, new.discount, new.needs_approval) == (
        "pending_approval", Decimal("5000.00"), True,
    )  # fmt: skip
    with db.session_scope(write=False) as session:
        assert quotes.get_quote(session, sales, q.id).discount == Decimal("2000.00")


@pytest.mark.parametrize(
    "kept",
    [None, "{not json", '{"total": "1.00"}', '{"total": "x", "lines": []}'],
    ids=["schema 4", "not json", "incomplete", "damaged"],
)
def test_a_quote_printed_before_prints_were_recorded_is_left_alone(db, sales, cat, customer, kept):
    q = printed_then_changed_elsewhere(db, sales, customer, draft(cat))
    # As pulled from a laptop of schema 4 (no copy), or a copy that cannot be read.
    combined(db, q.id, issued_snapshot=kept)
    with db.session_scope(write=False) as session:
        now = quotes.get_quote(session, sales, q.id)
    assert (now.changed_after_issue, now.issued_total) == (False, None)
    with pytest.raises(ValidationError) as nothing, db.session_scope() as session:
        quotes.split_after_issue(session, sales, q.id)
    assert nothing.value.field == "status"


def test_a_quote_a_pull_left_unsettled_is_put_right_before_it_is_printed(
    db, sales, manager, cat, customer
):
    # Pulled, and printed before the sync's own pass: another laptop's total beside this
    # laptop's lines, and an approval beside a line reworded elsewhere.
    wrong = create(db, sales, customer, draft(cat))
    combined(db, wrong.id, total=wrong.total + Decimal("6000.00"))
    outgrown = create(db, manager, customer, draft(cat, discount="5000"))
    from showroom.db.outbox import CAPTURE

    with db.session_scope() as session:
        session.info[CAPTURE] = False
        session.get(QuoteLine, outgrown.lines[-1].id).description = "原厂全包围脚垫"

    with db.session_scope() as session:
        printed = quotes.render_for_print(session, sales, wrong.id)
    assert f"{wrong.total:,.2f}" in pdf_text(printed.pdf)
    with db.session_scope(write=False) as session:
        assert quotes.get_quote(session, sales, wrong.id).total == wrong.total
    with pytest.raises(ValidationError) as refused, db.session_scope() as session:
        quotes.render_for_print(session, sales, outgrown.id)
    assert refused.value.field == "discount"
    # The refusal writes nothing: the sync's own pass asks for the approval again.
    assert unsettled(db) == [outgrown.id]
