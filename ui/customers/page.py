"""The customers page: instant search, filters and the paged customer table.

Typing in the search box shows the best matches while the user types (two characters or
more); the arrow keys move into the table and Enter opens the selected customer, or the first
when none is selected. Without a search the table lists every customer that passes the filter
bar, a page at a time (``CustomerTableModel``). The page keeps itself current from
``ctx.runner.data_changed``. Nothing here opens a session: every query runs on the DB lane.
"""

from __future__ import annotations

import itertools

import shiboken6
from PySide6.QtCore import QEvent, QLocale, QModelIndex, QObject, Qt, QTimer, Signal
from PySide6.QtGui import QKeyEvent
from PySide6.QtWidgets import (
    QAbstractItemView,
    QCheckBox,
    QComboBox,
    QHBoxLayout,
    QHeaderView,
    QLabel,
    QLineEdit,
    QPushButton,
    QTableView,
    QVBoxLayout,
    QWidget,
)

from showroom.errors import ShowroomError
from showroom.search import MIN_QUERY_LENGTH, fold_query
from showroom.services import dealer
from showroom.services.customer_list import INTENT_ORDER, CustomerFilter
from showroom.services.dto import Changed
from showroom.vocabulary import LifecycleStage
from ui import day, labels
from ui.context import AppContext
from ui.customers.table_model import (
    FIRST_ORDER,
    INTENT,
    NAME,
    NEXT_DUE,
    PHONE,
    PLATE,
    SALESPERSON,
    SEARCH_LIMIT,
    SORT_KEYS,
    STAGE,
    VIP,
    CustomerTableModel,
)

# Searches are debounced by coalescing rather than by waiting: a zero-delay timer folds every
# change made in one pass of the event loop (a key-repeat burst, an input-method commit) into
# one query, and a new query cancels the previous one (queued: skipped; running: its answer is
# dropped), so the database lane never holds more than one stale search. A fixed delay would
# be paid on every keystroke out of the 100 ms a keystroke may take to show results.
SEARCH_DELAY_MS = 0
# Any change to these can change a row of the list (a follow-up changes "next follow-up"; a
# new day, which follow-ups are overdue).
REFRESH_ON = frozenset({"customer", "follow_up", day.DAY})
UNASSIGNED = "-"  # the salesperson filter's item for customers nobody looks after
MUTED_COLOUR = "#6b7785"
ERROR_COLOUR = "#c0392b"
COLUMN_WIDTHS = {
    NAME: 150,
    PHONE: 130,
    PLATE: 110,
    INTENT: 170,
    STAGE: 110,
    SALESPERSON: 100,
    NEXT_DUE: 110,
    VIP: 56,
}


class CustomersPage(QWidget):
    """Find a customer by any fragment, or browse the filtered, sorted list, and open one.

    ``activate()`` loads the list the first time the page is shown and puts the cursor in the
    search box; ``focus_search()`` selects the search text (Ctrl+F). Opening a customer emits
    ``ctx.navigator.open_customer(id)``. ``shown`` fires each time new results are on screen.
    """

    shown = Signal()

    def __init__(self, ctx: AppContext, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.ctx = ctx
        self._activated = False
        self._open_when_loaded = False
        self._keep: tuple[str | None, int] | None = None  # (selected id, scroll) over a refresh
        self._error = ""  # a typed error from the last query, shown beside the search box

        self.model = CustomerTableModel(ctx, self)
        self.search_timer = QTimer(self)
        self.search_timer.setSingleShot(True)
        self.search_timer.setInterval(SEARCH_DELAY_MS)
        self.search_timer.timeout.connect(self._apply_search)

        outer = QVBoxLayout(self)
        outer.setContentsMargins(24, 24, 24, 16)
        outer.setSpacing(12)
        outer.addLayout(self._build_heading())
        outer.addLayout(self._build_search_row())
        outer.addLayout(self._build_filter_bar())
        outer.addWidget(self._build_table(), 1)
        self._set_tab_order()

        self.model.loaded.connect(self._on_loaded)
        self.model.page_appended.connect(self._update_empty_state)
        self.model.total_changed.connect(lambda _total: self._update_summary())
        self.model.failed.connect(self._show_error)
        ctx.runner.data_changed.connect(self._on_data_changed)
        self._update_summary()

    # --- building ------------------------------------------------------------------------------

    def _build_heading(self) -> QHBoxLayout:
        row = QHBoxLayout()
        row.setSpacing(12)
        heading = QLabel(self.tr("Customers"))
        heading.setStyleSheet("font-size: 20px; font-weight: 600;")
        row.addWidget(heading, 0, Qt.AlignmentFlag.AlignBaseline)
        self.summary = QLabel()
        self.summary.setObjectName("summary")
        self.summary.setStyleSheet(f"color: {MUTED_COLOUR};")
        row.addWidget(self.summary, 0, Qt.AlignmentFlag.AlignBaseline)
        row.addStretch(1)
        self.new_button = QPushButton(self.tr("New customer"))
        self.new_button.setObjectName("newCustomer")
        self.new_button.setToolTip(self.tr("Add a customer (Ctrl+N)"))
        self.new_button.setAutoDefault(False)
        self.new_button.clicked.connect(self.ctx.navigator.new_customer)
        row.addWidget(self.new_button)
        return row

    def _build_search_row(self) -> QHBoxLayout:
        row = QHBoxLayout()
        row.setSpacing(12)
        self.search = QLineEdit()
        self.search.setObjectName("search")
        self.search.setPlaceholderText(self.tr("Search by name, phone, plate or VIN"))
        self.search.setToolTip(
            self.tr("Type two characters or more. ↓ moves to the results, Enter opens one.")
        )
        self.search.setClearButtonEnabled(True)
        self.search.setMinimumHeight(34)
        self.search.setStyleSheet("QLineEdit#search { font-size: 14px; padding: 0 8px; }")
        self.search.setMaxLength(100)
        self.search.textChanged.connect(self._on_text_changed)
        self.search.returnPressed.connect(self.open_selected)
        self.search.installEventFilter(self)
        row.addWidget(self.search, 1)
        self.hint = QLabel()
        self.hint.setObjectName("searchHint")
        self.hint.setStyleSheet(f"color: {MUTED_COLOUR};")
        self.hint.setMinimumWidth(260)
        row.addWidget(self.hint)
        return row

    def _build_filter_bar(self) -> QHBoxLayout:
        bar = QHBoxLayout()
        bar.setSpacing(8)

        self.level_filter = QComboBox()
        self.level_filter.setObjectName("levelFilter")
        # Item data are plain strings (comma-separated levels): Qt compares them reliably.
        self.level_filter.addItem(self.tr("All levels"), "")
        self.level_filter.addItem(self.tr("H and A · hot leads"), "H,A")
        for code in INTENT_ORDER:
            self.level_filter.addItem(labels.intent_level(code), code)

        self.stage_filter = QComboBox()
        self.stage_filter.setObjectName("stageFilter")
        self.stage_filter.addItem(self.tr("All stages"), "")
        for stage in LifecycleStage:
            self.stage_filter.addItem(labels.lifecycle_stage(stage), stage.value)

        self.salesperson_filter = QComboBox()
        self.salesperson_filter.setObjectName("salespersonFilter")
        self.salesperson_filter.setMinimumWidth(140)
        self._fill_salespeople([])

        self.vip_filter = QCheckBox(self.tr("VIP only"))
        self.vip_filter.setObjectName("vipFilter")
        self.overdue_filter = QCheckBox(self.tr("Follow-up overdue"))
        self.overdue_filter.setObjectName("overdueFilter")

        self.clear_filters = QPushButton(self.tr("Clear filters"))
        self.clear_filters.setObjectName("clearFilters")
        self.clear_filters.setFlat(True)
        self.clear_filters.setAutoDefault(False)
        self.clear_filters.setStyleSheet("QPushButton { color: #2f6fb3; padding: 2px 6px; }")
        self.clear_filters.clicked.connect(self.reset_filters)

        self._filter_widgets: list[QWidget] = []
        for caption, combo in (
            (self.tr("Level"), self.level_filter),
            (self.tr("Stage"), self.stage_filter),
            (self.tr("Salesperson"), self.salesperson_filter),
        ):
            label = QLabel(caption)
            label.setBuddy(combo)
            bar.addWidget(label)
            bar.addWidget(combo)
            bar.addSpacing(8)
            combo.currentIndexChanged.connect(self._filters_changed)
            self._filter_widgets += [label, combo]
        for box in (self.vip_filter, self.overdue_filter):
            box.toggled.connect(self._filters_changed)
            bar.addWidget(box)
            bar.addSpacing(4)
            self._filter_widgets.append(box)
        bar.addWidget(self.clear_filters)
        bar.addStretch(1)
        self._filter_widgets.append(self.clear_filters)
        self.clear_filters.hide()
        return bar

    def _build_table(self) -> QTableView:
        table = QTableView()
        self.table = table
        table.setObjectName("customerTable")
        table.setModel(self.model)
        table.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectRows)
        table.setSelectionMode(QAbstractItemView.SelectionMode.SingleSelection)
        table.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
        table.setAlternatingRowColors(True)
        table.setWordWrap(False)
        table.setShowGrid(False)
        table.setTabKeyNavigation(False)
        table.setTextElideMode(Qt.TextElideMode.ElideRight)
        table.setVerticalScrollMode(QAbstractItemView.ScrollMode.ScrollPerPixel)
        rows = table.verticalHeader()
        rows.hide()
        # Fixed row heights: the view never measures rows, however many have been fetched.
        rows.setSectionResizeMode(QHeaderView.ResizeMode.Fixed)
        rows.setDefaultSectionSize(30)
        header = table.horizontalHeader()
        header.setHighlightSections(False)
        header.setSectionsClickable(True)
        header.setSortIndicatorShown(True)
        header.setSortIndicator(self.model.sort_column(), self.model.sort_order())
        header.setStretchLastSection(True)
        header.setMinimumSectionSize(48)
        for column, width in COLUMN_WIDTHS.items():
            header.resizeSection(column, width)
        header.sectionClicked.connect(self._header_clicked)
        # Enter and double-click both arrive as "activated".
        table.activated.connect(self._open_index)
        table.installEventFilter(self)

        self.empty = QLabel(table.viewport())
        self.empty.setObjectName("emptyState")
        self.empty.setAlignment(Qt.AlignmentFlag.AlignCenter)
        self.empty.setWordWrap(True)
        self.empty.setStyleSheet(f"color: {MUTED_COLOUR}; font-size: 14px;")
        self.empty.hide()
        table.viewport().installEventFilter(self)
        return table

    def _set_tab_order(self) -> None:
        chain = [
            self.search,
            self.level_filter,
            self.stage_filter,
            self.salesperson_filter,
            self.vip_filter,
            self.overdue_filter,
            self.clear_filters,
            self.table,
            self.new_button,
        ]
        for first, second in itertools.pairwise(chain):
            QWidget.setTabOrder(first, second)

    # --- showing the page ----------------------------------------------------------------------

    def activate(self) -> None:
        """The page is shown: load it the first time, and put the cursor in the search box."""
        if not self._activated:
            self._activated = True
            self.model.reload()
            self._load_salespeople()
        self.search.setFocus(Qt.FocusReason.OtherFocusReason)

    def focus_search(self) -> None:
        """Put the cursor in the search box with its text selected, ready to type over."""
        self.search.setFocus(Qt.FocusReason.ShortcutFocusReason)
        self.search.selectAll()

    def _load_salespeople(self) -> None:
        actor = self.ctx.actor
        self.ctx.runner.db(
            lambda session: dealer.list_users(session, actor),
            on_done=self._salespeople_loaded,
            name="list-users",
        )

    def _salespeople_loaded(self, users) -> None:
        if shiboken6.isValid(self):
            self._fill_salespeople(users)

    def _fill_salespeople(self, users) -> None:
        combo = self.salesperson_filter
        chosen = combo.currentData()
        combo.blockSignals(True)
        combo.clear()
        combo.addItem(self.tr("All salespeople"), "")
        if self.ctx.actor.user_id:
            combo.addItem(self.tr("My customers"), self.ctx.actor.user_id)
        combo.addItem(self.tr("Unassigned"), UNASSIGNED)
        if users:
            combo.insertSeparator(combo.count())
        for user in users:
            if user.id != self.ctx.actor.user_id:
                combo.addItem(user.display_name, user.id)
        combo.setCurrentIndex(max(combo.findData(chosen), 0) if chosen else 0)
        combo.blockSignals(False)

    # --- search --------------------------------------------------------------------------------

    def _on_text_changed(self, text: str) -> None:
        self._error = ""
        self._update_hint()
        self.search_timer.start()

    def _update_hint(self) -> None:
        """What the label beside the search box says: an error, or what the search does."""
        if self._error:
            self._show_hint(self._error, ERROR_COLOUR)
        elif 0 < len(fold_query(self.search.text())) < MIN_QUERY_LENGTH:
            # Not an error: one character matches too much to be useful.
            self._show_hint(self.tr("Type at least two characters"), MUTED_COLOUR)
        elif self.model.searching:
            self._show_hint(self.tr("Searching all customers; filters are off"), MUTED_COLOUR)
        else:
            self._show_hint("", MUTED_COLOUR)

    def _show_hint(self, text: str, colour: str) -> None:
        self.hint.setText(text)
        self.hint.setStyleSheet(f"color: {colour};")

    def _apply_search(self) -> None:
        self.search_timer.stop()
        searching = self.model.set_search(self.search.text())
        for widget in self._filter_widgets:
            widget.setEnabled(not searching)
        header = self.table.horizontalHeader()
        header.setSortIndicatorShown(not searching)
        if not searching:
            header.setSortIndicator(self.model.sort_column(), self.model.sort_order())
        self._update_summary()

    # --- filters and sorting -------------------------------------------------------------------

    def current_filter(self) -> CustomerFilter:
        """The filter the bar shows."""
        owner = self.salesperson_filter.currentData() or ""
        levels = self.level_filter.currentData() or ""
        return CustomerFilter(
            intent_levels=tuple(code for code in levels.split(",") if code),
            lifecycle_stage=self.stage_filter.currentData() or None,
            assigned_to_id=owner if owner and owner != UNASSIGNED else None,
            unassigned_only=owner == UNASSIGNED,
            vip=True if self.vip_filter.isChecked() else None,
            overdue_only=self.overdue_filter.isChecked(),
        )

    def _filters_changed(self) -> None:
        f = self.current_filter()
        self.clear_filters.setVisible(not f.is_default)
        self.model.set_filter(f)

    def reset_filters(self) -> None:
        for combo in (self.level_filter, self.stage_filter, self.salesperson_filter):
            combo.blockSignals(True)
            combo.setCurrentIndex(0)
            combo.blockSignals(False)
        for box in (self.vip_filter, self.overdue_filter):
            box.blockSignals(True)
            box.setChecked(False)
            box.blockSignals(False)
        self._filters_changed()
        self.search.setFocus()

    def _header_clicked(self, column: int) -> None:
        """First click sorts the column its natural way; another click reverses it."""
        header = self.table.horizontalHeader()
        if self.model.searching or column not in SORT_KEYS:
            # Qt moved the indicator on the click; put it back where the sort really is.
            header.setSortIndicator(self.model.sort_column(), self.model.sort_order())
            return
        if column == self.model.sort_column():
            order = (
                Qt.SortOrder.AscendingOrder
                if self.model.descending
                else Qt.SortOrder.DescendingOrder
            )
        else:
            order = FIRST_ORDER[column]
        self.model.sort(column, order)
        header.setSortIndicator(column, order)

    # --- results -------------------------------------------------------------------------------

    def _on_loaded(self) -> None:
        keep, self._keep = self._keep, None
        if keep is not None:
            selected_id, scroll = keep
            row = self.model.row_of(selected_id) if selected_id else -1
            if row >= 0:
                self.table.setCurrentIndex(self.model.index(row, NAME))
            self.table.verticalScrollBar().setValue(scroll)
        elif self.model.rowCount():
            self.table.scrollToTop()
        if self.model.searching and self.model.rowCount():
            # The best match is ready for Enter, without leaving the search box.
            self.table.setCurrentIndex(self.model.index(0, NAME))
        self._error = ""
        self._update_hint()
        self._update_summary()
        self._update_empty_state()
        if self._open_when_loaded:
            self._open_when_loaded = False
            self.open_selected()
        self.shown.emit()

    def _update_summary(self) -> None:
        locale = QLocale()
        if self.model.searching:
            n = self.model.rowCount()
            if self.model.loading:
                text = self.tr("Searching…")
            elif n >= SEARCH_LIMIT:
                text = self.tr("Best %1 matches · type more to narrow").replace(
                    "%1", locale.toString(n)
                )
            elif n == 0:
                text = self.tr("No matches")
            elif n == 1:
                text = self.tr("1 match")
            else:
                text = self.tr("%1 matches").replace("%1", locale.toString(n))
        else:
            total = self.model.total
            if total is None:
                text = self.tr("Loading…")
            elif total == 1:
                text = self.tr("1 customer")
            else:
                text = self.tr("%1 customers").replace("%1", locale.toString(total))
        self.summary.setText(text)

    def _update_empty_state(self) -> None:
        if self.model.rowCount() or self.model.loading:
            self.empty.hide()
            return
        if self.model.searching:
            text = self.tr("No customer matches “%1”.\nCheck the spelling, or add a new customer.")
            text = text.replace("%1", self.search.text().strip())
        elif not self.current_filter().is_default:
            text = self.tr("No customers match these filters.")
        else:
            text = self.tr("No customers yet.\nAdd the first one with “New customer” (Ctrl+N).")
        self.empty.setText(text)
        self.empty.resize(self.table.viewport().size())
        self.empty.show()

    def _show_error(self, error: ShowroomError) -> None:
        self._error = error.message(self.ctx.language)
        self._update_hint()

    def _on_data_changed(self, changed: Changed) -> None:
        if not self._activated or changed.entity not in REFRESH_ON:
            return
        selected = self.selected_id()
        self._keep = (selected, self.table.verticalScrollBar().value())
        self.model.refresh()

    # --- opening -------------------------------------------------------------------------------

    def selected_id(self) -> str | None:
        rows = self.table.selectionModel().selectedRows()
        if not rows:
            return None
        return self.model.row(rows[0].row()).id

    def open_selected(self) -> None:
        """Open the selected customer, or the first one listed; waits for results in flight."""
        if self.search_timer.isActive():
            self._apply_search()  # Enter came before the pause: search now, open on arrival
        if self.model.loading:
            self._open_when_loaded = True
            return
        customer_id = self.selected_id()
        if customer_id is None and self.model.rowCount():
            customer_id = self.model.row(0).id
        if customer_id is not None:
            self.ctx.navigator.open_customer.emit(customer_id)

    def _open_index(self, index: QModelIndex) -> None:
        if index.isValid():
            self.ctx.navigator.open_customer.emit(self.model.row(index.row()).id)

    # --- keyboard ------------------------------------------------------------------------------

    def eventFilter(self, watched: QObject, event: QEvent) -> bool:
        if event.type() == QEvent.Type.KeyPress:
            if watched is self.search:
                return self._search_key(event)
            if watched is self.table:
                return self._table_key(event)
        elif event.type() == QEvent.Type.Resize and watched is self.table.viewport():
            self.empty.resize(self.table.viewport().size())
        return super().eventFilter(watched, event)

    def _search_key(self, event: QKeyEvent) -> bool:
        key = event.key()
        if key in (Qt.Key.Key_Down, Qt.Key.Key_PageDown) and self.model.rowCount():
            # Into the results, on the highlighted one (the best match) or the first.
            selected = self.table.selectionModel().selectedRows()
            row = selected[0].row() if selected else 0
            self.table.setFocus(Qt.FocusReason.TabFocusReason)
            self.table.setCurrentIndex(self.model.index(row, NAME))
            return True
        if key == Qt.Key.Key_Escape and self.search.text():
            self.search.clear()
            return True
        return False

    def _table_key(self, event: QKeyEvent) -> bool:
        current = self.table.currentIndex()
        if event.key() == Qt.Key.Key_Up and (not current.isValid() or current.row() == 0):
            self.search.setFocus(Qt.FocusReason.BacktabFocusReason)
            return True
        text = event.text()
        modifiers = event.modifiers() & ~Qt.KeyboardModifier.KeypadModifier
        if (
            text
            and text.isprintable()
            and not text.isspace()
            and modifiers in (Qt.KeyboardModifier.NoModifier, Qt.KeyboardModifier.ShiftModifier)
        ):
            # Typing in the table means searching: carry on in the search box.
            self.search.setFocus(Qt.FocusReason.OtherFocusReason)
            self.search.setText(self.search.text() + text)
            return True
        return False
