"""What every page needs from the app: the task runner, who is acting, and navigation."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from PySide6.QtCore import QObject, Signal

from showroom.actor import Actor
from ui.tasks import TaskRunner


class Navigator(QObject):
    """Requests to move around the app. The main window listens and switches pages."""

    open_customer = Signal(str)  # customer id: show the customer 360
    new_customer = Signal()  # open the new-customer dialog
    show_page = Signal(str)  # page key, e.g. "customers", "follow_ups"
    actor_changed = Signal()  # the person working in this window changed (AppContext.actor)


@dataclass
class AppContext:
    runner: TaskRunner
    actor: Actor
    navigator: Navigator
    database_path: Path
    dealer_name: str = ""
    language: str = "zh_CN"
    # Minutes without input before the window locks (the store's setting).
    idle_lock_minutes: float = 10
