"""Unlocking the encrypted local database at start, before anyone signs in.

The real database is always encrypted: a new one is made encrypted, a plain one left by an
older version is switched in place. Its key comes from the OS keyring (silently), from
``SHOWROOM_DB_KEY`` / ``SHOWROOM_DB_KEY_FILE`` (kiosks, tests), or from the wrapped-key file
beside the database, unwrapped with the admin secret asked for here. The demo database holds
only made-up people and stays plain, so a demo runs on any machine without a secret.

Switching a plain database (about 10 s at 20,000 customers) runs on a worker of a task
runner of its own, with a progress dialog: the GUI thread keeps painting and answering. The
dialog has no Cancel: the switch is safe to cut off (``crypto.encrypt_in_place``), but a
half-done start leaves nothing to open, so it is seen through once begun.
"""

from __future__ import annotations

import logging
from pathlib import Path

from PySide6.QtCore import QLocale, Qt
from PySide6.QtWidgets import (
    QDialog,
    QDialogButtonBox,
    QFormLayout,
    QLabel,
    QLayout,
    QLineEdit,
    QProgressDialog,
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

    Call it on the GUI thread before the app's task runner starts (a plain database is
    switched on a worker of its own meanwhile). Errors go to the caller's one error
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
        encrypt_existing(path, key, parent)
    return open_database(path, key)


def _step_text(step: str) -> str:
    if step == "checkpoint":
        return tr("Reading the customer database…")
    if step == "export":
        return tr("Writing the encrypted copy…")
    if step == "verify":
        return tr("Checking the encrypted copy against the original…")
    return tr("Switching to the encrypted copy…")


class EncryptionProgress(QProgressDialog):
    """The progress of switching a plain database to an encrypted one. It cannot be closed
    while the switch runs (no Cancel, and Esc or the close button do nothing)."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setWindowTitle(tr("Encrypting the customer database"))
        self.setObjectName("EncryptionProgress")
        self.setLabelText(self._text("checkpoint"))
        self.setCancelButton(None)
        self.setRange(0, 0)  # busy until the first report says how much there is
        self.setMinimumDuration(0)
        self.setMinimumWidth(420)
        self.setAutoClose(False)
        self.setAutoReset(False)
        self.setWindowModality(Qt.WindowModality.ApplicationModal)
        self.running = True

    def show_progress(self, done: int, total: int, step: str) -> None:
        self.setMaximum(total)
        self.setValue(done)
        self.setLabelText(self._text(step))

    @staticmethod
    def _text(step: str) -> str:
        intro = tr("The customer database is being encrypted, once. Do not turn off the computer.")
        return f"{intro}\n\n{_step_text(step)}"

    def finish(self) -> None:
        self.running = False
        self.done(0)

    def reject(self) -> None:
        if not self.running:
            super().reject()

    def closeEvent(self, event) -> None:
        if self.running:
            event.ignore()
        else:
            super().closeEvent(event)


def encrypt_existing(path: Path, key: bytes, parent: QWidget | None = None) -> None:
    """Switch the plain database at ``path`` to an encrypted one under ``key``, on a worker,
    while a progress dialog shows how far it is; returns once it is done. Raises what the
    switch raised (``EncryptionError``: the database is left plain, as it was)."""
    from ui.tasks import TaskRunner

    # Its own runner: the app's runner belongs to the database, which cannot be opened yet.
    runner = TaskRunner(None)
    dialog = EncryptionProgress(parent)
    outcome: dict[str, object] = {}

    def ended(kind: str, value: object) -> None:
        outcome[kind] = value
        dialog.finish()

    runner.pool(
        lambda task: crypto.encrypt_in_place(path, key, on_progress=task.report),
        on_done=lambda report: ended("report", report),
        on_error=lambda error: ended("error", error),
        on_progress=dialog.show_progress,
        name="encrypt-database",
    )
    while not outcome:  # the answer arrives through this dialog's event loop
        dialog.exec()
    runner.shutdown()
    dialog.deleteLater()
    if "error" in outcome:
        raise outcome["error"]
    log.info("encrypted the database %s (%d rows)", path, outcome["report"].rows)


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
