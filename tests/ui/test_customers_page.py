"""The customers page, driven like a salesperson would: type, arrow down, Enter, filter."""

from __future__ import annotations

import datetime as dt

import pytest
from PySide6.QtCore import QCoreApplication, QPoint, Qt
from PySide6.QtGui import QInputMethodEvent

from showroom.services import customers
from showroom.services.customers import CustomerDraft, VehicleDraft
from showroom.services.dto import Changed
from ui import day
from ui.customers.page import CustomersPage
from ui.customers.table_model import INTENT, NAME, PHONE, UPDATED
from ui.day import DayWatch


def commit(widget, text: str) -> None:
    """Type ``text`` as a Chinese input method does: one commit of the chosen characters."""
    event = QInputMethodEvent()
    event.setCommitString(text)
    QCoreApplication.sendEvent(widget, event)


def add(db, actor, name: str, phone: str, **fields) -> str:
    with db.session_scope() as session:
        draft = CustomerDraft(name=name, phones=[phone], **fields)
        return customers.create_customer(session, actor, draft).id


@pytest.fixture
def people(db, staff) -> dict[str, str]:
    sales, sales2 = staff["sales"], staff["sales2"]
    return {
        "chen": add(db, sales, "陈晓明", "13812345678", intent_level="H", vip=True),
        "chen2": add(db, sales, "陈晓东", "13812340000", intent_level="B"),
        "wang": add(
            db,
            sales2,
            "王芳",
            "13900001111",
            intent_level="A",
            vehicles=[VehicleDraft(plate="粤B12345")],
        ),
        "li": add(db, sales2, "李静", "13700002222", lifecycle_stage="evaluating"),
    }


@pytest.fixture
def page(qtbot, ctx, people):
    widget = CustomersPage(ctx)
    qtbot.addWidget(widget)
    widget.resize(1280, 800)
    widget.show()
    qtbot.waitExposed(widget)
    with qtbot.waitSignal(widget.shown, timeout=5_000):
        widget.activate()
    return widget


def listed(page) -> list[str]:
    return [page.model.row(i).id for i in range(page.model.rowCount())]


def test_first_load_lists_everyone_with_the_count(qtbot, page, people):
    assert set(listed(page)) == set(people.values())
    # The count follows the first page on the DB lane.
    qtbot.waitUntil(lambda: page.summary.text() == page.tr("%1 customers").replace("%1", "4"))
    assert page.search.hasFocus()


def test_typing_in_the_search_box_fills_the_table(qtbot, page, people):
    commit(page.search, "陈晓")
    qtbot.waitUntil(lambda: page.model.searching and not page.model.loading, timeout=5_000)
    assert set(listed(page)) == {people["chen"], people["chen2"]}
    page.search.clear()
    qtbot.keyClicks(page.search, "1390000")  # a fragment of Wang's phone
    qtbot.waitUntil(lambda: listed(page) == [people["wang"]], timeout=5_000)
    assert page.summary.text() == page.tr("1 match")
    # Filters do not apply to a search: it looks through everyone, and says so by greying.
    assert not page.level_filter.isEnabled()


def test_plate_search_and_no_match_message(qtbot, page, people):
    commit(page.search, "粤B123")
    qtbot.waitUntil(lambda: listed(page) == [people["wang"]], timeout=5_000)
    page.search.clear()
    qtbot.keyClicks(page.search, "99999999")
    qtbot.waitUntil(
        lambda: page.model.searching and not page.model.loading and not listed(page),
        timeout=5_000,
    )
    assert page.empty.isVisible()
    assert "99999999" in page.empty.text()


def test_one_character_shows_a_hint_not_an_error(qtbot, page, people):
    commit(page.search, "陈")
    assert page.hint.text() == page.tr("Type at least two characters")
    qtbot.wait(100)  # past the typing pause: still the full list, nothing failed
    assert not page.model.searching
    assert set(listed(page)) == set(people.values())
    commit(page.search, "晓")
    qtbot.waitUntil(lambda: page.model.searching and not page.model.loading, timeout=5_000)
    assert page.hint.text() == page.tr("Searching all customers; filters are off")
    page.search.clear()
    qtbot.waitUntil(lambda: not page.model.searching and not page.model.loading, timeout=5_000)
    assert page.hint.text() == ""


def test_enter_opens_the_best_match(qtbot, page, ctx, people):
    qtbot.keyClicks(page.search, "13900001111")
    qtbot.waitUntil(lambda: listed(page) == [people["wang"]], timeout=5_000)
    with qtbot.waitSignal(ctx.navigator.open_customer, timeout=2_000) as opened:
        qtbot.keyClick(page.search, Qt.Key.Key_Return)
    assert opened.args == [people["wang"]]


def test_enter_right_after_typing_opens_the_match_once_it_arrives(qtbot, page, ctx, people):
    # No pause for the search to start: Enter waits for the results, then opens the best.
    with qtbot.waitSignal(ctx.navigator.open_customer, timeout=5_000) as opened:
        qtbot.keyClicks(page.search, "1370000")
        qtbot.keyClick(page.search, Qt.Key.Key_Return)
    assert opened.args == [people["li"]]


def test_arrow_down_moves_into_the_results_and_enter_opens_that_one(qtbot, page, ctx, people):
    commit(page.search, "陈晓")
    qtbot.waitUntil(lambda: page.model.rowCount() == 2 and page.model.searching, timeout=5_000)
    qtbot.keyClick(page.search, Qt.Key.Key_Down)
    assert page.table.hasFocus()
    assert page.selected_id() == page.model.row(0).id
    qtbot.keyClick(page.table, Qt.Key.Key_Down)
    second = page.model.row(1).id
    assert page.selected_id() == second
    with qtbot.waitSignal(ctx.navigator.open_customer, timeout=2_000) as opened:
        qtbot.keyClick(page.table, Qt.Key.Key_Return)
    assert opened.args == [second]
    # Up from the first row goes back to the search box.
    qtbot.keyClick(page.table, Qt.Key.Key_Up)
    qtbot.keyClick(page.table, Qt.Key.Key_Up)
    assert page.search.hasFocus()


def test_double_click_opens_the_customer(qtbot, page, ctx, people):
    row = page.model.row_of(people["li"])
    rect = page.table.visualRect(page.model.index(row, NAME))
    viewport = page.table.viewport()
    with qtbot.waitSignal(ctx.navigator.open_customer, timeout=2_000) as opened:
        # QTest's double-click lacks the press before it, which the view needs to see.
        qtbot.mousePress(viewport, Qt.MouseButton.LeftButton, pos=rect.center())
        qtbot.mouseRelease(viewport, Qt.MouseButton.LeftButton, pos=rect.center())
        qtbot.mouseDClick(viewport, Qt.MouseButton.LeftButton, pos=rect.center())
    assert opened.args == [people["li"]]


def test_typing_in_the_table_carries_on_in_the_search_box(qtbot, page, people):
    page.table.setFocus()
    qtbot.keyClicks(page.table, "1381234")
    assert page.search.hasFocus() and page.search.text() == "1381234"
    qtbot.waitUntil(lambda: set(listed(page)) == {people["chen"], people["chen2"]}, timeout=5_000)


def choose(combo, data) -> None:
    combo.setCurrentIndex(combo.findData(data))


def test_filters_narrow_the_list_and_the_count(qtbot, page, people, staff, db):
    def shows(*keys):
        return lambda: not page.model.loading and set(listed(page)) == {people[k] for k in keys}

    choose(page.level_filter, "H")
    qtbot.waitUntil(shows("chen"), timeout=5_000)
    choose(page.level_filter, "H,A")
    qtbot.waitUntil(shows("chen", "wang"), timeout=5_000)
    qtbot.waitUntil(lambda: page.summary.text() == page.tr("%1 customers").replace("%1", "2"))
    assert page.clear_filters.isVisible()

    page.reset_filters()
    qtbot.waitUntil(shows("chen", "chen2", "wang", "li"), timeout=5_000)
    choose(page.stage_filter, "evaluating")
    qtbot.waitUntil(shows("li"), timeout=5_000)
    page.reset_filters()

    page.vip_filter.setChecked(True)
    qtbot.waitUntil(shows("chen"), timeout=5_000)
    page.vip_filter.setChecked(False)

    # Salespeople arrive from the DB lane; "My customers" is there from the start.
    qtbot.waitUntil(lambda: page.salesperson_filter.findText("王磊") >= 0, timeout=5_000)
    page.salesperson_filter.setCurrentIndex(page.salesperson_filter.findText("王磊"))
    qtbot.waitUntil(shows("wang", "li"), timeout=5_000)
    choose(page.salesperson_filter, staff["sales"].user_id)  # "My customers"
    qtbot.waitUntil(shows("chen", "chen2"), timeout=5_000)
    page.reset_filters()

    # Overdue: an open follow-up due before today.
    with db.session_scope() as session:
        session.connection().exec_driver_sql(
            "UPDATE follow_up SET due = ? WHERE customer_id = ?",
            ((dt.date.today() - dt.timedelta(days=1)).isoformat(), people["chen2"]),
        )
    page.overdue_filter.setChecked(True)
    qtbot.waitUntil(shows("chen2"), timeout=5_000)
    page.overdue_filter.setChecked(False)

    choose(page.level_filter, "F")
    qtbot.waitUntil(lambda: not page.model.loading and not listed(page), timeout=5_000)
    assert page.empty.isVisible()
    assert page.empty.text() == page.tr("No customers match these filters.")


def test_a_customer_saved_elsewhere_appears_through_data_changed(
    qtbot, page, runner, sales, people
):
    page.table.setCurrentIndex(page.model.index(page.model.row_of(people["li"]), NAME))

    def create(session):
        draft = CustomerDraft(name="赵敏", phones=["13600003333"], intent_level="A")
        return customers.create_customer(session, sales, draft)

    runner.db(create, changed=lambda r: Changed("customer", (r.id,), "created"), write=True)
    qtbot.waitUntil(lambda: page.model.rowCount() == 5, timeout=5_000)
    newest = page.model.row(0)  # most recently updated first
    assert newest.name == "赵敏"
    assert page.selected_id() == people["li"]  # the user's place is kept
    qtbot.waitUntil(lambda: page.summary.text() == page.tr("%1 customers").replace("%1", "5"))


def test_a_change_elsewhere_updates_the_row(qtbot, page, runner, staff, people):
    def rename(session):  # by the salesperson the customer belongs to
        return customers.update_customer(
            session, staff["sales2"], people["wang"], {"name": "王芳芳"}
        )

    runner.db(rename, changed=lambda r: Changed("customer", (r.id,), "updated"), write=True)
    qtbot.waitUntil(
        lambda: page.model.row(page.model.row_of(people["wang"])).name == "王芳芳", timeout=5_000
    )


def click_header(qtbot, page, column: int) -> None:
    header = page.table.horizontalHeader()
    x = header.sectionViewportPosition(column) + header.sectionSize(column) // 2
    qtbot.mouseClick(header.viewport(), Qt.MouseButton.LeftButton, pos=QPoint(x, 5))


def test_sorting_by_name_and_back(qtbot, page, people):
    with qtbot.waitSignal(page.shown, timeout=5_000):
        click_header(qtbot, page, NAME)
    names = [page.model.row(i).name for i in range(page.model.rowCount())]
    assert names == sorted(names)
    header = page.table.horizontalHeader()
    assert header.sortIndicatorSection() == NAME
    assert header.sortIndicatorOrder() == Qt.SortOrder.AscendingOrder

    with qtbot.waitSignal(page.shown, timeout=5_000):
        click_header(qtbot, page, NAME)
    names = [page.model.row(i).name for i in range(page.model.rowCount())]
    assert names == sorted(names, reverse=True)

    with qtbot.waitSignal(page.shown, timeout=5_000):
        click_header(qtbot, page, INTENT)
    levels = [page.model.row(i).intent_level for i in range(page.model.rowCount())]
    assert levels == ["H", "A", "B", None]  # hottest first, unrated last


def test_an_unsortable_column_keeps_the_sort_and_its_indicator(qtbot, page):
    click_header(qtbot, page, PHONE)
    header = page.table.horizontalHeader()
    assert header.sortIndicatorSection() == UPDATED
    assert header.sortIndicatorOrder() == Qt.SortOrder.DescendingOrder
    assert not page.model.loading


def test_a_late_search_reply_never_mixes_into_newer_results(qtbot, page, runner, people):
    resets: list[set[str]] = []
    page.model.modelReset.connect(lambda: resets.append(set(listed(page))))
    page.search.setText("王芳")
    page.search_timer.timeout.emit()  # the typing pause is over: the search starts
    assert runner.wait()  # and finishes; its reply waits in the GUI thread's queue
    page.search.setText("陈晓")  # meanwhile the user typed something else
    with qtbot.waitSignal(page.shown, timeout=5_000):
        page.search_timer.timeout.emit()
    assert resets == [{people["chen"], people["chen2"]}]
    assert set(listed(page)) == {people["chen"], people["chen2"]}


def test_new_customer_button_asks_the_navigator(qtbot, page, ctx):
    with qtbot.waitSignal(ctx.navigator.new_customer, timeout=1_000):
        qtbot.mouseClick(page.new_button, Qt.MouseButton.LeftButton)


def test_focus_search_selects_the_text(qtbot, page):
    page.search.setText("陈晓明")
    page.table.setFocus()
    page.focus_search()
    assert page.search.hasFocus() and page.search.selectedText() == "陈晓明"


def test_a_follow_up_due_today_shows_overdue_once_the_day_turns(
    qtbot, ctx, page, db, people, today, monkeypatch
):
    with db.session_scope() as session:
        session.connection().exec_driver_sql(
            "UPDATE follow_up SET due = ? WHERE customer_id = ?",
            (today.isoformat(), people["chen2"]),
        )
    page.model.refresh()
    qtbot.waitUntil(lambda: not page.model.loading, timeout=5_000)
    row = page.model.row(page.model.row_of(people["chen2"]))
    assert row.next_due == today and not row.overdue
    watch = DayWatch(ctx.runner)

    monkeypatch.setattr(day, "today", lambda: today + dt.timedelta(days=1))
    watch.check()  # the laptop was left on overnight

    qtbot.waitUntil(
        lambda: page.model.row(page.model.row_of(people["chen2"])).overdue, timeout=5_000
    )
