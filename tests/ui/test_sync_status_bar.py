"""The status bar's sync corner and the background cycle behind it."""

from __future__ import annotations

import datetime as dt
import threading
import time

from PySide6.QtCore import QTimer
from sqlalchemy import select
from sync_fakes import FakeClient, ServerUnreachable, Summary, enrol_locally, write_state

from showroom.db.outbox import CAPTURE
from showroom.models import SyncConflict, SyncOutbox
from showroom.services import customers
from showroom.services.customers import CustomerDraft
from showroom.services.dto import Changed
from ui.main_window import MainWindow
from ui.sync.controller import SyncController
from ui.sync.status import relative_time, skew_warning


def make_window(ctx, qtbot, client: FakeClient | None = None, **options) -> MainWindow:
    controller = SyncController(
        ctx.runner, client_factory=client.factory if client else None, **options
    )
    window = MainWindow(ctx, sync=controller)
    qtbot.addWidget(window)
    qtbot.waitUntil(lambda: controller.status is not None, timeout=3000)
    return window


def add_customer(db, actor, name="陈晓明", phone="13812345678") -> str:
    with db.session_scope() as session:
        return customers.create_customer(
            session, actor, CustomerDraft(name=name, phones=[phone])
        ).id


def test_not_enrolled_says_so_and_sync_now_does_nothing(ctx, db, qtbot):
    client = FakeClient(db)
    window = make_window(ctx, qtbot, client)
    assert window.status_sync.text() == "同步：未设置"
    assert not window.sync_widget.sync_action.isEnabled()
    assert window.sync.sync_now() is False
    window.sync.start()
    qtbot.wait(100)
    assert client.calls == 0
    window.sync.stop()


def test_offline_with_pending_changes_and_open_conflicts(ctx, db, sales, qtbot):
    enrol_locally(db)
    cid = add_customer(db, sales)
    last = (dt.datetime.now(dt.UTC) - dt.timedelta(minutes=12)).isoformat()
    write_state(db, ONLINE="0", LAST_SUCCESS_AT=last, LAST_ATTEMPT_AT=last, LAST_ERROR="timeout")
    with db.session_scope() as session:
        session.info[CAPTURE] = False
        for _ in range(2):
            session.add(
                SyncConflict(
                    kind="field",
                    table_name="customer",
                    row_id=cid,
                    field="notes",
                    detected_at=dt.datetime.now(dt.UTC),
                )
            )
        pending = len(list(session.scalars(select(SyncOutbox))))
    window = make_window(ctx, qtbot)
    widget = window.sync_widget
    assert window.status_sync.text() == "同步：离线 · 上次 12分钟前"
    assert widget.pending.text() == f"待上传：{pending}"
    assert widget.conflicts.isVisibleTo(window) and widget.conflicts.text() == "冲突：2"
    assert "http://127.0.0.1:8765" in window.status_sync.toolTip()
    assert "timeout" in window.status_sync.toolTip()

    # A new local edit raises the pending count without a sync.
    add_customer(db, sales, "王芳", "13912345678")
    ctx.runner.data_changed.emit(Changed("customer", ()))
    qtbot.waitUntil(lambda: widget.pending.text() != f"待上传：{pending}", timeout=3000)
    assert int(widget.pending.text().split("：")[1]) > pending

    widget.conflicts.click()
    assert window.current_page_key() == "conflicts"


def test_clock_skew_warning_in_the_tooltip(ctx, db, qtbot):
    enrol_locally(db)
    write_state(db, ONLINE="1", LAST_ATTEMPT_AT=dt.datetime.now(dt.UTC).isoformat(),
                CLOCK_SKEW_SECONDS=str(-3 * 86400))  # fmt: skip
    window = make_window(ctx, qtbot)
    assert "这台电脑的时钟快了 3天；同步不受影响。" in window.status_sync.toolTip()
    assert skew_warning(120) == ""  # two minutes is not worth a word
    assert skew_warning(7 * 60) == "这台电脑的时钟慢了 7分钟；同步不受影响。"


def test_relative_time():
    now = dt.datetime(2026, 11, 22, 12, 0, tzinfo=dt.UTC)
    assert relative_time(None) == "从未"
    assert relative_time(now - dt.timedelta(seconds=20), now) == "刚刚"
    assert relative_time(now - dt.timedelta(minutes=5), now) == "5分钟前"
    assert relative_time(now - dt.timedelta(hours=3), now) == "3小时前"


def test_timer_sync_runs_off_the_gui_thread_and_never_overlaps(ctx, db, qtbot):
    enrol_locally(db)
    client = FakeClient(db, summary=Summary(pulled=3, pushed=1))
    client.gate = threading.Event()
    window = make_window(ctx, qtbot, client, interval_ms=40, first_delay_ms=0)
    controller = window.sync
    ticks = []
    controller.timer.timeout.connect(lambda: ticks.append(1))
    changed = []
    ctx.runner.data_changed.connect(lambda c: changed.append(c.entity))
    try:
        controller.start()
        qtbot.waitUntil(client.entered.is_set, timeout=3000)
        assert controller.running
        assert window.sync_widget.progress.isVisibleTo(window)
        assert window.status_sync.text().startswith("同步：正在同步")
        # The cycle is held open: the GUI keeps handling events and timer ticks meanwhile.
        fired = []
        QTimer.singleShot(0, lambda: fired.append(time.monotonic()))
        started = time.monotonic()
        qtbot.wait(300)
        assert fired and time.monotonic() - started < 2
        assert len(ticks) >= 3  # the timer kept ticking...
        assert client.calls == 1  # ...but no second cycle started over the running one
        assert controller.sync_now() is False
    finally:
        client.gate.set()
    qtbot.waitUntil(lambda: client.calls >= 2, timeout=3000)
    controller.stop()
    ctx.runner.wait()
    assert client.max_active == 1
    assert threading.get_ident() not in client.threads
    assert "customer" in changed  # pulled rows make the pages refresh
    qtbot.waitUntil(lambda: not controller.running, timeout=3000)
    qtbot.waitUntil(lambda: window.status_sync.text().startswith("同步：在线"), timeout=3000)


def test_a_cycle_that_ends_before_sync_now_returns_still_frees_the_next_one(ctx, db, qtbot):
    # A short cycle on a busy machine can end on its worker before the GUI thread is back
    # from starting it; its end must still be seen, or sync would stay "running" for good.
    enrol_locally(db)
    client = FakeClient(db, summary=Summary(pushed=1))
    window = make_window(ctx, qtbot, client)
    controller = window.sync

    def start_and_wait(task):  # the job runs to its end on a worker before start() returns
        worker = threading.Thread(target=task.run)
        worker.start()
        worker.join()

    ctx.runner._pool.start = start_and_wait
    assert controller.sync_now() is True
    qtbot.waitUntil(lambda: not controller.running, timeout=3000)
    assert client.calls == 1
    assert controller.sync_now() is True  # the next click starts a new cycle
    qtbot.waitUntil(lambda: not controller.running, timeout=3000)
    assert client.calls == 2


def test_a_failed_cycle_shows_in_the_status_bar_without_a_dialog(ctx, db, qtbot, monkeypatch):
    from PySide6.QtWidgets import QMessageBox

    shown = []
    monkeypatch.setattr(QMessageBox, "warning", lambda *args: shown.append(args))
    ctx.runner.unhandled_error.connect(shown.append)
    enrol_locally(db)
    client = FakeClient(db, error=ServerUnreachable("connection refused"))
    window = make_window(ctx, qtbot, client)
    with qtbot.waitSignal(window.sync.failed, timeout=3000):
        assert window.sync.sync_now()
    qtbot.waitUntil(lambda: window.status_sync.text().startswith("同步：离线"), timeout=3000)
    assert "无法连接服务器" in window.status_sync.toolTip()
    assert shown == []
