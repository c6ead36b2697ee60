"""The idle lock: after N quiet minutes a cover hides the window until the same user types
their password again, or another user signs in (fast user switching on a shared laptop)."""

from __future__ import annotations

from PySide6.QtCore import QEvent, QObject, Qt, QTimer, Signal
from PySide6.QtWidgets import (
    QApplication,
    QFrame,
    QHBoxLayout,
    QLabel,
    QPushButton,
    QVBoxLayout,
    QWidget,
)

from showroom.actor import Actor
from showroom.errors import ShowroomError
from showroom.services import auth
from ui import labels
from ui.i18n import tr
from ui.login.dialog import ERROR_STYLE, _error_label, _password_field
from ui.tasks import TaskRunner
from ui.widgets import report_error

_INPUT_EVENTS = frozenset(
    {
        QEvent.Type.KeyPress,
        QEvent.Type.MouseButtonPress,
        QEvent.Type.MouseMove,
        QEvent.Type.Wheel,
        QEvent.Type.TouchBegin,
    }
)


class IdleWatcher(QObject):
    """Emits ``idle`` after ``minutes`` without keyboard, mouse or touch input in the app."""

    idle = Signal()

    def __init__(self, minutes: int, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self.timer = QTimer(self)
        self.timer.setSingleShot(True)
        self.timer.timeout.connect(self.idle)
        self.set_minutes(minutes)
        app = QApplication.instance()
        if app is not None:
            app.installEventFilter(self)

    def set_minutes(self, minutes: float) -> None:
        self.timer.setInterval(max(1, int(minutes * 60_000)))
        self.timer.start()

    def pause(self) -> None:
        self.timer.stop()

    def resume(self) -> None:
        self.timer.start()

    def stop(self) -> None:
        self.timer.stop()
        app = QApplication.instance()
        if app is not None:
            app.removeEventFilter(self)

    def eventFilter(self, watched, event) -> bool:
        if event.type() in _INPUT_EVENTS and self.timer.isActive():
            self.timer.start()  # restart the countdown
        return False


class LockScreen(QFrame):
    """Covers its parent window entirely. ``unlocked(actor)`` when the same user typed their
    password; ``switch_requested`` when someone else wants to sign in."""

    unlocked = Signal(object)  # Actor: the same user
    switch_requested = Signal()

    def __init__(self, runner: TaskRunner, language: str, parent: QWidget) -> None:
        super().__init__(parent)
        self.runner = runner
        self.language = language
        self.actor: Actor | None = None
        self.setObjectName("LockScreen")
        self.setAutoFillBackground(True)
        self.setStyleSheet(
            "QFrame#LockScreen { background: #1f2d3d; }"
            " QFrame#LockScreen QLabel { color: #e8edf2; }"
            " QFrame#lock_card { background: #2a3b4f; border-radius: 8px; }"
        )
        outer = QVBoxLayout(self)
        outer.addStretch(1)
        card = QFrame()
        card.setObjectName("lock_card")
        card.setFixedWidth(380)
        box = QVBoxLayout(card)
        box.setContentsMargins(24, 24, 24, 24)
        title = QLabel(tr("Showroom is locked"))
        title.setStyleSheet("font-size: 20px; font-weight: 600;")
        box.addWidget(title)
        self.who = QLabel()
        self.who.setObjectName("who")
        self.who.setWordWrap(True)
        box.addWidget(self.who)
        self.password = _password_field("lock_password")
        self.password.setPlaceholderText(tr("Password"))
        self.password.returnPressed.connect(self.submit)
        box.addWidget(self.password)
        self.error = _error_label()
        self.error.setStyleSheet(ERROR_STYLE + " background: #fff; padding: 4px;")
        box.addWidget(self.error)
        row = QHBoxLayout()
        self.switch = QPushButton(tr("Switch user…"))
        self.switch.setObjectName("switch_user")
        self.switch.clicked.connect(self.switch_requested)
        row.addWidget(self.switch)
        row.addStretch(1)
        self.unlock = QPushButton(tr("Unlock"))
        self.unlock.setObjectName("unlock")
        self.unlock.setDefault(True)
        self.unlock.clicked.connect(self.submit)
        row.addWidget(self.unlock)
        box.addLayout(row)
        outer.addWidget(card, 0, Qt.AlignmentFlag.AlignHCenter)
        outer.addStretch(2)
        parent.installEventFilter(self)
        self.hide()

    def lock(self, actor: Actor) -> None:
        self.actor = actor
        self.who.setText(
            tr("Signed in: %1 (%2). Type your password to continue.")
            .replace("%1", actor.display_name)
            .replace("%2", labels.role(actor.role))
        )
        self.password.clear()
        self.error.hide()
        self.setGeometry(self.parentWidget().rect())
        self.raise_()
        self.show()
        self.password.setFocus()

    @property
    def locked(self) -> bool:
        return self.isVisible()

    def submit(self) -> None:
        if self.actor is None:
            return
        actor, password = self.actor, self.password.text()
        self.unlock.setEnabled(False)
        self.runner.db(
            lambda session: auth.verify_password(session, actor, password),
            on_done=self._done,
            on_error=self._failed,
            write=True,
            name="unlock",
        )

    def _done(self, actor: Actor) -> None:
        self.unlock.setEnabled(True)
        self.password.clear()
        self.hide()
        self.unlocked.emit(actor)

    def _failed(self, error: BaseException) -> None:
        self.unlock.setEnabled(True)
        self.password.clear()
        if isinstance(error, ShowroomError):
            self.error.setText(error.message(self.language))
            self.error.show()
        else:
            report_error(self, error, self.language)

    def eventFilter(self, watched, event) -> bool:
        if watched is self.parentWidget() and event.type() == QEvent.Type.Resize:
            self.setGeometry(self.parentWidget().rect())
        return False
