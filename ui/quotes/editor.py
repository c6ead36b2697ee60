"""The quote editor: trim, colour, options, accessories and fees, discount; totals as you type.

The catalogue, the store's discount limit and (when editing) the quote are read in one job on
the DB lane; saving is one write job. The totals shown here are a preview computed from the
same catalogue prices: the service computes the stored ones again and never takes them from
this form. The margin row exists only for roles that may see margins. Enter saves, Esc
cancels; an error appears under the field it names.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from decimal import Decimal

from PySide6.QtCore import QDate, Qt, Signal
from PySide6.QtWidgets import (
    QAbstractItemView,
    QComboBox,
    QDateEdit,
    QDialog,
    QDialogButtonBox,
    QFormLayout,
    QGridLayout,
    QHBoxLayout,
    QHeaderView,
    QLabel,
    QLineEdit,
    QListWidget,
    QListWidgetItem,
    QPlainTextEdit,
    QPushButton,
    QSpinBox,
    QTableWidget,
    QVBoxLayout,
    QWidget,
)
from sqlalchemy.orm import Session

from showroom import permissions
from showroom.actor import Actor
from showroom.errors import ValidationError
from showroom.money import parse_money, to_money
from showroom.services import quotes
from showroom.services.dto import QuoteDTO
from showroom.services.quotes import QuoteDraft, QuoteLineDraft, TrimChoice
from ui import formatting
from ui.context import AppContext
from ui.i18n import tr
from ui.quotes.texts import line_kind_text
from ui.widgets import (
    ERROR_COLOUR,
    MUTED_COLOUR,
    Field,
    FieldError,
    FormErrors,
    guarded,
    report_error,
)

DATE_FORMAT = "yyyy-MM-dd"
ZERO = Decimal("0.00")


@dataclass(frozen=True)
class EditorData:
    choices: list[TrimChoice]
    limit: Decimal
    quote: QuoteDTO | None


def load_editor(session: Session, actor: Actor, quote_id: str | None) -> EditorData:
    """The catalogue, the discount limit and the quote being edited, in one read."""
    quote = quotes.get_quote(session, actor, quote_id) if quote_id else None
    return EditorData(
        quotes.catalogue_choices(session, actor), quotes.discount_threshold(session), quote
    )


def _amount(text: str) -> Decimal | None:
    """A typed amount, or None while it is not one (the save reports why)."""
    if not text.strip():
        return ZERO
    try:
        return parse_money(text)
    except ValidationError:
        return None


class QuoteEditor(QDialog):
    """New or existing quote for one customer. ``ready`` once loaded; ``saved`` with the DTO.

    With ``copy_of``, a new quote filled from that one (a quote in the customer's hands cannot
    change): today's catalogue prices, a new validity, the purchase tax worked out again, and
    the approval, if its discount needs one, asked for afresh.
    """

    ready = Signal()
    saved = Signal(object)  # QuoteDTO

    def __init__(
        self,
        ctx: AppContext,
        customer_id: str,
        quote_id: str | None = None,
        parent: QWidget | None = None,
        *,
        copy_of: str | None = None,
    ) -> None:
        super().__init__(parent)
        self.ctx = ctx
        self.customer_id = customer_id
        self.quote_id = quote_id
        self.copy_of = None if quote_id else copy_of
        self.choices: dict[str, TrimChoice] = {}
        self.limit = quotes.DEFAULT_DISCOUNT_THRESHOLD
        self._busy = False
        self._filling = False
        self.may_see_margins = permissions.can(ctx.actor, "see_margins")
        self.setObjectName("quoteEditor")
        self.setAttribute(Qt.WidgetAttribute.WA_DeleteOnClose)
        if quote_id:
            self.setWindowTitle(tr("Edit quote"))
        else:
            self.setWindowTitle(
                tr("New quote") if self.copy_of is None else tr("Copy as new quote")
            )
        self.setMinimumWidth(900)
        self._build()
        self._load()

    # --- building ------------------------------------------------------------------------

    def _build(self) -> None:
        layout = QVBoxLayout(self)
        layout.setContentsMargins(20, 18, 20, 16)
        layout.setSpacing(10)
        self.heading = QLabel(self.windowTitle())
        self.heading.setStyleSheet("font-size: 16px; font-weight: bold;")
        layout.addWidget(self.heading)
        self.general_error = FieldError()
        self.errors = FormErrors(lambda: self.ctx.language, self.general_error)

        columns = QHBoxLayout()
        columns.setSpacing(18)
        layout.addLayout(columns, 1)
        left = QFormLayout()
        left.setLabelAlignment(Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignTop)
        left.setFieldGrowthPolicy(QFormLayout.FieldGrowthPolicy.AllNonFixedFieldsGrow)
        columns.addLayout(left, 3)

        self.trim = QComboBox()
        self.trim.setObjectName("trim")
        self.trim.setMinimumContentsLength(28)
        self.trim.currentIndexChanged.connect(self._trim_changed)
        self._row(left, tr("Vehicle"), self.trim, "trim_id")
        self.colour = QComboBox()
        self.colour.setObjectName("colour")
        self.colour.currentIndexChanged.connect(self._recompute)
        self._row(left, tr("Colour"), self.colour, "colour")
        self.options = QListWidget()
        self.options.setObjectName("options")
        self.options.setFixedHeight(96)
        self.options.itemChanged.connect(self._recompute)
        self._row(left, tr("Options"), self.options, "options")

        self.lines = QTableWidget(0, 4)
        self.lines.setObjectName("lines")
        self.lines.setHorizontalHeaderLabels(
            [tr("Kind"), tr("Description"), tr("Qty"), tr("Unit price")]
        )
        self.lines.verticalHeader().hide()
        self.lines.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectRows)
        self.lines.setFixedHeight(150)
        header = self.lines.horizontalHeader()
        header.setSectionResizeMode(1, QHeaderView.ResizeMode.Stretch)
        for column, width in ((0, 100), (2, 60), (3, 100)):
            header.setSectionResizeMode(column, QHeaderView.ResizeMode.Fixed)
            header.resizeSection(column, width)
        lines_box = QWidget()
        lines_layout = QVBoxLayout(lines_box)
        lines_layout.setContentsMargins(0, 0, 0, 0)
        lines_layout.addWidget(self.lines)
        line_buttons = QHBoxLayout()
        self.add_line_button = QPushButton(tr("Add line"))
        self.add_line_button.setObjectName("addLine")
        self.add_line_button.setAutoDefault(False)
        self.add_line_button.clicked.connect(lambda: self.add_line("accessory", "", ZERO))
        self.tax_button = QPushButton(tr("Add purchase tax"))
        self.tax_button.setObjectName("addPurchaseTax")
        self.tax_button.setToolTip(tr("Vehicle purchase tax on the price after the discount"))
        self.tax_button.setAutoDefault(False)
        self.tax_button.clicked.connect(self.add_purchase_tax)
        self.remove_line_button = QPushButton(tr("Remove line"))
        self.remove_line_button.setObjectName("removeLine")
        self.remove_line_button.setAutoDefault(False)
        self.remove_line_button.clicked.connect(self.remove_line)
        for button in (self.add_line_button, self.tax_button, self.remove_line_button):
            line_buttons.addWidget(button)
        line_buttons.addStretch(1)
        lines_layout.addLayout(line_buttons)
        self._row(left, tr("Accessories and fees"), lines_box, "lines")

        self.discount = QLineEdit()
        self.discount.setObjectName("discount")
        self.discount.setPlaceholderText("0.00")
        self.discount.setAlignment(Qt.AlignmentFlag.AlignRight)
        self.discount.textChanged.connect(self._recompute)
        self._row(left, tr("Discount (CNY)"), self.discount, "discount")
        self.valid_until = QDateEdit()
        self.valid_until.setObjectName("validUntil")
        self.valid_until.setCalendarPopup(True)
        self.valid_until.setDisplayFormat(DATE_FORMAT)
        today = dt.date.today()
        self.valid_until.setMinimumDate(QDate(today.year, today.month, today.day))
        default = today + dt.timedelta(days=quotes.VALID_DAYS)
        self.valid_until.setDate(QDate(default.year, default.month, default.day))
        self._row(left, tr("Valid until"), self.valid_until, "valid_until")
        self.notes = QPlainTextEdit()
        self.notes.setObjectName("notes")
        self.notes.setTabChangesFocus(True)
        self.notes.setFixedHeight(56)
        self.notes.setPlaceholderText(tr("Printed on the quote, e.g. delivery date, gifts"))
        self._row(left, tr("Notes"), self.notes, "notes")

        columns.addWidget(self._totals_box(), 2, Qt.AlignmentFlag.AlignTop)
        layout.addWidget(self.general_error)

        self.buttons = QDialogButtonBox(
            QDialogButtonBox.StandardButton.Save | QDialogButtonBox.StandardButton.Cancel
        )
        self.save_button = self.buttons.button(QDialogButtonBox.StandardButton.Save)
        self.save_button.setText(tr("Save"))
        self.save_button.setObjectName("saveQuote")
        self.save_button.setDefault(True)
        self.save_button.setEnabled(False)
        cancel = self.buttons.button(QDialogButtonBox.StandardButton.Cancel)
        cancel.setText(tr("Cancel"))
        cancel.setAutoDefault(False)
        self.buttons.accepted.connect(self.save)
        self.buttons.rejected.connect(self.reject)
        layout.addWidget(self.buttons)

    def _row(self, form: QFormLayout, label: str, widget: QWidget, field: str) -> Field:
        cell = Field(widget)
        form.addRow(label, cell)
        self.errors.add(field, cell)
        return cell

    def _totals_box(self) -> QWidget:
        box = QWidget()
        box.setObjectName("quoteTotals")
        box.setStyleSheet(
            "QWidget#quoteTotals { background: #f7f9fb; border: 1px solid #dde3ea;"
            " border-radius: 6px; }"
        )
        grid = QGridLayout(box)
        grid.setContentsMargins(14, 12, 14, 12)
        grid.setVerticalSpacing(6)
        self.total_labels: dict[str, QLabel] = {}
        rows = [
            ("vehicle", tr("Vehicle price")),
            ("extras", tr("Colour and options")),
            ("discount", tr("Discount")),
            ("fees", tr("Accessories and fees")),
            ("total", tr("Total")),
        ]
        if self.may_see_margins:
            rows.append(("margin", tr("Margin (not printed)")))
        for row, (key, text) in enumerate(rows):
            name = QLabel(text)
            value = QLabel("—")
            value.setObjectName(f"total_{key}")
            value.setAlignment(Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter)
            if key == "total":
                name.setStyleSheet("font-weight: bold;")
                value.setStyleSheet("font-weight: bold; font-size: 15px;")
            if key == "margin":
                name.setStyleSheet(f"color: {MUTED_COLOUR};")
            grid.addWidget(name, row, 0)
            grid.addWidget(value, row, 1)
            self.total_labels[key] = value
        self.margin_label = self.total_labels.get("margin")
        self.approval_hint = QLabel()
        self.approval_hint.setObjectName("approvalHint")
        self.approval_hint.setWordWrap(True)
        self.approval_hint.setStyleSheet(f"color: {ERROR_COLOUR};")
        self.approval_hint.hide()
        grid.addWidget(self.approval_hint, len(rows), 0, 1, 2)
        self.rejection = QLabel()
        self.rejection.setObjectName("rejectionNote")
        self.rejection.setWordWrap(True)
        self.rejection.setStyleSheet(f"color: {ERROR_COLOUR};")
        self.rejection.hide()
        grid.addWidget(self.rejection, len(rows) + 1, 0, 1, 2)
        box.setMinimumWidth(250)
        return box

    # --- loading -------------------------------------------------------------------------

    def _load(self) -> None:
        actor, source_id = self.ctx.actor, self.quote_id or self.copy_of
        self.ctx.runner.db(
            lambda s: load_editor(s, actor, source_id),
            on_done=guarded(self, self._loaded),
            on_error=guarded(self, self._failed),
            name="quote-editor",
        )

    def _loaded(self, data: EditorData) -> None:
        self._filling = True
        self.limit = data.limit
        self.choices = {c.id: c for c in data.choices}
        self.trim.clear()
        self.trim.addItem(tr("Choose a trim…"), None)
        for choice in data.choices:
            self.trim.addItem(f"{choice.label}  {formatting.money(choice.msrp)}", choice.id)
        quote = data.quote
        if quote is not None:
            if quote.trim_id not in self.choices:
                # A retired trim stays on its quote; the save will ask for a current one.
                self.trim.addItem(f"{quote.vehicle_name} ({quote.model_year})", quote.trim_id)
            self.trim.setCurrentIndex(self.trim.findData(quote.trim_id))
            self._fill_trim(quote.colour, {x.code for x in quote.lines if x.kind == "option"})
            for line in quote.lines:
                if line.kind not in ("colour", "option"):
                    self.add_line(line.kind, line.description, line.unit_price, line.quantity)
            self.discount.setText(f"{quote.discount:.2f}" if quote.discount else "")
            if self.copy_of is None:
                d = max(quote.valid_until, dt.date.today())
                self.valid_until.setDate(QDate(d.year, d.month, d.day))
            else:
                self.heading.setText(tr("New quote, copied from %1").replace("%1", quote.number))
            self.notes.setPlainText(quote.notes or "")
            if quote.rejection_reason and self.copy_of is None:
                self.rejection.setText(
                    tr("Discount refused: %1").replace("%1", quote.rejection_reason)
                )
                self.rejection.show()
        self._filling = False
        self._recompute()
        if self.copy_of is not None and "purchase_tax" in self._line_kinds():
            self.add_purchase_tax()  # on today's price, not the copied quote's
        self.save_button.setEnabled(True)
        self.trim.setFocus()
        self.ready.emit()

    def _failed(self, error: BaseException) -> None:
        self._busy = False
        self.save_button.setEnabled(True)
        report_error(self, error, self.ctx.language, self.errors)

    # --- the form ------------------------------------------------------------------------

    def current_choice(self) -> TrimChoice | None:
        return self.choices.get(self.trim.currentData())

    def _trim_changed(self) -> None:
        if not self._filling:
            self._fill_trim(None, set())
        self._recompute()

    def _fill_trim(self, colour: str | None, codes: set[str]) -> None:
        choice = self.current_choice()
        filling, self._filling = self._filling, True
        self.colour.clear()
        self.options.clear()
        if choice is not None:
            for name, price in choice.colours:
                text = name if not price else f"{name}  +{formatting.money(price)}"
                self.colour.addItem(text, name)
            if colour is not None and self.colour.findData(colour) >= 0:
                self.colour.setCurrentIndex(self.colour.findData(colour))
            for code, name, price in choice.options:
                item = QListWidgetItem(f"{name}  {formatting.money(price)}")
                item.setData(Qt.ItemDataRole.UserRole, code)
                item.setFlags(item.flags() | Qt.ItemFlag.ItemIsUserCheckable)
                checked = code in codes
                item.setCheckState(Qt.CheckState.Checked if checked else Qt.CheckState.Unchecked)
                self.options.addItem(item)
        self._filling = filling

    def checked_options(self) -> list[str]:
        return [
            self.options.item(i).data(Qt.ItemDataRole.UserRole)
            for i in range(self.options.count())
            if self.options.item(i).checkState() == Qt.CheckState.Checked
        ]

    def set_option(self, code: str, checked: bool) -> None:
        for i in range(self.options.count()):
            item = self.options.item(i)
            if item.data(Qt.ItemDataRole.UserRole) == code:
                item.setCheckState(Qt.CheckState.Checked if checked else Qt.CheckState.Unchecked)

    def add_line(self, kind: str, description: str, price: Decimal, quantity: int = 1) -> int:
        """Append an accessory or fee line; returns its row."""
        row = self.lines.rowCount()
        self.lines.insertRow(row)
        kinds = QComboBox()
        for code in quotes.EXTRA_KINDS:
            kinds.addItem(line_kind_text(code), code)
        kinds.setCurrentIndex(max(kinds.findData(kind), 0))
        kinds.currentIndexChanged.connect(self._recompute)
        self.lines.setCellWidget(row, 0, kinds)
        text = QLineEdit(description)
        text.setPlaceholderText(tr("e.g. floor mats"))
        text.setFrame(False)
        text.setCursorPosition(0)  # a long name shows its beginning
        self.lines.setCellWidget(row, 1, text)
        count = QSpinBox()
        count.setRange(1, quotes.MAX_QUANTITY)
        count.setValue(quantity)
        count.setFrame(False)
        count.valueChanged.connect(self._recompute)
        self.lines.setCellWidget(row, 2, count)
        amount = QLineEdit(f"{price:.2f}" if price else "")
        amount.setPlaceholderText("0.00")
        amount.setAlignment(Qt.AlignmentFlag.AlignRight)
        amount.setFrame(False)
        amount.textChanged.connect(self._recompute)
        self.lines.setCellWidget(row, 3, amount)
        self._recompute()
        if not self._filling and not description:
            text.setFocus()
        return row

    def remove_line(self) -> None:
        row = self.lines.currentRow()
        if row < 0:
            row = self.lines.rowCount() - 1
        if row >= 0:
            self.lines.removeRow(row)
            self._recompute()

    def _line_kinds(self) -> list[str]:
        return [self.lines.cellWidget(row, 0).currentData() for row in range(self.lines.rowCount())]

    def extra_lines(self) -> list[QuoteLineDraft]:
        drafts = []
        for row in range(self.lines.rowCount()):
            drafts.append(
                QuoteLineDraft(
                    kind=self.lines.cellWidget(row, 0).currentData(),
                    description=self.lines.cellWidget(row, 1).text(),
                    quantity=self.lines.cellWidget(row, 2).value(),
                    unit_price=self.lines.cellWidget(row, 3).text().strip() or "0",
                )
            )
        return drafts

    def add_purchase_tax(self) -> None:
        """Add (or update) the purchase tax line, on the vehicle price after the discount."""
        choice = self.current_choice()
        totals = self.totals()
        if choice is None or totals is None:
            return
        taxable = totals["vehicle"] + totals["extras"] - totals["discount"]
        tax = quotes.purchase_tax(taxable, choice.fuel)
        for row, kind in enumerate(self._line_kinds()):
            if kind == "purchase_tax":
                self.lines.cellWidget(row, 3).setText(f"{tax:.2f}")
                return
        self.add_line("purchase_tax", tr("Vehicle purchase tax"), tax)

    # --- totals --------------------------------------------------------------------------

    def totals(self) -> dict[str, Decimal] | None:
        """What the quote will come to, from the catalogue and the typed lines; None while
        something typed is not an amount."""
        choice = self.current_choice()
        if choice is None:
            return None
        colour = dict(choice.colours).get(self.colour.currentData(), ZERO)
        prices = {code: price for code, _name, price in choice.options}
        extras = colour + sum((prices[c] for c in self.checked_options()), ZERO)
        discount = _amount(self.discount.text())
        fees = ZERO
        for draft in self.extra_lines():
            price = _amount(str(draft.unit_price))
            if price is None:
                return None
            fees += to_money(price * draft.quantity)
        if discount is None:
            return None
        total = choice.msrp + extras - discount + fees
        values = {
            "vehicle": choice.msrp,
            "extras": extras,
            "discount": discount,
            "fees": fees,
            "total": total,
        }
        if choice.dealer_cost is not None:
            values["margin"] = choice.msrp - discount - choice.dealer_cost
        return values

    def _recompute(self) -> None:
        if self._filling:
            return
        values = self.totals()
        for key, label in self.total_labels.items():
            if values is None or key not in values:
                label.setText("—")
            elif key == "discount" and values[key]:
                label.setText("-" + formatting.money(values[key]))
            else:
                label.setText(formatting.money(values[key]))
        over = values is not None and values["discount"] > self.limit
        self.approval_hint.setVisible(over)
        if over:
            self.approval_hint.setText(
                tr(
                    "Above your limit of %1: a manager must approve it before it is printed."
                ).replace("%1", formatting.money(self.limit))
                if not permissions.can(self.ctx.actor, "approve_discount")
                else tr("Above the store's limit of %1: saving approves it as yours.").replace(
                    "%1", formatting.money(self.limit)
                )
            )

    # --- saving --------------------------------------------------------------------------

    def draft(self) -> QuoteDraft:
        day = self.valid_until.date()
        return QuoteDraft(
            trim_id=self.trim.currentData() or "",
            colour=self.colour.currentData(),
            option_codes=self.checked_options(),
            extras=self.extra_lines(),
            discount=self.discount.text().strip() or "0",
            valid_until=dt.date(day.year(), day.month(), day.day()),
            notes=self.notes.toPlainText(),
        )

    def save(self) -> None:
        if self._busy or not self.save_button.isEnabled():
            return
        self._busy = True
        self.save_button.setEnabled(False)
        self.errors.clear()
        actor, customer_id, quote_id, draft = (
            self.ctx.actor, self.customer_id, self.quote_id, self.draft(),
        )  # fmt: skip

        def run(session):
            if quote_id:
                return quotes.update_quote(session, actor, quote_id, draft)
            return quotes.create_quote(session, actor, customer_id, draft)

        self.ctx.runner.db(
            run,
            write=True,
            on_done=guarded(self, self._saved),
            on_error=guarded(self, self._failed),
            changed=quotes.quote_changed,
            name="save-quote",
        )

    def _saved(self, quote: QuoteDTO) -> None:
        self._busy = False
        self.saved.emit(quote)
        self.accept()
