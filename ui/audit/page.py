"""The audit trail, for managers: who revealed, printed, exported, merged, deleted or changed what.

Newest first, 200 entries at a time ("Load more" pages on by the last entry's time and id),
optionally narrowed to one action. Reading is on the DB lane; a role that may not read the
trail gets the core's refusal, shown on the page in plain words.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from PySide6.QtCore import Qt, Signal
from PySide6.QtWidgets import (
    QComboBox,
    QHBoxLayout,
    QHeaderView,
    QLabel,
    QPushButton,
    QTableWidget,
    QTableWidgetItem,
    QVBoxLayout,
    QWidget,
)
from sqlalchemy import select
from sqlalchemy.orm import Session

from showroom.actor import Actor
from showroom.errors import PermissionDeniedError
from showroom.services import audit
from ui import formatting, labels
from ui.context import AppContext
from ui.customers.privacy_actions import consent_purpose
from ui.i18n import tr
from ui.widgets import MUTED_COLOUR, guarded, read_only_table, report_error

PAGE_SIZE = 200
COLUMNS = 6


def action_text(action: str) -> str:
    return {
        "reveal_id_number": tr("Revealed an ID number"),
        "reveal_phone": tr("Revealed a phone number"),
        "print": tr("Printed"),
        "export": tr("Exported personal data"),
        "merge": tr("Merged customers"),
        "merge_settle": tr("Merge completed by the sync"),
        "delete": tr("Deleted"),
        "consent": tr("Changed a consent"),
        "role": tr("Changed a role"),
        "erase": tr("Erased personal data"),
        "user": tr("Changed a user"),
        "login_failed": tr("Failed sign-in"),
        "lockout": tr("Account locked"),
        "discount": tr("Decided a discount"),
        "quote_split": tr("Kept a printed quote, its change as a new quote"),
        "password": tr("Changed own password"),
    }.get(action, action)


@dataclass(frozen=True)
class AuditPageData:
    entries: list[audit.AuditRecord]
    # Names for the targets: customer or user id -> name as held now.
    target_names: dict[str, str]


def load_audit_page(
    session: Session,
    actor: Actor,
    action: str | None,
    before: tuple[dt.datetime, str] | None,
) -> AuditPageData:
    """One page of the trail with the names of its targets. Raises PermissionDeniedError."""
    from showroom.models import Customer, User

    entries = audit.list_audit(session, actor, action=action, limit=PAGE_SIZE, before=before)
    ids = {e.target_id for e in entries if e.target_id}
    names: dict[str, str] = {}
    if ids:
        for model, name in ((Customer, Customer.name), (User, User.display_name)):
            query = select(model.id, name).where(model.id.in_(ids))
            names.update({row_id: text for row_id, text in session.execute(query)})
    return AuditPageData(entries, names)


def _detail_text(entry: audit.AuditRecord) -> str:
    """What an auditor reads in the details column (ids and formats are left out)."""
    detail = entry.detail
    if entry.action == "consent" and detail:
        granted = tr("given") if detail.get("granted") else tr("withdrawn")
        channel = labels.channel(detail.get("channel"))
        return f"{channel} · {consent_purpose(detail.get('purpose'))} · {granted}"
    if entry.action == "merge" and detail.get("merged_id"):
        return tr("absorbed %1").replace("%1", str(detail["merged_id"])[:8])
    if entry.action == "merge_settle":
        return _settled_text(detail)
    if entry.action == "erase" and isinstance(detail.get("changed"), dict):
        return tr("%1 records anonymised").replace("%1", str(_total(detail, "changed")))
    shown = {k: v for k, v in detail.items() if not k.endswith("_id") and k != "format"}
    return ", ".join(f"{k}: {v}" for k, v in sorted(shown.items()))


def _total(detail: dict, key: str) -> int:
    """The sum of a detail's counts by table (0 when it has none)."""
    counts = detail.get(key)
    return sum(v for v in counts.values() if isinstance(v, int)) if isinstance(counts, dict) else 0


def _settled_text(detail: dict) -> str:
    """What settling did to a survivor: kept over the other record of a pair merged both ways,
    and the rows that came over from records merged into it."""

    def ids(key: str) -> str:
        return "、".join(str(i)[:8] for i in detail.get(key) or [])

    parts = []
    if detail.get("kept_over_ids"):
        parts.append(tr("kept over %1, merged both ways").replace("%1", ids("kept_over_ids")))
    if detail.get("from_ids"):
        parts.append(
            tr("%1 records moved from %2")
            .replace("%1", str(_total(detail, "moved")))
            .replace("%2", ids("from_ids"))
        )
    if _total(detail, "duplicates"):
        parts.append(tr("%1 duplicates removed").replace("%1", str(_total(detail, "duplicates"))))
    return " · ".join(parts)


class AuditPage(QWidget):
    """The audit trail table with an action filter and paging."""

    loaded = Signal()

    def __init__(self, ctx: AppContext, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.ctx = ctx
        self.entries: list[audit.AuditRecord] = []
        self.names: dict[str, str] = {}
        self._generation = 0
        layout = QVBoxLayout(self)
        layout.setContentsMargins(20, 14, 20, 16)
        bar = QHBoxLayout()
        title = QLabel(tr("Audit trail"))
        title.setStyleSheet("font-size: 18px; font-weight: bold;")
        bar.addWidget(title)
        bar.addStretch(1)
        bar.addWidget(QLabel(tr("Action:")))
        self.action_filter = QComboBox()
        self.action_filter.setObjectName("auditAction")
        self.action_filter.addItem(tr("All actions"), None)
        for action in sorted(audit.ACTIONS, key=action_text):
            self.action_filter.addItem(action_text(action), action)
        self.action_filter.currentIndexChanged.connect(lambda _i: self.refresh())
        bar.addWidget(self.action_filter)
        self.refresh_button = QPushButton(tr("Refresh"))
        self.refresh_button.clicked.connect(self.refresh)
        bar.addWidget(self.refresh_button)
        layout.addLayout(bar)

        self.table = QTableWidget(0, COLUMNS)
        self.table.setObjectName("auditTable")
        self.table.setHorizontalHeaderLabels(
            [tr("Time"), tr("Action"), tr("Staff"), tr("Role"), tr("Concerning"), tr("Details")]
        )
        read_only_table(self.table)
        header = self.table.horizontalHeader()
        header.setSectionResizeMode(QHeaderView.ResizeMode.ResizeToContents)
        header.setSectionResizeMode(COLUMNS - 1, QHeaderView.ResizeMode.Stretch)
        header.setDefaultAlignment(Qt.AlignmentFlag.AlignLeft | Qt.AlignmentFlag.AlignVCenter)
        layout.addWidget(self.table, 1)

        self.message = QLabel()
        self.message.setObjectName("auditMessage")
        self.message.setAlignment(Qt.AlignmentFlag.AlignCenter)
        self.message.setWordWrap(True)
        self.message.setStyleSheet(f"color: {MUTED_COLOUR}; font-size: 15px;")
        self.message.hide()
        layout.addWidget(self.message)

        self.more_button = QPushButton(tr("Load more"))
        self.more_button.setObjectName("auditMore")
        self.more_button.clicked.connect(self.load_more)
        self.more_button.hide()
        layout.addWidget(self.more_button, 0, Qt.AlignmentFlag.AlignHCenter)

    def activate(self) -> None:
        """Called by the main window when the page is shown: read the newest entries."""
        self.refresh()

    def refresh(self) -> None:
        self.entries = []
        self.names = {}
        self._load(None)

    def load_more(self) -> None:
        if self.entries:
            last = self.entries[-1]
            self._load((last.at, last.id))

    def _load(self, before) -> None:
        self._generation += 1
        generation, actor = self._generation, self.ctx.actor
        action = self.action_filter.currentData()
        self.ctx.runner.db(
            lambda s: load_audit_page(s, actor, action, before),
            on_done=guarded(self, lambda data: self._loaded(generation, data)),
            on_error=guarded(self, lambda error: self._failed(generation, error)),
            name="audit-trail",
        )

    def _loaded(self, generation: int, data: AuditPageData) -> None:
        if generation != self._generation:
            return
        self.entries.extend(data.entries)
        self.names.update(data.target_names)
        self._render()
        self.more_button.setVisible(len(data.entries) == PAGE_SIZE)
        self.loaded.emit()

    def _failed(self, generation: int, error: BaseException) -> None:
        if generation != self._generation:
            return
        if isinstance(error, PermissionDeniedError):
            self.table.hide()
            self.more_button.hide()
            self.message.setText(error.message(self.ctx.language))
            self.message.show()
            self.loaded.emit()
            return
        report_error(self, error, self.ctx.language)

    def _render(self) -> None:
        self.table.show()
        self.message.setVisible(not self.entries)
        self.message.setText(tr("Nothing has been recorded yet."))
        self.table.setRowCount(len(self.entries))
        for row, entry in enumerate(self.entries):
            target = self.names.get(entry.target_id or "", "")
            if not target and entry.target_id:
                target = entry.target_id[:8]
            cells = [
                formatting.datetime(entry.at),
                action_text(entry.action),
                entry.actor_name or (tr("The sync") if entry.actor_id is None else ""),
                labels.role(entry.actor_role),
                target,
                _detail_text(entry),
            ]
            for column, text in enumerate(cells):
                item = QTableWidgetItem(text)
                if column == 0:
                    item.setData(Qt.ItemDataRole.UserRole, entry.id)
                self.table.setItem(row, column, item)
