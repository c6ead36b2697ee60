"""Background sync: a timer, "sync now", and the status everyone in the window sees.

The controller never waits. A sync cycle runs on the runner's pool (the client does its own
database and network work there); the status is read on the DB lane. At most one cycle runs at
a time: a tick or a click while one is running is simply skipped. A failed cycle is routine on a
laptop that moves between offices, so it is reported through ``failed`` and the status bar, never
as a dialog.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import Any

from PySide6.QtCore import QObject, QTimer, Signal

from showroom.services.dto import Changed
from showroom.services.sync_status import SyncStatusDTO, sync_status

log = logging.getLogger(__name__)

DEFAULT_INTERVAL_MS = 5 * 60 * 1000
# The first cycle after start waits a little, so start-up queries get the database first.
FIRST_DELAY_MS = 3000
# Local edits change the pending count; many edits in a row cost one status read.
STATUS_COALESCE_MS = 300
# Entities whose views should reload after a cycle brought rows from the server.
PULLED_ENTITIES = ("customer", "follow_up", "interaction", "test_drive", "sync_conflict")


def default_client_factory(database) -> Any:
    from sync.client import SyncClient

    return SyncClient(database)


def default_enroll(database, server_url: str, code: str, device_name: str | None) -> Any:
    from sync.client import enroll

    return enroll(database, server_url, code, device_name)


def error_text(error: BaseException, language: str) -> str:
    """The user's words for a failed sync or enrolment (typed errors carry their own)."""
    message = getattr(error, "message", None)
    if callable(message):
        try:
            return str(message(language))
        except TypeError:
            pass
    return str(error) or type(error).__name__


class SyncController(QObject):
    """Runs sync cycles in the background and keeps the latest ``SyncStatusDTO``.

    ``start()`` arms the timer (every ``interval_ms``) and, when this laptop is enrolled, a first
    cycle shortly after. ``sync_now()`` starts a cycle unless one is running or the laptop is
    not enrolled, and says whether it did. ``client_factory(database)`` makes the object whose
    ``sync(progress=, cancel=)`` runs one cycle; tests pass a stand-in.
    """

    status_changed = Signal(object)  # SyncStatusDTO
    running_changed = Signal(bool)
    progress = Signal(str, int, int)  # stage, done, total (-1 while unknown)
    synced = Signal(object)  # the client's summary
    failed = Signal(object)  # the exception

    def __init__(
        self,
        runner,
        *,
        client_factory: Callable[[Any], Any] | None = None,
        enroll_fn: Callable[..., Any] | None = None,
        interval_ms: int = DEFAULT_INTERVAL_MS,
        first_delay_ms: int = FIRST_DELAY_MS,
        parent: QObject | None = None,
    ) -> None:
        super().__init__(parent)
        self.runner = runner
        self.client_factory = client_factory or default_client_factory
        self.enroll_fn = enroll_fn or default_enroll
        self.first_delay_ms = first_delay_ms
        self.status: SyncStatusDTO | None = None
        self.last_error: BaseException | None = None
        self.last_summary: Any = None
        self.stage: str = ""
        self._task = None
        self._started = False
        self._first_done = False
        self.timer = QTimer(self)
        self.timer.setInterval(interval_ms)
        self.timer.timeout.connect(self._tick)
        self._status_timer = QTimer(self)
        self._status_timer.setSingleShot(True)
        self._status_timer.setInterval(STATUS_COALESCE_MS)
        self._status_timer.timeout.connect(self.refresh_status)
        runner.data_changed.connect(self._on_data_changed)
        self.refresh_status()

    # --- state -------------------------------------------------------------------------------

    @property
    def running(self) -> bool:
        return self._task is not None

    @property
    def enrolled(self) -> bool:
        return self.status is not None and self.status.enrolled

    def refresh_status(self) -> None:
        self.runner.db(sync_status, on_done=self._set_status, name="sync-status")

    def _set_status(self, status: SyncStatusDTO) -> None:
        self.status = status
        self.status_changed.emit(status)
        if self._started and not self._first_done and status.enrolled:
            self._first_done = True
            QTimer.singleShot(self.first_delay_ms, self.sync_now)

    def _on_data_changed(self, changed: Changed) -> None:
        if not self.running:
            self._status_timer.start()

    # --- running -----------------------------------------------------------------------------

    def start(self) -> None:
        """Sync every interval from now on, and once soon if enrolled."""
        self._started = True
        self.timer.start()
        if self.status is not None and self.status.enrolled and not self._first_done:
            self._set_status(self.status)

    def stop(self) -> None:
        """No more cycles; a running one is asked to stop at its next safe point."""
        self._started = False
        self.timer.stop()
        if self._task is not None:
            self._task.cancel()

    def _tick(self) -> None:
        if self.enrolled:
            self.sync_now()
        else:
            self.refresh_status()  # enrolment may have happened elsewhere (the command line)

    def sync_now(self) -> bool:
        """Start a cycle on the pool. False when one is running or the laptop is not enrolled."""
        if self._task is not None:
            log.info("sync skipped: a cycle is already running")
            return False
        if not self.enrolled:
            return False
        database = self.runner.database
        factory = self.client_factory

        def cycle(task):
            client = factory(database)
            return client.sync(
                progress=lambda stage, done, total: task.signals.progress.emit(
                    int(done or 0), -1 if total is None else int(total), str(stage)
                ),
                cancel=lambda: task.cancelled,
            )

        self.stage = ""
        self._task = self.runner.pool(
            cycle,
            on_done=self._done,
            on_error=self._failed,
            on_progress=self._progress,
            on_finished=self._finished,
            name="sync",
        )
        self.running_changed.emit(True)
        return True

    def _progress(self, done: int, total: int, stage: str) -> None:
        self.stage = stage
        self.progress.emit(stage, done, total)

    def _done(self, summary: Any) -> None:
        self.last_error = None
        self.last_summary = summary
        self.synced.emit(summary)
        if getattr(summary, "pulled", 0) or getattr(summary, "conflicts", 0):
            for entity in PULLED_ENTITIES:
                self.runner.data_changed.emit(Changed(entity, (), "updated"))

    def _failed(self, error: BaseException) -> None:
        self.last_error = error
        log.warning("sync failed: %s", error, exc_info=error)
        self.failed.emit(error)

    def _finished(self) -> None:
        self._task = None
        self.stage = ""
        self.running_changed.emit(False)
        self.refresh_status()

    # --- enrolment ---------------------------------------------------------------------------

    def enroll(
        self,
        server_url: str,
        code: str,
        device_name: str | None,
        *,
        on_done: Callable[[Any], None],
        on_error: Callable[[BaseException], None],
    ):
        """Exchange the code for a device token on the pool; then refresh and sync at once."""
        database = self.runner.database
        enroll_fn = self.enroll_fn

        def done(result: Any) -> None:
            self._first_done = True  # the cycle below is the first one
            self.runner.db(sync_status, on_done=self._enrolled_status, name="sync-status")
            on_done(result)

        return self.runner.pool(
            lambda _task: enroll_fn(database, server_url, code, device_name),
            on_done=done,
            on_error=on_error,
            name="sync-enroll",
        )

    def _enrolled_status(self, status: SyncStatusDTO) -> None:
        self._set_status(status)
        self.sync_now()
