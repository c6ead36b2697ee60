"""The follow-ups page: my tasks due today and overdue, grouped by intent level.

Completing a task asks for its outcome and proposes the next date from the cadence of the
customer's level (``CompleteFollowUpDialog``). Every database call goes through
``ctx.runner.db``; nothing here opens a session on the GUI thread.
"""

from __future__ import annotations

import datetime as dt
import html
import re
from collections.abc import Iterable
from dataclasses import dataclass

import shiboken6
from PySide6.QtCore import QDate, Qt, Signal
from PySide6.QtGui import QAction, QBrush, QColor, QFont, QKeySequence
from PySide6.QtWidgets import (
    QCheckBox,
    QDateEdit,
    QDialog,
    QDialogButtonBox,
    QFormLayout,
    QHBoxLayout,
    QHeaderView,
    QLabel,
    QLineEdit,
    QPushButton,
    QStackedWidget,
    QTreeWidget,
    QTreeWidgetItem,
    QVBoxLayout,
    QWidget,
)

from showroom.errors import ShowroomError, ValidationError
from showroom.services import leads
from showroom.services.dealer import list_users
from showroom.services.dto import Changed, FollowUpDTO
from showroom.services.follow_ups import (
    MAX_OUTCOME,
    CompletedFollowUp,
    complete_follow_up,
    due_follow_ups,
)
from ui import day, formatting, labels
from ui.context import AppContext

# Hottest leads first: the order a salesperson works through the day.
LEVEL_ORDER: tuple[str | None, ...] = ("H", "A", "B", "C", "O", "F", None)
# A change to any of these can add, remove or rename a task on this page; a new day turns
# tomorrow's tasks into today's and today's into overdue ones.
REFRESH_ON = frozenset({"follow_up", "customer", "interaction", day.DAY})
ERROR_COLOUR = "#c0392b"
MUTED_COLOUR = "#666666"
DONE_COLOUR = "#2e7d32"

COL_CUSTOMER, COL_PURPOSE, COL_DUE, COL_OVERDUE, COL_OWNER = range(5)
TASK_ROLE = Qt.ItemDataRole.UserRole


def fill(text: str, *values: object) -> str:
    """Put ``values`` into the ``%1``, ``%2``... placeholders of a translated sentence.

    One pass, so a value that itself contains "%2" (a customer's name, say) is left alone.
    """

    def value(match: re.Match[str]) -> str:
        index = int(match.group(1)) - 1
        # A translation with a stray placeholder shows it as typed rather than crashing.
        return str(values[index]) if 0 <= index < len(values) else match.group(0)

    return re.sub(r"%(\d)", value, text)


@dataclass(frozen=True)
class DueList:
    """One load of the page: the day it was made for, the open tasks, and owners' names."""

    today: dt.date
    tasks: tuple[FollowUpDTO, ...]
    owners: dict[str, str]  # user id -> display name


def load_due_list(session, actor, today: dt.date) -> DueList:
    """Runs on the DB lane: the actor's tasks due by ``today`` and the staff names to show."""
    tasks = due_follow_ups(session, actor, today=today)
    owners = {user.id: user.display_name for user in list_users(session, actor)}
    return DueList(today, tuple(tasks), owners)


def group_by_level(
    tasks: Iterable[FollowUpDTO],
) -> list[tuple[str | None, list[FollowUpDTO]]]:
    """Tasks grouped by the customer's level: H, A, B, C, then the others; no empty groups.

    Tasks keep their order inside a group (the service gives the oldest due date first).
    """
    groups: dict[str | None, list[FollowUpDTO]] = {}
    for task in tasks:
        groups.setdefault(task.intent_level, []).append(task)

    def rank(level: str | None) -> int:
        return LEVEL_ORDER.index(level) if level in LEVEL_ORDER else len(LEVEL_ORDER)

    return sorted(groups.items(), key=lambda group: rank(group[0]))


def _qdate(value: dt.date) -> QDate:
    return QDate(value.year, value.month, value.day)


def _error_label(name: str) -> QLabel:
    label = QLabel()
    label.setObjectName(name)
    label.setStyleSheet(f"color: {ERROR_COLOUR};")
    label.setWordWrap(True)
    label.hide()
    return label


class FollowUpsPage(QWidget):
    """My follow-ups due today and overdue, grouped by the customer's intent level.

    ``activate()`` loads the list (and reloads it each time the page is shown); once shown, the
    page also reloads after any change to follow-ups, customers or interactions. Double-click
    or Enter on a task opens the customer; "Complete…" (Ctrl+Enter) opens
    ``CompleteFollowUpDialog`` for the current task. ``loaded`` fires each time a load has been
    put on screen.
    """

    loaded = Signal()

    def __init__(self, ctx: AppContext, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.ctx = ctx
        self.dialog: CompleteFollowUpDialog | None = None
        self._data: DueList | None = None
        self._active = False
        self._loading = False
        self._stale = False  # something changed while a load was running

        outer = QVBoxLayout(self)
        outer.setContentsMargins(24, 24, 24, 16)
        outer.setSpacing(12)

        top = QHBoxLayout()
        titles = QVBoxLayout()
        titles.setSpacing(4)
        heading = QLabel(self.tr("My follow-ups"))
        heading.setStyleSheet("font-size: 20px; font-weight: 600;")
        titles.addWidget(heading)
        self.summary = QLabel(self.tr("Loading your follow-ups…"))
        self.summary.setObjectName("summary")
        self.summary.setStyleSheet(f"color: {MUTED_COLOUR};")
        titles.addWidget(self.summary)
        top.addLayout(titles, 1)

        self.refresh_action = QAction(self.tr("Refresh"), self)
        self.refresh_action.setShortcut(QKeySequence.StandardKey.Refresh)
        self.refresh_action.triggered.connect(self.refresh)
        self.open_action = QAction(self.tr("Open customer"), self)
        self.open_action.triggered.connect(self.open_current)
        self.complete_action = QAction(self.tr("Complete…"), self)
        self.complete_action.setShortcuts([QKeySequence("Ctrl+Return"), QKeySequence("Ctrl+Enter")])
        self.complete_action.triggered.connect(self.complete_current)
        for action in (self.refresh_action, self.open_action, self.complete_action):
            action.setShortcutContext(Qt.ShortcutContext.WidgetWithChildrenShortcut)
            self.addAction(action)

        self.refresh_button = QPushButton(self.refresh_action.text())
        self.refresh_button.setToolTip(self.tr("Reload the list (F5)"))
        self.refresh_button.clicked.connect(self.refresh_action.trigger)
        self.open_button = QPushButton(self.open_action.text())
        self.open_button.setToolTip(self.tr("Open the customer (Enter or double-click)"))
        self.open_button.clicked.connect(self.open_action.trigger)
        self.complete_button = QPushButton(self.complete_action.text())
        self.complete_button.setObjectName("completeButton")
        self.complete_button.setToolTip(
            self.tr("Record the outcome and plan the next one (Ctrl+Enter)")
        )
        self.complete_button.clicked.connect(self.complete_action.trigger)
        for button in (self.refresh_button, self.open_button, self.complete_button):
            button.setAutoDefault(False)
            top.addWidget(button, 0, Qt.AlignmentFlag.AlignBottom)
        outer.addLayout(top)

        self.tree = QTreeWidget()
        self.tree.setObjectName("followUpTree")
        self.tree.setColumnCount(5)
        self.tree.setHeaderLabels(
            [
                self.tr("Customer"),
                self.tr("Purpose"),
                self.tr("Due"),
                self.tr("Overdue"),
                self.tr("Owner"),
            ]
        )
        self.tree.setUniformRowHeights(True)
        # Chinese names need a little air above and below to read comfortably.
        self.tree.setStyleSheet("QTreeWidget#followUpTree::item { padding: 3px 2px; }")
        self.tree.setAlternatingRowColors(True)
        self.tree.setAllColumnsShowFocus(True)
        self.tree.setSelectionMode(QTreeWidget.SelectionMode.SingleSelection)
        self.tree.setContextMenuPolicy(Qt.ContextMenuPolicy.ActionsContextMenu)
        self.tree.addActions([self.open_action, self.complete_action])
        header = self.tree.header()
        header.setStretchLastSection(False)
        header.setSectionResizeMode(COL_PURPOSE, QHeaderView.ResizeMode.Stretch)
        for column, width in ((COL_CUSTOMER, 220), (COL_DUE, 120), (COL_OVERDUE, 110)):
            self.tree.setColumnWidth(column, width)
        self.tree.setColumnWidth(COL_OWNER, 110)
        # Double-click and Enter both arrive as "activated".
        self.tree.itemActivated.connect(self._on_activated)
        self.tree.currentItemChanged.connect(lambda *_: self._update_actions())

        self.empty = QWidget()
        self.empty.setObjectName("emptyState")
        empty_layout = QVBoxLayout(self.empty)
        empty_layout.addStretch(1)
        empty_title = QLabel(self.tr("No follow-ups due today. Well done."))
        empty_title.setObjectName("emptyTitle")
        empty_title.setAlignment(Qt.AlignmentFlag.AlignCenter)
        empty_title.setStyleSheet("font-size: 16px; font-weight: 600;")
        empty_layout.addWidget(empty_title)
        empty_note = QLabel(self.tr("New tasks appear here on the day they are due."))
        empty_note.setAlignment(Qt.AlignmentFlag.AlignCenter)
        empty_note.setStyleSheet(f"color: {MUTED_COLOUR};")
        empty_layout.addWidget(empty_note)
        empty_layout.addStretch(2)

        self.loading = QLabel(self.tr("Loading your follow-ups…"))
        self.loading.setAlignment(Qt.AlignmentFlag.AlignCenter)
        self.loading.setStyleSheet(f"color: {MUTED_COLOUR};")

        self.stack = QStackedWidget()
        for widget in (self.loading, self.empty, self.tree):
            self.stack.addWidget(widget)
        outer.addWidget(self.stack, 1)

        self.status = QLabel()
        self.status.setObjectName("status")
        self.status.setWordWrap(True)
        self.status.setStyleSheet(f"color: {DONE_COLOUR};")
        outer.addWidget(self.status)

        self._update_actions()
        ctx.runner.data_changed.connect(self._on_data_changed)

    # --- loading -----------------------------------------------------------------------------

    def activate(self) -> None:
        """The page is being shown: load the list, and keep it current from now on."""
        self._active = True
        self.refresh()

    def refresh(self) -> None:
        """Reload the list on the DB lane.

        Requests that arrive while a load runs are folded into one more load after it, so a
        burst of changes costs two queries, not one per change.
        """
        if self._loading:
            self._stale = True
            return
        self._loading, self._stale = True, False
        actor = self.ctx.actor
        today = day.today()
        self.ctx.runner.db(
            lambda session: load_due_list(session, actor, today),
            on_done=self._loaded,
            on_error=self._load_failed,
            name="due_follow_ups",
        )

    def _on_data_changed(self, changed: Changed) -> None:
        if self._active and changed.entity in REFRESH_ON:
            self.refresh()

    def _loaded(self, result: DueList) -> None:
        # The window rebuilds its pages on a language or user change; a late result for a
        # page that is gone is dropped.
        if not shiboken6.isValid(self):
            return
        self._loading = False
        if self._stale:
            self.refresh()  # this result is already out of date; show the next one
            return
        current = self.current_task()
        self._render(result, select_id=current.id if current else None)
        self.loaded.emit()

    def _load_failed(self, error: BaseException) -> None:
        if shiboken6.isValid(self):
            self._loading = False
        self.ctx.runner.unhandled_error.emit(error)  # the app's one error dialog

    def _render(self, data: DueList, *, select_id: str | None) -> None:
        self._data = data
        self.tree.clear()
        selected: QTreeWidgetItem | None = None
        first: QTreeWidgetItem | None = None
        for level, tasks in group_by_level(data.tasks):
            group = QTreeWidgetItem(self.tree)
            group.setText(
                COL_CUSTOMER,
                fill(self.tr("%1 (%2)"), labels.intent_level(level), len(tasks)),
            )
            group.setFlags(Qt.ItemFlag.ItemIsEnabled)
            font = QFont(group.font(COL_CUSTOMER))
            font.setBold(True)
            group.setFont(COL_CUSTOMER, font)
            group.setFirstColumnSpanned(True)
            for task in tasks:
                item = self._task_item(group, task, data)
                first = first or item
                if task.id == select_id:
                    selected = item
            group.setExpanded(True)

        overdue = sum(1 for task in data.tasks if task.due < data.today)
        due_today = len(data.tasks) - overdue
        self.summary.setText(
            fill(
                self.tr("%1 · Due today: %2 · Overdue: %3"),
                formatting.date(data.today),
                due_today,
                overdue,
            )
        )
        self.stack.setCurrentWidget(self.tree if data.tasks else self.empty)
        # Keep the user's place; otherwise start on the first task so Enter works at once.
        target = selected or first
        if target is not None:
            self.tree.setCurrentItem(target)
        self._update_actions()

    def _task_item(
        self, group: QTreeWidgetItem, task: FollowUpDTO, data: DueList
    ) -> QTreeWidgetItem:
        item = QTreeWidgetItem(group)
        item.setData(COL_CUSTOMER, TASK_ROLE, task)
        item.setText(COL_CUSTOMER, task.customer_name)
        item.setText(COL_PURPOSE, task.purpose or "")
        item.setText(COL_DUE, formatting.date(task.due))
        days = (data.today - task.due).days
        if days > 0:
            item.setText(COL_OVERDUE, self.tr("%n day(s)", "", days))
            item.setForeground(COL_OVERDUE, QBrush(QColor(ERROR_COLOUR)))
            font = QFont(item.font(COL_OVERDUE))
            font.setBold(True)
            item.setFont(COL_OVERDUE, font)
        else:
            item.setText(COL_OVERDUE, self.tr("Due today"))
            item.setForeground(COL_OVERDUE, QBrush(QColor(MUTED_COLOUR)))
        item.setText(COL_OWNER, data.owners.get(task.owner_id or "", ""))
        return item

    # --- actions -----------------------------------------------------------------------------

    def current_task(self) -> FollowUpDTO | None:
        """The task under the cursor, or None on a group title or an empty list."""
        item = self.tree.currentItem()
        return item.data(COL_CUSTOMER, TASK_ROLE) if item is not None else None

    def _update_actions(self) -> None:
        has_task = self.current_task() is not None
        for action, button in (
            (self.open_action, self.open_button),
            (self.complete_action, self.complete_button),
        ):
            action.setEnabled(has_task)
            button.setEnabled(has_task)

    def _on_activated(self, item: QTreeWidgetItem, _column: int) -> None:
        task = item.data(COL_CUSTOMER, TASK_ROLE)
        if task is not None:
            self.ctx.navigator.open_customer.emit(task.customer_id)

    def open_current(self) -> None:
        task = self.current_task()
        if task is not None:
            self.ctx.navigator.open_customer.emit(task.customer_id)

    def complete_current(self) -> None:
        """Open the completion dialog for the current task (no-op on a group title)."""
        task = self.current_task()
        if task is None or self.dialog is not None:
            return
        self.dialog = CompleteFollowUpDialog(self.ctx, task, parent=self)
        self.dialog.completed.connect(self._on_completed)
        self.dialog.finished.connect(self._dialog_closed)
        self.dialog.open()

    def _dialog_closed(self) -> None:
        if self.dialog is not None:
            self.dialog.deleteLater()
            self.dialog = None
        self.tree.setFocus()

    def _on_completed(self, result: CompletedFollowUp) -> None:
        # Take the row away now rather than waiting for the reload that data_changed brings.
        if self._data is not None:
            self._drop_task(result.done.id)
        name = result.done.customer_name
        if result.next is not None:
            text = fill(
                self.tr("Follow-up with %1 is done. The next one is due on %2."),
                name,
                formatting.date(result.next.due),
            )
        else:
            text = fill(self.tr("Follow-up with %1 is done. No next follow-up is scheduled."), name)
        self.status.setText(text)

    def _drop_task(self, task_id: str) -> None:
        shown = [task for _, tasks in group_by_level(self._data.tasks) for task in tasks]
        ids = [task.id for task in shown]
        if task_id not in ids:
            return
        index = ids.index(task_id)
        remaining = shown[:index] + shown[index + 1 :]
        # The next task in the list takes the cursor, so the user can carry on down it.
        neighbour = remaining[min(index, len(remaining) - 1)].id if remaining else None
        data = self._data
        kept = tuple(task for task in data.tasks if task.id != task_id)
        self._render(DueList(data.today, kept, data.owners), select_id=neighbour)


class CompleteFollowUpDialog(QDialog):
    """Close one follow-up with its outcome and, if wanted, schedule the next one.

    On opening, the proposed next date (today + the cadence of the customer's level) is worked
    out on the DB lane and put in the date field, which stays editable. Save runs
    ``complete_follow_up`` on the DB lane; an empty outcome is refused before anything is
    written, and a ValidationError from the service shows next to its field while the dialog
    stays open. On success ``completed`` carries the CompletedFollowUp and the dialog accepts.
    Enter saves, Esc cancels.
    """

    completed = Signal(object)  # CompletedFollowUp
    proposal_ready = Signal()

    def __init__(
        self,
        ctx: AppContext,
        task: FollowUpDTO,
        *,
        today: dt.date | None = None,
        parent: QWidget | None = None,
    ) -> None:
        super().__init__(parent)
        self.ctx = ctx
        self.task = task
        self.today = today or dt.date.today()
        self.proposed: dt.date | None = None
        self.proposal_loaded = False
        self._saving = False
        self.setWindowTitle(self.tr("Complete follow-up"))
        self.setMinimumWidth(520)

        layout = QVBoxLayout(self)
        layout.setSpacing(10)
        who = QLabel(f"<b>{html.escape(task.customer_name)}</b>")
        who.setStyleSheet("font-size: 15px;")
        layout.addWidget(who)
        facts = fill(
            self.tr("%1 · due %2"),
            labels.intent_level(task.intent_level),
            formatting.date(task.due),
        )
        if task.purpose:
            facts = fill(self.tr("%1 · %2"), facts, task.purpose)
        about = QLabel(facts)
        about.setWordWrap(True)
        about.setStyleSheet(f"color: {MUTED_COLOUR};")
        layout.addWidget(about)

        form = QFormLayout()
        form.setFieldGrowthPolicy(QFormLayout.FieldGrowthPolicy.AllNonFixedFieldsGrow)
        self.outcome = QLineEdit()
        self.outcome.setObjectName("outcome")
        self.outcome.setMaxLength(MAX_OUTCOME)
        self.outcome.setPlaceholderText(self.tr("What came of it, e.g. booked a test drive"))
        self.outcome.textEdited.connect(lambda _text: self.outcome_error.hide())
        self.outcome_error = _error_label("outcomeError")
        form.addRow(self.tr("Outcome"), self._column(self.outcome, self.outcome_error))

        self.schedule_next = QCheckBox(self.tr("Schedule next follow-up"))
        self.schedule_next.setObjectName("scheduleNext")
        self.schedule_next.setChecked(True)
        self.schedule_next.toggled.connect(self._schedule_toggled)
        form.addRow("", self.schedule_next)

        self.next_due = QDateEdit()
        self.next_due.setObjectName("nextDue")
        self.next_due.setCalendarPopup(True)
        # The service refuses a past date; the field does not offer one.
        self.next_due.setMinimumDate(_qdate(self.today))
        self.next_due.setDate(_qdate(self.today))
        self.next_due.setEnabled(False)  # until the proposal is in
        self.next_due.dateChanged.connect(lambda _date: self.next_due_error.hide())
        self.proposal = QLabel(self.tr("Working out the proposed date…"))
        self.proposal.setObjectName("proposal")
        self.proposal.setStyleSheet(f"color: {MUTED_COLOUR};")
        self.next_due_error = _error_label("nextDueError")
        form.addRow(
            self.tr("Next follow-up on"),
            self._column(self.next_due, self.proposal, self.next_due_error),
        )
        layout.addLayout(form)

        self.general_error = _error_label("generalError")
        layout.addWidget(self.general_error)

        self.buttons = QDialogButtonBox(
            QDialogButtonBox.StandardButton.Save | QDialogButtonBox.StandardButton.Cancel
        )
        self.save_button = self.buttons.button(QDialogButtonBox.StandardButton.Save)
        self.save_button.setText(self.tr("Save"))
        self.save_button.setDefault(True)
        self.buttons.button(QDialogButtonBox.StandardButton.Cancel).setText(self.tr("Cancel"))
        self.buttons.accepted.connect(self.accept)
        self.buttons.rejected.connect(self.reject)
        layout.addWidget(self.buttons)

        self.outcome.setFocus()
        self._load_proposal()

    @staticmethod
    def _column(*widgets: QWidget) -> QWidget:
        """A field with its notes and error stacked under it, so errors sit by their field."""
        box = QWidget()
        column = QVBoxLayout(box)
        column.setContentsMargins(0, 0, 0, 0)
        column.setSpacing(3)
        for widget in widgets:
            # A date field stays its natural width; labels and text fields take the row.
            stretch = isinstance(widget, QLabel | QLineEdit)
            column.addWidget(
                widget, 0, Qt.AlignmentFlag(0) if stretch else Qt.AlignmentFlag.AlignLeft
            )
        return box

    def _fit(self) -> None:
        # Text that arrives after the dialog is shown (the proposal, an error) wraps; a window
        # does not grow for wrapped text on its own, so make room for it here.
        self.layout().activate()
        needed = self.heightForWidth(self.width())
        if needed > self.height():
            self.resize(self.width(), needed)

    # --- the proposed date -------------------------------------------------------------------

    def _load_proposal(self) -> None:
        level, today = self.task.intent_level, self.today

        def propose(session) -> tuple[dt.date | None, int | None]:
            days = leads.cadence_days(session).get(level) if level else None
            return leads.next_due(session, level, today), days

        self.ctx.runner.db(propose, on_done=self._show_proposal, name="propose_next_due")

    def _show_proposal(self, result: tuple[dt.date | None, int | None]) -> None:
        if not shiboken6.isValid(self):
            return
        proposed, days = result
        level = self.task.intent_level
        self.proposed = proposed
        if proposed is not None and days:
            self.next_due.setDate(_qdate(proposed))
            text = fill(self.tr("Proposed from level %1 cadence: every %n day(s)", "", days), level)
        else:
            # No cadence (ordered, lost or unrated): nothing to propose, so nothing is planned
            # unless the user ticks the box and picks a date.
            self.schedule_next.setChecked(False)
            self.next_due.setDate(_qdate(self.today + dt.timedelta(days=1)))
            if level:
                text = fill(
                    self.tr("Level %1 has no follow-up cadence. Pick a date if you want one."),
                    level,
                )
            else:
                text = self.tr("This customer has no intent level. Pick a date if you want one.")
        self.proposal.setText(text)
        self._fit()
        self.proposal_loaded = True
        self.next_due.setEnabled(self.schedule_next.isChecked())
        self.proposal_ready.emit()

    def _schedule_toggled(self, checked: bool) -> None:
        self.next_due.setEnabled(checked and self.proposal_loaded and not self._saving)
        self.next_due_error.hide()

    def chosen_next_due(self) -> dt.date | None:
        """The date to pass on, or None to let the service use the cadence (or plan nothing)."""
        if not self.schedule_next.isChecked() or not self.proposal_loaded:
            return None
        return self.next_due.date().toPython()

    # --- saving ------------------------------------------------------------------------------

    def accept(self) -> None:
        if self._saving:
            return
        for label in (self.outcome_error, self.next_due_error, self.general_error):
            label.hide()
        outcome = self.outcome.text().strip()
        if not outcome:
            self._show_error(
                "outcome", self.tr("Outcome is required. Describe what came of this follow-up.")
            )
            return
        actor, task_id = self.ctx.actor, self.task.id
        next_due, schedule = self.chosen_next_due(), self.schedule_next.isChecked()
        self._set_saving(True)
        self.ctx.runner.db(
            lambda session: complete_follow_up(
                session, actor, task_id, outcome, next_due=next_due, schedule_next=schedule
            ),
            write=True,
            changed=lambda result: Changed("follow_up", (result.done.id,), "updated"),
            on_done=self._saved,
            on_error=self._failed,
            name="complete_follow_up",
        )

    def reject(self) -> None:
        # The write is already on its way; closing now would hide its outcome.
        if not self._saving:
            super().reject()

    def _set_saving(self, saving: bool) -> None:
        self._saving = saving
        self.buttons.setEnabled(not saving)
        self.outcome.setEnabled(not saving)
        self.schedule_next.setEnabled(not saving)
        self.next_due.setEnabled(
            not saving and self.proposal_loaded and self.schedule_next.isChecked()
        )

    def _saved(self, result: CompletedFollowUp) -> None:
        if not shiboken6.isValid(self):
            return
        self._set_saving(False)
        self.completed.emit(result)
        super().accept()

    def _failed(self, error: BaseException) -> None:
        if not shiboken6.isValid(self):
            return
        self._set_saving(False)
        if isinstance(error, ValidationError) and error.field in ("outcome", "next_due"):
            self._show_error(error.field, error.message(self.ctx.language))
        elif isinstance(error, ShowroomError):
            self._show_error(None, error.message(self.ctx.language))
        else:
            self._show_error(None, self.tr("The follow-up could not be saved."))
            self.ctx.runner.unhandled_error.emit(error)

    def _show_error(self, field: str | None, message: str) -> None:
        label, widget = {
            "outcome": (self.outcome_error, self.outcome),
            "next_due": (self.next_due_error, self.next_due),
        }.get(field or "", (self.general_error, None))
        label.setText(message)
        label.show()
        self._fit()
        if widget is not None:
            widget.setFocus()
