"""Staff accounts for administrators: add users, set roles, reset passwords, deactivate.

Every change goes through ``showroom.services.auth``, which refuses anyone but an admin; a
non-admin who opens the page sees that refusal in plain words instead of the list.
"""

from __future__ import annotations

from PySide6.QtCore import Qt
from PySide6.QtWidgets import (
    QAbstractItemView,
    QComboBox,
    QDialog,
    QDialogButtonBox,
    QFormLayout,
    QHBoxLayout,
    QInputDialog,
    QLabel,
    QLineEdit,
    QPushButton,
    QTableWidget,
    QTableWidgetItem,
    QVBoxLayout,
    QWidget,
)

from showroom.errors import PermissionDeniedError, ShowroomError
from showroom.services import auth
from showroom.vocabulary import Role
from ui import labels
from ui.context import AppContext
from ui.i18n import tr
from ui.login.dialog import ERROR_STYLE, _error_label, _password_field
from ui.widgets import report_error

COLUMNS = 4  # user name, name, role, state


def _roles_combo() -> QComboBox:
    combo = QComboBox()
    for role in Role:
        combo.addItem(labels.role(role), role.value)
    return combo


class AddUserDialog(QDialog):
    """User name, name, role and a first password; the service checks them all."""

    def __init__(self, ctx: AppContext, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.ctx = ctx
        self.setWindowTitle(tr("Add a user"))
        layout = QVBoxLayout(self)
        form = QFormLayout()
        layout.addLayout(form)
        self.username = QLineEdit()
        self.username.setObjectName("username")
        form.addRow(tr("User name"), self.username)
        self.display_name = QLineEdit()
        self.display_name.setObjectName("display_name")
        form.addRow(tr("Name"), self.display_name)
        self.role = _roles_combo()
        self.role.setObjectName("role")
        form.addRow(tr("Role"), self.role)
        self.password = _password_field("password")
        form.addRow(tr("First password"), self.password)
        self.error = _error_label()
        layout.addWidget(self.error)
        buttons = QDialogButtonBox(
            QDialogButtonBox.StandardButton.Ok | QDialogButtonBox.StandardButton.Cancel
        )
        self.ok = buttons.button(QDialogButtonBox.StandardButton.Ok)
        self.ok.setText(tr("Add"))
        buttons.accepted.connect(self.submit)
        buttons.rejected.connect(self.reject)
        layout.addWidget(buttons)
        self.setMinimumWidth(400)

    def submit(self) -> None:
        actor = self.ctx.actor
        values = (
            self.username.text(),
            self.display_name.text(),
            self.role.currentData(),
            self.password.text(),
        )
        self.ok.setEnabled(False)
        self.ctx.runner.db(
            lambda session: auth.add_user(session, actor, *values),
            on_done=lambda _account: self.accept(),
            on_error=self._failed,
            write=True,
            name="add-user",
        )

    def _failed(self, error: BaseException) -> None:
        self.ok.setEnabled(True)
        if isinstance(error, ShowroomError):
            fields = {
                "username": tr("User name"),
                "display_name": tr("Name"),
                "role": tr("Role"),
                "password": tr("First password"),
            }
            label = fields.get(error.field or "")
            text = error.message(self.ctx.language)
            self.error.setText(f"{label}：{text}" if label else text)
            self.error.show()
        else:
            report_error(self, error, self.ctx.language)


class UsersPage(QWidget):
    def __init__(self, ctx: AppContext, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.ctx = ctx
        self.accounts: list[auth.AccountDTO] = []
        outer = QVBoxLayout(self)
        outer.setContentsMargins(24, 24, 24, 24)
        heading = QLabel(tr("Users"))
        heading.setStyleSheet("font-size: 20px; font-weight: 600;")
        outer.addWidget(heading)
        self.refused = QLabel()
        self.refused.setObjectName("refused")
        self.refused.setWordWrap(True)
        self.refused.setStyleSheet(ERROR_STYLE + " font-size: 14px;")
        self.refused.hide()
        outer.addWidget(self.refused)

        self.body = QWidget()
        body = QVBoxLayout(self.body)
        body.setContentsMargins(0, 0, 0, 0)
        buttons = QHBoxLayout()
        self.add_button = QPushButton(tr("Add a user…"))
        self.add_button.setObjectName("add_user")
        self.add_button.clicked.connect(self.add_user)
        buttons.addWidget(self.add_button)
        buttons.addWidget(QLabel(tr("Role:")))
        self.role = _roles_combo()
        self.role.setObjectName("set_role")
        buttons.addWidget(self.role)
        self.role_button = QPushButton(tr("Set role"))
        self.role_button.setObjectName("apply_role")
        self.role_button.clicked.connect(self.set_role)
        buttons.addWidget(self.role_button)
        self.reset_button = QPushButton(tr("Reset password…"))
        self.reset_button.setObjectName("reset_password")
        self.reset_button.clicked.connect(lambda: self.reset_password())
        buttons.addWidget(self.reset_button)
        self.active_button = QPushButton(tr("Deactivate"))
        self.active_button.setObjectName("toggle_active")
        self.active_button.clicked.connect(self.toggle_active)
        buttons.addWidget(self.active_button)
        buttons.addStretch(1)
        body.addLayout(buttons)
        self.table = QTableWidget(0, COLUMNS)
        self.table.setObjectName("users")
        self.table.setHorizontalHeaderLabels([tr("User name"), tr("Name"), tr("Role"), tr("State")])
        self.table.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectRows)
        self.table.setSelectionMode(QAbstractItemView.SelectionMode.SingleSelection)
        self.table.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
        self.table.verticalHeader().hide()
        self.table.horizontalHeader().setStretchLastSection(True)
        self.table.itemSelectionChanged.connect(self._selection_changed)
        body.addWidget(self.table, 1)
        outer.addWidget(self.body, 1)
        self._selection_changed()

    # --- loading ----------------------------------------------------------------------------

    def activate(self) -> None:
        self.refresh()

    def refresh(self, select_id: str | None = None) -> None:
        actor = self.ctx.actor
        self.ctx.runner.db(
            lambda session: auth.list_accounts(session, actor),
            on_done=lambda accounts: self._fill(accounts, select_id),
            on_error=self._failed,
            name="list-users",
        )

    def _fill(self, accounts, select_id: str | None) -> None:
        self.refused.hide()
        self.body.show()
        self.accounts = list(accounts)
        self.table.setRowCount(len(self.accounts))
        for row, account in enumerate(self.accounts):
            state = tr("Active") if account.active else tr("Deactivated")
            if account.active and not account.has_password:
                state = tr("No password")
            for column, text in enumerate(
                (account.username, account.display_name, labels.role(account.role), state)
            ):
                item = QTableWidgetItem(text)
                if not account.active:
                    item.setForeground(Qt.GlobalColor.gray)
                self.table.setItem(row, column, item)
            if account.id == select_id:
                self.table.selectRow(row)
        self.table.resizeColumnsToContents()
        self._selection_changed()

    def _failed(self, error: BaseException) -> None:
        if isinstance(error, PermissionDeniedError):
            # Shown in place of the list: this page is for administrators.
            self.body.hide()
            self.refused.setText(error.message(self.ctx.language))
            self.refused.show()
            return
        report_error(self, error, self.ctx.language)

    # --- actions ----------------------------------------------------------------------------

    def selected(self) -> auth.AccountDTO | None:
        rows = self.table.selectionModel().selectedRows()
        return self.accounts[rows[0].row()] if rows else None

    def _selection_changed(self) -> None:
        account = self.selected()
        for button in (self.role_button, self.reset_button, self.active_button):
            button.setEnabled(account is not None)
        if account is not None:
            self.active_button.setText(tr("Deactivate") if account.active else tr("Reactivate"))
            index = self.role.findData(account.role)
            if index >= 0:
                self.role.setCurrentIndex(index)

    def add_user(self) -> AddUserDialog:
        dialog = AddUserDialog(self.ctx, self)
        dialog.accepted.connect(self.refresh)
        dialog.open()
        return dialog

    def _change(self, fn, account) -> None:
        actor = self.ctx.actor
        self.ctx.runner.db(
            lambda session: fn(session, actor),
            on_done=lambda _result: self.refresh(account.id),
            on_error=self._change_failed,
            write=True,
            name="change-user",
        )

    def _change_failed(self, error: BaseException) -> None:
        report_error(self, error, self.ctx.language)
        self.refresh()

    def set_role(self) -> None:
        account, role = self.selected(), self.role.currentData()
        if account is not None:
            self._change(lambda s, a: auth.set_role(s, a, account.id, role), account)

    def toggle_active(self) -> None:
        account = self.selected()
        if account is not None:
            active = not account.active
            self._change(lambda s, a: auth.set_active(s, a, account.id, active), account)

    def reset_password(self, password: str | None = None) -> None:
        """Ask for the new password (``password`` skips the question, for tests)."""
        account = self.selected()
        if account is None:
            return
        if password is None:
            password, ok = QInputDialog.getText(
                self,
                tr("Reset password"),
                tr("New password for %1:").replace("%1", account.display_name),
                QLineEdit.EchoMode.Password,
            )
            if not ok:
                return
        self._change(lambda s, a: auth.reset_password(s, a, account.id, password), account)
