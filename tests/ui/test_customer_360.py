"""Customer 360: masked identity data, the timeline, and the quick actions, driven by clicks."""

from __future__ import annotations

import datetime as dt

import pytest
from PySide6.QtCore import Qt
from PySide6.QtWidgets import QDialog, QMessageBox, QWidget
from qt_keys import type_text

from showroom.services import customers
from showroom.services.customers import CustomerDraft, VehicleDraft
from showroom.validation import id_check_digit
from ui import formatting
from ui.customers.actions import (
    AddVehicleDialog,
    AssignDialog,
    ChangeLevelDialog,
    LogInteractionDialog,
)
from ui.customers.detail import Customer360Page
from ui.customers.editor import CustomerEditor

ID_NUMBER = "44030519900307123" + id_check_digit("44030519900307123")


@pytest.fixture
def customer(db, sales):
    with db.session_scope() as session:
        return customers.create_customer(
            session,
            sales,
            CustomerDraft(
                name="陈晓明",
                phones=["13812345678", "13900001111"],
                id_number=ID_NUMBER,
                intent_level="B",
                vip=True,
            ),
        )


@pytest.fixture
def page(ctx, qtbot, customer):
    widget = Customer360Page(ctx)
    qtbot.addWidget(widget)
    widget.resize(1130, 800)
    widget.show()
    with qtbot.waitSignal(widget.loaded):
        widget.load(customer.id)
    return widget


def open_dialog(page, qtbot, button, kind) -> QDialog:
    qtbot.mouseClick(button, Qt.MouseButton.LeftButton)
    dialog = page.findChild(kind)
    assert dialog is not None and dialog.isVisible()
    return dialog


def all_text(widget: QWidget) -> str:
    from PySide6.QtWidgets import QLabel

    return " ".join(label.text() for label in widget.findChildren(QLabel) if label.isVisible())


def test_header_shows_name_vip_level_and_salesperson(page):
    assert page.name_label.text() == "陈晓明"
    assert page.vip_chip.isVisible()
    assert page.level_chip.text().startswith("B")
    assert "李娜" in page.summary_label.text()
    assert not page.approval_chip.isVisible()


def test_phones_and_id_are_masked_until_reveal_is_clicked(page, qtbot):
    assert page.fields["phones"].text() == "138****5678\n139****1111"
    assert page.fields["id_number"].text() == "440305********1236"
    assert ID_NUMBER not in all_text(page) and "1990" not in all_text(page)

    qtbot.mouseClick(page.reveal_button, Qt.MouseButton.LeftButton)
    # The reveal is read (and audited) on the DB lane.
    qtbot.waitUntil(lambda: page.fields["phones"].text() == "138 1234 5678\n139 0000 1111")
    assert page.fields["id_number"].text() == ID_NUMBER
    assert formatting.date(dt.date(1990, 3, 7)) in page.fields["birthday"].text()

    qtbot.mouseClick(page.reveal_button, Qt.MouseButton.LeftButton)
    assert page.fields["phones"].text() == "138****5678\n139****1111"


def test_another_customer_opens_masked_again(page, qtbot, db, sales):
    qtbot.mouseClick(page.reveal_button, Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: page.revealed)
    with db.session_scope() as session:
        other = customers.create_customer(
            session, sales, CustomerDraft(name="王芳", phones=["13700000000"])
        )
    with qtbot.waitSignal(page.loaded):
        page.load(other.id)
    assert page.fields["phones"].text() == "137****0000"


def test_empty_sections_say_so(page):
    assert page.vehicles_section.empty.isVisible()
    assert page.vehicles_section.empty.text() == "暂无车辆。"
    assert page.timeline_section.empty.isVisible()
    assert page.follow_up_section.content.isVisible()  # level B scheduled the first call


def test_a_logged_interaction_appears_in_the_timeline(page, qtbot):
    dialog = open_dialog(page, qtbot, page.log_button, LogInteractionDialog)
    assert dialog.schedule.isChecked()  # level B: the next call is proposed
    dialog.channel.setCurrentIndex(dialog.channel.findData("phone"))
    type_text(qtbot, dialog.summary, "电话回访，周六到店试驾")
    type_text(qtbot, dialog.outcome, "已约周六")
    due = dt.date.today() + dt.timedelta(days=2)
    dialog.next_date.setDate(due)
    with qtbot.waitSignal(page.loaded):
        qtbot.mouseClick(dialog.ok_button, Qt.MouseButton.LeftButton)

    assert not page.timeline_section.empty.isVisible()
    first = page.timeline.texts()[0]
    assert "电话回访，周六到店试驾" in first and "已约周六" in first
    assert page.timeline.entries[0].kind == "interaction"
    assert formatting.date(due) in page.follow_up_label.text()


def test_an_empty_summary_is_refused_under_the_field(page, qtbot):
    dialog = open_dialog(page, qtbot, page.log_button, LogInteractionDialog)
    qtbot.mouseClick(dialog.ok_button, Qt.MouseButton.LeftButton)
    error = dialog.errors.field("summary").error
    qtbot.waitUntil(error.isVisible)
    assert error.text() == "请填写沟通内容"
    assert dialog.isVisible()
    assert page.timeline_section.empty.isVisible()


def test_level_f_asks_for_a_reason_and_refuses_without_one(page, qtbot, db, sales, customer):
    dialog = open_dialog(page, qtbot, page.level_button, ChangeLevelDialog)
    assert not dialog.reason.isVisible()
    dialog.level.setCurrentIndex(dialog.level.findData("F"))
    assert dialog.reason.isVisible() and dialog.approval_note.isVisible()

    qtbot.mouseClick(dialog.ok_button, Qt.MouseButton.LeftButton)
    error = dialog.errors.field("reason").error
    qtbot.waitUntil(error.isVisible)
    assert "战败原因" in error.text()
    assert dialog.isVisible()
    with db.session_scope() as session:
        assert customers.get_customer(session, sales, customer.id).intent_level == "B"

    type_text(qtbot, dialog.reason, "已在别家购车")
    with qtbot.waitSignal(page.loaded):
        qtbot.mouseClick(dialog.ok_button, Qt.MouseButton.LeftButton)
    assert page.level_chip.text().startswith("F")
    assert page.approval_chip.isVisible() and page.approval_chip.text() == "待审批"
    assert "已在别家购车" in all_text(page.history_section)
    assert page.follow_up_section.empty.isVisible()  # a lost lead has no calls due


def test_assign_a_salesperson(page, qtbot):
    dialog = open_dialog(page, qtbot, page.assign_button, AssignDialog)
    qtbot.waitUntil(dialog.salesperson.isEnabled)
    dialog.salesperson.setCurrentIndex(dialog.salesperson.findText("王磊"))
    with qtbot.waitSignal(page.loaded):
        qtbot.mouseClick(dialog.ok_button, Qt.MouseButton.LeftButton)
    assert "王磊" in page.summary_label.text()


def test_add_a_vehicle(page, qtbot):
    dialog = open_dialog(page, qtbot, page.vehicle_button, AddVehicleDialog)
    type_text(qtbot, dialog.plate, "粤b12345")
    type_text(qtbot, dialog.model, "途观L")
    type_text(qtbot, dialog.mileage, "abc")
    qtbot.mouseClick(dialog.ok_button, Qt.MouseButton.LeftButton)
    error = dialog.errors.field("mileage_km").error
    qtbot.waitUntil(error.isVisible)

    dialog.mileage.clear()
    with qtbot.waitSignal(page.loaded):
        qtbot.mouseClick(dialog.ok_button, Qt.MouseButton.LeftButton)
    assert not page.vehicles_section.empty.isVisible()
    assert page.vehicles.item(0, 1).text() == "粤B·12345"
    assert page.vehicles.item(0, 2).text() == "途观L"


def test_a_vin_on_another_customer_asks_before_adding(page, qtbot, db, sales, monkeypatch):
    from showroom.validation import vin_check_digit

    vin = "LFV2A21K" + vin_check_digit("LFV2A21K03A123456") + "3A123456"
    with db.session_scope() as session:
        customers.create_customer(
            session,
            sales,
            CustomerDraft(name="张伟", phones=["13600000000"], vehicles=[VehicleDraft(vin=vin)]),
        )
    asked = []

    def question(_parent, _title, text, *_args):
        asked.append(text)
        return QMessageBox.StandardButton.Yes

    monkeypatch.setattr(QMessageBox, "question", question)
    dialog = open_dialog(page, qtbot, page.vehicle_button, AddVehicleDialog)
    type_text(qtbot, dialog.vin, vin)
    with qtbot.waitSignal(page.loaded):
        qtbot.mouseClick(dialog.ok_button, Qt.MouseButton.LeftButton)
    assert len(asked) == 1 and "张伟" in asked[0]
    assert page.vehicles.item(0, 0).text() == vin


def test_a_change_made_elsewhere_refreshes_the_page(page, qtbot, ctx, customer):
    from showroom.services.dto import Changed

    with qtbot.waitSignal(page.loaded):
        ctx.runner.db(
            lambda s: customers.update_customer(
                s, ctx.actor, customer.id, {"name": "陈晓明（老客户）"}
            ),
            write=True,
            changed=lambda dto: Changed("customer", (dto.id,), "updated"),
        )
    assert page.name_label.text() == "陈晓明（老客户）"


def test_edit_opens_the_editor_for_this_customer(page, qtbot):
    qtbot.mouseClick(page.edit_button, Qt.MouseButton.LeftButton)
    editor = page.findChild(CustomerEditor)
    assert editor is not None
    qtbot.waitUntil(lambda: editor.name.text() == "陈晓明")
    assert editor.windowTitle() == "编辑客户"


def test_back_to_list(page, qtbot, ctx):
    with qtbot.waitSignal(ctx.navigator.show_page) as shown:
        qtbot.mouseClick(page.back_button, Qt.MouseButton.LeftButton)
    assert shown.args == ["customers"]


def test_a_customer_no_longer_on_file_says_so(ctx, qtbot):
    page = Customer360Page(ctx)
    qtbot.addWidget(page)
    page.show()
    with qtbot.waitSignal(page.loaded):
        page.load("no-such-customer")
    assert page.message.isVisible()
    assert not page.log_button.isEnabled()


def test_a_manager_approves_or_rejects_a_lost_request_here(
    ctx, qtbot, db, sales, manager, customer, monkeypatch
):
    from showroom.services import leads

    with db.session_scope() as session:
        leads.set_intent_level(session, sales, customer.id, "F", reason="预算不够")
    ctx.actor = sales
    page = Customer360Page(ctx)
    qtbot.addWidget(page)
    page.show()
    with qtbot.waitSignal(page.loaded):
        page.load(customer.id)
    assert not page.approve_button.isVisible()  # a salesperson cannot decide

    ctx.actor = manager
    with qtbot.waitSignal(page.loaded):
        page.load(customer.id)
    assert page.approve_button.isVisible() and page.reject_button.isVisible()
    monkeypatch.setattr(
        "ui.customers.detail.QInputDialog.getText", lambda *a, **k: ("再跟进一次", True)
    )
    with qtbot.waitSignal(page.loaded):
        qtbot.mouseClick(page.reject_button, Qt.MouseButton.LeftButton)
    assert page.level_chip.text().startswith("B")  # back to where the lead was
    assert not page.approval_chip.isVisible() and not page.approve_button.isVisible()

    with db.session_scope() as session:
        leads.set_intent_level(session, sales, customer.id, "F", reason="已在别家购车")
    with qtbot.waitSignal(page.loaded):
        page.load(customer.id)
    with qtbot.waitSignal(page.loaded):
        qtbot.mouseClick(page.approve_button, Qt.MouseButton.LeftButton)
    assert page.approval_chip.text() == "已批准"
    assert not page.approve_button.isVisible()
    with db.session_scope() as session:
        assert customers.get_customer(session, manager, customer.id).lifecycle_stage == "lost"
