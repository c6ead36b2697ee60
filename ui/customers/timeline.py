"""The customer timeline: every kind of event in one list, newest first.

Each ``TimelineSource`` fetches its rows on the DB lane and turns them into ``TimelineEntry``
values on the GUI thread. Interactions are the first source; test drives, bookings, quotes,
surveys and complaints register theirs with ``register_timeline_source``.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Any

from PySide6.QtCore import Qt
from PySide6.QtWidgets import QFrame, QHBoxLayout, QLabel, QVBoxLayout, QWidget
from sqlalchemy.orm import Session

from showroom.actor import Actor
from showroom.services.dto import CustomerRecord, InteractionDTO
from ui import formatting, labels
from ui.i18n import tr
from ui.widgets import clear_layout, muted_label

# --- the timeline --------------------------------------------------------------------------


@dataclass(frozen=True)
class TimelineEntry:
    """One event in a customer's history, whatever its kind."""

    kind: str  # "interaction"; later "test_drive", "booking", "quote", "survey", "complaint"
    at: dt.datetime  # timezone-aware
    title: str
    detail: str = ""


@dataclass(frozen=True)
class TimelineSource:
    """Where one kind of timeline entry comes from.

    ``fetch(session, actor, record)`` runs on the DB lane and returns plain DTOs;
    ``entries(fetched)`` runs on the GUI thread (it may translate) and returns the entries.
    """

    kind: str
    fetch: Callable[[Session, Actor, CustomerRecord], Any]
    entries: Callable[[Any], Iterable[TimelineEntry]]


def interaction_entries(rows: Iterable[InteractionDTO]) -> list[TimelineEntry]:
    entries = []
    for row in rows:
        title = tr("%1 · %2").replace("%1", labels.channel(row.channel))
        title = title.replace("%2", labels.direction(row.direction))
        detail = row.summary
        if row.outcome:
            detail += "\n" + tr("Outcome: %1").replace("%1", row.outcome)
        entries.append(TimelineEntry("interaction", row.occurred_at, title, detail))
    return entries


TIMELINE_SOURCES: list[TimelineSource] = [
    TimelineSource("interaction", lambda _s, _a, record: record.interactions, interaction_entries),
]


def register_timeline_source(source: TimelineSource) -> None:
    """Add a kind of event to every customer's timeline (replacing one of the same kind)."""
    TIMELINE_SOURCES[:] = [s for s in TIMELINE_SOURCES if s.kind != source.kind] + [source]


class TimelineView(QWidget):
    """Entries newest first: time on the left, title and detail on the right."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.entries: list[TimelineEntry] = []
        self._layout = QVBoxLayout(self)
        self._layout.setContentsMargins(0, 0, 8, 0)
        self._layout.setSpacing(0)

    def set_entries(self, entries: Iterable[TimelineEntry]) -> None:
        self.entries = sorted(entries, key=lambda e: e.at, reverse=True)
        clear_layout(self._layout)
        for i, entry in enumerate(self.entries):
            box = self._entry(entry, first=i == 0)
            self._layout.addWidget(box)
            box.show()
        self._layout.addStretch(1)

    def _entry(self, entry: TimelineEntry, *, first: bool) -> QWidget:
        box = QFrame()
        box.setObjectName("timelineEntry")
        border = "" if first else "border-top: 1px solid #edf0f3;"
        box.setStyleSheet(f"QFrame#timelineEntry {{ {border} }}")
        row = QHBoxLayout(box)
        row.setContentsMargins(0, 10, 0, 10)
        row.setSpacing(16)
        when = muted_label(formatting.datetime(entry.at))
        when.setFixedWidth(130)
        when.setAlignment(Qt.AlignmentFlag.AlignLeft | Qt.AlignmentFlag.AlignTop)
        row.addWidget(when)
        text = QVBoxLayout()
        text.setSpacing(3)
        title = QLabel(entry.title)
        title.setObjectName("timelineTitle")
        title.setStyleSheet("font-weight: bold;")
        text.addWidget(title)
        if entry.detail:
            detail = QLabel(entry.detail)
            detail.setObjectName("timelineDetail")
            detail.setWordWrap(True)
            detail.setTextFormat(Qt.TextFormat.PlainText)
            detail.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
            text.addWidget(detail)
        row.addLayout(text, 1)
        return box

    def texts(self) -> list[str]:
        """What a reader sees, one string per entry (title and detail)."""
        out = []
        for box in self.findChildren(QFrame, "timelineEntry"):
            parts = [label.text() for label in box.findChildren(QLabel)]
            out.append(" ".join(parts))
        return out
