"""The login dialog shown at start and when switching user, and the first-run setup dialog.

Both run their service call on the task runner's DB lane; the GUI thread only shows the result.
A refused sign-in (wrong password, locked account) is shown in the dialog itself, in plain words.
"""

from __future__ import annotations

from PySide6.QtCore import Qt, Signal
from PySide6.QtWidgets import (
    QDialog,
    QDialogButtonBox,
    QFormLayout,
    QLabel,
    QLineEdit,
    QPushButton,
    QVBoxLayout,
    QWidget,
)

from showroom.actor import Actor
from showroom.errors import ShowroomError
from showroom.services import auth
from ui import labels
from ui.i18n import tr
from ui.tasks import TaskRunner
from ui.widgets import report_error

ERROR_STYLE = "color: #c62828;"


def _password_field(name: str) -> QLineEdit:
    field = QLineEdit()
    field.setObjectName(name)
    field.setEchoMode(QLineEdit.EchoMode.Password)
    field.setMaxLength(auth.MAX_PASSWORD_LENGTH)
    return field


def _submit_row(dialog, layout, label: str, name: str) -> QPushButton:
    """The default button that calls ``dialog.submit``, beside Cancel, at the end of ``layout``."""
    buttons = QDialogButtonBox()
    button = QPushButton(label)
    button.setObjectName(name)
    button.setDefault(True)
    buttons.addButton(button, QDialogButtonBox.ButtonRole.AcceptRole)
    buttons.addButton(QDialogButtonBox.StandardButton.Cancel)
    buttons.rejected.connect(dialog.reject)
    button.clicked.connect(dialog.submit)
    layout.addWidget(buttons)
    return button


def _error_label() -> QLabel:
    label = QLabel()
    label.setObjectName("error")
    label.setStyleSheet(ERROR_STYLE)
    label.setWordWrap(True)
    label.hide()
    return label


class LoginDialog(QDialog):
    """User name and password. ``actor`` holds who signed in once ``signed_in`` was emitted.

    ``demo`` shows the demo database's sign-ins (only ever passed for the demo database).
    """

    signed_in = Signal(object)  # Actor

    def __init__(
        self,
        runner: TaskRunner,
        language: str,
        parent: QWidget | None = None,
        *,
        demo: bool = False,
        username: str = "",
        store_name: str = "",
    ) -> None:
        super().__init__(parent)
        self.runner = runner
        self.language = language
        self.actor: Actor | None = None
        self.setWindowTitle(tr("Sign in to Showroom"))
        self.setObjectName("LoginDialog")
        layout = QVBoxLayout(self)
        heading = QLabel(store_name or tr("Showroom"))
        heading.setStyleSheet("font-size: 18px; font-weight: 600;")
        layout.addWidget(heading)
        form = QFormLayout()
        layout.addLayout(form)
        self.username = QLineEdit(username)
        self.username.setObjectName("username")
        self.username.setMaxLength(50)
        form.addRow(tr("User name"), self.username)
        self.password = _password_field("password")
        form.addRow(tr("Password"), self.password)
        self.error = _error_label()
        layout.addWidget(self.error)
        if demo:
            logins = "、".join(f"{name}（{labels.role(role)}）" for name, role in auth.DEMO_LOGINS)
            hint = QLabel(
                tr("Demo database. Sign in as %1 with the password %2.")
                .replace("%1", logins)
                .replace("%2", auth.DEMO_PASSWORD)
            )
            hint.setObjectName("demo_hint")
            hint.setWordWrap(True)
            hint.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
            hint.setStyleSheet("color: #555; background: #fff8e1; padding: 6px;")
            layout.addWidget(hint)
        # Filled in once read: accounts of this laptop renamed when it joined its store.
        self.moved_hint = QLabel()
        self.moved_hint.setObjectName("moved_hint")
        self.moved_hint.setWordWrap(True)
        self.moved_hint.setStyleSheet("color: #555; background: #e3f2fd; padding: 6px;")
        self.moved_hint.hide()
        layout.addWidget(self.moved_hint)
        self.sign_in = _submit_row(self, layout, tr("Sign in"), "sign_in")
        self.setMinimumWidth(380)
        (self.password if username else self.username).setFocus()
        runner.db(auth.moved_usernames, on_done=self._show_moved, name="moved usernames")

    def _show_moved(self, moved: dict[str, str]) -> None:
        if not moved:
            return
        lines = [
            tr("This laptop's account %1 is now %2: the store already has a user %1.")
            .replace("%1", old)
            .replace("%2", new)
            for old, new in sorted(moved.items())
        ]
        self.moved_hint.setText("\n".join(lines))
        self.moved_hint.show()

    def submit(self) -> None:
        username, password = self.username.text().strip(), self.password.text()
        if not username:
            self._show(tr("Enter your user name."))
            self.username.setFocus()
            return
        self.sign_in.setEnabled(False)
        self.runner.db(
            lambda session: auth.login(session, username, password),
            on_done=self._done,
            on_error=self._failed,
            write=True,
            name="login",
        )

    def _done(self, actor: Actor) -> None:
        self.actor = actor
        self.password.clear()
        self.signed_in.emit(actor)
        self.accept()

    def _failed(self, error: BaseException) -> None:
        self.sign_in.setEnabled(True)
        self.password.clear()
        self.password.setFocus()
        if isinstance(error, ShowroomError):
            self._show(error.message(self.language))
        else:
            report_error(self, error, self.language)

    def _show(self, text: str) -> None:
        self.error.setText(text)
        self.error.show()


class SetupDialog(QDialog):
    """First run: nobody can sign in yet, so the admin account is made here. No default
    password exists; the admin chooses one (twice)."""

    signed_in = Signal(object)  # Actor

    def __init__(self, runner: TaskRunner, language: str, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.runner = runner
        self.language = language
        self.actor: Actor | None = None
        self.setWindowTitle(tr("Create the administrator"))
        self.setObjectName("SetupDialog")
        layout = QVBoxLayout(self)
        intro = QLabel(
            tr(
                "This is a new database. Create the administrator account: the administrator"
                " adds the other staff and their roles. Choose a password of at least 8"
                " characters and keep it safe."
            )
        )
        intro.setWordWrap(True)
        layout.addWidget(intro)
        form = QFormLayout()
        layout.addLayout(form)
        self.username = QLineEdit("admin")
        self.username.setObjectName("username")
        self.username.setMaxLength(50)
        form.addRow(tr("User name"), self.username)
        self.display_name = QLineEdit()
        self.display_name.setObjectName("display_name")
        self.display_name.setMaxLength(50)
        form.addRow(tr("Your name"), self.display_name)
        self.password = _password_field("password")
        form.addRow(tr("Password"), self.password)
        self.confirm = _password_field("confirm")
        form.addRow(tr("Password again"), self.confirm)
        self.error = _error_label()
        layout.addWidget(self.error)
        self.create = _submit_row(self, layout, tr("Create and sign in"), "create")
        self.setMinimumWidth(440)
        self.display_name.setFocus()

    def submit(self) -> None:
        if self.password.text() != self.confirm.text():
            self._show(tr("The two passwords are not the same."))
            return
        username = self.username.text()
        name = self.display_name.text()
        password = self.password.text()
        self.create.setEnabled(False)
        self.runner.db(
            lambda session: auth.create_first_admin(session, username, name, password),
            on_done=self._done,
            on_error=self._failed,
            write=True,
            name="first-admin",
        )

    def _done(self, actor: Actor) -> None:
        self.actor = actor
        self.signed_in.emit(actor)
        self.accept()

    def _failed(self, error: BaseException) -> None:
        self.create.setEnabled(True)
        if isinstance(error, ShowroomError):
            fields = {
                "username": tr("User name"),
                "display_name": tr("Your name"),
                "password": tr("Password"),
            }
            text = error.message(self.language)
            label = fields.get(error.field or "")
            self._show(f"{label}：{text}" if label else text)
        else:
            report_error(self, error, self.language)

    def _show(self, text: str) -> None:
        self.error.setText(text)
        self.error.show()
