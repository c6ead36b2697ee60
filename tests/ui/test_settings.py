"""Settings page: the store's discount limit, set by a manager through the task runner."""

from __future__ import annotations

from decimal import Decimal

import pytest
from PySide6.QtCore import Qt

from showroom.services import quotes
from tests.ui.qt_keys import type_text
from ui.settings import SettingsPage


@pytest.fixture
def page_for(qtbot, ctx):
    def make(actor) -> SettingsPage:
        ctx.actor = actor
        page = SettingsPage(ctx)
        qtbot.addWidget(page)
        page.show()
        page.activate()
        qtbot.waitUntil(lambda: page.discount_limit.text() != "")
        return page

    return make


def stored_limit(db) -> Decimal:
    with db.session_scope(write=False) as session:
        return quotes.discount_threshold(session)


def error_text(page) -> str:
    error = page.errors.field("discount_threshold").error
    return error.text() if error.isVisible() else ""


def retype(qtbot, page, text) -> None:
    page.discount_limit.clear()
    type_text(qtbot, page.discount_limit, text)


def test_a_manager_sets_the_discount_limit_and_quotes_use_it(qtbot, page_for, db, manager):
    page = page_for(manager)
    assert page.discount_limit.isEnabled() and not page.managers_only.isVisible()
    assert page.discount_limit.text() == "3,000.00"  # the default
    retype(qtbot, page, "1.5万")
    with qtbot.waitSignal(page.discount_limit_saved) as saved:
        qtbot.keyClick(page.discount_limit, Qt.Key.Key_Return)  # Enter saves
    assert saved.args == [Decimal("15000.00")]
    assert page.discount_limit.text() == "15,000.00"
    assert stored_limit(db) == Decimal("15000.00")
    # A page opened later shows the stored limit.
    assert page_for(manager).discount_limit.text() == "15,000.00"


@pytest.mark.parametrize(
    ("typed", "message"),
    [("-500", "金额不能为负数"), ("三千", "金额格式不正确"), ("", "请输入金额")],
)
def test_a_bad_limit_is_refused_under_the_field_and_nothing_changes(
    qtbot, page_for, db, manager, typed, message
):
    page = page_for(manager)
    retype(qtbot, page, typed)
    qtbot.keyClick(page.discount_limit, Qt.Key.Key_Return)
    qtbot.waitUntil(lambda: message in error_text(page))
    assert stored_limit(db) == quotes.DEFAULT_DISCOUNT_THRESHOLD
    # Corrected, it saves and the error goes.
    retype(qtbot, page, "5000")
    with qtbot.waitSignal(page.discount_limit_saved):
        qtbot.keyClick(page.discount_limit, Qt.Key.Key_Return)
    assert error_text(page) == "" and stored_limit(db) == Decimal("5000.00")


def test_a_salesperson_sees_the_limit_but_cannot_change_it(qtbot, page_for, db, sales):
    page = page_for(sales)
    assert page.discount_limit.text() == "3,000.00"
    assert not page.discount_limit.isEnabled()
    assert page.managers_only.isVisible() and "经理" in page.managers_only.text()
    # Even if the field were reached, the service refuses and the page says so plainly.
    page.discount_limit.setEnabled(True)
    retype(qtbot, page, "50000")
    qtbot.keyClick(page.discount_limit, Qt.Key.Key_Return)
    qtbot.waitUntil(lambda: error_text(page) != "")
    assert "没有权限：修改门店设置" in error_text(page)
    assert page.discount_limit.text() == "3,000.00"
    assert stored_limit(db) == quotes.DEFAULT_DISCOUNT_THRESHOLD
