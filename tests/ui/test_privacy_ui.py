"""Privacy in the UI: masked 360 view, audited reveal, export and erasure, the audit trail page."""

from __future__ import annotations

import json

import pytest
from PySide6.QtCore import Qt
from PySide6.QtWidgets import QLabel
from qt_keys import type_text
from sqlalchemy import select

from showroom.actor import Actor
from showroom.models import AuditEntry
from showroom.services import customers, privacy
from showroom.services.customers import CustomerDraft
from showroom.validation import id_check_digit
from showroom.vocabulary import Role
from ui.audit.page import AuditPage
from ui.context import AppContext
from ui.customers.detail import Customer360Page
from ui.customers.privacy_actions import EraseCustomerDialog

ID_NUMBER = "44030519900307123" + id_check_digit("44030519900307123")


@pytest.fixture
def customer(db, sales):
    with db.session_scope() as session:
        return customers.create_customer(
            session,
            sales,
            CustomerDraft(name="陈晓明", phones=["13812345678"], id_number=ID_NUMBER),
        )


def context_for(ctx: AppContext, actor: Actor) -> AppContext:
    return AppContext(
        runner=ctx.runner, actor=actor, navigator=ctx.navigator,
        database_path=ctx.database_path, dealer_name=ctx.dealer_name, language=ctx.language,
    )  # fmt: skip


def open_360(ctx, qtbot, customer_id) -> Customer360Page:
    page = Customer360Page(ctx)
    qtbot.addWidget(page)
    page.resize(1130, 800)
    page.show()
    with qtbot.waitSignal(page.loaded):
        page.load(customer_id)
    return page


def visible_text(widget) -> str:
    return " ".join(label.text() for label in widget.findChildren(QLabel) if label.isVisible())


def audit_actions(db) -> list[str]:
    with db.session_scope() as session:
        return sorted(session.scalars(select(AuditEntry.action)))


def test_reveal_by_the_customers_salesperson_is_audited_once_per_value(ctx, qtbot, db, customer):
    page = open_360(ctx, qtbot, customer.id)
    assert page.fields["phones"].text() == "138****5678"
    assert page.reveal_button.isVisible()
    assert not page.export_button.isVisible() and not page.erase_button.isVisible()
    qtbot.mouseClick(page.reveal_button, Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: page.fields["id_number"].text() == ID_NUMBER)
    assert page.fields["phones"].text() == "138 1234 5678"
    assert audit_actions(db) == ["reveal_id_number", "reveal_phone"]
    qtbot.mouseClick(page.reveal_button, Qt.MouseButton.LeftButton)
    assert page.fields["id_number"].text() == "440305********1236"
    assert audit_actions(db) == ["reveal_id_number", "reveal_phone"]  # hiding is not a reveal


def test_a_service_advisor_sees_masked_values_only(ctx, qtbot, customer):
    advisor = Actor(user_id=None, display_name="赵敏", role=Role.SERVICE_ADVISOR)
    page = open_360(context_for(ctx, advisor), qtbot, customer.id)
    assert not page.reveal_button.isVisible()
    assert page.fields["phones"].text() == "138****5678"
    # The full values never reached the view: they are not in its data either.
    assert ID_NUMBER not in repr(page.data) and "13812345678" not in repr(page.data)
    assert ID_NUMBER not in visible_text(page)


def test_manager_exports_json_and_pdf(ctx, qtbot, db, manager, customer, tmp_path):
    page = open_360(context_for(ctx, manager), qtbot, customer.id)
    assert page.export_button.isVisible() and page.erase_button.isVisible()
    from ui.customers.privacy_actions import export_customer

    exporter = export_customer(page, page.ctx, customer.id, "陈晓明", directory=tmp_path)
    with qtbot.waitSignal(exporter.finished, timeout=20_000) as done:
        pass
    json_path, pdf_path = done.args[0]
    data = json.loads(json_path.read_text("utf-8"))
    assert data["customer"]["id_number"] == ID_NUMBER
    assert pdf_path.read_bytes().startswith(b"%PDF")
    assert audit_actions(db) == ["export"]


def test_manager_erases_after_typing_the_name(ctx, qtbot, db, manager, customer):
    page = open_360(context_for(ctx, manager), qtbot, customer.id)
    dialog = EraseCustomerDialog(page.ctx, customer.id, "陈晓明", parent=page)
    dialog.open()
    assert not dialog.erase_button.isEnabled()
    type_text(qtbot, dialog.confirm, "陈晓")
    assert not dialog.erase_button.isEnabled()
    type_text(qtbot, dialog.confirm, "明")
    assert dialog.erase_button.isEnabled()
    with qtbot.waitSignal(page.loaded, timeout=10_000):
        qtbot.mouseClick(dialog.erase_button, Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: page.name_label.text() == privacy.ERASED_NAME)
    assert "138" not in page.fields["phones"].text()
    assert not page.erase_button.isVisible()
    assert audit_actions(db) == ["erase"]


def test_audit_page_lists_entries_for_a_manager_and_refuses_a_salesperson(
    ctx, qtbot, db, manager, sales, customer
):
    from showroom import masking

    with db.session_scope() as session:
        masking.reveal_personal_data(session, sales, customer.id, "phone")
    page = AuditPage(context_for(ctx, manager))
    qtbot.addWidget(page)
    page.show()
    with qtbot.waitSignal(page.loaded):
        page.activate()
    assert page.table.rowCount() == 1
    row = [page.table.item(0, c).text() for c in range(page.table.columnCount())]
    assert "李娜" in row and "陈晓明" in row
    assert any("电话" in cell for cell in row)

    refused = AuditPage(ctx)
    qtbot.addWidget(refused)
    refused.show()
    with qtbot.waitSignal(refused.loaded):
        refused.activate()
    assert refused.message.isVisible() and "审计" in refused.message.text()
    assert not refused.table.isVisible()


def test_recording_a_consent_from_the_360_view_shows_it_and_audits_it(ctx, qtbot, db, customer):
    from ui.customers.privacy_actions import ConsentDialog

    page = open_360(ctx, qtbot, customer.id)
    assert page.consent_section.empty.isVisible()
    qtbot.mouseClick(page.consent_button, Qt.MouseButton.LeftButton)
    dialog = page.findChild(ConsentDialog)
    assert dialog is not None and dialog.isVisible()
    dialog.channel.setCurrentIndex(dialog.channel.findData("wechat"))
    dialog.purpose.setCurrentIndex(dialog.purpose.findData("surveys"))
    with qtbot.waitSignal(page.loaded, timeout=10_000):
        qtbot.mouseClick(dialog.ok_button, Qt.MouseButton.LeftButton)
    texts = visible_text(page.consent_section)
    assert "微信 · 调查: 同意" in texts and "李娜" in texts
    assert audit_actions(db) == ["consent"]
    from showroom.services import consents

    with db.session_scope() as session:
        assert consents.consented_customer_ids(session, "surveys", "wechat") == {customer.id}
