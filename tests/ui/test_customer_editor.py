"""The new/edit customer dialog, driven like a salesperson would: typing, Enter, Esc, clicks."""

from __future__ import annotations

import threading
from types import SimpleNamespace

import pytest
import shiboken6
from PySide6.QtCore import Qt
from PySide6.QtWidgets import QMessageBox, QPushButton, QWidget
from qt_keys import type_text
from sqlalchemy import func, select

from showroom.models import Customer
from showroom.services import customers, interactions
from showroom.services.customers import CustomerDraft
from showroom.services.dto import Changed
from ui.customers.detail import Customer360Page
from ui.customers.editor import CustomerEditor


@pytest.fixture
def host(qtbot):
    """A parent window for the dialogs (they delete themselves when closed)."""
    widget = QWidget()
    qtbot.addWidget(widget)
    return widget


@pytest.fixture
def existing(db, sales):
    with db.session_scope() as session:
        return customers.create_customer(
            session, sales, CustomerDraft(name="陈晓明", phones=["13812345678"])
        )


@pytest.fixture
def answers(monkeypatch):
    """Scripted replies to QMessageBox.question; records each question asked."""

    answers = SimpleNamespace(asked=[], reply=QMessageBox.StandardButton.No)

    def question(_parent, _title, text, *_args, **_kwargs):
        answers.asked.append(text)
        return answers.reply

    monkeypatch.setattr(QMessageBox, "question", question)
    return answers


def open_editor(ctx, host, qtbot, customer_id=None) -> CustomerEditor:
    editor = CustomerEditor(ctx, customer_id=customer_id, parent=host)
    editor.show()
    if customer_id is None:
        qtbot.waitUntil(lambda: editor.salesperson.count() > 1)  # staff list arrived
    else:
        qtbot.waitUntil(lambda: editor.save_button.isEnabled())  # record loaded
    return editor


def customer_count(db) -> int:
    with db.session_scope() as session:
        return session.scalar(select(func.count()).select_from(Customer))


def test_an_invalid_phone_shows_an_inline_error_and_saves_nothing(ctx, host, qtbot, db):
    changes = []
    ctx.runner.data_changed.connect(changes.append)
    editor = open_editor(ctx, host, qtbot)
    type_text(qtbot, editor.name, "陈晓明")
    type_text(qtbot, editor.phones[0], "1381234567")  # one digit short
    qtbot.mouseClick(editor.save_button, Qt.MouseButton.LeftButton)

    phone_error = editor.errors.field("phone").error
    qtbot.waitUntil(phone_error.isVisible)
    assert "11 位" in phone_error.text()  # in Chinese, saying what is wrong
    assert not editor.errors.field("name").error.isVisible()
    assert editor.isVisible()
    assert editor.save_button.isEnabled()  # the user can fix it and save again
    assert changes == []
    assert customer_count(db) == 0


def test_saving_a_new_customer_updates_the_list_through_data_changed(ctx, host, qtbot, db):
    from ui.customers.page import CustomersPage

    page = CustomersPage(ctx)  # the list a salesperson has open behind the dialog
    qtbot.addWidget(page)
    with qtbot.waitSignal(page.model.loaded, timeout=5000):
        page.activate()
    assert page.model.rowCount() == 0
    editor = open_editor(ctx, host, qtbot)
    type_text(qtbot, editor.name, "王芳")
    type_text(qtbot, editor.phones[0], "139 0000 1111")
    opened = []
    ctx.navigator.open_customer.connect(opened.append)
    with qtbot.waitSignal(ctx.runner.data_changed) as changed:
        qtbot.keyClick(editor.phones[0], Qt.Key.Key_Return)  # Enter saves

    with db.session_scope() as session:
        (row,) = session.scalars(select(Customer)).all()
    assert row.name == "王芳"
    assert changed.args == [Changed("customer", (row.id,), "created")]
    assert opened == [row.id]  # the new customer's 360 opens
    qtbot.waitUntil(lambda: page.model.rowCount() == 1, timeout=5000)
    assert page.model.row(0).name == "王芳"  # and the list shows them without a manual refresh


def test_editing_saves_only_what_changed_and_emits_updated(ctx, host, qtbot, db, sales, existing):
    editor = open_editor(ctx, host, qtbot, existing.id)
    assert editor.name.text() == "陈晓明"
    assert editor.phones[0].text() == "138****5678"  # masked by the core
    assert not editor.is_dirty()
    type_text(qtbot, editor.email, "chen@example.com")
    assert editor.changes() == {"email": "chen@example.com"}
    with qtbot.waitSignal(ctx.runner.data_changed) as changed:
        qtbot.mouseClick(editor.save_button, Qt.MouseButton.LeftButton)

    assert changed.args == [Changed("customer", (existing.id,), "updated")]
    with db.session_scope() as session:
        saved = customers.get_customer(session, sales, existing.id)
        assert stored(session, existing.id) == (["+8613812345678"], None)
    assert saved.email == "chen@example.com"


ID_NUMBER = "110101199003071233"


def stored(session, customer_id) -> tuple[list[str], str | None]:
    """The customer's live phones (primary first) and ID number, as stored in full."""
    from showroom.models import CustomerPhone

    phones = session.scalars(
        select(CustomerPhone.number)
        .where(CustomerPhone.customer_id == customer_id, CustomerPhone.deleted.is_(False))
        .order_by(CustomerPhone.is_primary.desc(), CustomerPhone.number)
    ).all()
    return list(phones), session.get(Customer, customer_id).id_number


@pytest.fixture
def with_id_number(db, sales):
    with db.session_scope() as session:
        return customers.create_customer(
            session,
            sales,
            CustomerDraft(name="黄嘉怡", phones=["13812348000"], id_number=ID_NUMBER),
        )


def test_the_editor_shows_masked_values_and_saving_untouched_keeps_them(
    ctx, host, qtbot, db, with_id_number
):
    editor = open_editor(ctx, host, qtbot, with_id_number.id)
    assert editor.phones[0].text() == "138****8000"
    assert editor.id_number.text() == "110101********1233"
    type_text(qtbot, editor.address, "深圳市南山区")
    assert editor.changes() == {"address": "深圳市南山区"}  # no phone, no ID number
    with qtbot.waitSignal(ctx.runner.data_changed):
        qtbot.keyClick(editor.address, Qt.Key.Key_Return)  # Enter saves
    with db.session_scope() as session:
        assert stored(session, with_id_number.id) == (["+8613812348000"], ID_NUMBER)
        assert session.get(Customer, with_id_number.id).address == "深圳市南山区"


def test_adding_a_second_phone_keeps_the_masked_first_one_in_full(
    ctx, host, qtbot, db, with_id_number
):
    editor = open_editor(ctx, host, qtbot, with_id_number.id)
    type_text(qtbot, editor.phones[1], "139 0000 1111")
    with qtbot.waitSignal(ctx.runner.data_changed):
        qtbot.mouseClick(editor.save_button, Qt.MouseButton.LeftButton)
    with db.session_scope() as session:
        assert stored(session, with_id_number.id) == (
            ["+8613812348000", "+8613900001111"],  # the first stays primary, in full
            ID_NUMBER,
        )


def test_a_half_edited_masked_value_is_refused_next_to_its_field(
    ctx, host, qtbot, db, with_id_number
):
    editor = open_editor(ctx, host, qtbot, with_id_number.id)
    editor.id_number.setFocus()
    qtbot.keyClick(editor.id_number, Qt.Key.Key_End)
    qtbot.keyClick(editor.id_number, Qt.Key.Key_Backspace)  # "110101********123"
    qtbot.mouseClick(editor.save_button, Qt.MouseButton.LeftButton)
    error = editor.errors.field("id_number").error
    qtbot.waitUntil(error.isVisible)
    assert "完整" in error.text()  # asks for the whole number
    assert editor.isVisible()
    with db.session_scope() as session:
        assert stored(session, with_id_number.id) == (["+8613812348000"], ID_NUMBER)


def test_the_duplicate_warning_appears_and_opens_the_existing_customer(
    ctx, host, qtbot, existing, answers
):
    editor = open_editor(ctx, host, qtbot)
    type_text(qtbot, editor.name, "陈小明")
    type_text(qtbot, editor.phones[0], "138-1234-5678")
    qtbot.waitUntil(editor.duplicates.isVisible)
    assert "陈晓明" in [c.name for c in editor.duplicates.candidates]
    assert editor.duplicates.findChild(QPushButton, "openExisting").isVisible()

    answers.reply = QMessageBox.StandardButton.Yes  # yes, drop what I typed
    with (
        qtbot.waitSignal(ctx.navigator.open_customer) as opened,
        qtbot.waitSignal(editor.finished),
    ):
        qtbot.mouseClick(
            editor.duplicates.findChild(QPushButton, "openExisting"), Qt.MouseButton.LeftButton
        )
    assert opened.args == [existing.id]
    assert len(answers.asked) == 1


def test_a_stale_duplicate_reply_is_dropped(ctx, host, qtbot, existing):
    editor = open_editor(ctx, host, qtbot)
    release = threading.Event()
    ctx.runner.db(lambda _s: release.wait(5))  # hold the DB lane so the check queues
    type_text(qtbot, editor.phones[0], "13812345678")
    qtbot.waitUntil(lambda: not editor._duplicate_timer.isActive())  # check sent, not answered
    editor.phones[0].selectAll()
    qtbot.keyClick(editor.phones[0], Qt.Key.Key_Backspace)  # the user clears the number
    qtbot.waitUntil(lambda: not editor._duplicate_timer.isActive())
    release.set()
    qtbot.waitUntil(lambda: not ctx.runner.busy)
    qtbot.wait(50)  # let the queued reply be delivered
    assert not editor.duplicates.isVisible()  # the reply describes a number no longer there


def test_a_refused_duplicate_can_be_saved_anyway(ctx, host, qtbot, db, existing):
    editor = open_editor(ctx, host, qtbot)
    type_text(qtbot, editor.name, "陈晓明")
    editor.phones[0].setText("13812345678")  # pasted: no live check before saving
    qtbot.mouseClick(editor.save_button, Qt.MouseButton.LeftButton)
    qtbot.waitUntil(editor.duplicates.force_button.isVisible)
    assert customer_count(db) == 1

    with qtbot.waitSignal(ctx.runner.data_changed):
        qtbot.mouseClick(editor.duplicates.force_button, Qt.MouseButton.LeftButton)
    assert customer_count(db) == 2


def test_merge_from_the_duplicate_warning_keeps_both_histories(
    ctx, host, qtbot, db, sales, existing, answers
):
    with db.session_scope() as session:
        other = customers.create_customer(
            session, sales, CustomerDraft(name="陈小明", phones=["13900001111"])
        )
        interactions.log_interaction(
            session, sales, existing.id, channel="visit", summary="到店看车"
        )
        interactions.log_interaction(session, sales, other.id, channel="phone", summary="电话询价")
    changes = []
    ctx.runner.data_changed.connect(changes.append)
    editor = open_editor(ctx, host, qtbot, other.id)
    type_text(qtbot, editor.phones[1], "13812345678")
    qtbot.waitUntil(editor.duplicates.isVisible)
    merge_button = editor.duplicates.findChild(QPushButton, "mergeDuplicate")

    qtbot.mouseClick(merge_button, Qt.MouseButton.LeftButton)  # the user says no
    assert len(answers.asked) == 1 and "陈晓明" in answers.asked[0]
    assert changes == [] and editor.isVisible()

    answers.reply = QMessageBox.StandardButton.Yes
    with qtbot.waitSignal(ctx.runner.data_changed) as changed:
        qtbot.mouseClick(merge_button, Qt.MouseButton.LeftButton)
    assert changed.args == [Changed("customer", (existing.id, other.id), "merged")]
    qtbot.waitUntil(lambda: not shiboken6.isValid(editor) or not editor.isVisible())

    page = Customer360Page(ctx)
    qtbot.addWidget(page)
    with qtbot.waitSignal(page.loaded):
        page.load(existing.id)
    shown = " ".join(page.timeline.texts())
    assert "到店看车" in shown and "电话询价" in shown
    assert page.fields["phones"].text().count("\n") == 1  # both numbers, the shared one once


def test_esc_with_unsaved_changes_asks_and_stays_open_on_no(ctx, host, qtbot, answers):
    editor = open_editor(ctx, host, qtbot)
    type_text(qtbot, editor.name, "李雷")
    qtbot.keyClick(editor.name, Qt.Key.Key_Escape)
    assert len(answers.asked) == 1
    assert editor.isVisible()
    assert editor.name.text() == "李雷"

    answers.reply = QMessageBox.StandardButton.Yes
    with qtbot.waitSignal(editor.finished):
        qtbot.keyClick(editor.name, Qt.Key.Key_Escape)
    assert len(answers.asked) == 2


def test_esc_without_changes_closes_without_asking(ctx, host, qtbot, answers, existing):
    editor = open_editor(ctx, host, qtbot, existing.id)
    with qtbot.waitSignal(editor.finished):
        qtbot.keyClick(editor.name, Qt.Key.Key_Escape)
    assert answers.asked == []


def test_company_shows_contact_person_and_hides_personal_fields(ctx, host, qtbot):
    editor = open_editor(ctx, host, qtbot)
    assert not editor.contact_name.isVisible()
    editor.kind.setCurrentIndex(editor.kind.findData("company"))
    assert editor.contact_name.isVisible()
    assert not editor.id_number.isVisible() and not editor.birthday.isVisible()


def test_level_c_asks_for_the_expected_purchase_date(ctx, host, qtbot, db, sales):
    editor = open_editor(ctx, host, qtbot)
    assert not editor.expected_purchase_date.isVisible()
    type_text(qtbot, editor.name, "赵强")
    type_text(qtbot, editor.phones[0], "13700000000")
    editor.intent_level.setCurrentIndex(editor.intent_level.findData("C"))
    assert editor.expected_purchase_date.isVisible()
    type_text(qtbot, editor.expected_purchase_date, "2031-02-30")
    qtbot.mouseClick(editor.save_button, Qt.MouseButton.LeftButton)
    error = editor.errors.field("expected_purchase_date").error
    qtbot.waitUntil(error.isVisible)
    assert "2031-02-30" in error.text()
    assert customer_count(db) == 0
