"""The sync corner of the status bar: online or not, last sync, what waits, open conflicts.

Reads only what the ``SyncController`` already knows; it never queries anything itself.
"""

from __future__ import annotations

import datetime as dt

from PySide6.QtCore import Qt, QTimer, Signal
from PySide6.QtGui import QAction, QKeySequence
from PySide6.QtWidgets import (
    QHBoxLayout,
    QLabel,
    QMenu,
    QProgressBar,
    QToolButton,
    QWidget,
)

from showroom.services.sync_status import SyncStatusDTO
from ui import formatting
from ui.i18n import tr
from ui.sync.controller import SyncController, error_text

# Beyond this the tooltip warns about the laptop's clock (sync itself never trusts it).
SKEW_WARNING_SECONDS = 5 * 60
ONLINE_COLOUR = "#2e7d32"
OFFLINE_COLOUR = "#b26a00"
FAILED_COLOUR = "#c0392b"
CONFLICT_COLOUR = "#c0392b"


def relative_time(moment: dt.datetime | None, now: dt.datetime | None = None) -> str:
    """ "just now", "5 min ago", "3 h ago", or the date and time for anything older."""
    if moment is None:
        return tr("never")
    seconds = ((now or dt.datetime.now(dt.UTC)) - moment).total_seconds()
    if seconds < 60:
        return tr("just now")
    if seconds < 3600:
        return tr("%1 min ago").replace("%1", str(int(seconds // 60)))
    if seconds < 86400:
        return tr("%1 h ago").replace("%1", str(int(seconds // 3600)))
    return formatting.datetime(moment)


def duration_text(seconds: float) -> str:
    seconds = abs(seconds)
    if seconds < 3600:
        return tr("%1 min").replace("%1", str(round(seconds / 60)))
    if seconds < 48 * 3600:
        return tr("%1 h").replace("%1", f"{seconds / 3600:.1f}".rstrip("0").rstrip("."))
    return tr("%1 days").replace("%1", f"{seconds / 86400:.1f}".rstrip("0").rstrip("."))


def skew_warning(skew_seconds: float | None) -> str:
    """A plain warning when this laptop's clock is more than five minutes off, else ""."""
    if skew_seconds is None or abs(skew_seconds) <= SKEW_WARNING_SECONDS:
        return ""
    # Skew is the server's clock minus this laptop's: positive means the laptop is behind.
    if skew_seconds > 0:
        text = tr("This laptop's clock is %1 behind; sync is unaffected.")
    else:
        text = tr("This laptop's clock is %1 ahead; sync is unaffected.")
    return text.replace("%1", duration_text(skew_seconds))


def stage_name(stage: str) -> str:
    return {
        "push": tr("uploading"),
        "pull": tr("downloading"),
        "checksum": tr("checking"),
        "meta": tr("connecting"),
    }.get(stage, stage)


class SyncStatusWidget(QWidget):
    """Status bar part: ``state`` label, a progress bar while syncing, pending and conflicts.

    ``conflicts_clicked`` asks to show the conflict review page. The "Sync now" and "Connect to
    server…" actions live here and in the window (their shortcuts work everywhere).
    """

    conflicts_clicked = Signal()

    def __init__(self, controller: SyncController, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.controller = controller
        row = QHBoxLayout(self)
        row.setContentsMargins(0, 0, 0, 0)
        row.setSpacing(6)

        self.state = QLabel()
        self.state.setObjectName("syncStatus")
        row.addWidget(self.state)
        self.progress = QProgressBar()
        self.progress.setObjectName("syncProgress")
        self.progress.setFixedSize(90, 12)
        self.progress.setTextVisible(False)
        self.progress.hide()
        row.addWidget(self.progress)
        self.pending = QLabel()
        self.pending.setObjectName("syncPending")
        row.addWidget(self.pending)
        self.conflicts = QToolButton()
        self.conflicts.setObjectName("syncConflicts")
        self.conflicts.setAutoRaise(True)
        self.conflicts.setCursor(Qt.CursorShape.PointingHandCursor)
        self.conflicts.setStyleSheet(f"color: {CONFLICT_COLOUR}; font-weight: bold;")
        self.conflicts.clicked.connect(self.conflicts_clicked)
        self.conflicts.hide()
        row.addWidget(self.conflicts)

        self.sync_action = QAction(self)
        self.sync_action.setObjectName("syncNow")
        self.sync_action.setShortcut(QKeySequence("F9"))
        self.sync_action.triggered.connect(controller.sync_now)
        self.enrol_action = QAction(self)
        self.enrol_action.setObjectName("connectToServer")
        self.menu = QMenu(self)
        self.menu.addAction(self.sync_action)
        self.menu.addAction(self.enrol_action)
        self.menu_button = QToolButton()
        self.menu_button.setObjectName("syncMenu")
        self.menu_button.setAutoRaise(True)
        self.menu_button.setPopupMode(QToolButton.ToolButtonPopupMode.InstantPopup)
        self.menu_button.setMenu(self.menu)
        row.addWidget(self.menu_button)

        controller.status_changed.connect(self.render)
        controller.running_changed.connect(self._running_changed)
        controller.progress.connect(self._progress)
        controller.failed.connect(lambda _error: self.render())
        # Keeps "5 min ago" true while nothing else happens.
        self._clock = QTimer(self)
        self._clock.setInterval(30_000)
        self._clock.timeout.connect(self.render)
        self._clock.start()
        self.render()

    def render(self, *_args) -> None:
        """Put the controller's latest status into words (also after a language change)."""
        self.sync_action.setText(tr("Sync now"))
        self.enrol_action.setText(tr("Connect to server…"))
        self.menu_button.setText(tr("Sync"))
        self.menu_button.setToolTip(tr("Sync now (F9) or connect this laptop to a server"))
        status = self.controller.status
        enrolled = status is not None and status.enrolled
        self.sync_action.setEnabled(enrolled and not self.controller.running)
        if status is None:
            self.state.setText(tr("Sync: …"))
            return
        text, colour = self._state_text(status)
        self.state.setText(text)
        self.state.setStyleSheet(f"color: {colour};" if colour else "")
        self.state.setToolTip(self._details(status))
        self.pending.setText(tr("Pending: %1").replace("%1", str(status.pending_changes)))
        self.pending.setToolTip(tr("Changes on this laptop not yet sent to the server"))
        self.pending.setVisible(enrolled or status.pending_changes > 0)
        parts = []
        if status.open_conflicts:
            parts.append(tr("Conflicts: %1").replace("%1", str(status.open_conflicts)))
        if status.rejected_changes:
            parts.append(tr("Rejected: %1").replace("%1", str(status.rejected_changes)))
        self.conflicts.setText(" · ".join(parts))
        self.conflicts.setToolTip(tr("Open the conflict review page"))
        self.conflicts.setVisible(bool(parts))

    def _state_text(self, status: SyncStatusDTO) -> tuple[str, str]:
        if not status.enrolled:
            return tr("Sync: not set up"), ""
        if self.controller.running:
            stage = stage_name(self.controller.stage)
            text = tr("Sync: syncing…")
            return (f"{text} {stage}" if stage else text), ""
        last = relative_time(status.last_success_at)
        failed = self.controller.last_error is not None or bool(status.last_error)
        if status.online is False:
            return tr("Sync: offline · last %1").replace("%1", last), OFFLINE_COLOUR
        if failed:
            return tr("Sync: failed · last %1").replace("%1", last), FAILED_COLOUR
        if status.online is None and status.last_attempt_at is None:
            return tr("Sync: waiting for the first sync"), ""
        return tr("Sync: online · last %1").replace("%1", last), ONLINE_COLOUR

    def _details(self, status: SyncStatusDTO) -> str:
        if not status.enrolled:
            return tr(
                "This laptop is not connected to a sync server. Use Sync → Connect to server…"
            )
        lines = [
            tr("Server: %1").replace("%1", status.server_url or "—"),
            tr("Store: %1").replace("%1", status.dealer_name or "—"),
            tr("Last attempt: %1").replace(
                "%1", formatting.datetime(status.last_attempt_at) or tr("never")
            ),
            tr("Last successful sync: %1").replace(
                "%1", formatting.datetime(status.last_success_at) or tr("never")
            ),
            tr("Pending changes: %1").replace("%1", str(status.pending_changes)),
            tr("Open conflicts: %1").replace("%1", str(status.open_conflicts)),
        ]
        if status.rejected_changes:
            lines.append(tr("Rejected changes: %1").replace("%1", str(status.rejected_changes)))
        error = self.controller.last_error
        message = error_text(error, self.controller_language()) if error else status.last_error
        if message:
            lines.append(tr("Last error: %1").replace("%1", message))
        warning = skew_warning(status.clock_skew_seconds)
        if warning:
            lines.append(warning)
        return "\n".join(lines)

    def controller_language(self) -> str:
        from PySide6.QtCore import QLocale

        return "zh_CN" if QLocale().name().startswith("zh") else "en"

    def _running_changed(self, running: bool) -> None:
        self.progress.setVisible(running)
        if running:
            self.progress.setRange(0, 0)  # busy until the client says how much there is
        self.render()

    def _progress(self, stage: str, done: int, total: int) -> None:
        if total > 0:
            self.progress.setRange(0, total)
            self.progress.setValue(min(done, total))
        else:
            self.progress.setRange(0, 0)
        self.render()
