"""Quick actions on one customer: log an interaction, change the level, assign, add a vehicle.

Each is a small dialog that runs one service call on the DB lane. It closes on success, emits
``Changed("customer", (customer_id,), "updated")`` on ``ctx.runner.data_changed`` (the 360 view
and the lists refresh from that), and shows a ValidationError under the field it names.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from typing import Any

from PySide6.QtCore import QDate, Qt, Signal
from PySide6.QtWidgets import (
    QCheckBox,
    QComboBox,
    QDateEdit,
    QDialog,
    QDialogButtonBox,
    QFormLayout,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QMessageBox,
    QPlainTextEdit,
    QVBoxLayout,
    QWidget,
)

from showroom.services import customers, dealer, interactions, leads
from showroom.services.customers import DuplicateCustomerError, VehicleDraft
from showroom.services.dto import Changed
from showroom.vocabulary import (
    DEFAULT_CADENCE_DAYS,
    Direction,
    IntentLevel,
    InteractionChannel,
    Role,
)
from ui import labels
from ui.context import AppContext
from ui.i18n import tr
from ui.widgets import Field, FieldError, FormErrors, guarded, report_error

DATE_FORMAT = "yyyy-MM-dd"


def customer_changed(customer_id: str) -> Callable[[Any], Changed]:
    """What every quick action changed: the customer's record as the 360 view shows it."""
    return lambda _result: Changed("customer", (customer_id,), "updated")


def fill_staff_combo(
    combo: QComboBox, users, selected_id: str | None, *, none_text: str | None = None
) -> None:
    """Salespeople in ``combo`` (plus whoever is selected now, whatever their role).

    With ``none_text``, a first item with no user stands for "unassigned".
    """
    combo.clear()
    if none_text is not None:
        combo.addItem(none_text, None)
    for user in users:
        if user.role == Role.SALESPERSON or user.id == selected_id:
            combo.addItem(user.display_name, user.id)
    index = combo.findData(selected_id)
    combo.setCurrentIndex(max(index, 0))


class ActionDialog(QDialog):
    """Base of the quick-action dialogs: an aligned form, OK/Cancel, one job on the DB lane.

    Subclasses build their rows with ``add_row`` and call ``submit`` from ``accept``.
    ``succeeded`` carries the service's result after the dialog closed.
    """

    succeeded = Signal(object)

    def __init__(
        self, ctx: AppContext, customer_id: str, title: str, parent: QWidget | None = None
    ) -> None:
        super().__init__(parent)
        self.ctx = ctx
        self.customer_id = customer_id
        self.setWindowTitle(title)
        self.setAttribute(Qt.WidgetAttribute.WA_DeleteOnClose)
        self.setMinimumWidth(460)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(20, 18, 20, 16)
        layout.setSpacing(12)
        heading = QLabel(title)
        heading.setStyleSheet("font-size: 16px; font-weight: bold;")
        layout.addWidget(heading)
        self.form = QFormLayout()
        self.form.setLabelAlignment(Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignTop)
        self.form.setHorizontalSpacing(12)
        self.form.setVerticalSpacing(8)
        self.form.setFieldGrowthPolicy(QFormLayout.FieldGrowthPolicy.AllNonFixedFieldsGrow)
        layout.addLayout(self.form)
        self.general_error = FieldError()
        layout.addWidget(self.general_error)
        self.errors = FormErrors(lambda: self.ctx.language, self.general_error)
        self.buttons = QDialogButtonBox(
            QDialogButtonBox.StandardButton.Ok | QDialogButtonBox.StandardButton.Cancel
        )
        self.ok_button = self.buttons.button(QDialogButtonBox.StandardButton.Ok)
        self.ok_button.setText(tr("Save"))
        self.ok_button.setDefault(True)
        cancel = self.buttons.button(QDialogButtonBox.StandardButton.Cancel)
        cancel.setText(tr("Cancel"))
        cancel.setAutoDefault(False)
        self.buttons.accepted.connect(self.accept)
        self.buttons.rejected.connect(self.reject)
        layout.addWidget(self.buttons)
        self._busy = False

    def add_row(self, label: str, widget: QWidget, field: str | None = None) -> Field:
        """A labelled row; with ``field``, errors naming that field appear under it."""
        cell = Field(widget)
        self.form.addRow(label, cell)
        if field is not None:
            self.errors.add(field, cell)
        return cell

    def set_row_visible(self, cell: Field, visible: bool) -> None:
        self.form.setRowVisible(cell, visible)

    def submit(self, fn: Callable[[Any], Any], *, changed: Callable[[Any], Changed]) -> None:
        """Run ``fn(session)`` as a write; close on success, show the error otherwise."""
        if self._busy:
            return
        self._busy = True
        self.set_ok_enabled(False)
        self.errors.clear()
        self.ctx.runner.db(
            fn,
            write=True,
            on_done=guarded(self, self._done),
            on_error=guarded(self, self.failed),
            changed=changed,
            name=type(self).__name__,
        )

    def set_ok_enabled(self, enabled: bool) -> None:
        self.ok_button.setEnabled(enabled)
        if enabled:
            self.ok_button.setDefault(True)  # disabling it passed "default" to another button

    def _done(self, result: Any) -> None:
        self._busy = False
        self.succeeded.emit(result)
        super().accept()

    def failed(self, error: BaseException) -> None:
        self._busy = False
        self.set_ok_enabled(True)
        report_error(self, error, self.ctx.language, self.errors)


class LogInteractionDialog(ActionDialog):
    """Record a contact: channel, direction, summary, outcome and, optionally, the next call.

    The next follow-up date defaults to today plus the level's cadence (the dealer's setting,
    read on the DB lane; the built-in cadence until that answer arrives).
    """

    def __init__(
        self,
        ctx: AppContext,
        customer_id: str,
        level: str | None,
        parent: QWidget | None = None,
    ) -> None:
        super().__init__(ctx, customer_id, tr("Log an interaction"), parent)
        self.channel = QComboBox()
        self.channel.setObjectName("channel")
        for code in InteractionChannel:
            self.channel.addItem(labels.channel(code), code.value)
        self.add_row(tr("Channel"), self.channel, "channel")

        self.direction = QComboBox()
        self.direction.setObjectName("direction")
        for code in (Direction.OUTBOUND, Direction.INBOUND):
            self.direction.addItem(labels.direction(code), code.value)
        self.add_row(tr("Direction"), self.direction, "direction")

        self.summary = QPlainTextEdit()
        self.summary.setObjectName("summary")
        self.summary.setTabChangesFocus(True)
        self.summary.setPlaceholderText(tr("What was discussed"))
        self.summary.setFixedHeight(96)
        self.add_row(tr("Summary"), self.summary, "summary")

        self.outcome = QLineEdit()
        self.outcome.setObjectName("outcome")
        self.outcome.setPlaceholderText(tr("For example: will visit on Saturday"))
        self.outcome.setMaxLength(200)
        self.add_row(tr("Outcome"), self.outcome, "outcome")

        row = QWidget()
        line = QHBoxLayout(row)
        line.setContentsMargins(0, 0, 0, 0)
        self.schedule = QCheckBox(tr("Schedule on"))
        self.schedule.setObjectName("scheduleNext")
        self.next_date = QDateEdit()
        self.next_date.setObjectName("nextFollowUp")
        self.next_date.setCalendarPopup(True)
        self.next_date.setDisplayFormat(DATE_FORMAT)
        self.next_date.setMinimumDate(QDate.currentDate())
        line.addWidget(self.schedule)
        line.addWidget(self.next_date, 1)
        self.schedule.toggled.connect(self.next_date.setEnabled)
        self.add_row(tr("Next follow-up"), row, "due")
        self.errors.add("next_follow_up", self.errors.field("due"))

        days = DEFAULT_CADENCE_DAYS.get(IntentLevel(level)) if level else None
        self._propose(dt.date.today() + dt.timedelta(days=days) if days else None)
        if level:
            today = dt.date.today()
            ctx.runner.db(
                lambda s: leads.next_due(s, level, today),
                on_done=guarded(self, self._propose),
                name="next-due",
            )

    def _propose(self, due: dt.date | None) -> None:
        """Pre-fill the next date; no cadence (O, F, not rated) means no follow-up by default."""
        self.schedule.setChecked(due is not None)
        self.next_date.setEnabled(due is not None)
        if due is not None:
            self.next_date.setDate(QDate(due.year, due.month, due.day))
        elif self.next_date.date() < QDate.currentDate().addDays(1):
            self.next_date.setDate(QDate.currentDate().addDays(7))

    def accept(self) -> None:
        actor, cid = self.ctx.actor, self.customer_id
        channel = self.channel.currentData()
        direction = self.direction.currentData()
        summary = self.summary.toPlainText()
        outcome = self.outcome.text()
        next_due = self.next_date.date().toPython() if self.schedule.isChecked() else None

        def job(session):
            return interactions.log_interaction(
                session,
                actor,
                cid,
                channel=channel,
                direction=direction,
                summary=summary,
                outcome=outcome,
                next_follow_up=next_due,
            )

        self.submit(job, changed=customer_changed(cid))


class ChangeLevelDialog(ActionDialog):
    """Change the intent level. F (lost) asks for a reason and waits for a manager's approval."""

    def __init__(
        self,
        ctx: AppContext,
        customer_id: str,
        current: str | None,
        parent: QWidget | None = None,
    ) -> None:
        super().__init__(ctx, customer_id, tr("Change intent level"), parent)
        self.current = current
        self.level = QComboBox()
        self.level.setObjectName("level")
        for code in IntentLevel:
            self.level.addItem(labels.intent_level(code), code.value)
        self.level.setCurrentIndex(max(self.level.findData(current), 0))
        self.add_row(tr("New level"), self.level, "intent_level")

        self.reason = QPlainTextEdit()
        self.reason.setObjectName("reason")
        self.reason.setTabChangesFocus(True)
        self.reason.setFixedHeight(80)
        self.reason.setPlaceholderText(
            tr("Why was the lead lost? For example: bought a competitor's car")
        )
        self.reason_row = self.add_row(tr("Reason"), self.reason, "reason")
        self.approval_note = QLabel(
            tr("A lost lead awaits a manager's approval before it is closed.")
        )
        self.approval_note.setObjectName("approvalNote")
        self.approval_note.setWordWrap(True)
        self.approval_note.setStyleSheet("color: #8a5a00;")
        self.reason_row.layout().addWidget(self.approval_note)
        self.level.currentIndexChanged.connect(self._level_chosen)
        self._level_chosen()

    def _level_chosen(self) -> None:
        lost = self.level.currentData() == IntentLevel.F
        self.set_row_visible(self.reason_row, lost)
        self.adjustSize()

    def accept(self) -> None:
        level = self.level.currentData()
        if level == self.current:
            QDialog.accept(self)  # nothing changes; no history entry for a no-op
            return
        reason = self.reason.toPlainText() if level == IntentLevel.F else None
        actor, cid = self.ctx.actor, self.customer_id
        self.submit(
            lambda s: leads.set_intent_level(s, actor, cid, level, reason),
            changed=customer_changed(cid),
        )


class AssignDialog(ActionDialog):
    """Hand the customer to a salesperson (or leave them unassigned)."""

    def __init__(
        self,
        ctx: AppContext,
        customer_id: str,
        current: str | None,
        parent: QWidget | None = None,
    ) -> None:
        super().__init__(ctx, customer_id, tr("Assign a salesperson"), parent)
        self.current = current
        self.salesperson = QComboBox()
        self.salesperson.setObjectName("salesperson")
        self.salesperson.addItem(tr("Loading…"), current)
        self.salesperson.setEnabled(False)
        self.add_row(tr("Salesperson"), self.salesperson, "assigned_to_id")
        self.set_ok_enabled(False)
        actor = ctx.actor
        ctx.runner.db(
            lambda s: dealer.list_users(s, actor),
            on_done=guarded(self, self._fill),
            on_error=guarded(self, self.failed),
            name="list-users",
        )

    def _fill(self, users) -> None:
        fill_staff_combo(self.salesperson, users, self.current, none_text=tr("Unassigned"))
        self.salesperson.setEnabled(True)
        self.set_ok_enabled(True)
        self.salesperson.setFocus()

    def accept(self) -> None:
        chosen = self.salesperson.currentData()
        if chosen == self.current:
            QDialog.accept(self)
            return
        actor, cid = self.ctx.actor, self.customer_id
        self.submit(
            lambda s: customers.update_customer(s, actor, cid, {"assigned_to_id": chosen}),
            changed=customer_changed(cid),
        )


class AddVehicleDialog(ActionDialog):
    """Register a vehicle the customer owns. A VIN on file for someone else asks first."""

    def __init__(self, ctx: AppContext, customer_id: str, parent: QWidget | None = None) -> None:
        super().__init__(ctx, customer_id, tr("Add a vehicle"), parent)
        self.vin = self._line("vin", tr("17 characters"), 17)
        self.add_row(tr("VIN"), self.vin, "vin")
        self.plate = self._line("plate", tr("For example: 粤B·12345"), 10)
        self.add_row(tr("Plate"), self.plate, "plate")
        self.model = self._line("model", tr("For example: Tiguan L 330TSI"), 100)
        self.add_row(tr("Model"), self.model, "trim_id")
        self.colour = self._line("colour", "", 30)
        self.add_row(tr("Colour"), self.colour, "colour")
        self.purchase_date = self._line("purchaseDate", "YYYY-MM-DD", 10)
        self.add_row(tr("Purchase date"), self.purchase_date, "purchase_date")
        self.mileage = self._line("mileage", tr("km"), 9)
        self.add_row(tr("Mileage"), self.mileage, "mileage_km")

    @staticmethod
    def _line(name: str, placeholder: str, length: int) -> QLineEdit:
        edit = QLineEdit()
        edit.setObjectName(name)
        edit.setPlaceholderText(placeholder)
        edit.setMaxLength(length + 8)  # room for the spaces and dots people type
        return edit

    def draft(self) -> VehicleDraft:
        return VehicleDraft(
            vin=self.vin.text().strip() or None,
            plate=self.plate.text().strip() or None,
            model_name=self.model.text().strip() or None,
            colour=self.colour.text().strip() or None,
            purchase_date=self.purchase_date.text().strip() or None,
            mileage_km=self.mileage.text().strip() or None,
        )

    def accept(self, force: bool = False) -> None:
        draft, actor, cid = self.draft(), self.ctx.actor, self.customer_id
        self.submit(
            lambda s: customers.add_vehicle(s, actor, cid, draft, force=force),
            changed=customer_changed(cid),
        )

    def failed(self, error: BaseException) -> None:
        if not isinstance(error, DuplicateCustomerError):
            super().failed(error)
            return
        self._busy = False
        self.set_ok_enabled(True)
        names = "、".join(c.name for c in error.candidates)
        answer = QMessageBox.question(
            self,
            tr("VIN already on file"),
            tr("This VIN is on file for %1. Add the vehicle to this customer anyway?").replace(
                "%1", names
            ),
            QMessageBox.StandardButton.Yes | QMessageBox.StandardButton.No,
            QMessageBox.StandardButton.No,
        )
        if answer == QMessageBox.StandardButton.Yes:
            self.accept(force=True)
        else:
            self.vin.setFocus()
