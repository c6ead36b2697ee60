"""Consent recording and the consent filter; PIPL export and erasure of one customer."""

from __future__ import annotations

import datetime as dt
import json
from decimal import Decimal

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


# --- export and erasure ---------------------------------------------------------------------


@pytest.fixture
def full_customer(db, sales, manager):
    """A customer with something in every related table, merged with a second record."""
    from showroom.models import TestDrive
    from showroom.services import follow_ups, leads, merge
    from showroom.services.customers import VehicleDraft
    from showroom.services.interactions import log_interaction
    from showroom.validation import id_check_digit, vin_check_digit

    vin = "LSVAU2180N2183294"
    vin = vin[:8] + vin_check_digit(vin) + vin[9:]
    id_number = "11010119900307123"
    id_number += id_check_digit(id_number)
    with db.session_scope() as session:
        c = customers.create_customer(
            session,
            sales,
            CustomerDraft(
                name="陈晓明", phones=["13812348000"], email="chen@example.com",
                wechat_id="chenxm88", address="深圳市福田区深南大道1号", id_number=id_number,
                notes="喜欢白色SUV", intent_level="B", assigned_to_id=sales.user_id,
                vehicles=[VehicleDraft(vin=vin, plate="粤B12345", model_name="途观L")],
            ),
        )  # fmt: skip
        twin = customers.create_customer(
            session, sales, CustomerDraft(name="陈小明", phones=["13900001111"]), force=True
        )
        log_interaction(session, sales, c.id, channel="phone", summary="询问途观L价格，住福田")
        follow_ups.schedule_follow_up(
            session, sales, c.id, due=dt.date.today() + dt.timedelta(days=2), purpose="回访陈先生"
        )
        leads.set_intent_level(session, sales, c.id, "H", reason="陈先生下周提车")
        session.add(
            TestDrive(
                customer_id=c.id, salesperson_id=sales.user_id, demo_car="粤B00001",
                starts_at=dt.datetime(2026, 11, 1, 2, tzinfo=dt.UTC),
                ends_at=dt.datetime(2026, 11, 1, 3, tzinfo=dt.UTC), notes="陈先生驾驶平稳",
            )
        )  # fmt: skip
    give(db, sales, c.id)
    with db.session_scope() as session:
        merge.merge_customers(session, manager, c.id, twin.id)
    return c.id, twin.id, vin, id_number


def test_export_holds_everything_about_the_customer_and_is_audited(db, manager, full_customer):
    from showroom.services import privacy

    cid, twin, vin, id_number = full_customer
    with db.session_scope() as session:
        export = privacy.export_customer_data(session, manager, cid)
    data = json.loads(export.to_json())
    assert data["customer"]["name"] == "陈晓明" and data["customer"]["id_number"] == id_number
    assert sorted(p["number"] for p in data["phones"]) == ["+8613812348000", "+8613900001111"]
    assert data["vehicles"][0]["vin"] == vin
    assert [i["summary"] for i in data["interactions"]] == ["询问途观L价格，住福田"]
    assert any(f["purpose"] == "回访陈先生" for f in data["follow_ups"])
    assert data["intent_history"][-1]["to_level"] == "H"
    assert data["consents"][0]["purpose"] == "marketing"
    assert data["test_drives"][0]["demo_car"] == "粤B00001"
    assert data["merged_records"][0]["merged_id"] == twin
    assert {"consent", "merge"} <= {e["action"] for e in data["audit_entries"]}
    assert "李娜" in data["staff"].values()
    with db.session_scope() as session:
        entries = session.scalars(select(AuditEntry).where(AuditEntry.action == "export")).all()
        assert [(e.actor_id, e.target_id) for e in entries] == [(manager.user_id, cid)]


def test_a_salesperson_may_not_export_or_erase(db, sales, full_customer):
    from showroom.errors import PermissionDeniedError
    from showroom.services import privacy

    cid = full_customer[0]
    for call in (privacy.export_customer_data, privacy.erase_customer):
        with db.session_scope() as session, pytest.raises(PermissionDeniedError):
            call(session, sales, cid)


def personal_values(full_customer):
    _cid, _twin, vin, id_number = full_customer
    return [
        "陈晓明", "陈小明", "13812348000", "13900001111", "chen@example.com", "chenxm88",
        "深南大道", id_number, "白色SUV", "住福田", "回访陈先生", "下周提车", "驾驶平稳", vin,
        "粤B12345",
    ]  # fmt: skip


def dump_synced_rows(db) -> str:
    """Every synced table of the laptop, as text (sync bookkeeping tables excluded)."""
    from showroom.db.base import Base

    out = []
    with db.engine.connect() as conn:
        for table in Base.metadata.sorted_tables:
            if table.name in {"sync_outbox", "search_key", "search_doc", "local_state"}:
                continue
            if "server_version" not in table.c:
                continue
            out.extend(repr(tuple(r)) for r in conn.execute(table.select()))
    return "\n".join(out)


def test_erasure_anonymises_personal_fields_and_keeps_aggregates(db, manager, full_customer):
    from showroom.models import Customer, CustomerVehicle, IntentChange, Interaction
    from showroom.services import privacy

    cid, twin = full_customer[:2]
    with db.session_scope() as session:
        result = privacy.erase_customer(session, manager, cid, confirm_name="陈晓明")
    assert result.changed["customer"] == 2  # the merged twin record is the same person
    text = dump_synced_rows(db)
    for value in personal_values(full_customer):
        assert value not in text, value
    with db.session_scope() as session:
        c = session.get(Customer, cid)
        assert c.name == privacy.ERASED_NAME and c.erased_at is not None
        assert (c.intent_level, c.deleted) == ("H", False)
        assert session.get(Customer, twin).erased_at is not None
        (vehicle,) = session.scalars(select(CustomerVehicle).where(~CustomerVehicle.deleted))
        assert (vehicle.model_name, vehicle.vin, vehicle.plate) == ("途观L", None, None)
        levels = session.scalars(
            select(IntentChange.to_level).where(IntentChange.customer_id == cid)
        ).all()
        assert "H" in levels
        assert session.scalar(select(Interaction.channel).where(Interaction.customer_id == cid))
        assert customers.search_customers(session, manager, "陈晓明") == []
        assert customers.search_customers(session, manager, "13812348000") == []
        assert customers.search_customers(session, manager, privacy.ERASED_NAME) == []
        (entry,) = session.scalars(select(AuditEntry).where(AuditEntry.action == "erase"))
        assert (entry.actor_id, entry.target_id) == (manager.user_id, cid)
        assert session.scalar(
            select(SyncOutbox.row_id).where(
                SyncOutbox.table_name == "audit_log", SyncOutbox.row_id == entry.id
            )
        )
        assert consents.consented_customer_ids(session, "marketing") == set()


def test_erasure_guards_against_the_wrong_record_and_twice(db, manager, full_customer):
    from showroom.services import privacy

    cid = full_customer[0]
    with db.session_scope() as session, pytest.raises(ValidationError) as error:
        privacy.erase_customer(session, manager, cid, confirm_name="王芳")
    assert error.value.field == "confirm_name"
    with db.session_scope() as session:
        privacy.erase_customer(session, manager, cid)
    with db.session_scope() as session, pytest.raises(ValidationError) as error:
        privacy.erase_customer(session, manager, cid)
    assert error.value.field == "customer"


def pdf_text(pdf: bytes, tmp_path) -> str:
    import shutil
    import subprocess

    tool = shutil.which("pdftotext")
    assert tool, "pdftotext (poppler-utils) is needed to read the PDF back"
    path = tmp_path / "export.pdf"
    path.write_bytes(pdf)
    return subprocess.run(
        [tool, "-layout", str(path), "-"], capture_output=True, text=True, check=True
    ).stdout


def test_export_pdf_is_readable_chinese_with_embedded_font_and_page_numbers(
    db, manager, full_customer, tmp_path
):
    from showroom.documents.customer_export import render_customer_export
    from showroom.services import privacy

    cid, _twin, vin, id_number = full_customer
    with db.session_scope() as session:
        export = privacy.export_customer_data(session, manager, cid)
    pdf = render_customer_export(export.data)
    assert pdf.startswith(b"%PDF")
    assert b"/FontFile2" in pdf  # the CJK font travels inside the file
    text = pdf_text(pdf, tmp_path)
    for expected in ("个人信息副本", "陈晓明", "138 1234 8000", id_number, vin, "询问途观L价格",
                     "营销关怀", "基本信息", "个人信息访问与处理记录", "第 1 页，共"):  # fmt: skip
        assert expected in text, expected
    pages = text.count("第 ")
    assert f"共 {pages} 页" in text


def test_erasure_blanks_acknowledged_outbox_ops_and_keeps_pending_ones(db, manager, full_customer):
    from sqlalchemy import update

    from showroom.services import privacy

    cid = full_customer[0]
    with db.session_scope() as session:
        session.execute(update(SyncOutbox).values(acknowledged=True, result="applied"))
    with db.session_scope() as session:
        privacy.erase_customer(session, manager, cid)
    with db.session_scope() as session:
        acked = " ".join(
            session.scalars(select(SyncOutbox.fields).where(SyncOutbox.acknowledged.is_(True)))
        )
        pending = " ".join(
            session.scalars(select(SyncOutbox.fields).where(SyncOutbox.acknowledged.is_(False)))
        )
    assert "陈晓明" not in acked and "13812348000" not in acked
    # The erasure itself still carries the old values as its base until the server has it.
    assert "陈晓明" in pending and privacy.ERASED_NAME in pending


def test_the_sync_erases_again_what_other_laptops_changed_before_the_erasure_reached_them(
    db, manager, sales, full_customer
):
    """A pull may bring an erased customer's rows as other laptops changed them before the
    erasure reached them: a new phone, new notes, a record merged in, a value in a row they
    deleted. The sync erases those too, deleted rows only where the server takes it."""
    from showroom.models import Customer, CustomerPhone, FollowUp
    from showroom.services import privacy

    cid = full_customer[0]
    with db.session_scope() as session:
        privacy.erase_customer(session, manager, cid)
        assert privacy.forget_after_sync(session) == 0  # nothing came back: no edits to push
    late = new_customer(db, sales, "陈晓明（新）", phones=["13700007777"])
    with db.session_scope() as session:
        session.add(CustomerPhone(customer_id=cid, number="+8613912348111", is_primary=True))
        session.get(Customer, cid).notes = "想要蓝色"
        session.get(Customer, late).merged_into_id = cid
        closed = session.scalars(
            select(FollowUp).where(FollowUp.customer_id == cid, FollowUp.deleted.is_(True))
        ).first()
        closed.purpose = "周六回访陈先生"
    with db.session_scope() as session:
        # The customer's notes and the merged record; the new phone and the merged one's.
        assert privacy.forget_after_sync(session, deleted_rows=False) == 4
    text = dump_synced_rows(db)
    for value in ("13912348111", "想要蓝色", "陈晓明（新）", "13700007777"):
        assert value not in text, value
    assert "周六回访陈先生" in text  # an older server would keep its blanking as a conflict
    with db.session_scope() as session:
        assert session.get(Customer, late).erased_at is not None
        assert customers.get_customer(session, manager, cid).phones == ()
        assert privacy.forget_after_sync(session) == 1
        assert privacy.forget_after_sync(session) == 0  # done: the sync's rounds stop
    assert "周六回访陈先生" not in dump_synced_rows(db)


def test_erasure_blanks_what_decided_conflicts_kept_of_the_customer(db, manager, full_customer):
    """A manager's decision closes a conflict but keeps its values: an edit that met a delete is
    kept on the "mine" side alone. The erasure blanks those too, and leaves the decision."""
    from showroom.db.outbox import CAPTURE
    from showroom.models import SyncConflict
    from showroom.services import privacy

    cid = full_customer[0]
    decided = SyncConflict(
        kind="delete_edit", table_name="customer", row_id=cid,
        mine_value=json.dumps({"notes": "周末来店看白色SUV"}, ensure_ascii=False),
        detected_at=dt.datetime(2026, 12, 7, 9, 0, tzinfo=dt.UTC),
        status="resolved", resolution="kept", resolved_by_id=manager.user_id,
        resolved_at=dt.datetime(2026, 12, 7, 9, 5, tzinfo=dt.UTC),
    )  # fmt: skip
    with db.session_scope() as session:
        session.info[CAPTURE] = False  # as the sync stores a pulled conflict
        session.add(decided)
    with db.session_scope() as session:
        privacy.erase_customer(session, manager, cid)
    assert "周末来店看白色SUV" not in dump_synced_rows(db)
    with db.session_scope() as session:
        row = session.get(SyncConflict, decided.id)
        assert (row.base_value, row.theirs_value, row.mine_value) == (None, None, None)
        assert (row.status, row.resolution) == ("resolved", "kept")
        assert privacy.forget_after_sync(session) == 0  # done: nothing left to blank


# --- quotes in the export and the erasure ------------------------------------------------------


@pytest.fixture
def quoted_customer(db, sales, manager, full_customer):
    """The full customer with two quotes: one issued (approved discount, a typed accessory line
    and notes naming the customer), one whose discount a manager refused with a reason."""
    from quote_kit import add_catalogue

    from showroom.services import quotes
    from showroom.services.quotes import QuoteDraft, QuoteLineDraft

    cat = add_catalogue(db)
    cid = full_customer[0]
    issued = QuoteDraft(
        trim_id=cat.tiguan, colour="冰川蓝", option_codes=["PANO"], discount="5000",
        extras=[QuoteLineDraft("accessory", "陈先生定制脚垫（刻名）", "450", 2),
                QuoteLineDraft("registration", "上牌服务", "800")],
        notes="陈先生周六带太太来提车",
    )  # fmt: skip
    refused = QuoteDraft(trim_id=cat.han_ev, colour="雪域白", discount="9000", notes="陈先生嫌贵")
    with db.session_scope() as session:
        first = quotes.create_quote(session, sales, cid, issued)
        second = quotes.create_quote(session, sales, cid, refused)
    with db.session_scope() as session:
        quotes.approve_discount(session, manager, first.id)
        quotes.reject_discount(session, manager, second.id, "优惠过大")
    with db.session_scope() as session:
        quotes.render_for_print(session, sales, first.id, "print")
    with db.session_scope() as session:
        return (
            cid,
            quotes.get_quote(session, manager, first.id),
            quotes.get_quote(session, manager, second.id),
        )


def test_export_holds_the_customers_quotes_and_lines_but_never_the_dealer_cost(
    db, manager, quoted_customer, tmp_path
):
    from showroom.documents.customer_export import render_customer_export
    from showroom.services import privacy

    cid, first, second = quoted_customer
    with db.session_scope() as session:
        export = privacy.export_customer_data(session, manager, cid)
    raw = export.to_json().decode()
    data = json.loads(raw)
    by_number = {q["number"]: q for q in data["quotes"]}
    assert set(by_number) == {first.number, second.number}
    q = by_number[first.number]
    assert q["status"] == "issued" and not q["expired"]
    assert q["vehicle"] == {
        "brand": "大众", "model": "途观L", "trim": "330TSI 自动两驱智享版", "model_year": 2026,
    }  # fmt: skip
    assert (q["vehicle_price"], q["discount"], q["total"]) == (
        "219900.00", "5000.00", str(first.total),
    )  # fmt: skip
    assert q["valid_until"] == first.valid_until.isoformat() and q["created_at"]
    assert q["notes"] == "陈先生周六带太太来提车" and q["issued_at"]
    assert q["approved_by_id"] == manager.user_id and q["salesperson_id"] == first.salesperson_id
    assert [(x["kind"], x["description"], x["quantity"], x["amount"]) for x in q["lines"]] == [
        ("colour", "车身颜色：冰川蓝", 1, "2000.00"),
        ("option", "全景天窗", 1, "6000.00"),
        ("accessory", "陈先生定制脚垫（刻名）", 2, "900.00"),
        ("registration", "上牌服务", 1, "800.00"),
    ]
    # What the customer was handed when it was printed, as data.
    printed = q["issued_snapshot"]
    assert (printed["total"], printed["notes"]) == (str(first.total), "陈先生周六带太太来提车")
    assert [x["description"] for x in printed["lines"]] == [x["description"] for x in q["lines"]]
    refused = by_number[second.number]
    assert refused["rejection_reason"] == "优惠过大" and refused["status"] == "draft"
    assert refused["issued_snapshot"] is None
    assert manager.display_name in data["staff"].values()
    # The store's invoice price (and so the margin) is the dealer's business, not the customer's.
    assert "dealer_cost" not in raw and "margin" not in raw
    assert "201000" not in raw
    with db.session_scope() as session:
        entries = session.scalars(select(AuditEntry).where(AuditEntry.action == "export")).all()
        assert [(e.actor_id, e.target_id) for e in entries] == [(manager.user_id, cid)]

    text = pdf_text(render_customer_export(export.data), tmp_path)
    for expected in ("报价单", first.number, second.number, "途观L",
                     "陈先生定制脚垫", "精品附件", "已出具", "优惠过大", "周六带太太来提车",
                     f"¥{first.total:,.2f}", "¥5,000.00"):  # fmt: skip
        assert expected in text, expected
    assert "201,000" not in text and "进货价" not in text and "毛利" not in text


def test_erasure_blanks_quote_free_text_keeps_the_amounts_and_syncs(db, manager, quoted_customer):
    from showroom.models import Quote, QuoteLine
    from showroom.services import privacy, quotes

    cid, first, second = quoted_customer
    with db.session_scope() as session:
        result = privacy.erase_customer(session, manager, cid)
    assert result.changed["quote"] == 2 and result.changed["quote_line"] == 2
    text = dump_synced_rows(db)
    for value in ("周六带太太来提车", "陈先生嫌贵", "定制脚垫", "上牌服务"):
        assert value not in text, value
    with db.session_scope() as session:
        kept = {q.id: q for q in session.scalars(select(Quote))}
        for before in (first, second):
            after = kept[before.id]
            assert (after.notes, after.rejection_reason) == (None, None)
            # The amounts stay for the store's sales figures.
            assert (after.number, after.trim_id, after.status) == (
                before.number, before.trim_id, before.status,
            )  # fmt: skip
            assert (after.vehicle_price, after.discount, after.total) == (
                before.vehicle_price, before.discount, before.total,
            )  # fmt: skip
        lines = session.scalars(
            select(QuoteLine).where(QuoteLine.quote_id == first.id).order_by(QuoteLine.position)
        ).all()
        assert [(x.kind, x.description, x.quantity, x.unit_price) for x in lines] == [
            ("colour", "车身颜色：冰川蓝", 1, Decimal("2000.00")),
            ("option", "全景天窗", 1, Decimal("6000.00")),
            ("accessory", "", 2, Decimal("450.00")),
            ("registration", "", 1, Decimal("800.00")),
        ]
        # The figures read through the service are the same as before the erasure, and the
        # printed quote still holds what its copy of the print holds (cleared alike).
        erased = quotes.get_quote(session, manager, first.id)
        assert erased.total == first.total and not erased.changed_after_issue
        # Synced edits: the cleared values wait in the outbox for the server and other laptops.
        pending = {
            (op.table_name, op.row_id): json.loads(op.fields)
            for op in session.scalars(
                select(SyncOutbox).where(
                    SyncOutbox.acknowledged.is_(False),
                    SyncOutbox.table_name.in_(["quote", "quote_line"]),
                )
            )
        }
        assert any(
            f.get("notes", {}).get("new", "x") is None and "notes" in f
            for (table, row), f in pending.items()
            if table == "quote" and row == first.id
        )
        assert any(
            f.get("description", {}).get("new") == "" for (table, _), f in pending.items()
            if table == "quote_line"
        )  # fmt: skip
        erased = session.scalars(select(AuditEntry).where(AuditEntry.action == "erase")).all()
        assert [(e.actor_id, e.target_id) for e in erased] == [(manager.user_id, cid)]


def test_erasure_blanks_acknowledged_quote_ops_in_the_outbox(db, manager, quoted_customer):
    from sqlalchemy import update

    from showroom.services import privacy

    cid = quoted_customer[0]
    with db.session_scope() as session:
        session.execute(update(SyncOutbox).values(acknowledged=True, result="applied"))
    with db.session_scope() as session:
        privacy.erase_customer(session, manager, cid)
    with db.session_scope() as session:
        acked = " ".join(
            session.scalars(
                select(SyncOutbox.fields).where(
                    SyncOutbox.acknowledged.is_(True),
                    SyncOutbox.table_name.in_(["quote", "quote_line"]),
                )
            )
        )
    assert acked  # the quotes' old ops are still there, only blanked
    for value in ("周六带太太来提车", "陈先生嫌贵", "定制脚垫", "优惠过大"):
        assert value not in acked, value
