"""Unlocking the encrypted local database at start, on the GUI thread, before any worker runs.

The real database is always encrypted: a new one is made encrypted, a plain one left by an
older version is switched in place. Its key comes from the OS keyring (silently), from
``SHOWROOM_DB_KEY`` / ``SHOWROOM_DB_KEY_FILE`` (kiosks, tests), or from the wrapped-key file
beside the database, unwrapped with the admin secret asked for here. The demo database holds
only made-up people and stays plain, so a demo runs on any machine without a secret.
"""

from __future__ import annotations

import logging
from pathlib import Path

from PySide6.QtCore import QLocale, Qt
from PySide6.QtGui import QGuiApplication
from PySide6.QtWidgets import (
    QDialog,
    QDialogButtonBox,
    QFormLayout,
    QLabel,
    QLayout,
    QLineEdit,
    QVBoxLayout,
    QWidget,
)

from showroom.db import crypto
from showroom.db.engine import Database, open_database
from showroom.errors import KeyUnavailableError, ValidationError, WrongKeyError
from ui.i18n import tr

log = logging.getLogger(__name__)

ERROR_COLOUR = "#c62828"


def _language() -> str:
    return "en" if QLocale().language() == QLocale.Language.English else "zh_CN"


class AdminSecretDialog(QDialog):
    """Asks for the admin secret: once to unlock, twice to set a new one.

    ``optional`` (when setting one and the key is already in the OS keyring) turns Cancel into
    Skip: the database still opens, but without the secret there is no recovery if this
    machine's keyring is lost.
    """

    def __init__(self, mode: str, parent: QWidget | None = None, *, optional: bool = False) -> None:
        super().__init__(parent)
        self.mode = mode
        self.setWindowTitle(
            tr("Unlock the database") if mode == "unlock" else tr("Set the admin secret")
        )
        layout = QVBoxLayout(self)
        if mode == "unlock":
            intro = tr(
                "The customer database on this computer is encrypted and its key is not in"
                " this computer's keyring. Enter the admin secret to unlock it."
            )
        else:
            intro = tr(
                "The customer database on this computer is encrypted. Set an admin secret:"
                " with it, an administrator can unlock the database if this computer's"
                " keyring is lost. Keep it somewhere safe, away from this computer."
            )
            if optional:
                intro += "\n" + tr(
                    "The key is already kept in this computer's keyring; you may skip this."
                )
        self.intro = QLabel(intro)
        self.intro.setWordWrap(True)
        # A wrapped label needs a width to know its height, or its last lines are cut off.
        self.intro.setMinimumWidth(440)
        layout.addWidget(self.intro)
        form = QFormLayout()
        self.secret = QLineEdit()
        self.secret.setEchoMode(QLineEdit.EchoMode.Password)
        self.secret.setObjectName("admin_secret")
        form.addRow(tr("Admin secret"), self.secret)
        self.repeat = QLineEdit()
        self.repeat.setEchoMode(QLineEdit.EchoMode.Password)
        self.repeat.setObjectName("admin_secret_repeat")
        if mode != "unlock":
            form.addRow(tr("Repeat it"), self.repeat)
        layout.addLayout(form)
        self.error = QLabel()
        self.error.setWordWrap(True)
        self.error.setStyleSheet(f"color: {ERROR_COLOUR}")
        self.error.hide()
        layout.addWidget(self.error)
        buttons = QDialogButtonBox(
            QDialogButtonBox.StandardButton.Ok | QDialogButtonBox.StandardButton.Cancel
        )
        buttons.button(QDialogButtonBox.StandardButton.Ok).setText(
            tr("Unlock") if mode == "unlock" else tr("Save")
        )
        if optional:
            buttons.button(QDialogButtonBox.StandardButton.Cancel).setText(tr("Skip"))
        buttons.accepted.connect(self._accept)
        buttons.rejected.connect(self.reject)
        layout.addWidget(buttons)
        self.buttons = buttons
        layout.setSizeConstraint(QLayout.SizeConstraint.SetMinimumSize)
        self.adjustSize()
        self.secret.setFocus()

    def value(self) -> str:
        return self.secret.text()

    def show_error(self, text: str) -> None:
        self.error.setText(text)
        self.error.show()
        self.adjustSize()
        self.secret.selectAll()
        self.secret.setFocus()

    def _accept(self) -> None:
        if self.mode == "unlock":
            if not self.secret.text():
                self.show_error(tr("Enter the admin secret."))
                return
        else:
            try:
                crypto.check_admin_secret(self.secret.text())
            except ValidationError as error:
                self.show_error(error.message(_language()))
                return
            if self.repeat.text() != self.secret.text():
                self.show_error(tr("The two entries differ."))
                self.repeat.clear()
                return
        self.accept()


def open_database_for_app(
    path: str | Path, parent: QWidget | None = None, *, demo: bool = False
) -> Database | None:
    """Open the app's database, asking in dialogs for what it needs; None when the user gave up.

    Call it on the GUI thread before the task runner starts. Errors go to the caller's one error
    path (``ui.errors.show_error``): ``KeyUnavailableError`` (encrypted, no key anywhere: its
    message says the way back), ``WrongKeyError`` (the key from the environment or keyring does
    not open it, nor is there a wrapped key to try), ``EncryptionError`` (a plain database could
    not be switched; it is left as it was), and anything unexpected.
    """
    path = Path(path)
    crypto.recover_interrupted_encryption(path)
    state = crypto.file_state(path)
    if demo and state != "encrypted":
        return open_database(path)
    if state == "encrypted":
        return _unlock(path, parent)
    key = _new_key(path, parent)
    if key is None:
        return None
    if state == "plain":
        _encrypt_existing(path, key)
    return open_database(path, key)


def _encrypt_existing(path: Path, key: bytes) -> None:
    QGuiApplication.setOverrideCursor(Qt.CursorShape.WaitCursor)
    try:
        report = crypto.encrypt_in_place(path, key)
    finally:
        QGuiApplication.restoreOverrideCursor()
    log.info("encrypted the database %s (%d rows)", path, report.rows)


def _new_key(path: Path, parent: QWidget | None) -> bytes | None:
    """A key for a database about to be encrypted, kept where it can be found again."""
    given = crypto.find_key(path, use_keyring=False)
    if given is not None:
        return given  # named explicitly by the environment: kept by whoever set it
    key = crypto.new_key()
    in_keyring = crypto.store_key_in_keyring(path, key)
    dialog = AdminSecretDialog("create", parent, optional=in_keyring)
    if dialog.exec() == QDialog.DialogCode.Accepted:
        crypto.save_wrapped_key(path, key, dialog.value())
    elif not in_keyring:
        return None  # nowhere to keep the key: encrypting now would lock the data away
    return key


def _unlock(path: Path, parent: QWidget | None) -> Database | None:
    key = crypto.find_key(path)
    if key is not None:
        try:
            return open_database(path, key)
        except WrongKeyError:
            log.warning("the stored key does not open %s; asking for the admin secret", path)
    if not crypto.wrapped_key_path(path).exists():
        if key is not None:
            raise WrongKeyError("key")
        raise KeyUnavailableError(path)
    dialog = AdminSecretDialog("unlock", parent)
    while dialog.exec() == QDialog.DialogCode.Accepted:
        try:
            key = crypto.load_wrapped_key(path, dialog.value())
        except WrongKeyError:
            dialog.show_error(tr("That admin secret does not unlock this database."))
            continue
        database = open_database(path, key)
        crypto.store_key_in_keyring(path, key)  # next start opens without asking
        return database
    return None
