"""The task runner: every database, network and PDF job leaves the GUI thread through here.

Two lanes, as in Anki's task manager: database work runs one job at a time on a single worker
(SQLite has one writer), network and PDF work run in parallel on a pool. Each job is a
``QRunnable`` that owns a ``QObject`` carrying its signals, so results, errors and progress come
back to the GUI thread through queued signal delivery. Code on a worker never touches a widget.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from typing import Any

import shiboken6
from PySide6.QtCore import QCoreApplication, QObject, QRunnable, QThread, QThreadPool, Signal

from showroom.services.dto import Changed

log = logging.getLogger(__name__)


class Cancelled(Exception):
    """Raised inside a job that noticed it was cancelled; never reported as an error."""


class TaskSignals(QObject):
    started = Signal()
    progress = Signal(int, int, str)  # done, total, what
    returned = Signal(object)
    errored = Signal(object)  # the exception
    finished = Signal()


class Task(QRunnable):
    """One job. ``fn(context)`` runs on a worker; ``context`` reports progress and cancellation."""

    def __init__(self, fn: Callable[[Task], Any], name: str = "") -> None:
        super().__init__()
        self.setAutoDelete(False)  # the runner keeps it until ``finished`` has been delivered
        self.signals = TaskSignals()
        self.name = name or getattr(fn, "__name__", "task")
        self._fn = fn
        self._cancel = threading.Event()

    # Called from the worker thread, inside ``fn``.
    def report(self, done: int, total: int, what: str = "") -> None:
        if self._cancel.is_set():
            raise Cancelled
        self.signals.progress.emit(done, total, what)

    @property
    def cancelled(self) -> bool:
        return self._cancel.is_set()

    # Called from the GUI thread.
    def cancel(self) -> None:
        self._cancel.set()

    def run(self) -> None:
        signals = self.signals
        try:
            if self._cancel.is_set():
                return
            signals.started.emit()
            result = self._fn(self)
            if not self._cancel.is_set():
                signals.returned.emit(result)
        except Cancelled:
            log.info("task %s cancelled", self.name)
        except Exception as error:  # reported to the GUI, which shows it once
            if not self._cancel.is_set():
                error.__traceback_text__ = _format_traceback(error)
                signals.errored.emit(error)
        finally:
            signals.finished.emit()


def _format_traceback(error: BaseException) -> str:
    import traceback

    return "".join(traceback.format_exception(error))


class TaskRunner(QObject):
    """Runs jobs on the database lane or the pool and hands results back on the GUI thread.

    ``data_changed`` is the one app-wide signal that carries what a mutation changed; views
    listen to it and decide whether to refresh.
    """

    data_changed = Signal(object)  # showroom.services.dto.Changed
    # Every job that fails unexpectedly ends here unless the caller handled it.
    unhandled_error = Signal(object)

    def __init__(self, database, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self.database = database
        self._db_lane = QThreadPool(self)
        self._db_lane.setMaxThreadCount(1)
        self._pool = QThreadPool(self)
        self._pool.setMaxThreadCount(max(2, QThread.idealThreadCount()))
        self._live: set[Task] = set()

    # --- lanes -------------------------------------------------------------------------------

    def db(
        self,
        fn: Callable[..., Any],
        *,
        on_done: Callable[[Any], None] | None = None,
        on_error: Callable[[BaseException], None] | None = None,
        on_progress: Callable[[int, int, str], None] | None = None,
        changed: Callable[[Any], Changed | None] | None = None,
        write: bool = False,
        name: str = "",
    ) -> Task:
        """Run ``fn(session)`` (or ``fn(session, task)``) in its own session on the DB lane.

        With ``changed``, the result is turned into a ``Changed`` and emitted on
        ``data_changed`` after ``on_done``; a mutation should pass ``write=True``.
        """
        database = self.database
        wants_task = _accepts_task(fn)

        def job(task: Task):
            with database.session_scope(write=write) as session:
                return fn(session, task) if wants_task else fn(session)

        return self._start(self._db_lane, job, on_done, on_error, on_progress, changed, name)

    def pool(
        self,
        fn: Callable[[Task], Any],
        *,
        on_done: Callable[[Any], None] | None = None,
        on_error: Callable[[BaseException], None] | None = None,
        on_progress: Callable[[int, int, str], None] | None = None,
        on_finished: Callable[[], None] | None = None,
        name: str = "",
    ) -> Task:
        """Run ``fn(task)`` on the pool (network, PDF rendering).

        ``on_finished`` runs on the GUI thread once the job has ended, however it ended
        (returned, failed or cancelled). It is connected before the job starts, so a job that
        ends at once still reaches it.
        """
        return self._start(self._pool, fn, on_done, on_error, on_progress, None, name, on_finished)

    def _start(
        self, lane, fn, on_done, on_error, on_progress, changed, name, on_finished=None
    ) -> Task:
        task = Task(fn, name)
        self._live.add(task)

        def returned(result):
            if on_done is not None and _receiver_alive(on_done):
                on_done(result)
            if changed is not None:
                what = changed(result)
                if what is not None:
                    self.data_changed.emit(what)

        def errored(error):
            if on_error is not None and _receiver_alive(on_error):
                on_error(error)
            else:
                self.unhandled_error.emit(error)

        task.signals.returned.connect(returned)
        task.signals.errored.connect(errored)
        if on_progress is not None:
            task.signals.progress.connect(
                lambda *args: _receiver_alive(on_progress) and on_progress(*args)
            )
        task.signals.finished.connect(lambda: self._live.discard(task))
        if on_finished is not None:
            task.signals.finished.connect(on_finished)
        lane.start(task)
        return task

    # --- shutdown ----------------------------------------------------------------------------

    @property
    def busy(self) -> bool:
        return bool(self._live)

    def cancel_all(self) -> None:
        for task in list(self._live):
            task.cancel()

    def shutdown(self, timeout_ms: int = 10_000) -> bool:
        """Cancel what has not started and wait for running jobs. True if all ended in time."""
        self.cancel_all()
        self._db_lane.clear()
        self._pool.clear()
        ok = self._db_lane.waitForDone(timeout_ms) and self._pool.waitForDone(timeout_ms)
        # Deliver the queued ``finished`` signals so nothing is left half-done.
        QCoreApplication.processEvents()
        return ok

    def wait(self, timeout_ms: int = 10_000) -> bool:
        """Wait until both lanes are idle (tests and shutdown only)."""
        return self._db_lane.waitForDone(timeout_ms) and self._pool.waitForDone(timeout_ms)


def _receiver_alive(callback: Callable) -> bool:
    """False when ``callback`` is a method of a widget that Qt has deleted meanwhile.

    A page can be closed or rebuilt (a language switch rebuilds every page) while its query
    is still running; its answer then has nowhere to go and is dropped.
    """
    owner = getattr(callback, "__self__", None)
    return not isinstance(owner, QObject) or shiboken6.isValid(owner)


def _accepts_task(fn: Callable) -> bool:
    import inspect

    try:
        params = inspect.signature(fn).parameters
    except (TypeError, ValueError):
        return False
    positional = [
        p for p in params.values() if p.kind in (p.POSITIONAL_ONLY, p.POSITIONAL_OR_KEYWORD)
    ]
    return len(positional) >= 2


class GuiThreadSessionError(AssertionError):
    """A database session was opened on the GUI thread while its event loop was running."""


def install_session_guard(database) -> None:
    """Make ``database`` fail loudly when the GUI thread opens a session inside the event loop.

    Opening a session before ``exec()`` (start-up) is allowed; once the loop runs, every
    database call must go through the runner, or the window freezes while SQLite works.
    """

    def guard() -> None:
        app = QCoreApplication.instance()
        if app is None:
            return
        current = QThread.currentThread()
        if current is app.thread() and current.loopLevel() > 0:
            message = "database session opened on the GUI thread; use TaskRunner.db()"
            log.critical(message)
            raise GuiThreadSessionError(message)

    database.session_guard = guard
