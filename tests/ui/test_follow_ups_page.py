"""The follow-ups page: today's and overdue tasks by level, completing one, opening a customer."""

from __future__ import annotations

import datetime as dt
import itertools

import pytest
from PySide6.QtCore import QDate, Qt
from PySide6.QtGui import QColor
from sqlalchemy import select

from showroom.models import FollowUp
from showroom.services import customers, follow_ups
from showroom.services.customers import CustomerDraft
from showroom.services.dto import Changed, FollowUpDTO
from ui import day, formatting, labels
from ui.day import DayWatch
from ui.follow_ups.page import (
    COL_CUSTOMER,
    COL_OVERDUE,
    COL_OWNER,
    CompleteFollowUpDialog,
    FollowUpsPage,
    fill,
    group_by_level,
)

# Each test compares dates it works out with those the page takes from the clock.
pytestmark = pytest.mark.usefixtures("today")
_phones = itertools.count(13800000101)


def add_customer(db, actor, name: str, level: str | None, due_in_days: int | None) -> str:
    """A customer of ``actor`` at ``level`` whose open follow-up is due ``due_in_days`` from now.

    Runs in test setup, before the event loop, where a session on this thread is allowed.
    """
    with db.session_scope() as session:
        customer = customers.create_customer(
            session,
            actor,
            CustomerDraft(name=name, phones=[str(next(_phones))], intent_level=level),
        )
        if due_in_days is not None:
            task = session.scalars(
                select(FollowUp).where(FollowUp.customer_id == customer.id)
            ).one()
            task.due = dt.date.today() + dt.timedelta(days=due_in_days)
    return customer.id


def open_tasks(db, customer_id: str) -> list[FollowUp]:
    with db.session_scope(write=False) as session:
        rows = session.scalars(
            select(FollowUp).where(FollowUp.customer_id == customer_id).order_by(FollowUp.due)
        ).all()
        session.expunge_all()
        return list(rows)


def show_page(ctx, qtbot) -> FollowUpsPage:
    page = FollowUpsPage(ctx)
    qtbot.addWidget(page)
    page.resize(1100, 700)
    page.show()
    with qtbot.waitSignal(page.loaded, timeout=5000):
        page.activate()
    return page


def rows(page: FollowUpsPage) -> dict[str, list[str]]:
    """Group title -> customer names, in screen order."""
    tree = page.tree
    return {
        tree.topLevelItem(i).text(COL_CUSTOMER): [
            tree.topLevelItem(i).child(j).text(COL_CUSTOMER)
            for j in range(tree.topLevelItem(i).childCount())
        ]
        for i in range(tree.topLevelItemCount())
    }


def find_item(page: FollowUpsPage, name: str):
    items = page.tree.findItems(name, Qt.MatchFlag.MatchExactly | Qt.MatchFlag.MatchRecursive)
    assert len(items) == 1, f"{name} shown {len(items)} times"
    return items[0]


def open_dialog(page: FollowUpsPage, qtbot, name: str) -> CompleteFollowUpDialog:
    page.tree.setCurrentItem(find_item(page, name))
    page.complete_button.click()
    dialog = page.dialog
    assert dialog is not None and dialog.isVisible()
    qtbot.waitUntil(lambda: dialog.proposal_loaded, timeout=5000)
    return dialog


def test_lists_due_today_and_overdue_grouped_by_level(ctx, qtbot, db, sales, staff, today):
    add_customer(db, sales, "王芳", "B", 0)
    add_customer(db, sales, "张伟", "H", -3)
    add_customer(db, sales, "刘洋", "H", 0)
    add_customer(db, sales, "陈静", "A", 2)  # not due yet
    add_customer(db, staff["sales2"], "赵强", "H", 0)  # another salesperson's

    page = show_page(ctx, qtbot)

    assert list(rows(page).values()) == [["张伟", "刘洋"], ["王芳"]]  # oldest first in a group
    assert list(rows(page)) == [
        fill(page.tr("%1 (%2)"), labels.intent_level("H"), 2),
        fill(page.tr("%1 (%2)"), labels.intent_level("B"), 1),
    ]
    overdue = find_item(page, "张伟")
    assert "3" in overdue.text(COL_OVERDUE)
    assert overdue.foreground(COL_OVERDUE).color() == QColor("#c0392b")
    assert find_item(page, "刘洋").foreground(COL_OVERDUE).color() != QColor("#c0392b")
    assert overdue.text(COL_OWNER) == "李娜"
    assert page.summary.text() == fill(
        page.tr("%1 · Due today: %2 · Overdue: %3"), formatting.date(today), 2, 1
    )
    assert page.stack.currentWidget() is page.tree
    assert page.tree.currentItem() is overdue  # ready for Enter on the first task


def test_group_order_puts_hot_leads_first_and_unrated_last():
    day = dt.date(2026, 12, 1)

    def task(level):
        return FollowUpDTO(
            id=level or "-", customer_id="c", customer_name="n", intent_level=level,
            owner_id=None, due=day, purpose=None, done=False, done_at=None, outcome=None,
        )  # fmt: skip

    tasks = [task(level) for level in (None, "C", "O", "B", "A", "H")]
    assert [level for level, _ in group_by_level(tasks)] == ["H", "A", "B", "C", "O", None]


def test_empty_state_when_nothing_is_due(ctx, qtbot, db, sales):
    add_customer(db, sales, "陈静", "A", 2)
    page = show_page(ctx, qtbot)
    assert page.stack.currentWidget() is page.empty
    assert not page.complete_button.isEnabled()


@pytest.mark.parametrize(("level", "cadence"), [("H", 1), ("B", 7)])
def test_completing_a_follow_up_proposes_the_next_date(
    ctx, qtbot, db, sales, today, level, cadence
):
    customer_id = add_customer(db, sales, "张伟", level, -2)
    add_customer(db, sales, "刘洋", "A", 0)
    page = show_page(ctx, qtbot)
    (task,) = [t for t in open_tasks(db, customer_id) if not t.done]

    dialog = open_dialog(page, qtbot, "张伟")
    proposed = today + dt.timedelta(days=cadence)
    assert dialog.next_due.date() == QDate(proposed.year, proposed.month, proposed.day)
    assert dialog.schedule_next.isChecked() and dialog.next_due.isEnabled()
    assert f"{level}" in dialog.proposal.text() and str(cadence) in dialog.proposal.text()

    dialog.outcome.setText("客户周六来试驾")  # keyClicks only types ASCII
    with qtbot.waitSignal(ctx.runner.data_changed, timeout=5000) as changed:
        qtbot.keyClick(dialog.outcome, Qt.Key.Key_Return)  # Enter saves
    assert changed.args[0] == Changed("follow_up", (task.id,), "updated")
    qtbot.waitUntil(lambda: page.dialog is None, timeout=5000)

    tasks = open_tasks(db, customer_id)
    done = next(t for t in tasks if t.id == task.id)
    assert done.done and done.outcome == "客户周六来试驾"
    assert [t.due for t in tasks if not t.done] == [proposed]
    assert "张伟" not in [n for names in rows(page).values() for n in names]
    assert page.current_task().customer_name == "刘洋"  # the cursor moves on down the list
    assert "张伟" in page.status.text() and formatting.date(proposed) in page.status.text()


def test_chosen_date_replaces_the_proposal(ctx, qtbot, db, sales, today):
    customer_id = add_customer(db, sales, "张伟", "H", 0)
    page = show_page(ctx, qtbot)
    dialog = open_dialog(page, qtbot, "张伟")
    chosen = today + dt.timedelta(days=5)
    dialog.next_due.setDate(QDate(chosen.year, chosen.month, chosen.day))
    dialog.outcome.setText("在外地，下周回来")
    dialog.save_button.click()
    qtbot.waitUntil(lambda: page.dialog is None, timeout=5000)
    assert [t.due for t in open_tasks(db, customer_id) if not t.done] == [chosen]
    qtbot.waitUntil(lambda: page.stack.currentWidget() is page.empty, timeout=5000)


def test_unticking_schedule_next_plans_nothing(ctx, qtbot, db, sales):
    customer_id = add_customer(db, sales, "张伟", "B", 0)
    page = show_page(ctx, qtbot)
    dialog = open_dialog(page, qtbot, "张伟")
    dialog.schedule_next.setChecked(False)
    assert not dialog.next_due.isEnabled()
    dialog.outcome.setText("已在别店购车")
    dialog.save_button.click()
    qtbot.waitUntil(lambda: page.dialog is None, timeout=5000)
    tasks = open_tasks(db, customer_id)
    assert len(tasks) == 1 and tasks[0].done


def test_a_customer_without_a_cadence_gets_no_proposal(ctx, qtbot, db, sales, today):
    customer_id = add_customer(db, sales, "张伟", None, None)
    with db.session_scope() as session:
        follow_ups.schedule_follow_up(session, sales, customer_id, today, purpose="回访")
    page = show_page(ctx, qtbot)
    (title,) = rows(page)
    assert title.startswith(labels.intent_level(None))
    dialog = open_dialog(page, qtbot, "张伟")
    assert dialog.proposed is None and not dialog.schedule_next.isChecked()
    dialog.outcome.setText("已回访")
    dialog.save_button.click()
    qtbot.waitUntil(lambda: page.dialog is None, timeout=5000)
    assert [t.done for t in open_tasks(db, customer_id)] == [True]
    assert "张伟" in page.status.text()


def test_empty_outcome_shows_the_inline_error_and_writes_nothing(ctx, qtbot, db, sales):
    customer_id = add_customer(db, sales, "张伟", "H", 0)
    page = show_page(ctx, qtbot)
    dialog = open_dialog(page, qtbot, "张伟")
    dialog.outcome.setText("   ")
    dialog.save_button.click()
    assert dialog.isVisible()
    assert dialog.outcome_error.isVisible() and dialog.outcome_error.text()
    assert not ctx.runner.busy  # nothing was sent to the database
    tasks = open_tasks(db, customer_id)
    assert len(tasks) == 1 and not tasks[0].done and tasks[0].outcome is None

    qtbot.keyClicks(dialog.outcome, "x")
    assert not dialog.outcome_error.isVisible()  # typing clears the error
    qtbot.keyClick(dialog, Qt.Key.Key_Escape)  # Esc cancels
    qtbot.waitUntil(lambda: page.dialog is None, timeout=2000)
    assert not open_tasks(db, customer_id)[0].done


def test_service_error_is_shown_in_the_dialog(ctx, qtbot, db, sales):
    customer_id = add_customer(db, sales, "张伟", "H", 0)
    page = show_page(ctx, qtbot)
    dialog = open_dialog(page, qtbot, "张伟")
    (task,) = open_tasks(db, customer_id)
    # Someone else closes the same task while the dialog is open.
    ctx.runner.db(
        lambda s: follow_ups.complete_follow_up(s, sales, task.id, "电话已打", schedule_next=False),
        write=True,
    )
    qtbot.waitUntil(lambda: not ctx.runner.busy, timeout=5000)
    dialog.outcome.setText("客户周六来试驾")
    dialog.save_button.click()
    qtbot.waitUntil(lambda: dialog.general_error.isVisible(), timeout=5000)
    assert "已完成" in dialog.general_error.text()
    assert dialog.isVisible()
    assert open_tasks(db, customer_id)[0].outcome == "电话已打"


def test_keyboard_shortcut_opens_the_dialog(ctx, qtbot, db, sales):
    add_customer(db, sales, "张伟", "H", 0)
    page = show_page(ctx, qtbot)
    page.tree.setFocus()
    qtbot.keyClick(page.tree, Qt.Key.Key_Return, Qt.KeyboardModifier.ControlModifier)
    assert page.dialog is not None and page.dialog.task.customer_name == "张伟"


def test_double_click_and_enter_open_the_customer(ctx, qtbot, db, sales):
    customer_id = add_customer(db, sales, "张伟", "H", 0)
    page = show_page(ctx, qtbot)
    item = find_item(page, "张伟")
    rect = page.tree.visualItemRect(item)
    with qtbot.waitSignal(ctx.navigator.open_customer, timeout=2000) as opened:
        # A real double-click starts with a press; the view checks it hit the same row.
        qtbot.mouseClick(page.tree.viewport(), Qt.MouseButton.LeftButton, pos=rect.center())
        qtbot.mouseDClick(page.tree.viewport(), Qt.MouseButton.LeftButton, pos=rect.center())
    assert opened.args == [customer_id]

    page.tree.setFocus()
    with qtbot.waitSignal(ctx.navigator.open_customer, timeout=2000) as opened:
        qtbot.keyClick(page.tree, Qt.Key.Key_Return)
    assert opened.args == [customer_id]


def test_refreshes_when_a_follow_up_is_added(ctx, qtbot, db, sales, today):
    customer_id = add_customer(db, sales, "张伟", "H", 3)
    page = show_page(ctx, qtbot)
    assert page.stack.currentWidget() is page.empty
    with qtbot.waitSignal(page.loaded, timeout=5000):
        ctx.runner.db(
            lambda s: follow_ups.schedule_follow_up(s, sales, customer_id, today, purpose="报价"),
            write=True,
            changed=lambda task: Changed("follow_up", (task.id,), "created"),
        )
    assert list(rows(page).values()) == [["张伟"]]


def test_a_burst_of_changes_reloads_once_more_not_once_each(ctx, qtbot, db, sales, monkeypatch):
    from ui.follow_ups import page as page_module

    add_customer(db, sales, "张伟", "H", 0)
    page = show_page(ctx, qtbot)
    loads = []
    real_load = page_module.load_due_list

    def counting_load(*args, **kwargs):
        loads.append(1)
        return real_load(*args, **kwargs)

    monkeypatch.setattr(page_module, "load_due_list", counting_load)
    with qtbot.waitSignal(page.loaded, timeout=5000):
        for _ in range(5):
            ctx.runner.data_changed.emit(Changed("customer", ("x",)))
        ctx.runner.data_changed.emit(Changed("vehicle", ("x",)))  # not on this page: ignored
    qtbot.waitUntil(lambda: not ctx.runner.busy, timeout=5000)
    # The first change starts a load; the other four fold into a single load after it.
    assert len(loads) == 2
    assert list(rows(page).values()) == [["张伟"]]


def test_the_day_watch_announces_a_new_day_once(ctx, qtbot, today, monkeypatch):
    watch = DayWatch(ctx.runner)
    assert watch.timer.isActive() and watch.timer.interval() == 60_000
    assert watch.check() is False  # the same day: nothing to reload
    monkeypatch.setattr(day, "today", lambda: today + dt.timedelta(days=1))
    with qtbot.waitSignal(ctx.runner.data_changed, timeout=1000) as announced:
        assert watch.check() is True
    assert announced.args == [Changed(day.DAY, (), "updated")]
    assert watch.check() is False  # announced once, not every minute of the new day


def test_a_page_left_open_overnight_shows_the_new_day_s_tasks(
    ctx, qtbot, db, sales, today, monkeypatch
):
    add_customer(db, sales, "张伟", "H", 1)  # due tomorrow
    add_customer(db, sales, "王芳", "B", 0)  # due today
    page = show_page(ctx, qtbot)
    assert [n for names in rows(page).values() for n in names] == ["王芳"]
    watch = DayWatch(ctx.runner)

    tomorrow = today + dt.timedelta(days=1)
    monkeypatch.setattr(day, "today", lambda: tomorrow)
    with qtbot.waitSignal(page.loaded, timeout=5000):
        watch.check()

    assert list(rows(page).values()) == [["张伟"], ["王芳"]]  # H first, then B
    assert page.summary.text() == fill(
        page.tr("%1 · Due today: %2 · Overdue: %3"), formatting.date(tomorrow), 1, 1
    )
    assert find_item(page, "张伟").text(COL_OVERDUE) == page.tr("Due today")
