"""The Quotes tab of the customer 360 view: the customer's quotes and what can be done with them.

The list is read on the DB lane whenever the customer is shown or a quote of theirs changes.
Buttons follow the selected quote: a quote over the discount limit reads "Needs approval" and
cannot be printed or saved until a manager approves it; managers get Approve and Reject. The
margin column exists only for roles that may see margins. A refusal from the core (a
salesperson approving, another salesperson's read-only lead) is shown as its typed message.
"""

from __future__ import annotations

from PySide6.QtCore import Qt, Signal
from PySide6.QtGui import QBrush, QColor
from PySide6.QtWidgets import (
    QAbstractItemView,
    QFrame,
    QHBoxLayout,
    QHeaderView,
    QInputDialog,
    QLabel,
    QMessageBox,
    QPushButton,
    QTableWidget,
    QTableWidgetItem,
    QVBoxLayout,
    QWidget,
)

from showroom import permissions
from showroom.services import quotes
from showroom.services.dto import Changed, QuoteDTO
from ui import day, formatting
from ui.context import AppContext
from ui.i18n import tr
from ui.quotes.editor import QuoteEditor
from ui.quotes.printing import (
    QuoteOutput,
    choose_printer,
    choose_save_path,
    file_name,
    warm_up,
)
from ui.quotes.texts import STATUS_COLOURS, status_text
from ui.widgets import ERROR_COLOUR, MUTED_COLOUR, guarded, read_only_table, report_error

RIGHT = Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter


class QuotesPanel(QWidget):
    """``set_customer(id)`` loads the list; ``loaded`` is emitted after each load."""

    loaded = Signal()

    def __init__(self, ctx: AppContext, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.ctx = ctx
        self.customer_id: str | None = None
        self.quotes: list[QuoteDTO] = []
        self._generation = 0
        self.setObjectName("quotesPanel")
        self._build()
        ctx.runner.data_changed.connect(self._on_data_changed)

    def _build(self) -> None:
        layout = QVBoxLayout(self)
        layout.setContentsMargins(12, 10, 12, 10)
        layout.setSpacing(8)
        bar = QHBoxLayout()
        bar.setSpacing(6)
        self.new_button = self._button(bar, "newQuote", tr("New quote"), self.new_quote)
        self.edit_button = self._button(bar, "editQuote", tr("Edit"), self.edit_quote)
        self.copy_button = self._button(bar, "copyQuote", tr("Copy as new…"), self.copy_quote)
        self.copy_button.setToolTip(
            tr("A new quote with the same vehicle, options and lines, at today's prices")
        )
        self.approve_button = self._button(bar, "approveDiscount", tr("Approve"), self.approve)
        self.reject_button = self._button(bar, "rejectDiscount", tr("Reject…"), self.reject)
        bar.addStretch(1)
        self.preview_button = self._button(bar, "previewQuote", tr("Preview"), self.preview)
        self.print_button = self._button(bar, "printQuote", tr("Print…"), self.print_quote)
        self.save_button = self._button(bar, "saveQuotePdf", tr("Save PDF…"), self.save_pdf)
        self.cancel_button = self._button(bar, "cancelQuote", tr("Void"), self.cancel_quote)
        self.split_button = self._button(
            bar, "keepPrinted", tr("Keep as printed…"), self.keep_as_printed
        )
        self.split_button.setToolTip(
            tr("Put the quote back as the customer's copy, and keep the change as a new quote")
        )
        self.new_button.setStyleSheet(
            "QPushButton { background: #2f6fb3; color: white; border: none; border-radius: 4px;"
            " padding: 5px 12px; font-weight: bold; }"
            "QPushButton:disabled { background: #9bb7d6; }"
        )
        layout.addLayout(bar)

        self.table = QTableWidget(0, 0)
        self.table.setObjectName("quotesTable")
        read_only_table(self.table)
        self.table.setSelectionMode(QAbstractItemView.SelectionMode.SingleSelection)
        self.table.setFrameShape(QFrame.Shape.NoFrame)
        self.table.itemSelectionChanged.connect(self._update_buttons)
        self.table.doubleClicked.connect(lambda _index: self.open_quote())
        layout.addWidget(self.table, 1)
        self.note = QLabel()
        self.note.setObjectName("quoteNote")
        self.note.setWordWrap(True)
        self.note.setTextFormat(Qt.TextFormat.PlainText)
        layout.addWidget(self.note)
        self.empty = QLabel(tr("No quotes yet. Make the first one with New quote."))
        self.empty.setObjectName("quotesEmpty")
        self.empty.setStyleSheet(f"color: {MUTED_COLOUR}; font-style: italic; padding: 4px 0;")
        layout.addWidget(self.empty)
        self._update_buttons()

    def _button(self, bar: QHBoxLayout, name: str, text: str, slot) -> QPushButton:
        button = QPushButton(text)
        button.setObjectName(name)
        button.clicked.connect(slot)
        bar.addWidget(button)
        return button

    # --- loading -------------------------------------------------------------------------

    @property
    def shows_margins(self) -> bool:
        return permissions.can(self.ctx.actor, "see_margins")

    def set_customer(self, customer_id: str | None) -> None:
        if customer_id != self.customer_id:
            self.quotes = []
            self.table.setRowCount(0)
        self.customer_id = customer_id
        if customer_id is not None:
            warm_up(self.ctx)
        self.refresh()

    def refresh(self) -> None:
        if self.customer_id is None:
            return
        self._generation += 1
        generation, actor, cid = self._generation, self.ctx.actor, self.customer_id
        self.ctx.runner.db(
            lambda s: quotes.list_quotes(s, actor, cid),
            on_done=guarded(self, lambda rows: self._loaded(generation, rows)),
            on_error=guarded(self, lambda error: self._failed(generation, error)),
            name="quotes",
        )

    def _loaded(self, generation: int, rows: list[QuoteDTO]) -> None:
        if generation != self._generation:
            return
        selected = self.selected()
        self.quotes = rows
        self._render(selected.id if selected else None)
        self.loaded.emit()

    def _failed(self, generation: int, error: BaseException) -> None:
        if generation != self._generation:
            return
        self.quotes = []
        self._render(None)
        self.loaded.emit()
        from showroom.errors import NotFoundError

        if not isinstance(error, NotFoundError):  # the 360 view says "no longer on file"
            report_error(self, error, self.ctx.language)

    def _on_data_changed(self, changed: Changed) -> None:
        if self.customer_id is None:
            return
        if changed.entity == "quote" and self.customer_id in changed.ids:
            self.refresh()
        elif changed.entity == day.DAY:
            self.refresh()  # a quote past its date reads as expired

    # --- rendering -----------------------------------------------------------------------

    def column_titles(self) -> list[str]:
        titles = [tr("Number"), tr("Vehicle"), tr("Total"), tr("Status"), tr("Valid until")]
        if self.shows_margins:
            titles.append(tr("Margin"))
        return titles

    def _render(self, keep_id: str | None) -> None:
        titles = self.column_titles()
        self.table.blockSignals(True)
        self.table.clear()
        self.table.setColumnCount(len(titles))
        self.table.setHorizontalHeaderLabels(titles)
        self.table.setRowCount(len(self.quotes))
        for row, q in enumerate(self.quotes):
            colour = f" · {q.colour}" if q.colour else ""
            cells = [
                q.number,
                f"{q.model} {q.trim}{colour}",
                formatting.money(q.total),
                tr("Changed after printing") if q.changed_after_issue else status_text(q.status),
                formatting.date(q.valid_until),
            ]
            if self.shows_margins:
                cells.append(formatting.money(q.margin) if q.margin is not None else "—")
            for column, text in enumerate(cells):
                item = QTableWidgetItem(text)
                item.setData(Qt.ItemDataRole.UserRole, q.id)
                if column == 1:
                    item.setToolTip(f"{q.vehicle_name} ({q.model_year}){colour}")
                if column in (2, 5):
                    item.setTextAlignment(RIGHT)
                if column == 3:
                    shown = "changed_after_issue" if q.changed_after_issue else q.status
                    background, foreground = STATUS_COLOURS.get(shown, ("#ffffff", "#1f2d3d"))
                    item.setBackground(QBrush(QColor(background)))
                    item.setForeground(QBrush(QColor(foreground)))
                self.table.setItem(row, column, item)
        header = self.table.horizontalHeader()
        header.setSectionResizeMode(QHeaderView.ResizeMode.ResizeToContents)
        header.setSectionResizeMode(1, QHeaderView.ResizeMode.Stretch)
        header.setDefaultAlignment(Qt.AlignmentFlag.AlignLeft | Qt.AlignmentFlag.AlignVCenter)
        self.table.blockSignals(False)
        self.table.setVisible(bool(self.quotes))
        self.empty.setVisible(not self.quotes)
        row = next((i for i, q in enumerate(self.quotes) if q.id == keep_id), 0)
        if self.quotes:
            self.table.selectRow(row)
        self._update_buttons()

    def selected(self) -> QuoteDTO | None:
        rows = self.table.selectionModel().selectedRows() if self.table.selectionModel() else []
        if not rows or rows[0].row() >= len(self.quotes):
            return None
        return self.quotes[rows[0].row()]

    def select(self, quote_id: str) -> None:
        for row, q in enumerate(self.quotes):
            if q.id == quote_id:
                self.table.selectRow(row)

    def _update_buttons(self) -> None:
        q = self.selected()
        manager = permissions.can(self.ctx.actor, "approve_discount")
        pending = q is not None and q.status == "pending_approval"
        self.new_button.setEnabled(self.customer_id is not None)
        self.edit_button.setEnabled(q is not None and q.editable)
        self.edit_button.setToolTip(
            tr("In the customer's hands or voided: copy it as a new quote instead")
            if q is not None and not q.editable
            else ""
        )
        self.copy_button.setEnabled(q is not None)
        for button in (self.approve_button, self.reject_button):
            button.setVisible(manager)
            button.setEnabled(pending)
        self.preview_button.setEnabled(q is not None)
        for button in (self.print_button, self.save_button):
            button.setEnabled(q is not None and q.printable)
            button.setToolTip(self._why_not_printable(q) if q is not None else "")
        self.cancel_button.setEnabled(q is not None and q.status != "cancelled")
        self.split_button.setVisible(q is not None and q.changed_after_issue)
        self._render_note(q)

    def _why_not_printable(self, q: QuoteDTO) -> str:
        if q.printable:
            return ""
        if q.changed_after_issue:
            return tr("Changed on another laptop after it was printed: keep it as printed first")
        if q.needs_approval:
            return tr("Needs a manager's approval of the discount before it is printed")
        if q.status == "expired" and q.editable:
            return tr("Expired: edit it to set a new date")
        if q.status == "expired":
            return tr("Expired: copy it as a new quote")
        return tr("A voided quote is not printed")

    def _render_note(self, q: QuoteDTO | None) -> None:
        text, colour = "", MUTED_COLOUR
        if q is not None:
            limit = formatting.money(q.discount_limit)
            if q.changed_after_issue:
                text = tr(
                    "Changed on another laptop after it was printed: printed total %1, now %2."
                    " The customer's copy stands; keep the quote as printed and the change"
                    " becomes a new quote."
                )
                text = text.replace("%1", formatting.money(q.issued_total))
                text = text.replace("%2", formatting.money(q.total))
                colour = ERROR_COLOUR
            elif q.rejection_reason and q.needs_approval:
                text = tr("Discount refused: %1").replace("%1", q.rejection_reason)
                colour = ERROR_COLOUR
            elif q.needs_approval:
                text = tr("Discount %1 is above the limit of %2: needs a manager's approval.")
                text = text.replace("%1", formatting.money(q.discount)).replace("%2", limit)
                colour = ERROR_COLOUR
            elif q.status == "expired":
                text = (
                    tr("Expired: it was valid until %1. Edit it to set a new date.")
                    if q.editable
                    else tr(
                        "Expired: it was valid until %1. The customer's copy cannot change:"
                        " copy it as a new quote, at today's prices."
                    )
                ).replace("%1", formatting.date(q.valid_until))
            elif q.approved_by_name and q.status in ("approved", "issued"):
                text = tr("Discount approved by %1").replace("%1", q.approved_by_name)
            if self.shows_margins and q.margin is not None and q.margin_rate is not None:
                margin = tr("Margin %1 (%2%), not printed")
                margin = margin.replace("%1", formatting.money(q.margin))
                margin = margin.replace("%2", f"{q.margin_rate * 100:.1f}")
                text = f"{text}  ·  {margin}" if text else margin
        self.note.setText(text)
        self.note.setStyleSheet(f"color: {colour};")
        self.note.setVisible(bool(text))

    # --- actions -------------------------------------------------------------------------

    def new_quote(self) -> QuoteEditor | None:
        if self.customer_id is None:
            return None
        editor = QuoteEditor(self.ctx, self.customer_id, parent=self)
        editor.saved.connect(guarded(self, lambda q: self._select_after_load(q.id)))
        editor.open()
        return editor

    def edit_quote(self) -> QuoteEditor | None:
        q = self.selected()
        if q is None or not self.edit_button.isEnabled():
            return None
        editor = QuoteEditor(self.ctx, q.customer_id, q.id, parent=self)
        editor.open()
        return editor

    def open_quote(self) -> QuoteEditor | QuoteOutput | None:
        """What a double-click does: edit a quote that may still change; show one in the
        customer's hands (or voided) as its preview, which cannot change it."""
        q = self.selected()
        if q is None:
            return None
        return self.edit_quote() if q.editable else self.preview()

    def copy_quote(self) -> QuoteEditor | None:
        """A new quote filled from the selected one, selected once it is saved."""
        q = self.selected()
        if q is None:
            return None
        editor = QuoteEditor(self.ctx, q.customer_id, parent=self, copy_of=q.id)
        editor.saved.connect(guarded(self, lambda new: self._select_after_load(new.id)))
        editor.open()
        return editor

    def _select_after_load(self, quote_id: str) -> None:
        def once() -> None:
            self.loaded.disconnect(once)
            self.select(quote_id)

        self.loaded.connect(once)

    def _decide(self, fn, *args) -> None:
        q = self.selected()
        if q is None:
            return
        actor, quote_id = self.ctx.actor, q.id
        self.ctx.runner.db(
            lambda s: fn(s, actor, quote_id, *args),
            write=True,
            on_error=guarded(self, lambda error: report_error(self, error, self.ctx.language)),
            changed=quotes.quote_changed,
            name="quote-decision",
        )

    def approve(self) -> None:
        """Approve the selected quote's discount (the core refuses anyone but a manager)."""
        self._decide(quotes.approve_discount)

    def reject(self) -> None:
        reason, ok = QInputDialog.getText(
            self, tr("Reject the discount"), tr("Reason, for the salesperson")
        )
        if ok:
            self._decide(quotes.reject_discount, reason)

    def cancel_quote(self) -> None:
        q = self.selected()
        if q is None:
            return
        answer = QMessageBox.question(
            self,
            tr("Void quote"),
            tr("Void quote %1? It can no longer be printed.").replace("%1", q.number),
        )
        if answer == QMessageBox.StandardButton.Yes:
            self._decide(quotes.cancel_quote)

    def keep_as_printed(self) -> None:
        """Put the selected quote back as printed; the other laptop's change becomes a new quote,
        which is selected once it is saved."""
        q = self.selected()
        if q is None or not q.changed_after_issue:
            return
        answer = QMessageBox.question(
            self,
            tr("Keep as printed"),
            tr(
                "Put quote %1 back as the customer's copy? The change made on another laptop"
                " is kept as a new quote."
            ).replace("%1", q.number),
        )
        if answer != QMessageBox.StandardButton.Yes:
            return
        actor, quote_id = self.ctx.actor, q.id
        self.ctx.runner.db(
            lambda s: quotes.split_after_issue(s, actor, quote_id),
            write=True,
            on_done=guarded(self, lambda new: self._select_after_load(new.id)),
            on_error=guarded(self, lambda error: report_error(self, error, self.ctx.language)),
            changed=quotes.quote_changed,
            name="quote-keep-printed",
        )

    def _output(self) -> QuoteOutput | None:
        q = self.selected()
        if q is None:
            return None
        output = QuoteOutput(self, self.ctx, q.id)
        output.done.connect(guarded(self, self._output_done))
        return output

    def _output_done(self, where: str) -> None:
        self.note.setText(tr("Done: %1").replace("%1", where))
        self.note.setStyleSheet(f"color: {MUTED_COLOUR};")
        self.note.show()

    def preview(self) -> QuoteOutput | None:
        output = self._output()
        if output is not None:
            output.preview()
        return output

    def print_quote(self) -> QuoteOutput | None:
        q = self.selected()
        if q is None:
            return None
        target = choose_printer(self)
        if target is None:
            return None
        output = self._output()
        output.print(target)
        return output

    def save_pdf(self) -> QuoteOutput | None:
        q = self.selected()
        if q is None:
            return None
        path = choose_save_path(self, file_name(q.number, q.customer_name))
        if path is None:
            return None
        output = self._output()
        output.save(path)
        return output
