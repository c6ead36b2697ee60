"""Conflict review: what two laptops disagreed about, side by side, and a manager's choice.

The first tab lists the conflicts the server recorded (open or resolved); the detail panel
shows the value before both edits, the one that was overwritten and the one in place, with who
made each, and a button per allowed choice. Double bookings of a demo car show both bookings.
The second tab lists local changes the server refused, with its reason. Every query and choice
runs on the DB lane; a choice is a synced edit like any other.
"""

from __future__ import annotations

import datetime as dt
import json
from decimal import Decimal
from typing import Any

import shiboken6
from PySide6.QtCore import Qt, Signal
from PySide6.QtGui import QAction, QKeySequence
from PySide6.QtWidgets import (
    QComboBox,
    QHBoxLayout,
    QHeaderView,
    QLabel,
    QPushButton,
    QSplitter,
    QStackedWidget,
    QTabWidget,
    QTreeWidget,
    QTreeWidgetItem,
    QVBoxLayout,
    QWidget,
)

from showroom.errors import ShowroomError
from showroom.services import conflicts as service
from showroom.services.conflicts import (
    ERASED,
    KIND_DECIDED_TWICE,
    MERGED,
    SETTLED_DECISION,
    BookingDTO,
    ConflictDTO,
    RejectedChangeDTO,
)
from showroom.services.dto import Changed
from showroom.services.quotes import QUOTE_SETTLED
from ui import formatting, labels
from ui.context import AppContext
from ui.i18n import tr
from ui.quotes.texts import status_text as quote_status
from ui.widgets import ERROR_COLOUR, MUTED_COLOUR, Section, clear_layout, muted_label

ITEM_ROLE = Qt.ItemDataRole.UserRole
REFRESH_ON = frozenset({"sync_conflict", "customer", "test_drive"})
DONE_COLOUR = "#2e7d32"


# --- words ------------------------------------------------------------------------------------


def kind_text(kind: str) -> str:
    return {
        "field": tr("Same field changed on two laptops"),
        "delete_edit": tr("Edited on one laptop, deleted on another"),
        "double_booking": tr("Demo car booked twice"),
        KIND_DECIDED_TWICE: tr("Decided differently on two laptops"),
    }.get(kind, kind)


def choice_text(kind: str, choice: str, merged_into: str | None = None) -> str:
    if choice == service.APPLY_TO_MERGED:
        return tr("Apply the edit to %1, the record it was merged into").replace(
            "%1", merged_into or ""
        )
    texts = {
        ("field", "keep"): tr("Keep the current value"),
        ("field", "revert"): tr("Restore the overwritten value"),
        ("delete_edit", "keep"): tr("Keep it deleted"),
        ("delete_edit", "restore"): tr("Restore the record with the edit"),
        ("double_booking", "keep"): tr("Keep both bookings"),
        ("double_booking", "cancel_other"): tr("Cancel the other booking"),
        ("double_booking", "cancel_this"): tr("Cancel this booking"),
    }
    return texts.get((kind, choice)) or (tr("Mark as reviewed") if choice == "keep" else choice)


def resolution_text(resolution: str | None) -> str:
    return {
        "kept": tr("Kept as it is"),
        "reverted": tr("Overwritten value restored"),
        "restored": tr("Record restored"),
        service.RESOLUTIONS[service.APPLY_TO_MERGED]: tr(
            "Edit applied to the record it was merged into"
        ),
        "cancelled_other": tr("Other booking cancelled"),
        "cancelled_this": tr("This booking cancelled"),
        ERASED: tr("Closed: the customer's personal data was erased"),
        MERGED: tr("Closed: the customer kept by the merge holds this change"),
        SETTLED_DECISION: tr("Closed: the later decision stands"),
        QUOTE_SETTLED: tr("Closed: the quote was worked out again"),
    }.get(resolution or "", resolution or "")


BOOKING_STATUSES = ("booked", "done", "cancelled")
MONEY_FIELDS = frozenset({"discount", "total", "vehicle_price", "unit_price", "dealer_cost"})


def booking_status(code: str) -> str:
    return {"booked": tr("Booked"), "done": tr("Done"), "cancelled": tr("Cancelled")}.get(
        code, code
    )


def _printed_text(value: Any) -> str:
    """What a printed quote held, in short: its total and how many lines."""
    try:
        printed = json.loads(value)
        total = formatting.money(Decimal(printed["total"]))
        count = len(printed["lines"])
    except (TypeError, ValueError, KeyError, ArithmeticError):
        return str(value)
    return tr("Total %1, %2 lines").replace("%1", total).replace("%2", str(count))


def format_value(field: str | None, value: Any, people: dict[str, str]) -> str:
    """A stored value as a person reads it: names for staff ids, words for codes, local dates."""
    if value is None or value == "":
        return tr("(empty)")
    if isinstance(value, bool):
        return tr("Yes") if value else tr("No")
    if field in service.PERSON_FIELDS and isinstance(value, str):
        return people.get(value, value[:8])
    if field == "intent_level":
        return labels.intent_level(value)
    if field == "lifecycle_stage":
        return labels.lifecycle_stage(value)
    if field == "source":
        return labels.source(value)
    if field == "gender":
        return labels.gender(value)
    if field == "kind":
        return labels.kind(value)
    if field == "status":
        # A test drive's or a quote's: the two sets of codes share only "cancelled".
        return booking_status(value) if value in BOOKING_STATUSES else quote_status(value)
    if field in MONEY_FIELDS:
        try:
            return formatting.money(Decimal(str(value)))
        except ArithmeticError:  # a malformed value from elsewhere: shown as it is
            return str(value)
    if field == "resolution":
        return resolution_text(value)
    if field == "issued_snapshot":
        return _printed_text(value)
    if isinstance(value, str) and len(value) >= 10 and value[4:5] == "-" and value[7:8] == "-":
        try:
            if len(value) == 10:
                return formatting.date(dt.date.fromisoformat(value))
            moment = dt.datetime.fromisoformat(value)
            if moment.tzinfo is not None:
                return formatting.datetime(moment)
        except ValueError:
            pass
    if isinstance(value, dict | list):
        return json.dumps(value, ensure_ascii=False)
    return str(value)


def fields_named(conflict: ConflictDTO, language: str) -> list[str]:
    """The fields a conflict is about, as people call them. A conflict decided twice names the
    field of the conflict decided, and its own field only where that is not the decision."""
    names = []
    decided = conflict.decided
    if decided is not None and decided.field:
        names.append(decided.field_label(language))
    if conflict.field and not (decided is not None and conflict.field == "resolution"):
        names.append(conflict.field_label(language))
    return names


def what_text(conflict: ConflictDTO, language: str) -> str:
    """What a conflict is about, in the list: the field for a field conflict, else the fields
    (where any) and the kind."""
    parts = fields_named(conflict, language)
    if conflict.kind != "field" or not parts:
        parts.append(kind_text(conflict.kind))
    return " · ".join(parts)


def state_text(conflict: ConflictDTO) -> str:
    """Where a conflict stands: waiting, closed by the sync (and why), or who decided what."""
    if conflict.status == "open":
        return tr("Waiting for a manager's decision.")
    if conflict.resolution == ERASED:
        return tr("Closed at %1: the customer's personal data was erased.").replace(
            "%1", formatting.datetime(conflict.resolved_at)
        )
    if conflict.resolution == SETTLED_DECISION:
        # Two managers decided one conflict; this one only says who and when.
        return tr(
            "Closed by the sync: the conflict was decided on two laptops, "
            "and the later decision stands."
        )
    if conflict.resolution == QUOTE_SETTLED:
        # Two laptops each computed the quote's total, or approved it, from their own edit.
        return tr(
            "Closed by the sync: the quote was changed on two laptops; its total and its "
            "approval were worked out again from its price, discount and lines."
        )
    if conflict.resolution == MERGED:
        # Two laptops merged the pair each the other way round; the sync kept one record.
        return tr(
            "Closed by the sync: this customer's two records were merged into one, "
            "which holds this change."
        )
    return (
        tr("Resolved: %1 by %2 at %3")
        .replace("%3", formatting.datetime(conflict.resolved_at))
        .replace("%2", conflict.resolved_by or tr("someone"))
        .replace("%1", resolution_text(conflict.resolution))
    )


def record_now_lines(decided: ConflictDTO | None) -> list[str]:
    """The record as it is now, for a conflict decided on two laptops: both decisions' changes
    may be in place, whatever the conflict row says."""
    if decided is None:
        return [tr("The conflict decided is not on this laptop yet.")]
    if decided.kind == "double_booking":
        return [
            tr("This booking: %1").replace(
                "%1", booking_status(decided.booking.status) if decided.booking else "—"
            ),
            tr("Overlapping booking: %1").replace(
                "%1", booking_status(decided.other_booking.status) if decided.other_booking else "—"
            ),
        ]
    if decided.kind == "delete_edit":
        if decided.record_deleted and decided.merged_into_label:
            return [tr("Merged into %1").replace("%1", decided.merged_into_label)]
        return [tr("Deleted") if decided.record_deleted else tr("Restored")]
    if decided.record_deleted:
        return [tr("Deleted")]
    return [format_value(decided.field, decided.current, decided.people)]


def device_text(device: str | None, this_device: bool) -> str:
    if this_device:
        return tr("this laptop")
    if not device:
        return tr("unknown laptop")
    return tr("laptop %1").replace("%1", device[:8])


def who_text(person: str | None, device: str | None, this_device: bool) -> str:
    return (
        tr("%1 on %2")
        .replace("%2", device_text(device, this_device))
        .replace("%1", person or tr("someone"))
    )


def booking_lines(booking: BookingDTO | None) -> list[str]:
    if booking is None:
        return [tr("This booking is not on this laptop yet.")]
    times = f"{formatting.datetime(booking.starts_at)} – {formatting.datetime(booking.ends_at)}"
    lines = [
        booking.customer_name,
        tr("Demo car: %1").replace("%1", booking.demo_car),
        times,
        tr("Salesperson: %1").replace("%1", booking.salesperson_name or "—"),
        tr("Status: %1").replace("%1", booking_status(booking.status)),
    ]
    if booking.deleted:
        lines.append(tr("Deleted"))
    return lines


# --- the page ---------------------------------------------------------------------------------


class ConflictsPage(QWidget):
    """Managers review conflicts and rejected changes here; others see why they cannot.

    ``activate()`` loads both lists; the page reloads after a choice and after any change to
    conflicts, customers or test drives once it has been shown. ``loaded`` fires after each
    load is on screen, ``resolved`` after a choice was saved (with the updated conflict).
    """

    loaded = Signal()
    resolved = Signal(object)  # ConflictDTO

    def __init__(self, ctx: AppContext, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.ctx = ctx
        self.conflicts: list[ConflictDTO] = []
        self.rejected: list[RejectedChangeDTO] = []
        self._active = False
        self._loading = False
        self._stale = False
        self._busy = False
        self.choice_buttons: dict[str, QPushButton] = {}

        outer = QVBoxLayout(self)
        outer.setContentsMargins(24, 24, 24, 16)
        outer.setSpacing(10)
        top = QHBoxLayout()
        titles = QVBoxLayout()
        titles.setSpacing(4)
        heading = QLabel(tr("Sync conflicts"))
        heading.setStyleSheet("font-size: 20px; font-weight: 600;")
        titles.addWidget(heading)
        self.summary = muted_label(tr("Loading…"))
        self.summary.setObjectName("summary")
        titles.addWidget(self.summary)
        top.addLayout(titles, 1)
        self.refresh_action = QAction(tr("Refresh"), self)
        self.refresh_action.setShortcut(QKeySequence.StandardKey.Refresh)
        self.refresh_action.setShortcutContext(Qt.ShortcutContext.WidgetWithChildrenShortcut)
        self.refresh_action.triggered.connect(self.refresh)
        self.addAction(self.refresh_action)
        self.refresh_button = QPushButton(tr("Refresh"))
        self.refresh_button.setToolTip(tr("Reload the lists (F5)"))
        self.refresh_button.setAutoDefault(False)
        self.refresh_button.clicked.connect(self.refresh)
        top.addWidget(self.refresh_button, 0, Qt.AlignmentFlag.AlignBottom)
        outer.addLayout(top)

        self.message = QLabel()
        self.message.setObjectName("message")
        self.message.setWordWrap(True)
        self.message.hide()
        outer.addWidget(self.message)

        self.stack = QStackedWidget()
        outer.addWidget(self.stack, 1)
        self.denied = QLabel(
            tr("Only managers and administrators can review sync conflicts and rejected changes.")
        )
        self.denied.setObjectName("denied")
        self.denied.setAlignment(Qt.AlignmentFlag.AlignCenter)
        self.denied.setWordWrap(True)
        self.denied.setStyleSheet(f"color: {MUTED_COLOUR}; font-size: 15px;")
        self.stack.addWidget(self.denied)

        self.tabs = QTabWidget()
        self.tabs.setObjectName("tabs")
        self.tabs.addTab(self._build_conflicts_tab(), tr("Conflicts"))
        self.tabs.addTab(self._build_rejected_tab(), tr("Rejected changes"))
        self.stack.addWidget(self.tabs)
        self.stack.setCurrentWidget(self.tabs if ctx.actor.is_manager else self.denied)
        self.refresh_button.setEnabled(ctx.actor.is_manager)
        ctx.runner.data_changed.connect(self._on_data_changed)
        self._show_detail(None)

    @property
    def allowed(self) -> bool:
        return self.ctx.actor.is_manager

    # --- building ----------------------------------------------------------------------------

    def _build_conflicts_tab(self) -> QWidget:
        tab = QWidget()
        layout = QVBoxLayout(tab)
        layout.setContentsMargins(0, 8, 0, 0)
        row = QHBoxLayout()
        row.addWidget(QLabel(tr("Show")))
        self.filter = QComboBox()
        self.filter.setObjectName("filter")
        self.filter.addItem(tr("Open"), "open")
        self.filter.addItem(tr("Resolved"), "resolved")
        self.filter.addItem(tr("All"), "all")
        self.filter.currentIndexChanged.connect(self.refresh)
        row.addWidget(self.filter)
        row.addStretch(1)
        layout.addLayout(row)

        splitter = QSplitter(Qt.Orientation.Horizontal)
        self.list = QTreeWidget()
        self.list.setObjectName("conflictList")
        self.list.setRootIsDecorated(False)
        self.list.setUniformRowHeights(True)
        self.list.setAllColumnsShowFocus(True)
        self.list.setAlternatingRowColors(True)
        self.list.setHeaderLabels([tr("Detected"), tr("Record"), tr("What")])
        self.list.setStyleSheet("QTreeWidget::item { padding: 3px 2px; }")
        self.list.header().setSectionResizeMode(2, QHeaderView.ResizeMode.Stretch)
        self.list.setColumnWidth(0, 130)
        self.list.setColumnWidth(1, 150)
        self.list.currentItemChanged.connect(lambda item, _prev: self._show_detail(item))
        self.list.itemActivated.connect(lambda *_: self._focus_choices())
        splitter.addWidget(self.list)

        self.detail = QWidget()
        self.detail.setObjectName("detail")
        detail = QVBoxLayout(self.detail)
        detail.setContentsMargins(12, 0, 0, 0)
        detail.setSpacing(8)
        self.detail_title = QLabel()
        self.detail_title.setObjectName("detailTitle")
        self.detail_title.setWordWrap(True)
        self.detail_title.setStyleSheet("font-size: 16px; font-weight: bold; color: #1f2d3d;")
        detail.addWidget(self.detail_title)
        self.detail_kind = muted_label()
        self.detail_kind.setWordWrap(True)
        detail.addWidget(self.detail_kind)
        self.sides = QHBoxLayout()
        self.sides.setSpacing(10)
        detail.addLayout(self.sides)
        self.detail_state = QLabel()
        self.detail_state.setObjectName("detailState")
        self.detail_state.setWordWrap(True)
        detail.addWidget(self.detail_state)
        self.choices = QHBoxLayout()
        self.choices.setSpacing(8)
        detail.addLayout(self.choices)
        self.open_customer = QPushButton(tr("Open customer"))
        self.open_customer.setObjectName("openCustomer")
        self.open_customer.setAutoDefault(False)
        self.open_customer.clicked.connect(self._open_customer)
        row = QHBoxLayout()
        row.addWidget(self.open_customer)
        row.addStretch(1)
        detail.addLayout(row)
        detail.addStretch(1)
        self.empty_detail = muted_label()
        self.empty_detail.setObjectName("emptyDetail")
        self.empty_detail.setAlignment(Qt.AlignmentFlag.AlignCenter)
        self.empty_detail.setWordWrap(True)
        self.detail_stack = QStackedWidget()
        self.detail_stack.addWidget(self.empty_detail)
        self.detail_stack.addWidget(self.detail)
        splitter.addWidget(self.detail_stack)
        splitter.setStretchFactor(0, 2)
        splitter.setStretchFactor(1, 3)
        splitter.setSizes([420, 640])
        layout.addWidget(splitter, 1)
        return tab

    def _build_rejected_tab(self) -> QWidget:
        tab = QWidget()
        layout = QVBoxLayout(tab)
        layout.setContentsMargins(0, 8, 0, 0)
        note = muted_label(
            tr(
                "The server refused these changes made on this laptop. They were not applied"
                " anywhere; re-enter them if they are still needed, then dismiss them here."
            )
        )
        note.setWordWrap(True)
        layout.addWidget(note)
        self.rejected_list = QTreeWidget()
        self.rejected_list.setObjectName("rejectedList")
        self.rejected_list.setRootIsDecorated(False)
        self.rejected_list.setAllColumnsShowFocus(True)
        self.rejected_list.setAlternatingRowColors(True)
        self.rejected_list.setHeaderLabels(
            [tr("Made"), tr("Record"), tr("Change"), tr("Reason"), tr("By")]
        )
        self.rejected_list.header().setSectionResizeMode(3, QHeaderView.ResizeMode.Stretch)
        for column, width in ((0, 130), (1, 150), (2, 240)):
            self.rejected_list.setColumnWidth(column, width)
        self.rejected_list.currentItemChanged.connect(lambda *_: self._update_rejected_actions())
        layout.addWidget(self.rejected_list, 1)
        row = QHBoxLayout()
        self.dismiss_button = QPushButton(tr("Dismiss"))
        self.dismiss_button.setObjectName("dismiss")
        self.dismiss_button.setToolTip(tr("Set this change aside (Delete)"))
        self.dismiss_button.setAutoDefault(False)
        self.dismiss_button.clicked.connect(self.dismiss_current)
        dismiss = QAction(self.rejected_list)
        dismiss.setShortcut(QKeySequence.StandardKey.Delete)
        dismiss.setShortcutContext(Qt.ShortcutContext.WidgetShortcut)
        dismiss.triggered.connect(self.dismiss_current)
        self.rejected_list.addAction(dismiss)
        row.addWidget(self.dismiss_button)
        row.addStretch(1)
        layout.addLayout(row)
        self._update_rejected_actions()
        return tab

    # --- loading -----------------------------------------------------------------------------

    def activate(self) -> None:
        self._active = True
        self.refresh()

    def refresh(self) -> None:
        if not self.allowed:
            self.summary.setText(tr("Managers only"))
            return
        if self._loading:
            self._stale = True
            return
        self._loading, self._stale = True, False
        actor, status = self.ctx.actor, self.filter.currentData() or "open"

        def job(session):
            return (
                service.list_conflicts(session, actor, status),
                service.list_rejected(session),
            )

        self.ctx.runner.db(job, on_done=self._loaded, on_error=self._load_failed, name="conflicts")

    def _on_data_changed(self, changed: Changed) -> None:
        if self._active and changed.entity in REFRESH_ON and shiboken6.isValid(self):
            self.refresh()

    def _load_failed(self, error: BaseException) -> None:
        if shiboken6.isValid(self):
            self._loading = False
        self.ctx.runner.unhandled_error.emit(error)

    def _loaded(self, result) -> None:
        if not shiboken6.isValid(self):
            return
        self._loading = False
        if self._stale:
            self.refresh()
            return
        self.conflicts, self.rejected = result
        current = self.current_conflict()
        self._fill_conflicts(current.id if current else None)
        self._fill_rejected()
        self.loaded.emit()

    def _fill_conflicts(self, select_id: str | None) -> None:
        self.list.blockSignals(True)
        self.list.clear()
        chosen = None
        for conflict in self.conflicts:
            item = QTreeWidgetItem(self.list)
            item.setData(0, ITEM_ROLE, conflict)
            item.setText(0, formatting.datetime(conflict.detected_at))
            item.setText(1, conflict.record_label)
            # The field says most about a field conflict; the detail panel names the kind.
            what = what_text(conflict, self.ctx.language)
            item.setToolTip(2, kind_text(conflict.kind))
            if conflict.status != "open":
                what = f"{what} — {resolution_text(conflict.resolution)}"
            item.setText(2, what)
            if conflict.id == select_id:
                chosen = item
        self.list.blockSignals(False)
        target = chosen or self.list.topLevelItem(0)
        if target is not None:
            self.list.setCurrentItem(target)
        self._show_detail(target)
        open_count = sum(1 for c in self.conflicts if c.status == "open")
        status = self.filter.currentData()
        if status == "open":
            text = tr("Open conflicts: %1").replace("%1", str(open_count))
        else:
            text = tr("Conflicts shown: %1").replace("%1", str(len(self.conflicts)))
        text += " · " + tr("Rejected changes: %1").replace("%1", str(len(self.rejected)))
        self.summary.setText(text)
        self.tabs.setTabText(0, tr("Conflicts (%1)").replace("%1", str(len(self.conflicts))))
        self.tabs.setTabText(1, tr("Rejected changes (%1)").replace("%1", str(len(self.rejected))))

    def _fill_rejected(self) -> None:
        self.rejected_list.clear()
        for change in self.rejected:
            item = QTreeWidgetItem(self.rejected_list)
            item.setData(0, ITEM_ROLE, change)
            item.setText(0, formatting.datetime(change.created_at))
            item.setText(1, change.record_label)
            fields = "；".join(
                f"{service.field_label(name, self.ctx.language)}: {format_value(name, value, {})}"
                for name, value in change.fields.items()
                if name not in ("id", "deleted") or change.op == "delete"
            )
            item.setText(2, fields or change.op)
            item.setToolTip(2, fields)
            item.setText(3, change.reason)
            item.setToolTip(3, change.reason)
            item.setText(4, change.made_by or "")
        if self.rejected:
            self.rejected_list.setCurrentItem(self.rejected_list.topLevelItem(0))
        self._update_rejected_actions()

    # --- detail ------------------------------------------------------------------------------

    def current_conflict(self) -> ConflictDTO | None:
        item = self.list.currentItem()
        return item.data(0, ITEM_ROLE) if item is not None else None

    def _show_detail(self, item: QTreeWidgetItem | None) -> None:
        conflict = item.data(0, ITEM_ROLE) if item is not None else None
        clear_layout(self.sides)
        clear_layout(self.choices)
        self.choice_buttons = {}
        if conflict is None:
            self.empty_detail.setText(
                tr("No open conflicts. Everything the laptops sent has been applied.")
                if (self.filter.currentData() or "open") == "open"
                else tr("Nothing to show.")
            )
            self.detail_stack.setCurrentWidget(self.empty_detail)
            return
        self.detail_stack.setCurrentWidget(self.detail)
        language = self.ctx.language
        decided = conflict.decided
        self.detail_title.setText(
            " · ".join([conflict.record_label, *fields_named(conflict, language)])
        )
        what = [kind_text(conflict.kind)]
        if decided is not None:
            what.append(kind_text(decided.kind))
        else:
            what.append(conflict.table_label(language))
        what.append(tr("Detected %1").replace("%1", formatting.datetime(conflict.detected_at)))
        self.detail_kind.setText(" · ".join(what))
        for heading, lines, highlight in self._sides(conflict):
            card = Section(heading)
            card.setMinimumWidth(150)
            for index, line in enumerate(lines):
                label = QLabel(line)
                label.setWordWrap(True)
                label.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
                if index == 0:
                    label.setObjectName("sideValue")
                    label.setStyleSheet(
                        "font-size: 14px; font-weight: bold;"
                        + (" color: #2f6fb3;" if highlight else "")
                    )
                else:
                    label.setStyleSheet(f"color: {MUTED_COLOUR};")
                card.body.addWidget(label)
            card.body.addStretch(1)  # values line up at the top of every card
            self.sides.addWidget(card, 1)
            card.show()  # now, not on the next event loop pass: the page reads as it is

        self.detail_state.setText(state_text(conflict))
        colour = ERROR_COLOUR if conflict.status == "open" else DONE_COLOUR
        self.detail_state.setStyleSheet(f"color: {colour};")
        for choice in conflict.choices:
            button = QPushButton(choice_text(conflict.kind, choice, conflict.merged_into_label))
            button.setObjectName(f"choice_{choice}")
            button.setAutoDefault(True)
            button.clicked.connect(lambda _checked=False, c=choice: self.choose(c))
            self.choices.addWidget(button)
            button.show()
            self.choice_buttons[choice] = button
        self.choices.addStretch(1)
        self.open_customer.setVisible(conflict.customer_id is not None)
        self._set_busy(self._busy)

    def _sides(self, c: ConflictDTO) -> list[tuple[str, list[str], bool]]:
        """(heading, lines, highlighted) per card: the first line is the value."""
        theirs_who = who_text(c.theirs_by, c.theirs_device, c.theirs_is_this_device)
        mine_who = who_text(c.mine_by, c.mine_device, c.mine_is_this_device)
        if c.kind == "double_booking":
            return [
                (tr("This booking"), booking_lines(c.booking), False),
                (tr("Overlapping booking"), booking_lines(c.other_booking), False),
            ]
        # The value that arrived first (overwritten, highlighted) and the one in place now.
        both = [
            ([format_value(c.field, c.theirs, c.people), theirs_who], True),
            ([format_value(c.field, c.mine, c.people), mine_who], False),
        ]
        if c.kind == KIND_DECIDED_TWICE:
            headings = (tr("Decided first (overwritten)"), tr("Decided later (in place now)"))
            return [
                *((h, lines, lit) for h, (lines, lit) in zip(headings, both, strict=True)),
                (tr("The record now"), record_now_lines(c.decided), False),
            ]
        if c.kind == "delete_edit":
            edit_text = "；".join(
                f"{service.field_label(k, self.ctx.language)}: {format_value(k, v, c.people)}"
                for k, v in c.kept_edit.items()
            ) or tr("(empty)")
            if c.record_deleted and c.merged_into_label:
                now = tr("Merged into %1").replace("%1", c.merged_into_label)
            else:
                now = tr("Deleted") if c.record_deleted else tr("Restored")
            edited_by, deleted_by = (
                (mine_who, theirs_who) if c.kept_edit_side == "mine" else (theirs_who, mine_who)
            )
            return [
                (tr("What a restore brings back"), [edit_text, edited_by], True),
                (tr("Now"), [now, deleted_by], False),
            ]
        headings = (tr("Overwritten (arrived first)"), tr("In place now (arrived later)"))
        return [
            (tr("Before both changes"), [format_value(c.field, c.base, c.people)], False),
            *((h, lines, lit) for h, (lines, lit) in zip(headings, both, strict=True)),
        ]

    def _focus_choices(self) -> None:
        if self.choice_buttons:
            next(iter(self.choice_buttons.values())).setFocus()

    def _open_customer(self) -> None:
        conflict = self.current_conflict()
        if conflict is not None and conflict.customer_id:
            self.ctx.navigator.open_customer.emit(conflict.customer_id)

    def _set_busy(self, busy: bool) -> None:
        self._busy = busy
        for button in self.choice_buttons.values():
            button.setEnabled(not busy)
        self.dismiss_button.setEnabled(not busy and self._current_rejected() is not None)

    def _say(self, text: str, colour: str) -> None:
        self.message.setText(text)
        self.message.setStyleSheet(f"color: {colour};")
        self.message.setVisible(bool(text))

    # --- choosing ----------------------------------------------------------------------------

    def choose(self, choice: str) -> None:
        """Save ``choice`` for the current conflict on the DB lane."""
        conflict = self.current_conflict()
        if conflict is None or self._busy:
            return
        actor, conflict_id = self.ctx.actor, conflict.id
        self._set_busy(True)

        def changed(dto: ConflictDTO) -> Changed:
            if dto.customer_id:
                return Changed("customer", (dto.customer_id,), "updated")
            return Changed(dto.table_name, (dto.row_id,), "updated")

        self.ctx.runner.db(
            lambda session: service.resolve_conflict(session, actor, conflict_id, choice),
            write=True,
            on_done=self._resolved,
            on_error=self._failed,
            changed=changed,
            name="resolve-conflict",
        )

    def _resolved(self, dto: ConflictDTO) -> None:
        if not shiboken6.isValid(self):
            return
        self._set_busy(False)
        self._say(
            tr("%1: %2. The decision syncs to the other laptops.")
            .replace("%2", resolution_text(dto.resolution))
            .replace("%1", dto.record_label),
            DONE_COLOUR,
        )
        self.resolved.emit(dto)
        self.refresh()
        self.list.setFocus()

    def _failed(self, error: BaseException) -> None:
        if not shiboken6.isValid(self):
            return
        self._set_busy(False)
        if isinstance(error, ShowroomError):
            self._say(error.message(self.ctx.language), ERROR_COLOUR)
            self.refresh()
        else:
            self.ctx.runner.unhandled_error.emit(error)

    def _current_rejected(self) -> RejectedChangeDTO | None:
        item = self.rejected_list.currentItem()
        return item.data(0, ITEM_ROLE) if item is not None else None

    def _update_rejected_actions(self) -> None:
        self.dismiss_button.setEnabled(not self._busy and self._current_rejected() is not None)

    def dismiss_current(self) -> None:
        change = self._current_rejected()
        if change is None or self._busy:
            return
        actor, seq = self.ctx.actor, change.seq
        self._set_busy(True)
        self.ctx.runner.db(
            lambda session: service.dismiss_rejected(session, actor, seq),
            write=True,
            on_done=self._dismissed,
            on_error=self._failed,
            changed=lambda _seq: Changed("sync_conflict", (), "updated"),
            name="dismiss-rejected",
        )

    def _dismissed(self, _seq: int) -> None:
        if not shiboken6.isValid(self):
            return
        self._set_busy(False)
        self._say(tr("The rejected change was dismissed."), DONE_COLOUR)
