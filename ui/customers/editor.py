"""The new/edit customer dialog: inline errors, a live duplicate warning, keyboard flow.

Every database call goes through the runner's DB lane. While the phone, ID number, VIN or
email is typed, a debounced ``find_duplicates`` runs there; a reply to an older query is
dropped (generation counter), so the warning always describes what is in the form now.

Editing shows phones and the ID number masked, as the core hands them out; the full values
are never loaded here. A save sends only the fields that changed, and a phone left as it was
goes back as ``KeptPhone(phone id)``, so a masked value can never overwrite the stored one.
To change a masked value, the user types the whole new one.
"""

from __future__ import annotations

import itertools
from collections.abc import Mapping
from typing import Any

from PySide6.QtCore import Qt, QTimer, Signal
from PySide6.QtWidgets import (
    QCheckBox,
    QComboBox,
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

from showroom.errors import ValidationError
from showroom.masking import is_masked
from showroom.services import customers, dealer, merge
from showroom.services.customers import (
    CustomerDraft,
    DuplicateCustomerError,
    KeptPhone,
    VehicleDraft,
)
from showroom.services.dto import Changed, CustomerDTO, DuplicateCandidate
from showroom.vocabulary import CustomerKind, Gender, IntentLevel, Role, SourceChannel
from ui import labels
from ui.context import AppContext
from ui.customers.actions import fill_staff_combo
from ui.customers.duplicates import DuplicateWarning
from ui.i18n import tr
from ui.widgets import Field, FieldError, FormErrors, guarded, report_error

DUPLICATE_CHECK_DELAY_MS = 300
MAX_FORM_PHONES = 3
DATE_PLACEHOLDER = "YYYY-MM-DD"

# The customer fields the form edits, in the service's names.
CUSTOMER_FIELDS = (
    "kind", "name", "contact_name", "phones", "email", "wechat_id", "gender", "birthday",
    "id_number", "address", "source", "assigned_to_id", "intent_level",
    "expected_purchase_date", "vip", "notes",
)  # fmt: skip


class CustomerEditor(QDialog):
    """Create a customer, or edit one when ``customer_id`` is given.

    Editing loads the record on the DB lane and saves only the fields that changed. A save
    emits ``Changed("customer", (id,), "created" | "updated")`` on ``ctx.runner.data_changed``;
    a create also asks the navigator to open the new customer. Enter saves, Esc cancels, and
    closing with unsaved changes asks first. The dialog deletes itself when closed.
    """

    saved = Signal(object)  # CustomerDTO
    merged = Signal(str)  # the surviving customer's id

    def __init__(
        self,
        ctx: AppContext,
        customer_id: str | None = None,
        parent: QWidget | None = None,
    ) -> None:
        super().__init__(parent)
        self.ctx = ctx
        self.customer_id = customer_id
        self.original: CustomerDTO | None = None
        # The phone each box was filled with: (id, masked text), None for an empty box.
        self._loaded_phones: list[tuple[str, str] | None] = [None] * MAX_FORM_PHONES
        self._extra_phones: list[KeptPhone] = []  # phones beyond what the form shows; kept
        self._generation = 0
        self._busy = False
        self._loaded = customer_id is None
        self.setAttribute(Qt.WidgetAttribute.WA_DeleteOnClose)
        self.setWindowTitle(tr("New customer") if self.is_new else tr("Edit customer"))
        self._build()
        self._kind_chosen()
        self._level_chosen()
        self._baseline = self.values()
        self._duplicate_timer = QTimer(self)
        self._duplicate_timer.setSingleShot(True)
        self._duplicate_timer.setInterval(DUPLICATE_CHECK_DELAY_MS)
        self._duplicate_timer.timeout.connect(self._check_duplicates)
        self._load()

    @property
    def is_new(self) -> bool:
        return self.customer_id is None

    # --- building -----------------------------------------------------------------------------

    def _build(self) -> None:
        outer = QVBoxLayout(self)
        outer.setContentsMargins(24, 20, 24, 16)
        outer.setSpacing(12)
        heading = QLabel(self.windowTitle())
        heading.setStyleSheet("font-size: 18px; font-weight: bold;")
        outer.addWidget(heading)
        self.duplicates = DuplicateWarning()
        self.duplicates.open_requested.connect(self._open_existing)
        self.duplicates.merge_requested.connect(self._merge)
        self.duplicates.force_requested.connect(lambda: self.save(force=True))
        outer.addWidget(self.duplicates)
        self.general_error = FieldError()
        outer.addWidget(self.general_error)
        self.errors = FormErrors(lambda: self.ctx.language, self.general_error)

        columns = QHBoxLayout()
        columns.setSpacing(28)
        outer.addLayout(columns, 1)
        left, right = QVBoxLayout(), QVBoxLayout()
        left.setSpacing(6)  # unset, a nested layout takes the column gap as its spacing
        right.setSpacing(6)
        columns.addLayout(left, 1)
        columns.addLayout(right, 1)
        self._rows: dict[str, tuple[QFormLayout, Field]] = {}

        basic = self._form(left, tr("Basic information"))
        self.kind = self._combo("kind", [(labels.kind(k), k.value) for k in CustomerKind])
        self._row(basic, "kind", tr("Type"), self.kind)
        self.name = self._line("name", 100)
        self._row(basic, "name", tr("Name"), self.name)
        self.contact_name = self._line("contact_name", 100)
        self._row(basic, "contact_name", tr("Contact person"), self.contact_name)
        self.phones = [self._line(name, 30) for name in ("phone", "phone2", "phone3")]
        self.phones[0].setPlaceholderText(tr("Mobile, or landline with area code"))
        self._row(basic, "phone", tr("Phone"), self.phones[0])
        self._row(basic, "phone2", tr("Phone 2"), self.phones[1])
        self._row(basic, "phone3", tr("Phone 3"), self.phones[2])
        self.email = self._line("email", 254)
        self._row(basic, "email", tr("Email"), self.email)
        self.wechat = self._line("wechat_id", 50)
        self._row(basic, "wechat_id", tr("WeChat ID"), self.wechat)
        self.gender = self._combo(
            "gender", [(tr("Not given"), None)] + [(labels.gender(g), g.value) for g in Gender]
        )
        self._row(basic, "gender", tr("Gender"), self.gender)
        self.birthday = self._line("birthday", 10, DATE_PLACEHOLDER)
        self._row(basic, "birthday", tr("Birthday"), self.birthday)
        self.id_number = self._line("id_number", 22, tr("18-digit resident ID"))
        self._row(basic, "id_number", tr("ID number"), self.id_number)
        self.address = self._line("address", 200)
        self._row(basic, "address", tr("Address"), self.address)
        left.addStretch(1)

        sales = self._form(right, tr("Sales"))
        sources = [(labels.source(s), s.value) for s in SourceChannel]
        self.source = self._combo("source", [(tr("Not given"), None), *sources])
        self._row(sales, "source", tr("Source"), self.source)
        self.salesperson = self._combo("assigned_to_id", [(tr("Unassigned"), None)])
        self._row(sales, "assigned_to_id", tr("Salesperson"), self.salesperson)
        levels = [level for level in IntentLevel if self.customer_id or level != IntentLevel.F]
        level_items = [(labels.intent_level(v), v.value) for v in levels]
        self.intent_level = self._combo(
            "intent_level", [(labels.intent_level(None), None), *level_items]
        )
        self._row(sales, "intent_level", tr("Intent level"), self.intent_level)
        self.expected_purchase_date = self._line("expected_purchase_date", 10, DATE_PLACEHOLDER)
        self._row(
            sales, "expected_purchase_date", tr("Expected purchase"), self.expected_purchase_date
        )
        self.reason = self._line("reason", 1000, tr("Why was the lead lost?"))
        reason_row = self._row(sales, "reason", tr("Reason lost"), self.reason)
        note = QLabel(tr("A lost lead awaits a manager's approval."))
        note.setStyleSheet("color: #8a5a00;")
        reason_row.layout().addWidget(note)
        self.vip = QCheckBox(tr("VIP customer"))
        self.vip.setObjectName("vip")
        self._row(sales, "vip", "", self.vip)
        self.notes = QPlainTextEdit()
        self.notes.setObjectName("notes")
        self.notes.setTabChangesFocus(True)
        self.notes.setFixedHeight(84)
        self._row(sales, "notes", tr("Notes"), self.notes)

        self.vin = self.plate = self.model = None
        if self.is_new:
            vehicle = self._form(right, tr("First vehicle (optional)"))
            self.vin = self._line("vin", 25, tr("17 characters"))
            self._row(vehicle, "vin", tr("VIN"), self.vin)
            self.plate = self._line("plate", 16, tr("For example: 粤B·12345"))
            self._row(vehicle, "plate", tr("Plate"), self.plate)
            self.model = self._line("model_name", 100)
            self._row(vehicle, "trim_id", tr("Model"), self.model)
        right.addStretch(1)

        self.buttons = QDialogButtonBox(
            QDialogButtonBox.StandardButton.Save | QDialogButtonBox.StandardButton.Cancel
        )
        self.save_button = self.buttons.button(QDialogButtonBox.StandardButton.Save)
        self.save_button.setText(tr("Save"))
        self.save_button.setDefault(True)  # Enter in any line edit saves
        self.cancel_button = self.buttons.button(QDialogButtonBox.StandardButton.Cancel)
        self.cancel_button.setText(tr("Cancel"))
        self.cancel_button.setAutoDefault(False)  # Enter must never mean "cancel"
        self.buttons.accepted.connect(self.accept)
        self.buttons.rejected.connect(self.reject)
        outer.addWidget(self.buttons)

        chain = [
            self.kind, self.name, self.contact_name, *self.phones, self.email, self.wechat,
            self.gender, self.birthday, self.id_number, self.address, self.source,
            self.salesperson, self.intent_level, self.expected_purchase_date, self.reason,
            self.vip, self.notes, *[w for w in (self.vin, self.plate, self.model) if w],
            self.save_button, self.cancel_button,
        ]  # fmt: skip
        for first, second in itertools.pairwise(chain):
            QWidget.setTabOrder(first, second)

        for edit in [*self.phones, self.id_number, self.email, self.vin]:
            if edit is not None:
                edit.textEdited.connect(self._schedule_duplicate_check)
        self.kind.currentIndexChanged.connect(self._kind_chosen)
        self.intent_level.currentIndexChanged.connect(self._level_chosen)
        self.name.setFocus()

    def _form(self, column: QVBoxLayout, title: str) -> QFormLayout:
        heading = QLabel(title)
        heading.setStyleSheet(
            "font-size: 13px; font-weight: bold; color: #2f6fb3; padding-top: 4px;"
        )
        column.addWidget(heading)
        form = QFormLayout()
        form.setLabelAlignment(Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignTop)
        form.setFieldGrowthPolicy(QFormLayout.FieldGrowthPolicy.AllNonFixedFieldsGrow)
        form.setHorizontalSpacing(12)
        form.setVerticalSpacing(6)
        column.addLayout(form)
        column.addSpacing(8)
        return form

    def _row(self, form: QFormLayout, field: str, label: str, widget: QWidget) -> Field:
        cell = Field(widget)
        cell.setMinimumWidth(250)
        form.addRow(label, cell)
        self._rows[field] = (form, cell)
        self.errors.add(field, cell)
        return cell

    def _set_row_visible(self, field: str, visible: bool) -> None:
        form, cell = self._rows[field]
        form.setRowVisible(cell, visible)

    @staticmethod
    def _line(name: str, length: int, placeholder: str = "") -> QLineEdit:
        edit = QLineEdit()
        edit.setObjectName(name)
        edit.setMaxLength(length)
        edit.setPlaceholderText(placeholder)
        return edit

    @staticmethod
    def _combo(name: str, items: list[tuple[str, Any]]) -> QComboBox:
        combo = QComboBox()
        combo.setObjectName(name)
        for text, data in items:
            combo.addItem(text, data)
        return combo

    def _kind_chosen(self) -> None:
        company = self.kind.currentData() == CustomerKind.COMPANY
        self._set_row_visible("contact_name", company)
        for field in ("gender", "birthday", "id_number"):
            self._set_row_visible(field, not company)

    def _level_chosen(self) -> None:
        level = self.intent_level.currentData()
        self._set_row_visible("expected_purchase_date", level == IntentLevel.C)
        was = self.original.intent_level if self.original else None
        self._set_row_visible("reason", level == IntentLevel.F and was != IntentLevel.F)

    # --- loading ------------------------------------------------------------------------------

    def _load(self) -> None:
        actor, cid = self.ctx.actor, self.customer_id

        def job(session):
            record = customers.get_customer(session, actor, cid) if cid else None
            return record, dealer.list_users(session, actor)

        if cid:
            self._set_enabled(False)
        self.ctx.runner.db(
            job,
            on_done=guarded(self, self._loaded_from_db),
            on_error=guarded(self, self._load_failed),
            name="customer-editor-load",
        )

    def _loaded_from_db(self, result) -> None:
        record, users = result
        if record is None:
            # A salesperson's new lead is theirs unless they pick someone else.
            mine = self.ctx.actor.user_id if self.ctx.actor.role == Role.SALESPERSON else None
            fill_staff_combo(self.salesperson, users, mine, none_text=tr("Unassigned"))
            self._baseline["assigned_to_id"] = self.salesperson.currentData()
            return
        self.original = record
        fill_staff_combo(self.salesperson, users, record.assigned_to_id, none_text=tr("Unassigned"))
        self._fill(record)
        self._baseline = self.values()
        self._loaded = True
        self._set_enabled(True)
        self.name.setFocus()

    def _load_failed(self, error: BaseException) -> None:
        report_error(self, error, self.ctx.language)
        if not self.is_new:
            QDialog.reject(self)

    def _fill(self, c: CustomerDTO) -> None:
        def select(combo: QComboBox, value) -> None:
            combo.setCurrentIndex(max(combo.findData(value), 0))

        select(self.kind, c.kind)
        self.name.setText(c.name)
        self.contact_name.setText(c.contact_name or "")
        masked_note = tr("Shown masked. Leave it as it is to keep it, or type a new one.")
        for i, edit in enumerate(self.phones):
            phone = c.phones[i] if i < len(c.phones) else None
            self._loaded_phones[i] = (phone.id, phone.number) if phone else None
            edit.setText(phone.number if phone else "")  # masked by the core
            edit.setToolTip(masked_note if phone else "")
        self._extra_phones = [KeptPhone(p.id) for p in c.phones[MAX_FORM_PHONES:]]
        self.email.setText(c.email or "")
        self.wechat.setText(c.wechat_id or "")
        select(self.gender, c.gender)
        self.birthday.setText(c.birthday.isoformat() if c.birthday else "")
        self.id_number.setText(c.id_number or "")  # masked by the core
        self.id_number.setToolTip(masked_note if c.id_number else "")
        self.address.setText(c.address or "")
        select(self.source, c.source)
        select(self.intent_level, c.intent_level)
        self.expected_purchase_date.setText(
            c.expected_purchase_date.isoformat() if c.expected_purchase_date else ""
        )
        self.vip.setChecked(c.vip)
        self.notes.setPlainText(c.notes or "")
        self._kind_chosen()
        self._level_chosen()

    def _set_enabled(self, enabled: bool) -> None:
        for _form, cell in self._rows.values():
            cell.input.setEnabled(enabled)
        self._set_save_enabled(enabled)

    # --- reading the form ---------------------------------------------------------------------

    def values(self) -> dict[str, Any]:
        """What the form holds now, in the service's field names (blank text is None)."""

        def text(edit: QLineEdit | None) -> str | None:
            return (edit.text().strip() or None) if edit is not None else None

        level = self.intent_level.currentData()
        expected = text(self.expected_purchase_date) if level == IntentLevel.C else None
        if self.original is not None and level != IntentLevel.C:
            # Hidden for other levels: leave whatever is stored alone.
            original = self.original.expected_purchase_date
            expected = original.isoformat() if original else None
        return {
            "kind": self.kind.currentData(),
            "name": self.name.text().strip(),
            "contact_name": text(self.contact_name),
            "phones": tuple(edit.text().strip() for edit in self.phones),
            "email": text(self.email),
            "wechat_id": text(self.wechat),
            "gender": self.gender.currentData(),
            "birthday": text(self.birthday),
            "id_number": text(self.id_number),
            "address": text(self.address),
            "source": self.source.currentData(),
            "assigned_to_id": self.salesperson.currentData(),
            "intent_level": level,
            "expected_purchase_date": expected,
            "vip": self.vip.isChecked(),
            "notes": self.notes.toPlainText().strip() or None,
            "reason": text(self.reason) if level == IntentLevel.F else None,
            "vin": text(self.vin),
            "plate": text(self.plate),
            "model_name": text(self.model),
        }

    def is_dirty(self) -> bool:
        """True when the form differs from what was loaded (or from blank, for a new one)."""
        return self._loaded and self.values() != self._baseline

    def _phone_list(self, values: Mapping[str, Any]) -> list[str | KeptPhone]:
        """The phones to save, in order: a box still showing the masked number it was filled
        with keeps that phone (by id); anything else is what was typed."""
        phones: list[str | KeptPhone] = []
        for text, loaded in zip(values["phones"], self._loaded_phones, strict=True):
            if loaded is not None and text == loaded[1]:
                phones.append(KeptPhone(loaded[0]))
            elif text:
                phones.append(text)
        return phones + self._extra_phones

    def draft(self) -> CustomerDraft:
        v = self.values()
        vehicles = ()
        if v["vin"] or v["plate"] or v["model_name"]:
            vehicles = (VehicleDraft(vin=v["vin"], plate=v["plate"], model_name=v["model_name"]),)
        return CustomerDraft(
            **{k: v[k] for k in CUSTOMER_FIELDS if k != "phones"},
            phones=self._phone_list(v),
            vehicles=vehicles,
        )

    def changes(self) -> dict[str, Any]:
        """The fields that differ from the loaded record (``phones`` as the whole new list)."""
        v = self.values()
        out = {k: v[k] for k in CUSTOMER_FIELDS if v[k] != self._baseline[k]}
        if "phones" in out:
            out["phones"] = self._phone_list(v)
        if "intent_level" in out and v["reason"]:
            out["reason"] = v["reason"]
        return out

    # --- saving -------------------------------------------------------------------------------

    def save(self, force: bool = False) -> None:
        """Create or update on the DB lane; closes on success, shows errors otherwise."""
        if self._busy or not self._loaded:
            return
        self.errors.clear()
        actor = self.ctx.actor
        if self.is_new:
            draft = self.draft()

            def job(session):
                return customers.create_customer(session, actor, draft, force=force)

            kind = "created"
        else:
            cid, changes = self.customer_id, self.changes()
            if not changes:
                QDialog.accept(self)
                return

            def job(session):
                return customers.update_customer(session, actor, cid, changes, force=force)

            kind = "updated"
        self._set_busy(True)
        self.ctx.runner.db(
            job,
            write=True,
            on_done=guarded(self, self._saved),
            on_error=guarded(self, self._failed),
            changed=lambda dto: Changed("customer", (dto.id,), kind),
            name="save-customer",
        )

    def _saved(self, dto: CustomerDTO) -> None:
        self._set_busy(False)
        self.saved.emit(dto)
        if self.is_new:
            self.ctx.navigator.open_customer.emit(dto.id)
        QDialog.accept(self)

    def _failed(self, error: BaseException) -> None:
        self._set_busy(False)
        if isinstance(error, DuplicateCustomerError):
            self._generation += 1  # a pending live check must not hide the refusal
            self.duplicates.show_candidates(error.candidates, refused=True)
            self.duplicates.force_button.setFocus()
            return
        if isinstance(error, ValidationError):
            self.errors.show(error, self._field_for(error.field))
            return
        report_error(self, error, self.ctx.language)

    def _field_for(self, name: str | None) -> str | None:
        """The form row for a service field name.

        The service numbers phones among the filled ones ("phone2" is the second number
        given), which is not the second box when one was left blank.
        """
        boxes = ("phone", "phone2", "phone3")
        if name in ("phone", "phone2", "phone3", "phone4", "phone5"):
            index = int(name[5:]) - 1 if name != "phone" else 0
            filled = [i for i, edit in enumerate(self.phones) if edit.text().strip()]
            return boxes[filled[index]] if index < len(filled) else boxes[0]
        return name

    def _set_busy(self, busy: bool) -> None:
        self._busy = busy
        self._set_save_enabled(not busy)

    def _set_save_enabled(self, enabled: bool) -> None:
        self.save_button.setEnabled(enabled)
        if enabled:
            self.save_button.setDefault(True)  # disabling it passed "default" to another button

    # --- duplicates ---------------------------------------------------------------------------

    def _schedule_duplicate_check(self) -> None:
        self._generation += 1  # whatever is in flight now describes older input
        self._duplicate_timer.start()

    def _check_duplicates(self) -> None:
        v = self.values()
        # Masked values are the customer's own, as loaded: nothing to compare.
        phones = [p for p in v["phones"] if p and not is_masked(p)]
        id_number = v["id_number"] if not is_masked(v["id_number"]) else None
        email = v["email"]
        vins = [v["vin"]] if v["vin"] else []
        if not (phones or id_number or vins or email):
            self.duplicates.show_candidates((), refused=False)
            return
        generation = self._generation
        actor, name, cid = self.ctx.actor, v["name"], self.customer_id

        def job(session):
            return customers.find_duplicates(
                session,
                actor,
                name=name or None,
                phones=phones,
                id_number=id_number,
                vins=vins,
                email=email,
                exclude_id=cid,
            )

        self.ctx.runner.db(
            job,
            on_done=guarded(self, lambda found: self._show_duplicates(generation, found)),
            on_error=guarded(self, lambda error: report_error(self, error, self.ctx.language)),
            name="find-duplicates",
        )

    def _show_duplicates(self, generation: int, found: list[DuplicateCandidate]) -> None:
        if generation != self._generation:
            return  # the form changed since this query was sent
        self.duplicates.show_candidates(found, refused=False)

    def _open_existing(self, candidate: DuplicateCandidate) -> None:
        if self.is_dirty():
            answer = QMessageBox.question(
                self,
                tr("Open existing customer"),
                tr("Discard what you typed here and open %1?").replace("%1", candidate.name),
                QMessageBox.StandardButton.Yes | QMessageBox.StandardButton.No,
                QMessageBox.StandardButton.No,
            )
            if answer != QMessageBox.StandardButton.Yes:
                return
        self.ctx.navigator.open_customer.emit(candidate.customer_id)
        QDialog.reject(self)

    def _merge(self, candidate: DuplicateCandidate) -> None:
        if self._busy or not self._loaded:
            return
        if self.is_new:
            text = tr(
                "Add what you typed to %1 instead of creating a new customer? "
                "Empty fields of %1 are filled in from this form."
            )
        else:
            text = tr(
                "Merge this customer into %1? Vehicles, interactions and follow-ups move to %1, "
                "and this record is retired."
            )
        answer = QMessageBox.question(
            self,
            tr("Merge customers"),
            text.replace("%1", candidate.name),
            QMessageBox.StandardButton.Yes | QMessageBox.StandardButton.No,
            QMessageBox.StandardButton.No,
        )
        if answer != QMessageBox.StandardButton.Yes:
            return
        self.errors.clear()
        actor, survivor = self.ctx.actor, candidate.customer_id
        if self.is_new:
            draft = self.draft()

            def job(session):
                return merge.create_and_merge(session, actor, draft, survivor)
        else:
            cid, changes = self.customer_id, self.changes()

            def job(session):
                return merge.update_and_merge(session, actor, cid, changes, survivor)

        self._set_busy(True)
        self.ctx.runner.db(
            job,
            write=True,
            on_done=guarded(self, self._merged),
            on_error=guarded(self, self._failed),
            changed=lambda r: Changed("customer", (r.survivor.id, r.merged_id), "merged"),
            name="merge-customer",
        )

    def _merged(self, result) -> None:
        self._set_busy(False)
        self.merged.emit(result.survivor.id)
        self.ctx.navigator.open_customer.emit(result.survivor.id)
        QDialog.accept(self)

    # --- closing ------------------------------------------------------------------------------

    def accept(self) -> None:
        """Any "accept" (Enter, the Save button) means save; the dialog closes once it worked."""
        self.save()

    def reject(self) -> None:
        """Esc, Cancel and the window's close button: ask before dropping unsaved changes."""
        if self.is_dirty():
            answer = QMessageBox.question(
                self,
                tr("Unsaved changes"),
                tr("Discard the changes you made to this customer?"),
                QMessageBox.StandardButton.Yes | QMessageBox.StandardButton.No,
                QMessageBox.StandardButton.No,
            )
            if answer != QMessageBox.StandardButton.Yes:
                return
        self._duplicate_timer.stop()
        super().reject()
