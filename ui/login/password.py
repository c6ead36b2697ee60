"""Account → Change password…: the signed-in person changes their own password.

The check runs in ``auth.set_password`` on the DB lane. Each refusal is shown under the field
it is about: a wrong current password under "Current password" (it counts toward the lockout,
and the lockout's "try again in N min" shows there too), a new one that breaks the rules under
"New password", two entries that differ under "Repeat". Enter saves, Esc cancels.
"""

from __future__ import annotations

from PySide6.QtWidgets import QDialog, QFormLayout, QLabel, QVBoxLayout, QWidget

from showroom.errors import ShowroomError
from showroom.services import auth
from ui.context import AppContext
from ui.i18n import tr
from ui.login.dialog import _password_field, _submit_row
from ui.widgets import Field, FormErrors, report_error


class ChangePasswordDialog(QDialog):
    """Current password, the new one, and the new one again. Emits nothing: on success it
    accepts and closes; the password is changed for every later sign-in and unlock."""

    def __init__(self, ctx: AppContext, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.ctx = ctx
        self.setWindowTitle(tr("Change password"))
        self.setObjectName("ChangePasswordDialog")
        layout = QVBoxLayout(self)
        who = QLabel(tr("Signed in as %1.").replace("%1", ctx.actor.display_name))
        who.setObjectName("who")
        layout.addWidget(who)
        form = QFormLayout()
        layout.addLayout(form)
        self.errors = FormErrors(lambda: self.ctx.language)
        self.current = _password_field("current_password")
        self.new = _password_field("new_password")
        self.repeat = _password_field("repeat_password")
        self.new.setPlaceholderText(
            tr("At least %1 characters").replace("%1", str(auth.MIN_PASSWORD_LENGTH))
        )
        for name, label, edit in (
            ("current", tr("Current password"), self.current),
            ("new", tr("New password"), self.new),
            ("repeat", tr("Repeat the new password"), self.repeat),
        ):
            form.addRow(label, self.errors.add(name, Field(edit)))
        self.save = _submit_row(self, layout, tr("Change password"), "change_password")
        self.setMinimumWidth(420)
        self.current.setFocus()

    def submit(self) -> None:
        """Check the repeat here, then let the service check the rest on the DB lane."""
        self.errors.clear()
        current, new = self.current.text(), self.new.text()
        if not current:
            self._show("current", tr("Enter your current password."))
            return
        if new != self.repeat.text():
            self._show("repeat", tr("The two new passwords are not the same."))
            return
        actor = self.ctx.actor
        self.save.setEnabled(False)
        self.ctx.runner.db(
            lambda session: auth.set_password(session, actor, current, new),
            on_done=self._done,
            on_error=self._failed,
            write=True,
            name="change-password",
        )

    def _done(self, _result) -> None:
        self.save.setEnabled(True)
        self.accept()

    def _failed(self, error: BaseException) -> None:
        self.save.setEnabled(True)
        if isinstance(error, auth.AccountLockedError):
            # Too many wrong current passwords lock the account as at sign-in: say for how long.
            self.current.clear()
            self._show("current", error.message(self.ctx.language))
        elif isinstance(error, auth.AuthenticationError):
            self.current.clear()
            # The service's words are the sign-in screen's ("wrong user name or password").
            self._show("current", tr("That is not your current password."))
        elif isinstance(error, ShowroomError) and error.field == "password":
            self.errors.show(error, "new")
        else:
            report_error(self, error, self.ctx.language, self.errors)

    def _show(self, name: str, text: str) -> None:
        field = self.errors.field(name)
        field.error.show_message(text)
        field.input.setFocus()
