"""Customer 360: one customer's profile, vehicles, level history, next follow-up and timeline.

Everything is read in one job on the DB lane and rendered on the GUI thread. The record arrives
masked from the core (``showroom.masking``): phones and the ID number never reach this view in
full unless the role may see them and the user clicks "Reveal", which the core audits (one entry
per value). The birthday stays hidden until then too. Managers also get the PIPL actions here:
export the customer's data (JSON and PDF) and erase it.

The timeline is built from ``TIMELINE_SOURCES`` (ui/customers/timeline.py): each source fetches
its rows on the DB lane and turns them into ``TimelineEntry`` values on the GUI thread.
Interactions are the first source; later areas register their own.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from typing import Any

from PySide6.QtCore import QLocale, Qt, Signal
from PySide6.QtWidgets import (
    QFormLayout,
    QFrame,
    QHBoxLayout,
    QHeaderView,
    QInputDialog,
    QLabel,
    QPushButton,
    QScrollArea,
    QSizePolicy,
    QTableWidget,
    QTableWidgetItem,
    QTabWidget,
    QVBoxLayout,
    QWidget,
)
from sqlalchemy.orm import Session

from showroom import masking, permissions
from showroom.actor import Actor
from showroom.errors import NotFoundError
from showroom.services import customers, dealer, leads
from showroom.services.dto import Changed, CustomerRecord, FollowUpDTO
from showroom.vocabulary import IntentLevel, LostApproval
from ui import day, formatting, labels
from ui.context import AppContext
from ui.customers.actions import (
    AddVehicleDialog,
    AssignDialog,
    ChangeLevelDialog,
    LogInteractionDialog,
    customer_changed,
)
from ui.customers.editor import CustomerEditor
from ui.customers.privacy_actions import (
    ConsentDialog,
    EraseCustomerDialog,
    consent_purpose,
    consent_source,
    current_consents,
    export_customer,
)
from ui.customers.timeline import TIMELINE_SOURCES, TimelineEntry, TimelineView
from ui.i18n import tr
from ui.quotes.panel import QuotesPanel
from ui.widgets import (
    MUTED_COLOUR,
    Chip,
    Section,
    clear_layout,
    guarded,
    muted_label,
    read_only_table,
    report_error,
)

# Chip colours per level: hot leads warm, cold ones cool, closed ones neutral.
LEVEL_COLOURS = {
    "H": ("#fde2e1", "#b42318"),
    "A": ("#feecd9", "#b54708"),
    "B": ("#fef7c3", "#854a0e"),
    "C": ("#e0ecfb", "#1d4f91"),
    "O": ("#dcf5e3", "#1b6e3a"),
    "F": ("#eceff3", "#4a5563"),
}
# Refresh the customer on view after any of these; a new day changes what is overdue.
REFRESH_ALWAYS = frozenset({"follow_up", "interaction", day.DAY})


# --- loading -------------------------------------------------------------------------------


@dataclass(frozen=True)
class Customer360Data:
    record: CustomerRecord  # phones and ID number masked
    staff: dict[str, str]  # user id -> display name
    timeline: dict[str, Any] = field(default_factory=dict)  # source kind -> fetched rows
    may_reveal: bool = False
    may_export: bool = False
    may_erase: bool = False
    erased: bool = False


def load_customer_360(session: Session, actor: Actor, customer_id: str) -> Customer360Data:
    """Everything the 360 view shows, read in one session. Raises NotFoundError."""
    from showroom.models import Customer

    record = customers.get_customer_record(session, actor, customer_id)  # masked by the core
    staff = {u.id: u.display_name for u in dealer.list_users(session, actor)}
    fetched = {s.kind: s.fetch(session, actor, record) for s in TIMELINE_SOURCES}
    erased = session.get(Customer, customer_id).erased_at is not None
    return Customer360Data(
        record,
        staff,
        fetched,
        may_reveal=masking.may_reveal(actor, record.customer.assigned_to_id),
        may_export=permissions.can(actor, "export_personal_data"),
        may_erase=permissions.can(actor, "erase_personal_data") and not erased,
        erased=erased,
    )


def next_follow_up(record: CustomerRecord) -> FollowUpDTO | None:
    """The open follow-up due first."""
    open_tasks = [f for f in record.follow_ups if not f.done]
    return min(open_tasks, key=lambda f: f.due) if open_tasks else None


# --- widgets -------------------------------------------------------------------------------


def _value_label(text: str = "") -> QLabel:
    label = QLabel(text)
    label.setWordWrap(True)
    label.setTextFormat(Qt.TextFormat.PlainText)
    label.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
    label.setSizePolicy(QSizePolicy.Policy.Expanding, QSizePolicy.Policy.Preferred)
    return label


class Customer360Page(QWidget):
    """One customer, everything about them, and the quick actions.

    ``load(customer_id)`` reads on the DB lane and emits ``loaded`` once shown. The page reloads
    itself when ``ctx.runner.data_changed`` concerns this customer (and follows a merge to the
    surviving record).
    """

    loaded = Signal()

    def __init__(self, ctx: AppContext, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.ctx = ctx
        self.customer_id: str | None = None
        self.data: Customer360Data | None = None
        self.revealed = False
        self.revealed_values: masking.RevealedProfile | None = None
        self._generation = 0
        self._build()
        ctx.runner.data_changed.connect(self._on_data_changed)
        self._set_actions_enabled(False)

    # --- building -----------------------------------------------------------------------------

    def _build(self) -> None:
        outer = QVBoxLayout(self)
        outer.setContentsMargins(0, 0, 0, 0)
        canvas = QWidget()
        canvas.setObjectName("customer360")
        canvas.setAttribute(Qt.WidgetAttribute.WA_StyledBackground, True)
        canvas.setStyleSheet("QWidget#customer360 { background: #f4f6f8; }")
        outer.addWidget(canvas)
        page = QVBoxLayout(canvas)
        page.setContentsMargins(20, 14, 20, 16)
        page.setSpacing(12)

        bar = QHBoxLayout()
        bar.setSpacing(8)
        self.back_button = QPushButton(tr("← Back to list"))
        self.back_button.setObjectName("backToList")
        self.back_button.setFlat(True)
        self.back_button.setCursor(Qt.CursorShape.PointingHandCursor)
        self.back_button.setStyleSheet("color: #2f6fb3; padding: 4px 2px;")
        self.back_button.clicked.connect(lambda: self.ctx.navigator.show_page.emit("customers"))
        bar.addWidget(self.back_button)
        bar.addStretch(1)
        self.edit_button = self._action(bar, "edit", tr("Edit"), self.edit)
        self.log_button = self._action(bar, "logInteraction", tr("Log interaction"), self.log)
        self.level_button = self._action(bar, "changeLevel", tr("Change level"), self.change_level)
        self.assign_button = self._action(bar, "assign", tr("Assign"), self.assign)
        self.vehicle_button = self._action(bar, "addVehicle", tr("Add vehicle"), self.add_vehicle)
        self.export_button = self._action(bar, "exportData", tr("Export data"), self.export_data)
        self.export_button.setToolTip(
            tr("Export everything held about this customer as JSON and PDF (PIPL request)")
        )
        self.erase_button = self._action(bar, "erasePersonalData", tr("Erase…"), self.erase)
        self.erase_button.setToolTip(tr("Erase this customer's personal data (PIPL request)"))
        self.erase_button.setStyleSheet("QPushButton { color: #b42318; }")
        self.log_button.setStyleSheet(
            "QPushButton { background: #2f6fb3; color: white; border: none; border-radius: 4px;"
            " padding: 6px 14px; font-weight: bold; }"
            "QPushButton:disabled { background: #9bb7d6; }"
        )
        page.addLayout(bar)

        header = QFrame()
        header.setObjectName("header")
        header.setStyleSheet(
            "QFrame#header { background: white; border: 1px solid #dde3ea; border-radius: 6px; }"
        )
        head = QVBoxLayout(header)
        head.setContentsMargins(18, 14, 18, 14)
        head.setSpacing(6)
        title_row = QHBoxLayout()
        title_row.setSpacing(10)
        self.name_label = QLabel()
        self.name_label.setObjectName("customerName")
        self.name_label.setStyleSheet("font-size: 22px; font-weight: bold; color: #1f2d3d;")
        self.name_label.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        title_row.addWidget(self.name_label)
        self.vip_chip = Chip(tr("VIP"))
        self.vip_chip.setObjectName("vipChip")
        self.vip_chip.set_colours("#f6e7b4", "#7a5a00")
        title_row.addWidget(self.vip_chip)
        self.level_chip = Chip()
        self.level_chip.setObjectName("levelChip")
        title_row.addWidget(self.level_chip)
        self.approval_chip = Chip()
        self.approval_chip.setObjectName("approvalChip")
        title_row.addWidget(self.approval_chip)
        # A manager decides a pending lost (F) request right here.
        self.approve_button = QPushButton(tr("Approve lost"))
        self.approve_button.setObjectName("approveLost")
        self.approve_button.clicked.connect(self.approve_lost)
        title_row.addWidget(self.approve_button)
        self.reject_button = QPushButton(tr("Reject"))
        self.reject_button.setObjectName("rejectLost")
        self.reject_button.clicked.connect(self.reject_lost)
        title_row.addWidget(self.reject_button)
        title_row.addStretch(1)
        head.addLayout(title_row)
        self.summary_label = muted_label()
        self.summary_label.setObjectName("headerSummary")
        head.addWidget(self.summary_label)
        page.addWidget(header)

        body = QHBoxLayout()
        body.setSpacing(12)
        page.addLayout(body, 1)

        left = QWidget()
        left_column = QVBoxLayout(left)
        left_column.setContentsMargins(0, 0, 0, 0)
        left_column.setSpacing(12)
        self.profile = Section(tr("Profile"))
        self.reveal_button = QPushButton(tr("Reveal"))
        self.reveal_button.setObjectName("reveal")
        self.reveal_button.setToolTip(tr("Show the full phone numbers, ID number and birthday"))
        self.reveal_button.clicked.connect(self.toggle_reveal)
        self.profile.add_header_widget(self.reveal_button)
        self.profile_form = QFormLayout()
        self.profile_form.setLabelAlignment(Qt.AlignmentFlag.AlignLeft | Qt.AlignmentFlag.AlignTop)
        self.profile_form.setHorizontalSpacing(16)
        self.profile_form.setVerticalSpacing(7)
        self.profile.body.addLayout(self.profile_form)
        self.fields: dict[str, QLabel] = {}
        for key, label in (
            ("kind", tr("Type")),
            ("contact_name", tr("Contact person")),
            ("phones", tr("Phone")),
            ("id_number", tr("ID number")),
            ("birthday", tr("Birthday")),
            ("gender", tr("Gender")),
            ("email", tr("Email")),
            ("wechat_id", tr("WeChat ID")),
            ("address", tr("Address")),
            ("source", tr("Source")),
            ("expected_purchase_date", tr("Expected purchase")),
            ("notes", tr("Notes")),
        ):
            value = _value_label()
            value.setObjectName(f"profile_{key}")
            name = muted_label(label)
            name.setAlignment(Qt.AlignmentFlag.AlignLeft | Qt.AlignmentFlag.AlignTop)
            self.profile_form.addRow(name, value)
            self.fields[key] = value
        left_column.addWidget(self.profile)

        self.follow_up_section = Section(tr("Next follow-up"), tr("No follow-up is scheduled."))
        self.follow_up_label = _value_label()
        self.follow_up_label.setObjectName("nextFollowUp")
        self.follow_up_label.setTextFormat(Qt.TextFormat.RichText)
        self.follow_up_section.body.addWidget(self.follow_up_label)
        left_column.addWidget(self.follow_up_section)

        self.history_section = Section(
            tr("Intent level history"), tr("The level has not been set yet.")
        )
        self.history_list = QVBoxLayout()
        self.history_list.setSpacing(8)
        self.history_section.body.addLayout(self.history_list)
        left_column.addWidget(self.history_section)

        self.consent_section = Section(
            tr("Consent"), tr("No consent recorded: care, reminders and surveys leave them out.")
        )
        self.consent_button = QPushButton(tr("Record…"))
        self.consent_button.setObjectName("recordConsent")
        self.consent_button.clicked.connect(self.record_consent)
        self.consent_section.add_header_widget(self.consent_button)
        self.consent_list = QVBoxLayout()
        self.consent_list.setSpacing(4)
        self.consent_section.body.addLayout(self.consent_list)
        left_column.addWidget(self.consent_section)
        left_column.addStretch(1)

        left_scroll = QScrollArea()
        left_scroll.setWidget(left)
        left_scroll.setWidgetResizable(True)
        left_scroll.setFrameShape(QFrame.Shape.NoFrame)
        left_scroll.setHorizontalScrollBarPolicy(Qt.ScrollBarPolicy.ScrollBarAlwaysOff)
        left.setObjectName("profileColumn")
        left_scroll.setStyleSheet("QScrollArea, QWidget#profileColumn { background: transparent; }")
        left_scroll.setMinimumWidth(360)
        left_scroll.setMaximumWidth(440)
        body.addWidget(left_scroll, 2)

        right = QVBoxLayout()
        right.setSpacing(12)
        self.vehicles_section = Section(tr("Vehicles"), tr("No vehicles yet."))
        self.vehicles = QTableWidget(0, 5)
        self.vehicles.setObjectName("vehicles")
        self.vehicles.setHorizontalHeaderLabels(
            [tr("VIN"), tr("Plate"), tr("Model"), tr("Purchase date"), tr("Mileage")]
        )
        read_only_table(self.vehicles)
        self.vehicles.setFrameShape(QFrame.Shape.NoFrame)
        header_view = self.vehicles.horizontalHeader()
        header_view.setSectionResizeMode(QHeaderView.ResizeMode.ResizeToContents)
        header_view.setSectionResizeMode(2, QHeaderView.ResizeMode.Stretch)
        header_view.setDefaultAlignment(Qt.AlignmentFlag.AlignLeft | Qt.AlignmentFlag.AlignVCenter)
        self.vehicles_section.body.addWidget(self.vehicles)
        right.addWidget(self.vehicles_section)

        self.timeline_section = Section(
            tr("Timeline"), tr("Nothing has happened yet. Log the first interaction.")
        )
        self.timeline = TimelineView()
        self.timeline.setObjectName("timeline")
        timeline_scroll = QScrollArea()
        timeline_scroll.setWidget(self.timeline)
        timeline_scroll.setWidgetResizable(True)
        timeline_scroll.setFrameShape(QFrame.Shape.NoFrame)
        timeline_scroll.setHorizontalScrollBarPolicy(Qt.ScrollBarPolicy.ScrollBarAlwaysOff)
        timeline_scroll.setStyleSheet("QScrollArea, QWidget#timeline { background: white; }")
        self.timeline_section.body.addWidget(timeline_scroll)
        # The timeline and the customer's quotes share the space under the vehicles.
        self.tabs = QTabWidget()
        self.tabs.setObjectName("customerTabs")
        self.tabs.addTab(self.timeline_section, tr("Timeline"))
        self.quotes_panel = QuotesPanel(self.ctx)
        self.tabs.addTab(self.quotes_panel, tr("Quotes"))
        right.addWidget(self.tabs, 1)
        body.addLayout(right, 3)

        self.message = QLabel()
        self.message.setObjectName("pageMessage")
        self.message.setAlignment(Qt.AlignmentFlag.AlignCenter)
        self.message.setStyleSheet(f"color: {MUTED_COLOUR}; font-size: 15px;")
        self.message.hide()
        page.addWidget(self.message)
        self._body_widgets = (header, left_scroll, self.vehicles_section, self.tabs)

    def _action(self, bar: QHBoxLayout, name: str, text: str, slot) -> QPushButton:
        button = QPushButton(text)
        button.setObjectName(name)
        button.clicked.connect(slot)
        bar.addWidget(button)
        return button

    def _set_actions_enabled(self, enabled: bool) -> None:
        for button in (
            self.edit_button,
            self.log_button,
            self.level_button,
            self.assign_button,
            self.vehicle_button,
            self.reveal_button,
            self.export_button,
            self.erase_button,
        ):
            button.setEnabled(enabled)

    # --- loading ------------------------------------------------------------------------------

    def load(self, customer_id: str) -> None:
        """Show ``customer_id``; masks come back on when it is another customer."""
        if customer_id != self.customer_id:
            self.revealed = False
            self.revealed_values = None
            self.data = None
            # Never show one customer's details under another's name while loading.
            self._show_message(tr("Loading…"))
            self._set_actions_enabled(False)
        self.customer_id = customer_id
        self.quotes_panel.set_customer(customer_id)
        self.refresh()

    def refresh(self) -> None:
        if self.customer_id is None:
            return
        self._generation += 1
        generation, actor, cid = self._generation, self.ctx.actor, self.customer_id
        self.ctx.runner.db(
            lambda s: load_customer_360(s, actor, cid),
            on_done=guarded(self, lambda data: self._loaded(generation, data)),
            on_error=guarded(self, lambda error: self._load_failed(generation, error)),
            name="customer-360",
        )

    def _loaded(self, generation: int, data: Customer360Data) -> None:
        if generation != self._generation:
            return  # a newer load is on its way
        self.data = data
        self._show_message(None)
        self._render()
        self._set_actions_enabled(True)
        self.loaded.emit()

    def _load_failed(self, generation: int, error: BaseException) -> None:
        if generation != self._generation:
            return
        if isinstance(error, NotFoundError):
            self.data = None
            self._set_actions_enabled(False)
            self._show_message(tr("This customer is no longer on file."))
            self.loaded.emit()
            return
        report_error(self, error, self.ctx.language)

    def _show_message(self, text: str | None) -> None:
        for widget in self._body_widgets:
            widget.setVisible(text is None)
        self.message.setVisible(text is not None)
        self.message.setText(text or "")

    def _on_data_changed(self, changed: Changed) -> None:
        if self.customer_id is None:
            return
        if changed.entity == "customer":
            if changed.kind == "merged" and self.customer_id in changed.ids[1:]:
                self.load(changed.ids[0])  # this record was folded into another one
            elif not changed.ids or self.customer_id in changed.ids:
                self.refresh()
        elif changed.entity in REFRESH_ALWAYS and self.isVisible():
            self.refresh()

    # --- rendering ----------------------------------------------------------------------------

    def toggle_reveal(self) -> None:
        """Reveal (audited, on the DB lane) or hide the full phones and ID number."""
        if self.revealed:
            self.set_revealed(False)
            return
        if self.data is None or not self.data.may_reveal:
            return
        actor, cid = self.ctx.actor, self.customer_id
        self.reveal_button.setEnabled(False)

        def done(values: masking.RevealedProfile) -> None:
            self.reveal_button.setEnabled(True)
            if cid == self.customer_id:
                self.revealed_values = values
                self.set_revealed(True)

        def failed(error: BaseException) -> None:
            self.reveal_button.setEnabled(True)
            report_error(self, error, self.ctx.language)

        self.ctx.runner.db(
            lambda s: masking.reveal_profile(s, actor, cid),
            on_done=guarded(self, done),
            on_error=guarded(self, failed),
            write=True,
            name="reveal",
        )

    def set_revealed(self, revealed: bool) -> None:
        """Show or mask phones, ID number and birthday. Showing needs values from a reveal."""
        self.revealed = revealed and self.revealed_values is not None
        if not self.revealed:
            self.revealed_values = None
        self.reveal_button.setText(tr("Hide") if self.revealed else tr("Reveal"))
        if self.data is not None:
            self._render_profile()

    def _render(self) -> None:
        record = self.data.record
        c = record.customer
        self.name_label.setText(c.name)
        self.vip_chip.setVisible(c.vip)
        self.level_chip.setText(labels.intent_level(c.intent_level))
        self.level_chip.set_colours(
            *LEVEL_COLOURS.get(c.intent_level or "", ("#eceff3", "#4a5563"))
        )
        approval = c.lost_approval if c.intent_level == IntentLevel.F else None
        self.approval_chip.setVisible(bool(approval))
        deciding = approval == LostApproval.PENDING and self.ctx.actor.is_manager
        self.approve_button.setVisible(deciding)
        self.reject_button.setVisible(deciding)
        if approval:
            self.approval_chip.setText(labels.lost_approval(approval))
            pending = approval == LostApproval.PENDING
            self.approval_chip.set_colours(
                *(("#fff1c2", "#8a5a00") if pending else ("#eceff3", "#4a5563"))
            )
        if c.assigned_to_id is None:
            salesperson = tr("Unassigned")
        else:
            # Only active staff are listed; someone who has left still owns the lead.
            salesperson = self.data.staff.get(c.assigned_to_id, tr("a former colleague"))
        summary = tr("Salesperson: %1 · Stage: %2 · On file since %3")
        summary = summary.replace("%1", salesperson)
        summary = summary.replace("%2", labels.lifecycle_stage(c.lifecycle_stage))
        self.summary_label.setText(
            summary.replace("%3", formatting.date(c.created_at.astimezone().date()))
        )
        self.set_revealed(self.revealed)
        self._render_follow_up(next_follow_up(record))
        self._render_history()
        self._render_consents()
        self._render_vehicles()
        entries: list[TimelineEntry] = []
        for source in TIMELINE_SOURCES:
            if source.kind in self.data.timeline:
                entries.extend(source.entries(self.data.timeline[source.kind]))
        self.timeline.set_entries(entries)
        self.timeline_section.set_empty(not entries)

    def _render_profile(self) -> None:
        c = self.data.record.customer
        shown = self.revealed_values if self.revealed else None
        if shown is not None:
            phones = [
                formatting.phone(shown.phones[p.id]) if p.id in shown.phones else p.number
                for p in c.phones
            ]
            id_number = shown.id_number or c.id_number or ""
        else:
            phones = [p.number for p in c.phones]  # masked by the core
            id_number = c.id_number or ""
        birthday = formatting.date(c.birthday) if shown else ("••••" if c.birthday else "")
        values = {
            "kind": labels.kind(c.kind),
            "contact_name": c.contact_name or "",
            "phones": "\n".join(phones) or "—",
            "id_number": id_number,
            "birthday": birthday,
            "gender": labels.gender(c.gender),
            "email": c.email or "",
            "wechat_id": c.wechat_id or "",
            "address": c.address or "",
            "source": labels.source(c.source),
            "expected_purchase_date": formatting.date(c.expected_purchase_date),
            "notes": c.notes or "",
        }
        for key, text in values.items():
            label = self.fields[key]
            label.setText(text)
            # Rows with nothing to say are left out rather than shown blank.
            self.profile_form.setRowVisible(label, bool(text))
        has_secret = bool(c.phones or c.id_number or c.birthday)
        self.reveal_button.setVisible(has_secret and self.data.may_reveal)
        self.export_button.setVisible(self.data.may_export)
        self.erase_button.setVisible(self.data.may_erase)

    def _render_follow_up(self, task: FollowUpDTO | None) -> None:
        self.follow_up_section.set_empty(task is None)
        if task is None:
            return
        days = (task.due - dt.date.today()).days
        if days < 0:
            when = tr("overdue by %1 days").replace("%1", str(-days))
            colour = "#b42318"
        elif days == 0:
            when, colour = tr("today"), "#b54708"
        else:
            when = tr("in %1 days").replace("%1", str(days))
            colour = MUTED_COLOUR
        owner = self.data.staff.get(task.owner_id or "", "")
        text = (
            f"<b>{formatting.date(task.due)}</b> "
            f"<span style='color:{colour}'>({_escape(when)})</span>"
        )
        if task.purpose:
            text += f"<br>{_escape(task.purpose)}"
        if owner:
            text += f"<br><span style='color:{MUTED_COLOUR}'>"
            text += _escape(tr("Owner: %1").replace("%1", owner)) + "</span>"
        self.follow_up_label.setText(text)

    def _render_history(self) -> None:
        clear_layout(self.history_list)
        history = self.data.record.intent_history
        self.history_section.set_empty(not history)
        for change in history:
            line = QVBoxLayout()
            line.setSpacing(1)
            title = labels.intent_level(change.to_level)
            if change.from_level:
                title = tr("%1 → %2").replace("%1", change.from_level).replace("%2", title)
            heading = QLabel(title)
            heading.setStyleSheet("font-weight: bold;")
            heading.setWordWrap(True)
            line.addWidget(heading)
            who = self.data.staff.get(change.changed_by_id or "", "")
            meta = formatting.datetime(change.changed_at)
            if who:
                meta = tr("%1 by %2").replace("%1", meta).replace("%2", who)
            if change.approval:
                meta += " · " + labels.lost_approval(change.approval)
            line.addWidget(muted_label(meta))
            if change.reason:
                reason = _value_label(tr("Reason: %1").replace("%1", change.reason))
                line.addWidget(reason)
            holder = QWidget()
            holder.setLayout(line)
            line.setContentsMargins(0, 0, 0, 0)
            self.history_list.addWidget(holder)
            holder.show()

    def _render_consents(self) -> None:
        clear_layout(self.consent_list)
        shown = current_consents(self.data.record.consents)
        self.consent_section.set_empty(not shown)
        self.consent_button.setVisible(not self.data.erased)
        for consent in shown:
            verdict = tr("agrees") if consent.granted else tr("refuses")
            line = (
                f"{labels.channel(consent.channel)} · {consent_purpose(consent.purpose)}: {verdict}"
            )
            who = self.data.staff.get(consent.recorded_by_id or "", "")
            meta = " · ".join(
                x
                for x in (
                    formatting.datetime(consent.given_at),
                    consent_source(consent.source),
                    who,
                )
                if x
            )
            label = _value_label(line)
            label.setStyleSheet("" if consent.granted else "color: #b42318;")
            note = muted_label(meta)
            for widget in (label, note):
                self.consent_list.addWidget(widget)
                widget.show()

    def _render_vehicles(self) -> None:
        vehicles = self.data.record.customer.vehicles
        self.vehicles_section.set_empty(not vehicles)
        self.vehicles.setRowCount(len(vehicles))
        locale = QLocale()
        for row, v in enumerate(vehicles):
            mileage = (
                tr("%1 km").replace("%1", locale.toString(v.mileage_km))
                if v.mileage_km is not None
                else ""
            )
            cells = [
                v.vin or "",
                formatting.plate(v.plate),
                v.model_name or "",
                formatting.date(v.purchase_date),
                mileage,
            ]
            for column, text in enumerate(cells):
                item = QTableWidgetItem(text)
                if column == 4:
                    item.setTextAlignment(
                        Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter
                    )
                self.vehicles.setItem(row, column, item)
        # Tall enough for its rows, so the timeline gets the rest of the column.
        height = self.vehicles.horizontalHeader().height() + 6
        height += sum(self.vehicles.rowHeight(r) for r in range(len(vehicles)))
        self.vehicles.setFixedHeight(min(height, 220))

    # --- quick actions ------------------------------------------------------------------------

    def _customer(self):
        return self.data.record.customer if self.data else None

    def edit(self) -> None:
        if self._customer():
            CustomerEditor(self.ctx, customer_id=self.customer_id, parent=self).open()

    def log(self) -> None:
        c = self._customer()
        if c:
            LogInteractionDialog(self.ctx, c.id, c.intent_level, parent=self).open()

    def change_level(self) -> None:
        c = self._customer()
        if c:
            ChangeLevelDialog(self.ctx, c.id, c.intent_level, parent=self).open()

    def assign(self) -> None:
        c = self._customer()
        if c:
            AssignDialog(self.ctx, c.id, c.assigned_to_id, parent=self).open()

    def add_vehicle(self) -> None:
        c = self._customer()
        if c:
            AddVehicleDialog(self.ctx, c.id, parent=self).open()

    def record_consent(self) -> None:
        c = self._customer()
        if c:
            ConsentDialog(self.ctx, c.id, parent=self).open()

    def export_data(self) -> None:
        c = self._customer()
        if c:
            export_customer(self, self.ctx, c.id, c.name)

    def erase(self) -> None:
        c = self._customer()
        if c:
            EraseCustomerDialog(self.ctx, c.id, c.name, parent=self).open()

    def approve_lost(self) -> None:
        """Manager: confirm the lost (F) request; the customer's stage becomes lost."""
        self._decide_lost(leads.approve_lost, None)

    def reject_lost(self) -> None:
        """Manager: refuse the lost request with a note; the lead returns to its last level."""
        note, ok = QInputDialog.getText(
            self, tr("Reject lost request"), tr("Note for the salesperson (optional)")
        )
        if ok:
            self._decide_lost(leads.reject_lost, note.strip() or None)

    def _decide_lost(self, decide, note: str | None) -> None:
        c = self._customer()
        if not c:
            return
        actor, cid = self.ctx.actor, c.id
        self.ctx.runner.db(
            lambda session: decide(session, actor, cid, note),
            on_error=lambda error: report_error(self, error, self.ctx.language),
            changed=customer_changed(cid),
            write=True,
        )


def _escape(text: str) -> str:
    from html import escape

    return escape(text)
