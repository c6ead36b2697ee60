"""The main window: navigation on the left, pages on the right, status bar below."""

from __future__ import annotations

import importlib
import logging
from collections.abc import Callable
from typing import TYPE_CHECKING

import shiboken6
from PySide6.QtCore import QEvent, QSettings, Qt
from PySide6.QtGui import QKeySequence, QShortcut
from PySide6.QtWidgets import (
    QDialog,
    QHBoxLayout,
    QLabel,
    QListWidget,
    QListWidgetItem,
    QMainWindow,
    QStackedWidget,
    QVBoxLayout,
    QWidget,
)

from showroom import permissions
from ui import labels
from ui.context import AppContext
from ui.day import DayWatch
from ui.i18n import tr
from ui.sync.controller import SyncController
from ui.sync.status import SyncStatusWidget

if TYPE_CHECKING:
    from ui.sync.enrol import EnrolDialog

log = logging.getLogger(__name__)


# (key, title, "module:Class" of the page, or None while the area is not built yet)
PAGES: list[tuple[str, Callable[[], str], str | None]] = [
    ("customers", lambda: tr("Customers"), "ui.customers.page:CustomersPage"),
    ("follow_ups", lambda: tr("Follow-ups"), "ui.follow_ups.page:FollowUpsPage"),
    ("test_drives", lambda: tr("Test drives"), None),
    ("service", lambda: tr("Service"), None),
    ("quotes", lambda: tr("Quotes"), None),
    ("surveys", lambda: tr("Surveys"), None),
    ("complaints", lambda: tr("Complaints"), None),
    ("reports", lambda: tr("Reports"), None),
    ("conflicts", lambda: tr("Sync conflicts"), "ui.sync.page:ConflictsPage"),
    ("users", lambda: tr("Users"), "ui.admin.users:UsersPage"),
    ("audit", lambda: tr("Audit trail"), "ui.audit.page:AuditPage"),
    ("settings", lambda: tr("Settings"), "ui.settings:SettingsPage"),
]
# Pages only some roles get, by the permission they need (``showroom.permissions``). The
# services refuse everyone else anyway; the navigation does not offer what would be refused.
PAGE_PERMISSIONS: dict[str, str] = {"users": "manage_users"}


class NotBuiltPage(QWidget):
    """An area that a later release brings; says so plainly instead of showing empty panes."""

    def __init__(self, title: str, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        layout = QVBoxLayout(self)
        layout.addStretch(1)
        heading = QLabel(title)
        heading.setAlignment(Qt.AlignmentFlag.AlignCenter)
        heading.setStyleSheet("font-size: 20px; font-weight: 600;")
        layout.addWidget(heading)
        note = QLabel(tr("This area is not available yet. It comes in a later release."))
        note.setAlignment(Qt.AlignmentFlag.AlignCenter)
        note.setStyleSheet("color: #666;")
        layout.addWidget(note)
        layout.addStretch(2)


def _load_class(path: str):
    module, name = path.split(":")
    return getattr(importlib.import_module(module), name)


class MainWindow(QMainWindow):
    """``sync`` is the window's sync controller; one is made (not started) when none is given."""

    def __init__(
        self, ctx: AppContext, parent: QWidget | None = None, *, sync: SyncController | None = None
    ) -> None:
        super().__init__(parent)
        self.ctx = ctx
        self.sync = sync or SyncController(ctx.runner, parent=self)
        self.setObjectName("MainWindow")
        self.resize(1280, 800)
        self.pages: dict[str, QWidget] = {}
        self._detail: QWidget | None = None

        central = QWidget()
        row = QHBoxLayout(central)
        row.setContentsMargins(0, 0, 0, 0)
        row.setSpacing(0)
        self.nav = QListWidget()
        self.nav.setObjectName("nav")
        self.nav.setFixedWidth(150)
        self.nav.setStyleSheet(
            "QListWidget#nav { background: #1f2d3d; color: #e8edf2; border: none;"
            " font-size: 14px; padding-top: 8px; }"
            "QListWidget#nav::item { padding: 10px 16px; }"
            "QListWidget#nav::item:selected { background: #2f6fb3; color: white; }"
        )
        row.addWidget(self.nav)
        self.stack = QStackedWidget()
        row.addWidget(self.stack, 1)
        self.setCentralWidget(central)

        self.status_dealer = QLabel()
        self.status_user = QLabel()
        self.status_db = QLabel()
        self.sync_widget = SyncStatusWidget(self.sync)
        self.status_sync = self.sync_widget.state
        self.sync_widget.conflicts_clicked.connect(lambda: self.show_page("conflicts"))
        self.sync_widget.enrol_action.triggered.connect(self.connect_to_server)
        self.addAction(self.sync_widget.sync_action)
        bar = self.statusBar()
        bar.setStyleSheet("QStatusBar QLabel { padding: 2px 10px; color: #444; }")
        for label in (self.status_dealer, self.status_user, self.status_db):
            bar.addWidget(label)
        bar.addPermanentWidget(self.sync_widget)

        # Lists worked out from today's date reload when the laptop's day turns.
        self.day_watch = DayWatch(ctx.runner, self)
        self.nav.currentRowChanged.connect(self._on_nav)
        ctx.navigator.open_customer.connect(self.open_customer)
        ctx.navigator.show_page.connect(self.show_page)
        ctx.navigator.new_customer.connect(self.new_customer)
        ctx.navigator.actor_changed.connect(lambda: self._build(self.current_page_key()))
        QShortcut(QKeySequence("Ctrl+F"), self, activated=self._focus_search)
        QShortcut(QKeySequence("Ctrl+N"), self, activated=self.new_customer)
        self._build()
        self._restore()
        self._build_account()

    # --- who is signed in: lock and switch user ----------------------------------------------

    def _build_account(self) -> None:
        from ui.login.lock import IdleWatcher, LockScreen

        self.lock_screen = LockScreen(self.ctx.runner, self.ctx.language, self)
        self.lock_screen.unlocked.connect(self._unlocked)
        self.lock_screen.switch_requested.connect(self.switch_user)
        self.idle = IdleWatcher(self.ctx.idle_lock_minutes, self)
        self.idle.idle.connect(self.lock)
        self.account_menu = self.menuBar().addMenu(tr("Account"))
        self.lock_action = self.account_menu.addAction(tr("Lock"))
        self.lock_action.setShortcut(QKeySequence("Ctrl+L"))
        self.lock_action.triggered.connect(self.lock)
        self.switch_action = self.account_menu.addAction(tr("Switch user…"))
        self.switch_action.triggered.connect(self.switch_user)
        self.password_action = self.account_menu.addAction(tr("Change password…"))
        self.password_action.triggered.connect(self.change_password)

    def lock(self) -> None:
        """Cover the window until the same user's password, or another user's sign-in."""
        if self.lock_screen.locked:
            return
        self.idle.pause()
        self._set_usable(False)
        # Open dialogs (an editor with a customer's details) are windows of their own: the
        # cover would not hide them, so they are hidden until the same person unlocks.
        self._hidden_dialogs = [
            d for d in self.findChildren(QDialog) if d.isVisible() and d is not self.lock_screen
        ]
        for dialog in self._hidden_dialogs:
            dialog.hide()
        self.lock_screen.lock(self.ctx.actor)

    def switch_user(self):
        """Let another person sign in; the window stays locked until someone does."""
        from ui.login.dialog import LoginDialog

        self.lock()
        dialog = LoginDialog(
            self.ctx.runner, self.ctx.language, self, store_name=self.ctx.dealer_name
        )
        dialog.signed_in.connect(self.set_actor)
        dialog.open()
        return dialog

    def change_password(self):
        """The signed-in person changes their own password (Account → Change password…)."""
        from ui.login.password import ChangePasswordDialog

        dialog = ChangePasswordDialog(self.ctx, self)
        dialog.setAttribute(Qt.WidgetAttribute.WA_DeleteOnClose)
        dialog.accepted.connect(
            lambda: self.statusBar().showMessage(tr("Your password was changed."), 5000)
        )
        dialog.open()
        return dialog

    def _idle_minutes_changed(self, minutes: int) -> None:
        if hasattr(self, "idle"):
            self.idle.set_minutes(minutes)

    def _unlocked(self, actor) -> None:
        self._set_usable(True)
        self.idle.resume()
        for dialog in self._take_hidden_dialogs():
            dialog.show()

    def _take_hidden_dialogs(self) -> list[QDialog]:
        dialogs = [d for d in getattr(self, "_hidden_dialogs", []) if shiboken6.isValid(d)]
        self._hidden_dialogs = []
        return dialogs

    def set_actor(self, actor) -> None:
        """A (possibly different) person now works in this window: pages are rebuilt for them."""
        self.lock_screen.hide()
        self._set_usable(True)
        self.idle.resume()
        hidden = self._take_hidden_dialogs()
        if actor != self.ctx.actor:
            for dialog in hidden:  # the previous person's unfinished work is not shown
                dialog.reject()
            self.ctx.actor = actor
            self.ctx.navigator.actor_changed.emit()
        else:
            for dialog in hidden:
                dialog.show()

    def _set_usable(self, usable: bool) -> None:
        # The cover hides the window; this keeps keyboard focus and shortcuts off it too.
        self.centralWidget().setEnabled(usable)
        self.menuBar().setEnabled(usable)
        for shortcut in self.findChildren(QShortcut):
            shortcut.setEnabled(usable)
        if not usable:
            self._disabled_actions = [a for a in self.actions() if a.isEnabled()]
        for action in getattr(self, "_disabled_actions", []):
            action.setEnabled(usable)

    # --- building and translating -------------------------------------------------------------

    def _build(self, current: str | None = None) -> None:
        """(Re)create the navigation and pages in the current language, for the person signed
        in: a page their role may not use (``PAGE_PERMISSIONS``) is neither listed nor built."""
        self.setWindowTitle(tr("Showroom"))
        self.nav.blockSignals(True)
        self.nav.clear()
        while self.stack.count():
            widget = self.stack.widget(0)
            self.stack.removeWidget(widget)
            widget.deleteLater()
        self.pages.clear()
        self._detail = None
        for key, title, path in self.visible_pages():
            item = QListWidgetItem(title())
            item.setData(Qt.ItemDataRole.UserRole, key)
            self.nav.addItem(item)
            page = _load_class(path)(self.ctx) if path else NotBuiltPage(title())
            page.setObjectName(f"page_{key}")
            if hasattr(page, "rules_saved"):  # Settings: the store's idle lock changed
                page.rules_saved.connect(self._idle_minutes_changed)
            self.pages[key] = page
            self.stack.addWidget(page)
        self.nav.blockSignals(False)
        self._update_status()
        self.show_page(current or "customers")

    def visible_pages(self) -> list[tuple[str, Callable[[], str], str | None]]:
        """The entries of ``PAGES`` the signed-in person's role may use."""
        return [
            page
            for page in PAGES
            if page[0] not in PAGE_PERMISSIONS
            or permissions.can(self.ctx.actor, PAGE_PERMISSIONS[page[0]])
        ]

    def changeEvent(self, event: QEvent) -> None:
        if event.type() == QEvent.Type.LanguageChange and self.pages:
            self._build(self.current_page_key())
        super().changeEvent(event)

    def _update_status(self) -> None:
        ctx = self.ctx
        self.status_dealer.setText(tr("Store: %1").replace("%1", ctx.dealer_name or "—"))
        self.status_user.setText(
            tr("User: %1 (%2)")
            .replace("%1", ctx.actor.display_name)
            .replace("%2", labels.role(ctx.actor.role))
        )
        self.status_db.setText(tr("Database: %1").replace("%1", ctx.database_path.name))
        self.status_db.setToolTip(str(ctx.database_path))
        self.sync_widget.render()

    # --- navigation --------------------------------------------------------------------------

    def current_page_key(self) -> str:
        widget = self.stack.currentWidget()
        for key, page in self.pages.items():
            if page is widget:
                return key
        return "customers"

    def show_page(self, key: str) -> None:
        if key not in self.pages:
            key = "customers"  # not built for this role (or unknown)
        page = self.pages[key]
        self.stack.setCurrentWidget(page)
        keys = [self.nav.item(i).data(Qt.ItemDataRole.UserRole) for i in range(self.nav.count())]
        self.nav.blockSignals(True)
        self.nav.setCurrentRow(keys.index(key))
        self.nav.blockSignals(False)
        if hasattr(page, "activate"):
            page.activate()

    def _on_nav(self, row: int) -> None:
        if row >= 0:
            self.show_page(self.nav.item(row).data(Qt.ItemDataRole.UserRole))

    def open_customer(self, customer_id: str) -> None:
        """Show the customer 360 for ``customer_id`` in place of the list."""
        from ui.customers.detail import Customer360Page

        if self._detail is None:
            self._detail = Customer360Page(self.ctx)
            self._detail.setObjectName("page_customer360")
            self.stack.addWidget(self._detail)
        self._detail.load(customer_id)
        self.stack.setCurrentWidget(self._detail)

    def new_customer(self) -> None:
        from ui.customers.editor import CustomerEditor

        editor = CustomerEditor(self.ctx, parent=self)
        editor.open()

    def connect_to_server(self) -> EnrolDialog:
        """Open the enrolment dialog (server address and one-time code)."""
        from ui.sync.enrol import EnrolDialog

        dialog = EnrolDialog(self.sync, self.ctx.language, parent=self)
        dialog.open()
        return dialog

    def _focus_search(self) -> None:
        self.show_page("customers")
        page = self.pages["customers"]
        if hasattr(page, "focus_search"):
            page.focus_search()

    # --- window state ------------------------------------------------------------------------

    def _restore(self) -> None:
        settings = QSettings()
        geometry = settings.value("window/geometry")
        if geometry is not None:
            self.restoreGeometry(geometry)
        last = settings.value("window/page", "customers")
        self.show_page(last if last in self.pages else "customers")

    def save_state(self) -> None:
        settings = QSettings()
        settings.setValue("window/geometry", self.saveGeometry())
        settings.setValue("window/page", self.current_page_key())

    def closeEvent(self, event) -> None:
        self.sync.stop()
        self.save_state()
        super().closeEvent(event)
