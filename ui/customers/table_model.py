"""The customer table: a Qt model that pages through the customer list on the DB lane.

``CustomerTableModel`` never holds a query result it did not ask for page by page. It starts
with one page (``list_customers``), and each ``fetchMore`` (the view calls it when the user
scrolls near the end) schedules the next page after the last row's keyset cursor. It also
shows search hits (``search_customer_rows``, ranked, one batch) in the same columns, so the
page keeps one table for both.

Every query runs through ``ctx.runner.db``; replies come back on the GUI thread. Each new
listing (filter, sort, search text, refresh) bumps a generation number, and a reply for an
older generation is dropped, so a slow page or search can never mix into newer results.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import shiboken6
from PySide6.QtCore import (
    QAbstractTableModel,
    QModelIndex,
    QPersistentModelIndex,
    Qt,
    Signal,
)
from PySide6.QtGui import QColor, QFont

from showroom.errors import ShowroomError
from showroom.search import MIN_QUERY_LENGTH, fold_query
from showroom.services.customer_list import (
    DEFAULT_PAGE_SIZE,
    CustomerFilter,
    CustomerPage,
    CustomerRow,
    PageCursor,
    count_customers,
    list_customers,
    search_customer_rows,
)
from ui import day, formatting, labels
from ui.context import AppContext
from ui.i18n import tr
from ui.tasks import Task

NAME, PHONE, PLATE, INTENT, STAGE, SALESPERSON, NEXT_DUE, VIP, UPDATED = range(9)
COLUMN_COUNT = 9
# Columns the list can be sorted by, and the service's key for each. The others (phone,
# plate, stage, salesperson, VIP) have no index to page by; clicking them does nothing.
SORT_KEYS: dict[int, str] = {
    NAME: "name",
    INTENT: "intent_level",
    NEXT_DUE: "next_due",
    UPDATED: "updated_at",
}
# The direction a first click on a column sorts in: A→Z, hottest level first, soonest
# follow-up first, most recently changed first.
FIRST_ORDER: dict[int, Qt.SortOrder] = {
    NAME: Qt.SortOrder.AscendingOrder,
    INTENT: Qt.SortOrder.AscendingOrder,
    NEXT_DUE: Qt.SortOrder.AscendingOrder,
    UPDATED: Qt.SortOrder.DescendingOrder,
}
CUSTOMER_ID_ROLE = Qt.ItemDataRole.UserRole
ROW_ROLE = Qt.ItemDataRole.UserRole + 1

SEARCH_LIMIT = 50
# A refresh after a change reloads what the user has scrolled through, up to this many rows,
# in one query; past it they fetch on again as they scroll.
REFRESH_LIMIT = 2_000

OVERDUE_COLOUR = "#c0392b"
MUTED_COLOUR = "#8a94a0"
VIP_COLOUR = "#a86b00"


_ROOT = QModelIndex()  # a flat table: every row hangs off the invalid root index


def _headers() -> list[str]:
    return [
        tr("Name"),
        tr("Phone"),
        tr("Plate"),
        tr("Intent level"),
        tr("Stage"),
        tr("Salesperson"),
        tr("Next follow-up"),
        tr("VIP"),
        tr("Updated"),
    ]


class CustomerTableModel(QAbstractTableModel):
    """Customers in the list's columns, a page at a time, or the hits of a search.

    ``set_filter``, ``sort`` and ``set_search`` start a new listing; ``refresh`` reloads the
    current one (after a change elsewhere) without losing the rows scrolled through.
    Signals: ``loaded`` when a new listing is on screen, ``page_appended`` after each further
    page, ``total_changed(n)`` with the number of customers the listing holds (the count
    arrives separately from the first page), ``failed(error)`` for a typed error from the core.
    ``pages_fetched`` and ``rows_fetched`` count what the current listing has read so far.
    """

    loaded = Signal()
    page_appended = Signal()
    total_changed = Signal(int)
    failed = Signal(object)

    def __init__(
        self,
        ctx: AppContext,
        parent=None,
        *,
        page_size: int = DEFAULT_PAGE_SIZE,
    ) -> None:
        super().__init__(parent)
        self._ctx = ctx
        self.page_size = page_size
        self._rows: list[CustomerRow] = []
        self._filter = CustomerFilter()
        self._sort = "updated_at"
        self._descending = True
        self._query = ""  # folded search text; empty while listing
        self._cursor: PageCursor | None = None
        self._generation = 0
        self._task: Task | None = None  # the listing's job in flight (first page or next)
        self._count_task: Task | None = None
        self._resetting = False  # a new listing is on its way; the old cursor is void
        self._total: int | None = None
        self.pages_fetched = 0
        self.rows_fetched = 0
        self._bold = QFont()
        self._bold.setBold(True)

    # --- state -------------------------------------------------------------------------------

    @property
    def searching(self) -> bool:
        return bool(self._query)

    @property
    def loading(self) -> bool:
        """A new listing (or a refresh of it) has been asked for and has not arrived."""
        return self._resetting

    @property
    def total(self) -> int | None:
        return self._total

    @property
    def customer_filter(self) -> CustomerFilter:
        return self._filter

    @property
    def sort_key(self) -> str:
        return self._sort

    @property
    def descending(self) -> bool:
        return self._descending

    def sort_column(self) -> int:
        """The column of the current sort (-1 if no column shows it)."""
        for column, key in SORT_KEYS.items():
            if key == self._sort:
                return column
        return -1

    def sort_order(self) -> Qt.SortOrder:
        return Qt.SortOrder.DescendingOrder if self._descending else Qt.SortOrder.AscendingOrder

    def row(self, index: int) -> CustomerRow:
        return self._rows[index]

    def row_of(self, customer_id: str) -> int:
        """The row showing ``customer_id``, or -1."""
        for i, row in enumerate(self._rows):
            if row.id == customer_id:
                return i
        return -1

    # --- starting listings ---------------------------------------------------------------------

    def set_filter(self, customer_filter: CustomerFilter) -> None:
        """List the customers that pass ``customer_filter`` (applies when not searching)."""
        if customer_filter == self._filter:
            return
        self._filter = customer_filter
        if not self.searching:
            self.reload()

    def set_search(self, text: str) -> bool:
        """Show the hits for ``text``; with under two characters, go back to the list.

        Returns whether a search is now shown.
        """
        folded = fold_query(text or "")
        query = folded if len(folded) >= MIN_QUERY_LENGTH else ""
        if query == self._query:
            return self.searching
        was_searching = self.searching
        self._query = query
        if query or was_searching:
            self.reload()
        return self.searching

    def sort(self, column: int, order: Qt.SortOrder = Qt.SortOrder.AscendingOrder) -> None:
        """Sort the list by ``column``; columns not in SORT_KEYS are not sortable.

        Search hits stay in rank order; the sort applies when the list returns.
        """
        key = SORT_KEYS.get(column)
        if key is None:
            return
        descending = order == Qt.SortOrder.DescendingOrder
        if (key, descending) == (self._sort, self._descending):
            return
        self._sort, self._descending = key, descending
        if not self.searching:
            self.reload()

    def reload(self) -> None:
        """Start the current listing again from its first page (or run the search again)."""
        self._start_listing(self.page_size)

    def refresh(self) -> None:
        """Reload after a change, keeping as many rows as are loaded (up to REFRESH_LIMIT)."""
        self._start_listing(min(max(len(self._rows), self.page_size), REFRESH_LIMIT))

    def _start_listing(self, limit: int) -> None:
        self._generation += 1
        self._resetting = True
        self._cancel(self._task)
        self._task = None
        actor, query = self._ctx.actor, self._query
        if query:
            today = day.today()
            self._run(
                lambda s: search_customer_rows(s, actor, query, SEARCH_LIMIT, today=today),
                self._search_done,
                "search-customers",
            )
            return
        f, sort, descending, today = self._filter, self._sort, self._descending, day.today()
        self._run(
            lambda s: list_customers(s, actor, f, sort, descending, None, limit, today=today),
            self._first_page_done,
            "list-customers",
        )
        self._cancel(self._count_task)
        self._count_task = self._ctx.runner.db(
            lambda s: count_customers(s, actor, f, today=today),
            on_done=self._deliver(self._generation, self._count_done),
            on_error=self._deliver(self._generation, self._error),
            name="count-customers",
        )

    # --- paging (Qt's lazy population) ---------------------------------------------------------

    def canFetchMore(self, parent: QModelIndex | QPersistentModelIndex = _ROOT) -> bool:
        if parent.isValid() or self.searching or self._resetting:
            return False
        return self._cursor is not None

    def fetchMore(self, parent: QModelIndex | QPersistentModelIndex = _ROOT) -> None:
        """Ask for the next page on the DB lane; the rows are appended when it arrives."""
        if not self.canFetchMore(parent) or self._task is not None:
            return  # one page at a time: the view asks again while scrolling
        actor, f, sort, descending = self._ctx.actor, self._filter, self._sort, self._descending
        after, limit, today = self._cursor, self.page_size, day.today()
        self._run(
            lambda s: list_customers(s, actor, f, sort, descending, after, limit, today=today),
            self._next_page_done,
            "list-customers-page",
        )

    # --- replies -------------------------------------------------------------------------------

    def _run(self, fn: Callable[[Any], Any], done: Callable[[Any], None], name: str) -> None:
        generation = self._generation
        self._task = self._ctx.runner.db(
            fn,
            on_done=self._deliver(generation, done),
            on_error=self._deliver(generation, self._listing_failed),
            name=name,
        )

    def _deliver(self, generation: int, fn: Callable[[Any], None]) -> Callable[[Any], None]:
        """``fn`` for a reply, unless the listing moved on or the model is gone meanwhile."""

        def call(result: Any) -> None:
            if shiboken6.isValid(self) and generation == self._generation:
                fn(result)

        return call

    @staticmethod
    def _cancel(task: Task | None) -> None:
        # A job not started yet is skipped; one running has its reply suppressed.
        if task is not None:
            task.cancel()

    def _replace(self, rows: list[CustomerRow] | tuple[CustomerRow, ...]) -> None:
        self._task = None
        self.beginResetModel()
        self._rows = list(rows)
        self._resetting = False
        self.endResetModel()
        self.pages_fetched = 1
        self.rows_fetched = len(self._rows)

    def _first_page_done(self, page: CustomerPage) -> None:
        self._cursor = page.next_cursor
        self._replace(page.rows)
        self.loaded.emit()

    def _search_done(self, rows: list[CustomerRow]) -> None:
        self._cursor = None
        self._replace(rows)
        self._set_total(len(rows))
        self.loaded.emit()

    def _next_page_done(self, page: CustomerPage) -> None:
        self._task = None
        self._cursor = page.next_cursor
        self.pages_fetched += 1
        self.rows_fetched += len(page.rows)
        if page.rows:
            start = len(self._rows)
            self.beginInsertRows(_ROOT, start, start + len(page.rows) - 1)
            self._rows.extend(page.rows)
            self.endInsertRows()
        self.page_appended.emit()

    def _count_done(self, total: int) -> None:
        self._count_task = None
        self._set_total(total)

    def _set_total(self, total: int) -> None:
        if total != self._total:
            self._total = total
            self.total_changed.emit(total)

    def _listing_failed(self, error: BaseException) -> None:
        self._task = None
        self._resetting = False
        self._error(error)

    def _error(self, error: BaseException) -> None:
        if isinstance(error, ShowroomError):
            self.failed.emit(error)
        else:
            self._ctx.runner.unhandled_error.emit(error)

    # --- Qt model ------------------------------------------------------------------------------

    def rowCount(self, parent: QModelIndex | QPersistentModelIndex = _ROOT) -> int:
        return 0 if parent.isValid() else len(self._rows)

    def columnCount(self, parent: QModelIndex | QPersistentModelIndex = _ROOT) -> int:
        return 0 if parent.isValid() else COLUMN_COUNT

    def flags(self, index: QModelIndex | QPersistentModelIndex) -> Qt.ItemFlag:
        if not index.isValid():
            return Qt.ItemFlag.NoItemFlags
        return Qt.ItemFlag.ItemIsEnabled | Qt.ItemFlag.ItemIsSelectable

    def headerData(
        self, section: int, orientation: Qt.Orientation, role: int = Qt.ItemDataRole.DisplayRole
    ) -> Any:
        if orientation != Qt.Orientation.Horizontal or not 0 <= section < COLUMN_COUNT:
            return None
        if role == Qt.ItemDataRole.DisplayRole:
            return _headers()[section]
        if role == Qt.ItemDataRole.ToolTipRole and section in SORT_KEYS:
            return tr("Click to sort by this column")
        if role == Qt.ItemDataRole.TextAlignmentRole:
            return int(Qt.AlignmentFlag.AlignLeft | Qt.AlignmentFlag.AlignVCenter)
        return None

    def data(
        self, index: QModelIndex | QPersistentModelIndex, role: int = Qt.ItemDataRole.DisplayRole
    ) -> Any:
        if not index.isValid() or not 0 <= index.row() < len(self._rows):
            return None
        row = self._rows[index.row()]
        column = index.column()
        if role == Qt.ItemDataRole.DisplayRole:
            return self._display(row, column)
        if role == CUSTOMER_ID_ROLE:
            return row.id
        if role == ROW_ROLE:
            return row
        if role == Qt.ItemDataRole.ForegroundRole:
            return self._foreground(row, column)
        if role == Qt.ItemDataRole.FontRole:
            if (column == NEXT_DUE and row.overdue) or (column == VIP and row.vip):
                return self._bold
            return None
        if role == Qt.ItemDataRole.ToolTipRole:
            return self._tooltip(row, column)
        if role == Qt.ItemDataRole.TextAlignmentRole and column == VIP:
            return int(Qt.AlignmentFlag.AlignCenter)
        return None

    @staticmethod
    def _display(row: CustomerRow, column: int) -> str:
        if column == NAME:
            return row.name
        if column == PHONE:
            return row.phone or ""  # masked by the core
        if column == PLATE:
            return formatting.plate(row.plate)
        if column == INTENT:
            return labels.intent_level(row.intent_level)
        if column == STAGE:
            return labels.lifecycle_stage(row.lifecycle_stage)
        if column == SALESPERSON:
            return row.assigned_to_name or tr("Unassigned")
        if column == NEXT_DUE:
            return formatting.date(row.next_due)
        if column == VIP:
            return "VIP" if row.vip else ""
        if column == UPDATED:
            return formatting.datetime(row.updated_at)
        return ""

    @staticmethod
    def _foreground(row: CustomerRow, column: int) -> QColor | None:
        if column == NEXT_DUE and row.overdue:
            return QColor(OVERDUE_COLOUR)
        if column == VIP and row.vip:
            return QColor(VIP_COLOUR)
        if (column == INTENT and row.intent_level is None) or (
            column == SALESPERSON and row.assigned_to_id is None
        ):
            return QColor(MUTED_COLOUR)
        return None

    @staticmethod
    def _tooltip(row: CustomerRow, column: int) -> str | None:
        if column == NAME and row.kind == "company":
            return labels.kind(row.kind)
        if column == NEXT_DUE and row.overdue:
            return tr("Follow-up overdue")
        if column == PHONE and row.phone:
            return tr("Masked to protect personal information")
        return None
