"""The calendar day the app shows, and a watch that says when it turns.

Follow-ups due today, overdue marks and quotes past their date are worked out when a view
loads. A laptop left on overnight would show yesterday's lists in the morning, so the window
keeps a :class:`DayWatch`: it looks at the clock every minute (a timer set for midnight would
fire late after the laptop slept) and, on a new day, announces it on the runner's
``data_changed`` as a change of :data:`DAY`. Views that depend on the day reload on it as on
any other change.
"""

from __future__ import annotations

import datetime as dt

from PySide6.QtCore import QObject, QTimer

from showroom.services.dto import Changed
from ui.tasks import TaskRunner

# The "entity" of the change the watch announces: not a record, the day itself.
DAY = "day"
CHECK_MS = 60_000


def today() -> dt.date:
    """The day views work out due and overdue from (the laptop's local date)."""
    return dt.date.today()


class DayWatch(QObject):
    def __init__(
        self, runner: TaskRunner, parent: QObject | None = None, *, interval_ms: int = CHECK_MS
    ) -> None:
        super().__init__(parent)
        self.runner = runner
        self.day = today()
        self.timer = QTimer(self)
        self.timer.setInterval(interval_ms)
        self.timer.timeout.connect(self.check)
        self.timer.start()

    def check(self) -> bool:
        """Announce a new day when the date moved since the last look; whether it did."""
        now = today()
        if now == self.day:
            return False
        self.day = now
        self.runner.data_changed.emit(Changed(DAY, (), "updated"))
        return True
