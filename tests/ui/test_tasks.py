"""The task runner: results on the GUI thread, errors reported once, cancel, the guard."""

from __future__ import annotations

import threading

import pytest
from PySide6.QtCore import QThread
from PySide6.QtWidgets import QApplication

from showroom.errors import ValidationError
from showroom.services import customers
from showroom.services.customers import CustomerDraft
from showroom.services.dto import Changed
from ui.tasks import GuiThreadSessionError


def test_db_job_runs_off_the_gui_thread_and_returns_on_it(runner, qtbot, sales):
    seen = {}

    def job(session):
        seen["worker"] = threading.current_thread()
        return customers.create_customer(
            session, sales, CustomerDraft(name="王芳", phones=["13800000001"])
        ).id

    def done(result):
        seen["result"] = result
        seen["delivered_on"] = QThread.currentThread()

    with qtbot.waitSignal(runner.data_changed, timeout=5000) as changed:
        runner.db(job, on_done=done, write=True, changed=lambda cid: Changed("customer", (cid,)))
    assert seen["worker"] is not threading.main_thread()
    assert seen["delivered_on"] is QApplication.instance().thread()
    assert changed.args[0] == Changed("customer", (seen["result"],))


def test_errors_go_to_the_handler_and_unhandled_ones_to_the_app(runner, qtbot, sales):
    errors = []
    with qtbot.waitSignal(runner.unhandled_error, timeout=5000) as unhandled:
        runner.db(lambda s: customers.search_customers(s, sales, "x"), on_error=errors.append)
        runner.db(lambda s: 1 / 0)
    assert isinstance(errors[0], ValidationError) and errors[0].field == "query"
    assert isinstance(unhandled.args[0], ZeroDivisionError)
    assert "ZeroDivisionError" in unhandled.args[0].__traceback_text__


def test_progress_and_cancel(runner, qtbot):
    started = threading.Event()
    release = threading.Event()
    progress, results = [], []

    def long_job(task):
        started.set()
        release.wait(5)
        for i in range(100):
            task.report(i, 100, "step")
        return "finished"

    task = runner.pool(long_job, on_done=results.append, on_progress=lambda *a: progress.append(a))
    assert started.wait(5)
    task.cancel()
    release.set()
    assert runner.wait(5000)
    qtbot.wait(50)
    assert results == []  # a cancelled job delivers no result
    assert len(progress) < 100


def test_queued_db_jobs_run_one_at_a_time_in_order(runner, qtbot):
    order, active, overlap = [], [0], []

    def job(n):
        def run(_session):
            active[0] += 1
            overlap.append(active[0])
            order.append(n)
            active[0] -= 1
            return n

        return run

    for n in range(10):
        runner.db(job(n))
    assert runner.wait(5000)
    assert order == list(range(10))
    assert max(overlap) == 1


def test_guard_fails_loudly_on_gui_thread_inside_event_loop(runner, db, qtbot):
    from PySide6.QtCore import QTimer

    caught = []

    def misbehaving_slot():
        try:
            with db.session_scope(write=False):
                pass
        except GuiThreadSessionError as error:
            caught.append(error)

    QTimer.singleShot(0, misbehaving_slot)
    qtbot.waitUntil(lambda: bool(caught), timeout=2000)
    assert "GUI thread" in str(caught[0])
    # Outside the event loop (start-up code, test setup) a session is allowed.
    with db.session_scope(write=False):
        pass


def test_shutdown_waits_for_running_jobs(db, qtbot):
    from ui.tasks import TaskRunner

    runner = TaskRunner(db)
    started, finished, never = threading.Event(), threading.Event(), []

    def slow(_task):
        import time

        started.set()
        time.sleep(0.2)
        finished.set()

    runner.db(lambda _s: slow(None))
    assert started.wait(5)
    runner.db(lambda _s: never.append(1))  # queued behind the running job: dropped at shutdown
    assert runner.shutdown()
    assert finished.is_set()
    assert never == []


@pytest.mark.parametrize("lane", ["db", "pool"])
def test_runner_is_idle_after_jobs(runner, qtbot, lane):
    getattr(runner, lane)(lambda _x: 42)
    qtbot.waitUntil(lambda: not runner.busy, timeout=2000)


def test_answer_for_a_deleted_widget_is_dropped(runner, qtbot):
    from PySide6.QtWidgets import QLabel

    class Page(QLabel):
        def show_result(self, value):
            self.setText(str(value))

    page = Page()
    release = threading.Event()
    runner.pool(lambda _t: release.wait(5) and 42, on_done=page.show_result)
    page.deleteLater()
    qtbot.waitUntil(lambda: not __import__("shiboken6").isValid(page), timeout=2000)
    release.set()
    assert runner.wait(5000)
    qtbot.wait(50)  # delivering the answer must not raise "already deleted"
