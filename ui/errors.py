"""One error path: typed errors in the user's words, everything else in one details dialog."""

from __future__ import annotations

import logging
import traceback

from PySide6.QtWidgets import (
    QApplication,
    QDialog,
    QDialogButtonBox,
    QLabel,
    QMessageBox,
    QPlainTextEdit,
    QVBoxLayout,
    QWidget,
)

from showroom.errors import ShowroomError
from ui.i18n import tr

log = logging.getLogger(__name__)


class ErrorDialog(QDialog):
    """Unexpected failure: a plain apology, the log file's place, and copyable details."""

    def __init__(self, error: BaseException, log_path: str, parent: QWidget | None = None):
        super().__init__(parent)
        self.setWindowTitle(tr("Something went wrong"))
        details = getattr(error, "__traceback_text__", None) or "".join(
            traceback.format_exception(error)
        )
        layout = QVBoxLayout(self)
        text = QLabel(
            tr("The action could not be completed. Your saved data is safe.")
            + "\n"
            + tr("Details are written to the log file:")
            + f"\n{log_path}"
        )
        text.setWordWrap(True)
        text.setTextInteractionFlags(text.textInteractionFlags())
        layout.addWidget(text)
        self.details = QPlainTextEdit(details)
        self.details.setReadOnly(True)
        self.details.setMinimumSize(560, 220)
        layout.addWidget(self.details)
        buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Close)
        copy = buttons.addButton(tr("Copy details"), QDialogButtonBox.ButtonRole.ActionRole)
        copy.clicked.connect(lambda: QApplication.clipboard().setText(details))
        buttons.rejected.connect(self.reject)
        layout.addWidget(buttons)


def show_error(parent: QWidget | None, error: BaseException, language: str, log_path: str) -> None:
    """Show ``error`` once: a short message for typed errors, the details dialog otherwise."""
    if isinstance(error, ShowroomError):
        QMessageBox.warning(parent, tr("Cannot do that"), error.message(language))
        return
    log.error("unexpected error", exc_info=error)
    ErrorDialog(error, log_path, parent).exec()
