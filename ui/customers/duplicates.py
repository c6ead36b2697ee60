"""The live duplicate warning of the customer form: who on file may be the same person."""

from __future__ import annotations

from collections.abc import Sequence

from PySide6.QtCore import QLocale, Signal
from PySide6.QtWidgets import QFrame, QHBoxLayout, QLabel, QPushButton, QVBoxLayout, QWidget

from showroom.services.dto import DuplicateCandidate
from ui.i18n import tr
from ui.widgets import clear_layout


def reason_text(reason: str) -> str:
    return {
        "phone": tr("same phone number"),
        "id_number": tr("same ID number"),
        "vin": tr("same VIN"),
        "email": tr("same email"),
        "similar_name": tr("similar name"),
    }.get(reason, reason)


class DuplicateWarning(QFrame):
    """A banner listing customers on file that look like the one in the form.

    Each candidate has "Open existing" and "Merge"; after a refused save, "Save anyway" too.
    """

    open_requested = Signal(object)  # DuplicateCandidate
    merge_requested = Signal(object)  # DuplicateCandidate
    force_requested = Signal()

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("duplicateWarning")
        self.setStyleSheet(
            "QFrame#duplicateWarning { background: #fff7e0; border: 1px solid #f0c36d;"
            " border-radius: 6px; }"
        )
        self.candidates: tuple[DuplicateCandidate, ...] = ()
        layout = QVBoxLayout(self)
        layout.setContentsMargins(14, 10, 14, 10)
        layout.setSpacing(6)
        self.title = QLabel()
        self.title.setStyleSheet("font-weight: bold; color: #8a5a00;")
        layout.addWidget(self.title)
        self.rows = QVBoxLayout()
        self.rows.setSpacing(4)
        layout.addLayout(self.rows)
        self.force_button = QPushButton(tr("Save anyway"))
        self.force_button.setObjectName("saveAnyway")
        self.force_button.setAutoDefault(False)
        self.force_button.clicked.connect(self.force_requested)
        force_row = QHBoxLayout()
        self.force_note = QLabel(tr("Not the same person? Save as a separate customer."))
        force_row.addWidget(self.force_note)
        force_row.addStretch(1)
        force_row.addWidget(self.force_button)
        layout.addLayout(force_row)
        self.hide()

    def show_candidates(self, candidates: Sequence[DuplicateCandidate], *, refused: bool) -> None:
        """List ``candidates`` (hide the banner when there are none)."""
        self.candidates = tuple(candidates)
        clear_layout(self.rows)
        if not self.candidates:
            self.hide()
            return
        self.title.setText(
            tr("This customer may already be on file.")
            if len(self.candidates) == 1
            else tr("These customers on file may be the same person.")
        )
        for candidate in self.candidates[:3]:
            row = self._row(candidate)
            self.rows.addWidget(row)
            row.show()
        self.force_note.setVisible(refused)
        self.force_button.setVisible(refused)
        self.show()

    def _row(self, candidate: DuplicateCandidate) -> QWidget:
        row = QWidget()
        row.setObjectName("duplicateCandidate")
        line = QHBoxLayout(row)
        line.setContentsMargins(0, 0, 0, 0)
        line.setSpacing(8)
        name = QLabel(candidate.name)
        name.setStyleSheet("font-weight: bold;")
        line.addWidget(name)
        facts = [candidate.phone] if candidate.phone else []  # masked by the core
        facts.append(QLocale().createSeparatedList([reason_text(r) for r in candidate.reasons]))
        detail = QLabel(" · ".join(facts))
        detail.setStyleSheet("color: #5c4a1a;")
        line.addWidget(detail, 1)
        open_button = QPushButton(tr("Open existing"))
        open_button.setObjectName("openExisting")
        open_button.setAutoDefault(False)
        open_button.clicked.connect(lambda: self.open_requested.emit(candidate))
        merge_button = QPushButton(tr("Merge"))
        merge_button.setObjectName("mergeDuplicate")
        merge_button.setAutoDefault(False)
        merge_button.clicked.connect(lambda: self.merge_requested.emit(candidate))
        line.addWidget(open_button)
        line.addWidget(merge_button)
        return row
