"""The Quotes tab of the customer 360 view and the quote editor, driven like a person would."""

from __future__ import annotations

import dataclasses
import json
from decimal import Decimal
from pathlib import Path

import pytest
from PySide6.QtCore import Qt
from PySide6.QtWidgets import QMessageBox
from qt_keys import type_text
from quote_kit import add_catalogue, add_customer, expire
from sqlalchemy import select

from showroom.actor import Actor
from showroom.models import AuditEntry
from showroom.services import dealer, quotes
from showroom.services.quotes import QuoteDraft
from showroom.vocabulary import Role
from ui.customers.detail import Customer360Page
from ui.quotes import panel as panel_module
from ui.quotes import printing
from ui.quotes.editor import QuoteEditor
from ui.quotes.panel import QuotesPanel


@pytest.fixture
def cat(db):
    return add_catalogue(db)


@pytest.fixture
def customer(db, sales):
    return add_customer(db, sales)


@pytest.fixture
def reception(db):
    with db.session_scope() as session:
        admin = dealer.system_actor(session)
        user = dealer.create_user(session, admin, "front1", "前台小张", Role.SERVICE_ADVISOR)
    return Actor(user.id, user.display_name, Role.SERVICE_ADVISOR)


@pytest.fixture
def warnings(monkeypatch):
    """Messages shown through QMessageBox.warning (the one path for typed errors)."""
    shown: list[str] = []
    monkeypatch.setattr(
        QMessageBox, "warning", lambda _parent, _title, text, *a, **k: shown.append(text)
    )
    return shown


def open_panel(ctx, qtbot, customer_id) -> QuotesPanel:
    panel = QuotesPanel(ctx)
    qtbot.addWidget(panel)
    panel.resize(900, 400)
    panel.show()
    with qtbot.waitSignal(panel.loaded):
        panel.set_customer(customer_id)
    return panel


def make_quote(db, actor, customer_id, cat, discount="2000"):
    with db.session_scope() as session:
        return quotes.create_quote(
            session,
            actor,
            customer_id,
            QuoteDraft(
                trim_id=cat.tiguan, colour="极地白", option_codes=["PANO"], discount=discount
            ),
        )


def print_entries(db) -> list[dict]:
    with db.session_scope(write=False) as session:
        rows = session.scalars(select(AuditEntry).where(AuditEntry.action == "print")).all()
        return [json.loads(r.detail) | {"actor": r.actor_id, "target": r.target_id} for r in rows]


def open_editor(panel, qtbot) -> QuoteEditor:
    editor = panel.new_quote()
    qtbot.waitUntil(lambda: editor.save_button.isEnabled(), timeout=5000)
    return editor


def double_click_row(qtbot, panel, row: int) -> None:
    where = panel.table.visualRect(panel.table.model().index(row, 0)).center()
    qtbot.mouseClick(panel.table.viewport(), Qt.MouseButton.LeftButton, pos=where)
    qtbot.mouseDClick(panel.table.viewport(), Qt.MouseButton.LeftButton, pos=where)


def test_the_tab_sits_in_the_customer_360_view(ctx, qtbot, db, cat, customer, sales):
    make_quote(db, sales, customer, cat)
    page = Customer360Page(ctx)
    qtbot.addWidget(page)
    page.resize(1130, 800)
    page.show()
    with qtbot.waitSignals([page.loaded, page.quotes_panel.loaded]):
        page.load(customer)
    assert [page.tabs.tabText(i) for i in range(page.tabs.count())] == ["客户动态", "报价"]
    page.tabs.setCurrentWidget(page.quotes_panel)
    assert page.quotes_panel.table.rowCount() == 1
    assert page.quotes_panel.table.isVisible()


def test_a_new_quote_totals_live_and_saves_with_enter(ctx, qtbot, db, cat, customer):
    panel = open_panel(ctx, qtbot, customer)
    assert panel.empty.isVisible() and not panel.table.isVisible()
    editor = open_editor(panel, qtbot)
    editor.trim.setCurrentIndex(editor.trim.findData(cat.tiguan))
    editor.colour.setCurrentIndex(editor.colour.findData("冰川蓝"))
    editor.set_option("PANO", True)
    assert editor.total_labels["total"].text() == "¥227,900.00"
    editor.discount.setFocus()
    type_text(qtbot, editor.discount, "1500")
    assert editor.total_labels["discount"].text() == "-¥1,500.00"
    assert editor.total_labels["total"].text() == "¥226,400.00"
    assert editor.margin_label.text() == "¥17,400.00"  # 219,900 − 1,500 − 201,000
    editor.add_purchase_tax()
    # 10% of (227,900 − 1,500) / 1.13
    assert editor.lines.cellWidget(0, 3).text() == "20035.40"
    assert editor.total_labels["total"].text() == "¥246,435.40"
    assert not editor.approval_hint.isVisible()
    with qtbot.waitSignal(panel.loaded):
        qtbot.keyClick(editor.discount, Qt.Key.Key_Return)
    assert panel.table.rowCount() == 1
    (q,) = panel.quotes
    assert q.total == Decimal("246435.40") and q.status == "draft"
    assert panel.table.item(0, 3).text() == "草稿"
    assert panel.print_button.isEnabled() and panel.save_button.isEnabled()


def test_escape_cancels_and_an_error_shows_under_its_field(ctx, qtbot, db, cat, customer):
    panel = open_panel(ctx, qtbot, customer)
    editor = open_editor(panel, qtbot)
    editor.trim.setCurrentIndex(editor.trim.findData(cat.tiguan))
    editor.discount.setText("999999")  # more than the car
    editor.save()
    error = editor.errors.field("discount").error
    qtbot.waitUntil(error.isVisible, timeout=5000)
    assert "优惠不能超过车价" in error.text()
    assert editor.isVisible()
    qtbot.keyClick(editor, Qt.Key.Key_Escape)
    assert not editor.isVisible()
    with qtbot.waitSignal(panel.loaded):
        panel.refresh()
    assert panel.quotes == []


def test_receptionist_sees_no_margin_column_or_field(
    ctx, qtbot, db, cat, customer, sales, reception
):
    make_quote(db, sales, customer, cat)
    sales_panel = open_panel(ctx, qtbot, customer)
    assert "毛利" in sales_panel.column_titles()
    assert sales_panel.table.columnCount() == 6
    assert sales_panel.table.item(0, 5).text() == "¥16,900.00"  # 219,900 − 2,000 − 201,000

    front = dataclasses.replace(ctx, actor=reception)
    panel = open_panel(front, qtbot, customer)
    assert panel.table.columnCount() == 5
    assert "毛利" not in panel.column_titles()
    assert "毛利" not in panel.note.text() and "16,900" not in panel.note.text()
    editor = open_editor(panel, qtbot)
    editor.trim.setCurrentIndex(editor.trim.findData(cat.tiguan))
    assert editor.margin_label is None and "margin" not in editor.total_labels
    texts = " ".join(label.text() for label in editor.findChildren(type(panel.note)))
    assert "毛利" not in texts and "201,000" not in texts
    editor.reject()


def test_over_the_limit_needs_approval_and_cannot_be_printed(
    ctx, qtbot, db, cat, customer, monkeypatch
):
    panel = open_panel(ctx, qtbot, customer)
    editor = open_editor(panel, qtbot)
    editor.trim.setCurrentIndex(editor.trim.findData(cat.tiguan))
    editor.discount.setText("8000")
    assert editor.approval_hint.isVisible() and "经理" in editor.approval_hint.text()
    with qtbot.waitSignal(panel.loaded):
        editor.save()
    (q,) = panel.quotes
    assert q.status == "pending_approval"
    assert panel.table.item(0, 3).text() == "需审批"
    assert "需经理审批" in panel.note.text()
    assert not panel.print_button.isEnabled() and not panel.save_button.isEnabled()
    assert "经理批准" in panel.print_button.toolTip()
    assert not panel.approve_button.isVisible()  # a salesperson does not decide

    # Even if the print were asked for, the core refuses and nothing is audited.
    asked = []
    monkeypatch.setattr(panel_module, "choose_printer", lambda _p: asked.append(1))
    qtbot.mouseClick(panel.print_button, Qt.MouseButton.LeftButton)
    assert asked == [] and print_entries(db) == []


def test_a_salesperson_approving_is_refused_plainly(ctx, qtbot, db, cat, customer, sales, warnings):
    make_quote(db, sales, customer, cat, discount="8000")
    panel = open_panel(ctx, qtbot, customer)
    panel.approve()  # the button is hidden for them; the core is what refuses
    qtbot.waitUntil(lambda: bool(warnings), timeout=5000)
    assert "没有权限" in warnings[0] and "批准超过限额的折扣" in warnings[0]
    with qtbot.waitSignal(panel.loaded):
        panel.refresh()
    assert panel.quotes[0].status == "pending_approval"


def test_a_manager_approves_and_then_it_prints(
    ctx, qtbot, db, cat, customer, sales, manager, tmp_path, monkeypatch
):
    make_quote(db, sales, customer, cat, discount="8000")
    boss = dataclasses.replace(ctx, actor=manager)
    panel = open_panel(boss, qtbot, customer)
    assert panel.approve_button.isVisible() and panel.approve_button.isEnabled()
    with qtbot.waitSignal(panel.loaded):
        qtbot.mouseClick(panel.approve_button, Qt.MouseButton.LeftButton)
    assert panel.quotes[0].status == "approved"
    assert panel.table.item(0, 3).text() == "已批准"
    assert "周经理" in panel.note.text()

    # Back at the salesperson's laptop: now it prints, through the print dialog.
    sales_panel = open_panel(ctx, qtbot, customer)
    assert sales_panel.print_button.isEnabled()
    target = tmp_path / "printed.pdf"
    monkeypatch.setattr(
        panel_module, "choose_printer", lambda _p: printing.PrintTarget("", 1, str(target))
    )
    output = sales_panel.print_quote()
    with qtbot.waitSignal(output.done, timeout=10000):
        pass
    assert target.read_bytes().startswith(b"%PDF")
    (entry,) = print_entries(db)
    assert entry["purpose"] == "print" and entry["actor"] == sales.user_id
    assert entry["target"] == customer


def test_a_manager_rejects_with_a_reason(
    ctx, qtbot, db, cat, customer, sales, manager, monkeypatch
):
    make_quote(db, sales, customer, cat, discount="8000")
    panel = open_panel(dataclasses.replace(ctx, actor=manager), qtbot, customer)
    monkeypatch.setattr(
        panel_module.QInputDialog, "getText", lambda *a, **k: ("请控制在3000以内", True)
    )
    with qtbot.waitSignal(panel.loaded):
        qtbot.mouseClick(panel.reject_button, Qt.MouseButton.LeftButton)
    q = panel.quotes[0]
    assert q.status == "draft" and q.rejection_reason == "请控制在3000以内"
    sales_panel = open_panel(ctx, qtbot, customer)
    assert "请控制在3000以内" in sales_panel.note.text()
    assert not sales_panel.print_button.isEnabled()


def test_save_pdf_leaves_one_audit_entry(
    ctx, qtbot, db, cat, customer, sales, tmp_path, monkeypatch
):
    make_quote(db, sales, customer, cat)
    panel = open_panel(ctx, qtbot, customer)
    target = tmp_path / "quote.pdf"
    offered = []

    def choose(_parent, suggested):
        offered.append(suggested)
        return target

    monkeypatch.setattr(panel_module, "choose_save_path", choose)
    output = panel.save_pdf()
    with qtbot.waitSignal(output.done, timeout=10000):
        pass
    assert offered[0].startswith("报价单_Q") and offered[0].endswith("_陈晓明.pdf")
    assert target.read_bytes().startswith(b"%PDF")
    entries = print_entries(db)
    assert len(entries) == 1 and entries[0]["purpose"] == "save"
    qtbot.waitUntil(lambda: panel.quotes[0].status == "issued", timeout=5000)
    assert not panel.edit_button.isEnabled()  # an issued quote is not changed


def test_a_cancelled_print_dialog_leaves_no_trace(
    ctx, qtbot, db, cat, customer, sales, monkeypatch
):
    make_quote(db, sales, customer, cat)
    panel = open_panel(ctx, qtbot, customer)
    monkeypatch.setattr(panel_module, "choose_printer", lambda _p: None)
    assert panel.print_quote() is None
    panel.ctx.runner.wait()
    assert print_entries(db) == []


def test_preview_opens_the_marked_pdf_without_an_audit_entry(
    ctx, qtbot, db, cat, customer, sales, monkeypatch
):
    make_quote(db, sales, customer, cat, discount="8000")
    panel = open_panel(ctx, qtbot, customer)
    opened = []
    monkeypatch.setattr(printing.QDesktopServices, "openUrl", lambda url: opened.append(url))
    output = panel.preview()
    with qtbot.waitSignal(output.done, timeout=10000):
        pass
    qtbot.waitUntil(lambda: bool(opened), timeout=5000)
    path = Path(opened[0].toLocalFile())
    assert path.name.startswith("预览_") and path.read_bytes().startswith(b"%PDF")
    assert print_entries(db) == []


def test_editing_an_existing_quote_keeps_its_choices(ctx, qtbot, db, cat, customer, sales):
    q = make_quote(db, sales, customer, cat)
    panel = open_panel(ctx, qtbot, customer)
    double_click_row(qtbot, panel, 0)  # a quote that may still change opens in the editor
    editor = panel.findChild(QuoteEditor)
    qtbot.waitUntil(lambda: editor.save_button.isEnabled(), timeout=5000)
    assert editor.trim.currentData() == cat.tiguan
    assert editor.colour.currentData() == "极地白"
    assert editor.checked_options() == ["PANO"]
    assert editor.discount.text() == "2000.00"
    assert editor.total_labels["total"].text() == "¥223,900.00"
    editor.discount.setText("2500")
    with qtbot.waitSignal(panel.loaded):
        editor.save()
    assert panel.quotes[0].number == q.number
    assert panel.quotes[0].total == Decimal("223400.00")


def test_printing_hands_the_pdf_to_cups(tmp_path, monkeypatch):
    """Without "print to file", the PDF goes to the chosen printer through CUPS' lp."""
    from showroom.services.dto import PrintedQuote

    log = tmp_path / "lp.log"
    fake = tmp_path / "bin" / "lp"
    fake.parent.mkdir()
    fake.write_text(f'#!/bin/sh\necho "$@" > {log}\nhead -c 4 "$7" >> {log}\n')
    fake.chmod(0o755)
    monkeypatch.setenv("PATH", f"{fake.parent}:/usr/bin:/bin")
    printed = PrintedQuote("q-1", "Q20261122-7KQ3-0001", "c-1", "陈晓明", "print", b"%PDF-1.4 x")
    where = printing.send_to_printer(printing.PrintTarget("Showroom_HP", 2), printed)
    assert where == "Showroom_HP"
    args, head = log.read_text().splitlines()
    assert args.startswith("-d Showroom_HP -n 2 -t Q20261122-7KQ3-0001 ")
    assert args.endswith("报价单_Q20261122-7KQ3-0001_陈晓明.pdf") and head == "%PDF"

    fake.write_text("#!/bin/sh\necho 'lp: The printer or class does not exist.' >&2\nexit 1\n")
    with pytest.raises(printing.PrinterUnavailableError) as failed:
        printing.send_to_printer(printing.PrintTarget("Gone", 1), printed)
    assert "does not exist" in failed.value.message_zh


def test_a_quote_changed_after_printing_is_kept_as_printed_and_the_change_becomes_new(
    ctx, qtbot, db, cat, customer, sales, monkeypatch
):
    from showroom.db.outbox import CAPTURE
    from showroom.models import Quote, QuoteLine

    q = make_quote(db, sales, customer, cat)
    with db.session_scope() as session:
        quotes.render_for_print(session, sales, q.id)
    with db.session_scope() as session:  # as pulled: another laptop's extra line and total
        session.info[CAPTURE] = False
        session.add(QuoteLine(quote_id=q.id, kind="accessory", description="行车记录仪",
                              quantity=1, unit_price=Decimal("980.00"), position=9))  # fmt: skip
        session.get(Quote, q.id).total = q.total + Decimal("980.00")

    panel = open_panel(ctx, qtbot, customer)
    assert panel.table.item(0, 3).text() == "打印后被改动"
    assert "¥" + f"{q.total:,.2f}" in panel.note.text()
    assert "¥" + f"{q.total + Decimal('980.00'):,.2f}" in panel.note.text()
    assert not panel.print_button.isEnabled() and not panel.save_button.isEnabled()
    assert "恢复打印版" in panel.print_button.toolTip()
    assert panel.split_button.isVisible()

    asked = []
    monkeypatch.setattr(
        panel_module.QMessageBox,
        "question",
        lambda _p, _t, text, *a, **k: asked.append(text) or QMessageBox.StandardButton.Yes,
    )
    with qtbot.waitSignal(panel.loaded):
        qtbot.mouseClick(panel.split_button, Qt.MouseButton.LeftButton)
    assert q.number in asked[0]
    qtbot.waitUntil(lambda: panel.selected() is not None and panel.selected().id != q.id)
    new = panel.selected()
    assert new.status == "draft" and new.total == q.total + Decimal("980.00")
    assert [x.description for x in new.lines][-1] == "行车记录仪"
    assert not panel.split_button.isVisible()
    printed = next(x for x in panel.quotes if x.id == q.id)
    assert (printed.status, printed.total, printed.printable) == ("issued", q.total, True)


def test_an_expired_printed_quote_is_copied_as_a_new_one_at_todays_prices(
    today, ctx, qtbot, db, cat, customer, sales, monkeypatch
):
    import datetime as dt

    from showroom.models import Trim
    from showroom.services.quotes import QuoteLineDraft

    tax = quotes.purchase_tax(Decimal("225400.00"), "petrol")
    with db.session_scope() as session:
        q = quotes.create_quote(
            session,
            sales,
            customer,
            QuoteDraft(
                trim_id=cat.tiguan,
                colour="冰川蓝",
                option_codes=["PANO"],
                discount="2500",
                extras=[
                    QuoteLineDraft("accessory", "脚垫", "800"),
                    QuoteLineDraft("purchase_tax", "车辆购置税", str(tax)),
                ],
                notes="含首保",
            ),
        )
        quotes.render_for_print(session, sales, q.id)
    expire(db, q.id, days_ago=3)
    with db.session_scope() as session:  # and the price went up meanwhile
        session.get(Trim, cat.tiguan).msrp = Decimal("222900.00")

    panel = open_panel(ctx, qtbot, customer)
    assert panel.table.item(0, 3).text() == "已过期"
    assert not panel.edit_button.isEnabled() and panel.copy_button.isEnabled()
    assert not panel.print_button.isEnabled()
    assert "复制" in panel.print_button.toolTip() and "复制为新报价" in panel.note.text()
    opened = []  # a double-click shows it, as its preview, instead of an edit to be refused
    monkeypatch.setattr(printing.QDesktopServices, "openUrl", lambda url: opened.append(url))
    double_click_row(qtbot, panel, 0)
    qtbot.waitUntil(lambda: bool(opened), timeout=10000)
    assert Path(opened[0].toLocalFile()).name.startswith("预览_")
    assert panel.findChild(QuoteEditor) is None

    editor = panel.copy_quote()
    qtbot.waitUntil(lambda: editor.save_button.isEnabled(), timeout=5000)
    assert q.number in editor.heading.text()
    assert editor.trim.currentData() == cat.tiguan and editor.colour.currentData() == "冰川蓝"
    assert editor.checked_options() == ["PANO"] and editor.discount.text() == "2500.00"
    assert editor.notes.toPlainText() == "含首保"
    new_tax = quotes.purchase_tax(Decimal("228400.00"), "petrol")
    assert [(x.kind, x.description, Decimal(x.unit_price)) for x in editor.extra_lines()] == [
        ("accessory", "脚垫", Decimal("800")),
        ("purchase_tax", "车辆购置税", new_tax),
    ]
    valid = today + dt.timedelta(days=quotes.VALID_DAYS)
    assert editor.valid_until.date().toPython() == valid
    total = Decimal("222900.00") + 2000 + 6000 - 2500 + 800 + new_tax
    assert editor.total_labels["total"].text() == f"¥{total:,.2f}"

    with qtbot.waitSignal(panel.loaded):
        qtbot.mouseClick(editor.save_button, Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: panel.selected() is not None and panel.selected().id != q.id)
    new = panel.selected()
    assert new.number != q.number
    assert (new.status, new.total, new.valid_until) == ("draft", total, valid)
    assert panel.edit_button.isEnabled() and panel.print_button.isEnabled()
    old = next(x for x in panel.quotes if x.id == q.id)
    assert (old.status, old.total, old.issued_total) == ("expired", q.total, q.total)
