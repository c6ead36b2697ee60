"""Small widgets shared by forms and pages: inline field errors, titled sections, chips.

Also the one place that decides how a failed job is shown: a ValidationError whose field is on
the form goes under that field; any other typed error is a short message; anything unexpected
opens the details dialog (``ui.errors.show_error``).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import shiboken6
from PySide6.QtCore import Qt
from PySide6.QtWidgets import (
    QAbstractItemView,
    QFrame,
    QHBoxLayout,
    QLabel,
    QSizePolicy,
    QTableWidget,
    QVBoxLayout,
    QWidget,
)

from showroom.errors import ValidationError
from ui.errors import show_error

ERROR_COLOUR = "#c0392b"
MUTED_COLOUR = "#6b7785"
BORDER_COLOUR = "#dde3ea"


def log_path() -> str:
    """The log file the details dialog points to (the one ``ui.app.setup_logging`` writes)."""
    from showroom.paths import log_dir

    return str(log_dir() / "showroom.log")


def guarded(widget: QWidget, fn: Callable[..., Any]) -> Callable[..., None]:
    """``fn`` that does nothing once ``widget`` has been deleted.

    A reply from the DB lane can arrive after its dialog was closed (and deleted); touching the
    dead widget would raise.
    """

    def call(*args: Any) -> None:
        if shiboken6.isValid(widget):
            fn(*args)

    return call


class FieldError(QLabel):
    """Red text under a form field; hidden while there is nothing to say."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("fieldError")
        self.setWordWrap(True)
        self.setTextFormat(Qt.TextFormat.PlainText)
        self.setStyleSheet(f"color: {ERROR_COLOUR}; font-size: 12px;")
        self.hide()

    def show_message(self, text: str) -> None:
        self.setText(text)
        self.setVisible(bool(text))

    def clear(self) -> None:
        self.setText("")
        self.hide()


class Field(QWidget):
    """An input with its error line beneath it, used as one field cell of a QFormLayout."""

    def __init__(self, input_widget: QWidget, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.input = input_widget
        self.error = FieldError()
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.setSpacing(2)
        layout.addWidget(input_widget)
        layout.addWidget(self.error)


class FormErrors:
    """Shows a ValidationError under the field it names, and focuses that field.

    ``language`` is read each time, so a language switch applies to the next message.
    Errors for fields the form does not have go to ``fallback`` when there is one.
    """

    def __init__(self, language: Callable[[], str], fallback: FieldError | None = None) -> None:
        self._language = language
        self._fields: dict[str, Field] = {}
        self._fallback = fallback

    def add(self, name: str, field: Field) -> Field:
        self._fields[name] = field
        return field

    def field(self, name: str) -> Field | None:
        return self._fields.get(name)

    def clear(self) -> None:
        for field in self._fields.values():
            field.error.clear()
        if self._fallback is not None:
            self._fallback.clear()

    def show(self, error: ValidationError, name: str | None = None) -> bool:
        """Show ``error`` under field ``name`` (default: ``error.field``). False if no place."""
        text = error.message(self._language())
        field = self._fields.get(name or error.field or "")
        if field is not None and field.isVisibleTo(field.window()):
            field.error.show_message(text)
            field.input.setFocus(Qt.FocusReason.OtherFocusReason)
            return True
        if self._fallback is not None:
            self._fallback.show_message(text)
            return True
        return False


def report_error(
    parent: QWidget, error: BaseException, language: str, errors: FormErrors | None = None
) -> None:
    """Show a failed job once: inline when ``errors`` can place it, else a message or details."""
    if isinstance(error, ValidationError) and errors is not None and errors.show(error):
        return
    show_error(parent, error, language, log_path())


class Chip(QLabel):
    """A small rounded badge (intent level, VIP, approval state)."""

    def __init__(self, text: str = "", parent: QWidget | None = None) -> None:
        super().__init__(text, parent)
        self.setSizePolicy(QSizePolicy.Policy.Fixed, QSizePolicy.Policy.Fixed)
        self.set_colours("#e8edf2", "#1f2d3d")

    def set_colours(self, background: str, foreground: str) -> None:
        self.setStyleSheet(
            f"background: {background}; color: {foreground}; border-radius: 10px;"
            " padding: 2px 10px; font-weight: bold;"
        )


class Section(QFrame):
    """A titled card. Put content in ``body``; ``set_empty(True)`` shows a friendly line instead.

    Empty sections never show a blank pane: the line says what would be here.
    """

    def __init__(self, title: str, empty_text: str = "", parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("section")
        self.setStyleSheet(
            f"QFrame#section {{ background: white; border: 1px solid {BORDER_COLOUR};"
            " border-radius: 6px; }"
        )
        outer = QVBoxLayout(self)
        outer.setContentsMargins(16, 12, 16, 14)
        outer.setSpacing(8)
        self.header = QHBoxLayout()
        self.header.setSpacing(8)
        self.title = QLabel(title)
        self.title.setStyleSheet("font-size: 14px; font-weight: bold; color: #1f2d3d;")
        self.header.addWidget(self.title)
        self.header.addStretch(1)
        outer.addLayout(self.header)

        self.content = QWidget()
        self.body = QVBoxLayout(self.content)
        self.body.setContentsMargins(0, 0, 0, 0)
        self.body.setSpacing(6)
        outer.addWidget(self.content, 1)
        self.empty = QLabel(empty_text)
        self.empty.setObjectName("emptyNote")
        self.empty.setWordWrap(True)
        self.empty.setStyleSheet(f"color: {MUTED_COLOUR}; font-style: italic; padding: 4px 0;")
        self.empty.hide()
        outer.addWidget(self.empty)
        # Takes the slack only while the content is hidden, so the empty line sits under the
        # title instead of floating in the middle of a tall card.
        outer.addStretch(0)

    def add_header_widget(self, widget: QWidget) -> None:
        self.header.addWidget(widget)

    def set_empty(self, empty: bool) -> None:
        self.content.setVisible(not empty)
        self.empty.setVisible(empty)


def clear_layout(layout) -> None:
    """Remove and delete every widget in ``layout`` now.

    The widgets are detached at once, not only scheduled for deletion, so whatever is rendered
    next is the only content found or shown.
    """
    while layout.count():
        item = layout.takeAt(0)
        widget = item.widget()
        if widget is not None:
            widget.hide()
            widget.setParent(None)
            widget.deleteLater()


def muted_label(text: str = "") -> QLabel:
    """A grey secondary line (times, hints)."""
    label = QLabel(text)
    label.setStyleSheet(f"color: {MUTED_COLOUR};")
    return label


_READ_ONLY_TABLE_STYLE = (
    "QHeaderView::section { background: #f7f9fb; color: #4a5563; border: none;"
    " border-bottom: 1px solid #dde3ea; padding: 5px 10px; }"
    "QTableWidget::item { padding: 0 10px; }"
)


def read_only_table(table: QTableWidget) -> QTableWidget:
    """Style a list table as the app shows them: whole rows selected, no editing, no grid,
    alternating rows, a light header; returns the table."""
    table.verticalHeader().hide()
    table.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
    table.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectRows)
    table.setShowGrid(False)
    table.setAlternatingRowColors(True)
    table.setStyleSheet(_READ_ONLY_TABLE_STYLE)
    return table
