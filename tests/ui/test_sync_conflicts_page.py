"""The conflict review page: a manager sees both sides and decides; others cannot."""

from __future__ import annotations

import dataclasses
import datetime as dt
import json

import pytest
from PySide6.QtCore import Qt
from PySide6.QtWidgets import QLabel
from sqlalchemy import select

from showroom.db.outbox import CAPTURE
from showroom.models import Customer, SyncConflict, SyncOutbox, TestDrive
from showroom.services import customers
from showroom.services.customers import CustomerDraft
from ui.sync.page import ConflictsPage


def stored(db, *rows) -> None:
    """Rows as the sync client applies pulled ones (no outbox ops)."""
    with db.session_scope() as session:
        session.info[CAPTURE] = False
        session.add_all(rows)


def new_customer(db, sales, name="陈晓明", phone="13812345678") -> str:
    with db.session_scope() as session:
        return customers.create_customer(
            session, sales, CustomerDraft(name=name, phones=[phone])
        ).id


def address_conflict(db, sales, staff) -> tuple[str, SyncConflict]:
    with db.session_scope() as session:
        cid = customers.create_customer(
            session,
            sales,
            CustomerDraft(name="陈晓明", phones=["13812345678"], address="深圳市宝安区"),
        ).id
    conflict = SyncConflict(
        kind="field",
        table_name="customer",
        row_id=cid,
        field="address",
        base_value=json.dumps("深圳市福田区"),
        theirs_value=json.dumps("深圳市南山区"),
        mine_value=json.dumps("深圳市宝安区"),
        theirs_actor=sales.user_id,
        mine_actor=staff["sales2"].user_id,
        theirs_device=db.device_id,
        mine_device="0190a000-0000-7000-8000-00000000000b",
        detected_at=dt.datetime(2026, 11, 22, 9, 30, tzinfo=dt.UTC),
    )
    stored(db, conflict)
    return cid, conflict


@pytest.fixture
def manager_ctx(ctx, manager):
    return dataclasses.replace(ctx, actor=manager)


def show_resolved(page: ConflictsPage, qtbot) -> None:
    """Switch the page to the conflicts already closed, and wait until they are listed."""
    with qtbot.waitSignal(page.loaded, timeout=5000):
        page.filter.setCurrentIndex(page.filter.findData("resolved"))


def open_page(ctx, qtbot) -> ConflictsPage:
    page = ConflictsPage(ctx)
    qtbot.addWidget(page)
    page.resize(1100, 700)
    page.show()
    qtbot.waitExposed(page)
    with qtbot.waitSignal(page.loaded, timeout=5000):
        page.activate()
    return page


def texts(widget) -> list[str]:
    return [label.text() for label in widget.findChildren(QLabel) if label.isVisibleTo(widget)]


def test_manager_sees_both_sides_and_restores_the_overwritten_value(
    manager_ctx, db, sales, staff, qtbot
):
    cid, conflict = address_conflict(db, sales, staff)
    page = open_page(manager_ctx, qtbot)
    assert page.list.topLevelItemCount() == 1
    assert page.list.topLevelItem(0).text(1) == "陈晓明"
    shown = texts(page.detail)
    assert "陈晓明 · 地址" in shown
    for value in ("深圳市福田区", "深圳市南山区", "深圳市宝安区", "李娜 · 本机"):
        assert value in shown
    assert any(text.startswith("王磊 · 电脑 0190a000") for text in shown)
    assert set(page.choice_buttons) == {"keep", "revert"}
    assert page.choice_buttons["revert"].text() == "恢复被覆盖的值"

    with qtbot.waitSignal(page.resolved, timeout=5000), qtbot.waitSignal(page.loaded):
        qtbot.mouseClick(page.choice_buttons["revert"], Qt.MouseButton.LeftButton)
    with db.session_scope(write=False) as session:
        assert session.get(Customer, cid).address == "深圳市南山区"
        assert session.get(SyncConflict, conflict.id).resolution == "reverted"
        synced = [
            op.table_name
            for op in session.scalars(select(SyncOutbox).where(SyncOutbox.actor_id.is_not(None)))
        ]
    assert "sync_conflict" in synced
    assert page.list.topLevelItemCount() == 0  # nothing open any more
    assert "没有未处理的冲突" in page.empty_detail.text()
    assert "陈晓明：已恢复被覆盖的值" in page.message.text()

    show_resolved(page, qtbot)
    assert page.list.topLevelItemCount() == 1
    assert page.choice_buttons == {}
    assert page.detail_state.text().startswith("已处理：已恢复被覆盖的值（周经理")


def test_keyboard_enter_on_the_list_moves_to_the_choices(manager_ctx, db, sales, staff, qtbot):
    address_conflict(db, sales, staff)
    page = open_page(manager_ctx, qtbot)
    page.list.setFocus()
    qtbot.keyClick(page.list, Qt.Key.Key_Return)
    assert page.focusWidget() is page.choice_buttons["keep"]


def test_double_booking_shows_both_bookings_and_cancels_the_other(
    manager_ctx, db, sales, staff, qtbot
):
    cid = new_customer(db, sales)
    start = dt.datetime(2026, 11, 23, 2, 0, tzinfo=dt.UTC)
    first = TestDrive(
        customer_id=cid,
        demo_car="粤B·D1234",
        starts_at=start,
        ends_at=start + dt.timedelta(hours=1),
    )
    second = TestDrive(
        customer_id=cid,
        demo_car="粤B·D1234",
        starts_at=start + dt.timedelta(minutes=30),
        ends_at=start + dt.timedelta(hours=2),
        salesperson_id=staff["sales2"].user_id,
    )
    stored(db, first, second)
    stored(
        db,
        SyncConflict(
            kind="double_booking",
            table_name="test_drive",
            row_id=first.id,
            other_row_id=second.id,
            detected_at=dt.datetime(2026, 11, 22, 11, 0, tzinfo=dt.UTC),
        ),
    )
    page = open_page(manager_ctx, qtbot)
    shown = texts(page.detail)
    assert "试驾车被重复预约 · 试驾 · 发现于" in " ".join(shown)
    assert "这个预约" in shown and "时间重叠的预约" in shown
    assert "销售顾问：王磊" in shown
    assert set(page.choice_buttons) == {"keep", "cancel_other", "cancel_this"}
    with qtbot.waitSignal(page.resolved, timeout=5000):
        page.choice_buttons["cancel_other"].click()
    with db.session_scope(write=False) as session:
        assert session.get(TestDrive, second.id).status == "cancelled"
        assert session.get(TestDrive, first.id).status == "booked"


def test_rejected_changes_are_listed_with_the_reason_and_dismissed(manager_ctx, db, sales, qtbot):
    with db.session_scope() as session:
        customers.create_customer(
            session, sales, CustomerDraft(name="陈晓明", phones=["13812345678"], notes="周六来店")
        )
    with db.session_scope() as session:
        op = session.scalar(
            select(SyncOutbox)
            .where(SyncOutbox.table_name == "customer")
            .order_by(SyncOutbox.seq.desc())
        )
        op.acknowledged, op.result, op.reason = True, "rejected", "phone number already used"
    page = open_page(manager_ctx, qtbot)
    assert page.tabs.tabText(1) == "被拒绝的修改（1）"
    page.tabs.setCurrentIndex(1)
    item = page.rejected_list.topLevelItem(0)
    assert item.text(1) == "陈晓明" and item.text(3) == "phone number already used"
    assert "备注: 周六来店" in item.text(2)
    with qtbot.waitSignal(page.loaded, timeout=5000):
        page.dismiss_button.click()
    assert page.rejected_list.topLevelItemCount() == 0
    assert page.tabs.tabText(1) == "被拒绝的修改（0）"


def test_salespeople_are_told_it_is_for_managers(ctx, db, sales, staff, qtbot):
    address_conflict(db, sales, staff)
    page = ConflictsPage(ctx)
    qtbot.addWidget(page)
    page.show()
    page.activate()
    assert page.stack.currentWidget() is page.denied
    assert page.denied.text() == "只有经理和管理员可以处理同步冲突和被拒绝的修改。"
    assert not page.tabs.isVisible()
    qtbot.wait(100)
    assert page.list.topLevelItemCount() == 0  # nothing was even loaded


def test_an_edit_that_met_a_delete_can_bring_the_record_back(manager_ctx, db, sales, staff, qtbot):
    cid = new_customer(db, sales)
    with db.session_scope() as session:
        session.info[CAPTURE] = False
        session.get(Customer, cid).deleted = True
    stored(
        db,
        SyncConflict(
            kind="delete_edit",
            table_name="customer",
            row_id=cid,
            mine_value=json.dumps({"notes": "周六试驾途观L"}, ensure_ascii=False),
            mine_actor=staff["sales2"].user_id,
            detected_at=dt.datetime(2026, 11, 22, 12, 0, tzinfo=dt.UTC),
        ),
    )
    page = open_page(manager_ctx, qtbot)
    shown = texts(page.detail)
    assert "恢复后将带回的内容" in shown and "备注: 周六试驾途观L" in shown
    assert "已删除" in shown
    assert page.choice_buttons["restore"].text() == "恢复记录并应用修改"
    with qtbot.waitSignal(page.resolved, timeout=5000):
        page.choice_buttons["restore"].click()
    with db.session_scope(write=False) as session:
        row = session.get(Customer, cid)
        assert not row.deleted and row.notes == "周六试驾途观L"


def test_a_delete_that_missed_an_edit_shows_only_what_it_missed(
    manager_ctx, db, sales, staff, qtbot
):
    """The deleting laptop still showed the old address: the server kept the row it held, and
    the page names the address as what a restore brings back, not every field of the record."""
    with db.session_scope() as session:
        cid = customers.create_customer(
            session,
            sales,
            CustomerDraft(name="陈晓明", phones=["13812345678"], address="深圳市南山区"),
        ).id
    with db.session_scope() as session:
        session.info[CAPTURE] = False
        row = session.get(Customer, cid)
        row.deleted = True
        stored_row = {"name": "陈晓明", "address": "深圳市南山区", "notes": None, "vip": False}
    held = {**stored_row, "address": "深圳市福田区"}
    stored(
        db,
        SyncConflict(
            kind="delete_edit",
            table_name="customer",
            row_id=cid,
            base_value=json.dumps(held, ensure_ascii=False),
            theirs_value=json.dumps({**stored_row, "deleted": False}, ensure_ascii=False),
            mine_value=json.dumps({"deleted": True}),
            theirs_actor=sales.user_id,
            mine_actor=staff["sales2"].user_id,
            detected_at=dt.datetime(2026, 11, 22, 12, 0, tzinfo=dt.UTC),
        ),
    )
    page = open_page(manager_ctx, qtbot)
    shown = texts(page.detail)
    assert "地址: 深圳市南山区" in shown, shown
    assert not any("陈晓明" in text and "地址" in text for text in shown), shown
    with qtbot.waitSignal(page.resolved, timeout=5000):
        page.choice_buttons["restore"].click()
    with db.session_scope(write=False) as session:
        row = session.get(Customer, cid)
        assert not row.deleted and (row.name, row.address) == ("陈晓明", "深圳市南山区")


def test_a_conflict_about_an_erased_customer_is_closed_with_nothing_to_choose(
    manager_ctx, db, sales, manager, staff, qtbot
):
    """Erasing the customer blanks both addresses: restoring the overwritten one would clear the
    field, so the conflict is closed rather than left open with empty sides."""
    from showroom.services import privacy

    cid, conflict = address_conflict(db, sales, staff)
    with db.session_scope() as session:
        privacy.erase_customer(session, manager, cid)
    page = open_page(manager_ctx, qtbot)
    assert page.list.topLevelItemCount() == 0
    show_resolved(page, qtbot)
    assert page.list.topLevelItemCount() == 1
    item = page.list.topLevelItem(0)
    assert item.text(1) == privacy.ERASED_NAME
    assert item.text(2) == "地址 — 已关闭：客户个人信息已删除"
    assert page.choice_buttons == {}
    assert page.detail_state.text().startswith("已于 ")
    assert page.detail_state.text().endswith("关闭：客户的个人信息已删除。")
    shown = " ".join(texts(page.detail))
    for value in ("深圳市福田区", "深圳市南山区", "深圳市宝安区", "陈晓明"):
        assert value not in shown
    with db.session_scope(write=False) as session:
        closed = session.get(SyncConflict, conflict.id)
        assert (closed.status, closed.resolution) == ("resolved", "erased")


def test_a_conflict_the_sync_closed_after_a_both_ways_merge_says_so(
    manager_ctx, db, sales, staff, qtbot
):
    from showroom.services.conflicts import MERGED

    cid = new_customer(db, sales)
    detected = dt.datetime(2026, 12, 7, 9, 30, tzinfo=dt.UTC)
    stored(
        db,
        SyncConflict(
            kind="delete_edit", table_name="customer", row_id=cid, detected_at=detected,
            mine_value=json.dumps({"address": "深圳市福田区"}, ensure_ascii=False),
            status="resolved", resolution=MERGED, resolved_at=detected,
        ),
    )  # fmt: skip
    page = open_page(manager_ctx, qtbot)
    assert page.list.topLevelItemCount() == 0  # nothing waits for the manager
    show_resolved(page, qtbot)
    assert page.list.topLevelItemCount() == 1
    assert page.list.topLevelItem(0).text(2).endswith("已关闭：合并后保留的客户已包含这项修改")
    assert page.choice_buttons == {}
    assert page.detail_state.text() == (
        "已由同步关闭：这位客户的两条记录已合并为一条，其中已包含这项修改。"
    )


def test_an_edit_that_met_a_merge_goes_onto_the_customer_kept_from_the_page(
    manager_ctx, db, sales, staff, qtbot, tmp_path
):
    from showroom.services import merge

    kept = new_customer(db, sales, name="陈小明", phone="13900001111")
    retired = new_customer(db, sales)
    with db.session_scope() as session:
        merge.merge_customers(session, sales, kept, retired)
    # Another laptop, not yet knowing of the merge, added an e-mail address to the retired record.
    stored(
        db,
        SyncConflict(
            kind="delete_edit", table_name="customer", row_id=retired,
            mine_value=json.dumps({"email": "chen@example.com"}),
            mine_actor=staff["sales2"].user_id, theirs_actor=sales.user_id,
            detected_at=dt.datetime(2026, 12, 7, 9, 30, tzinfo=dt.UTC),
        ),
    )  # fmt: skip
    page = open_page(manager_ctx, qtbot)
    shown = texts(page.detail)
    assert "电子邮箱: chen@example.com" in shown, shown
    assert "已合并到“陈小明”" in shown, shown
    button = page.choice_buttons["apply_to_merged"]
    assert button.text() == "将修改应用到合并后的客户“陈小明”"
    page.grab().save(str(tmp_path / "merged-edit.png"))
    with qtbot.waitSignal(page.resolved, timeout=5000):
        button.click()
    qtbot.waitUntil(lambda: page.list.topLevelItemCount() == 0, timeout=3000)
    with db.session_scope(write=False) as session:
        assert session.get(Customer, kept).email == "chen@example.com"
        assert session.get(Customer, retired).merged_into_id == kept


def test_a_conflict_decided_differently_on_two_laptops_shows_both_decisions_and_the_record(
    manager_ctx, db, sales, staff, qtbot, tmp_path
):
    cid, conflict = address_conflict(db, sales, staff)
    with db.session_scope() as session:
        decided = session.get(SyncConflict, conflict.id)
        decided.status, decided.resolution = "resolved", "reverted"
        session.get(Customer, cid).address = "深圳市南山区"
    stored(
        db,
        SyncConflict(
            kind="field", table_name="sync_conflict", row_id=conflict.id, field="resolution",
            base_value=json.dumps(None), theirs_value=json.dumps("kept"),
            mine_value=json.dumps("reverted"),
            theirs_actor=sales.user_id, mine_actor=staff["sales2"].user_id,
            detected_at=dt.datetime(2026, 12, 7, 10, 0, tzinfo=dt.UTC),
        ),
    )  # fmt: skip
    page = open_page(manager_ctx, qtbot)
    (row,) = [page.list.topLevelItem(i) for i in range(page.list.topLevelItemCount())]
    assert (row.text(1), row.text(2)) == ("陈晓明", "地址 · 两台电脑上的处理不同")
    shown = texts(page.detail)
    assert "陈晓明 · 地址" in shown
    assert "两台电脑上的处理不同 · 同一字段在两台电脑上被修改" in " ".join(shown)
    for value in ("保持现状", "已恢复被覆盖的值", "深圳市南山区", "先到的处理（已被覆盖）"):
        assert value in shown, (value, shown)
    assert "resolution" not in " ".join(shown)
    assert set(page.choice_buttons) == {"keep"}
    assert page.choice_buttons["keep"].text() == "标记为已处理"
    qtbot.wait(100)
    page.grab().save(str(tmp_path / "decided-twice.png"))
    with qtbot.waitSignal(page.resolved, timeout=5000):
        page.choice_buttons["keep"].click()
    qtbot.waitUntil(lambda: page.list.topLevelItemCount() == 0, timeout=3000)
    with db.session_scope(write=False) as session:
        assert session.get(Customer, cid).address == "深圳市南山区"
        assert session.get(SyncConflict, conflict.id).resolution == "reverted"


def test_what_the_sync_closed_after_two_decisions_says_so(manager_ctx, db, sales, staff, qtbot):
    from showroom.services.conflicts import SETTLED_DECISION

    _cid, conflict = address_conflict(db, sales, staff)
    detected = dt.datetime(2026, 12, 7, 10, 0, tzinfo=dt.UTC)
    stored(
        db,
        SyncConflict(
            kind="field", table_name="sync_conflict", row_id=conflict.id, field="resolved_by_id",
            theirs_value=json.dumps(sales.user_id),
            mine_value=json.dumps(staff["sales2"].user_id),
            detected_at=detected, status="resolved", resolution=SETTLED_DECISION,
            resolved_at=detected,
        ),
    )  # fmt: skip
    page = open_page(manager_ctx, qtbot)
    show_resolved(page, qtbot)
    assert page.list.topLevelItemCount() == 1
    assert page.list.topLevelItem(0).text(2) == (
        "地址 · 处理人 · 两台电脑上的处理不同 — 已关闭：以后到的处理为准"
    )
    shown = texts(page.detail)
    assert "李娜" in shown and "王磊" in shown  # the people, by name
    assert page.choice_buttons == {}
    assert page.detail_state.text() == (
        "已由同步关闭：这个冲突在两台电脑上都处理过，以后到的处理为准。"
    )


def test_a_quote_conflict_shows_amounts_and_statuses_as_people_read_them(
    manager_ctx, db, sales, staff, qtbot
):
    from quote_kit import add_catalogue

    from showroom.services import quotes
    from showroom.services.quotes import QuoteDraft

    customer = new_customer(db, sales)
    trim = add_catalogue(db).tiguan
    with db.session_scope() as session:
        quote = quotes.create_quote(
            session, sales, customer, QuoteDraft(trim_id=trim, colour="极地白", discount="1000")
        )
    detected = dt.datetime(2026, 12, 7, 10, 0, tzinfo=dt.UTC)
    common = {"kind": "field", "table_name": "quote", "row_id": quote.id, "detected_at": detected}
    stored(
        db,
        SyncConflict(
            field="discount", base_value='"0.00"', theirs_value='"2500.00"',
            mine_value='"1000.00"', **common,
        ),
        SyncConflict(
            field="status", base_value='"draft"', theirs_value='"approved"',
            mine_value='"pending_approval"', **common,
        ),
        SyncConflict(  # printed on both laptops, each its own lines
            field="issued_snapshot", base_value="null",
            theirs_value=json.dumps(json.dumps({"total": "226600.00", "lines": [{}, {}]})),
            mine_value=json.dumps(json.dumps({"total": "227500.00", "lines": [{}, {}, {}]})),
            **common,
        ),
    )  # fmt: skip
    page = open_page(manager_ctx, qtbot)
    listed = {
        page.list.topLevelItem(i).text(2): page.list.topLevelItem(i)
        for i in range(page.list.topLevelItemCount())
    }
    assert set(listed) == {"优惠", "状态", "打印内容"}

    page.list.setCurrentItem(listed["优惠"])
    shown = texts(page.detail)
    assert "¥2,500.00" in shown and "¥1,000.00" in shown
    assert set(page.choice_buttons) == {"keep", "revert"}

    page.list.setCurrentItem(listed["状态"])
    shown = texts(page.detail)
    assert "已批准" in shown and "需审批" in shown
    # The quote's rules set its status: nothing to write back.
    assert set(page.choice_buttons) == {"keep"}

    page.list.setCurrentItem(listed["打印内容"])
    shown = texts(page.detail)
    assert "合计 ¥226,600.00，共 2 项" in shown and "合计 ¥227,500.00，共 3 项" in shown
    assert set(page.choice_buttons) == {"keep"}


def test_what_the_sync_closed_on_a_quote_says_so(manager_ctx, db, sales, qtbot):
    from showroom.ids import new_id
    from showroom.services.quotes import QUOTE_SETTLED

    detected = dt.datetime(2026, 12, 7, 10, 0, tzinfo=dt.UTC)
    stored(
        db,
        SyncConflict(
            kind="field", table_name="quote", row_id=new_id(), field="total",
            base_value='"227100.00"', theirs_value='"226600.00"', mine_value='"228000.00"',
            detected_at=detected, status="resolved", resolution=QUOTE_SETTLED,
            resolved_at=detected,
        ),
    )  # fmt: skip
    page = open_page(manager_ctx, qtbot)
    show_resolved(page, qtbot)
    assert page.list.topLevelItem(0).text(2) == "合计 — 已关闭：报价单已重新核算"
    assert "¥226,600.00" in texts(page.detail)
    assert page.choice_buttons == {}
    assert page.detail_state.text() == (
        "已由同步关闭：这张报价单在两台电脑上都改过，合计和审批已按车价、优惠和明细重新核算。"
    )
