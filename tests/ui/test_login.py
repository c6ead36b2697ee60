"""Sign-in in the app: login and setup dialogs, idle lock, user switching, the users page, and
refusals from the services shown in plain words."""

from __future__ import annotations

import datetime as dt

import pytest
from PySide6.QtCore import Qt
from PySide6.QtWidgets import QLabel, QMessageBox

from showroom.models import LocalState
from showroom.models.local import SyncKeys
from showroom.services import auth, customers
from showroom.services.customers import CustomerDraft
from showroom.vocabulary import Role
from tests.ui.qt_keys import type_text
from ui import formatting
from ui.admin.users import UsersPage
from ui.login.dialog import LoginDialog, SetupDialog
from ui.main_window import MainWindow

ADMIN_PW = "admin-secret-1"
SALES_PW = "lina-secret-1"


@pytest.fixture
def accounts(db):
    """An admin and two salespeople who can sign in."""
    with db.session_scope() as session:
        admin = auth.create_first_admin(session, "boss", "周建国", ADMIN_PW)
        lina = auth.add_user(session, admin, "lina", "李娜", Role.SALESPERSON, SALES_PW)
        lei = auth.add_user(session, admin, "lei", "王磊", Role.SALESPERSON, "lei-secret-1")
    return {"admin": admin, "lina": lina, "lei": lei}


@pytest.fixture
def warnings(monkeypatch):
    """Messages shown through QMessageBox.warning (the one path for typed errors)."""
    shown: list[str] = []
    monkeypatch.setattr(
        QMessageBox, "warning", lambda _parent, _title, text, *a, **k: shown.append(text)
    )
    return shown


def click(qtbot, button) -> None:
    qtbot.mouseClick(button, Qt.MouseButton.LeftButton)


def login_dialog(qtbot, runner, **kw) -> LoginDialog:
    dialog = LoginDialog(runner, "zh_CN", **kw)
    qtbot.addWidget(dialog)
    dialog.show()
    return dialog


def test_wrong_password_is_refused_in_the_dialog_then_the_right_one_signs_in(
    qtbot, runner, accounts
):
    dialog = login_dialog(qtbot, runner)
    type_text(qtbot, dialog.username, "lina")
    type_text(qtbot, dialog.password, "not-the-password")
    click(qtbot, dialog.sign_in)
    qtbot.waitUntil(dialog.error.isVisible)
    assert dialog.error.text() == "用户名或密码不正确"
    assert dialog.isVisible() and dialog.password.text() == ""
    type_text(qtbot, dialog.password, SALES_PW)
    with qtbot.waitSignal(dialog.signed_in) as signed:
        click(qtbot, dialog.sign_in)
    assert signed.args[0].display_name == "李娜" and signed.args[0].role == Role.SALESPERSON
    assert not dialog.isVisible()


def test_a_locked_account_is_told_how_long_to_wait(qtbot, runner, accounts):
    dialog = login_dialog(qtbot, runner)
    type_text(qtbot, dialog.username, "lina")
    for attempt in range(auth.MAX_FAILURES):
        type_text(qtbot, dialog.password, f"wrong-{attempt}-password")
        click(qtbot, dialog.sign_in)
        qtbot.waitUntil(lambda: dialog.sign_in.isEnabled() and dialog.error.isVisible())
    assert f"{auth.LOCKOUT_MINUTES}分钟" in dialog.error.text()
    assert "锁定" in dialog.error.text()


def test_demo_sign_ins_are_shown_only_in_demo_mode(qtbot, runner, accounts):
    real = login_dialog(qtbot, runner)
    assert real.findChild(object, "demo_hint") is None
    demo = login_dialog(qtbot, runner, demo=True)
    hint = demo.findChild(object, "demo_hint")
    assert auth.DEMO_PASSWORD in hint.text() and "sales01" in hint.text()


def test_an_account_renamed_when_the_laptop_joined_its_store_is_told_at_sign_in(
    qtbot, runner, db, accounts
):
    plain = login_dialog(qtbot, runner)
    qtbot.wait(200)  # the rename notes are read on the DB lane
    assert plain.moved_hint.isHidden()
    with db.session_scope() as session:  # as a pull leaves it (sync.local.usernames)
        session.add(LocalState(key=SyncKeys.MOVED_USERNAMES, value='{"admin": "boss"}'))

    dialog = login_dialog(qtbot, runner)
    qtbot.waitUntil(dialog.moved_hint.isVisible)
    assert dialog.moved_hint.text() == "本机账号“admin”已改名为“boss”：门店已有名为“admin”的用户。"
    type_text(qtbot, dialog.username, "boss")
    type_text(qtbot, dialog.password, ADMIN_PW)
    with qtbot.waitSignal(dialog.signed_in):
        click(qtbot, dialog.sign_in)
    again = login_dialog(qtbot, runner)
    qtbot.wait(200)
    assert again.moved_hint.isHidden()  # told until the account was used


def test_first_run_setup_creates_the_admin_and_refuses_weak_passwords(qtbot, runner, db):
    dialog = SetupDialog(runner, "zh_CN")
    qtbot.addWidget(dialog)
    dialog.show()
    assert dialog.password.text() == ""  # never a default password
    type_text(qtbot, dialog.display_name, "周建国")
    type_text(qtbot, dialog.password, "short")
    type_text(qtbot, dialog.confirm, "shorter")
    click(qtbot, dialog.create)
    assert dialog.error.text() == "两次输入的密码不一致"
    dialog.confirm.clear()
    type_text(qtbot, dialog.confirm, "short")
    click(qtbot, dialog.create)
    qtbot.waitUntil(lambda: "8" in dialog.error.text())
    assert dialog.error.text().startswith("密码")
    for field in (dialog.password, dialog.confirm):
        field.clear()
        type_text(qtbot, field, ADMIN_PW)
    with qtbot.waitSignal(dialog.signed_in) as signed:
        click(qtbot, dialog.create)
    assert signed.args[0].role == Role.ADMIN
    with db.session_scope() as session:
        assert not auth.needs_setup(session)
        assert auth.login(session, "admin", ADMIN_PW).display_name == "周建国"


@pytest.fixture
def window(qtbot, ctx, accounts):
    ctx.actor = auth_actor(ctx, "lina")
    win = MainWindow(ctx)
    qtbot.addWidget(win)
    win.show()
    qtbot.waitExposed(win)
    yield win
    win.idle.stop()
    win.sync.stop()


def auth_actor(ctx, username):
    with ctx.runner.database.session_scope() as session:
        return auth.login(session, username, {"lina": SALES_PW, "boss": ADMIN_PW}[username])


def test_idle_lock_covers_the_window_until_the_same_password(qtbot, window):
    window.idle.set_minutes(0.002)  # about 120 ms of quiet
    qtbot.waitUntil(lambda: window.lock_screen.isVisible(), timeout=3_000)
    assert window.lock_screen.geometry() == window.rect()
    assert not window.centralWidget().isEnabled()
    assert "李娜" in window.lock_screen.who.text()
    type_text(qtbot, window.lock_screen.password, "wrong-password")
    click(qtbot, window.lock_screen.unlock)
    qtbot.waitUntil(window.lock_screen.error.isVisible)
    assert window.lock_screen.isVisible()
    type_text(qtbot, window.lock_screen.password, SALES_PW)
    click(qtbot, window.lock_screen.unlock)
    qtbot.waitUntil(lambda: not window.lock_screen.isVisible())
    assert window.centralWidget().isEnabled()
    assert window.ctx.actor.display_name == "李娜"


def test_switching_user_from_the_lock_screen_rebuilds_the_window(qtbot, window):
    window.lock()
    assert window.lock_screen.isVisible()
    dialog = window.switch_user()
    type_text(qtbot, dialog.username, "boss")
    type_text(qtbot, dialog.password, ADMIN_PW)
    with qtbot.waitSignal(window.ctx.navigator.actor_changed):
        click(qtbot, dialog.sign_in)
    assert window.ctx.actor.display_name == "周建国"
    assert not window.lock_screen.isVisible()
    assert "周建国" in window.status_user.text()


def nav_keys(window) -> list[str]:
    return [window.nav.item(i).data(Qt.ItemDataRole.UserRole) for i in range(window.nav.count())]


def switch_to(qtbot, window, username, password) -> None:
    window.lock()
    dialog = window.switch_user()
    type_text(qtbot, dialog.username, username)
    type_text(qtbot, dialog.password, password)
    with qtbot.waitSignal(window.ctx.navigator.actor_changed):
        click(qtbot, dialog.sign_in)


def test_the_users_page_is_listed_for_an_admin_only_and_follows_a_switch(qtbot, window):
    assert "users" not in nav_keys(window) and "users" not in window.pages  # 李娜, sales
    window.show_page("users")  # asked for anyway (e.g. a remembered page): the list instead
    assert window.current_page_key() == "customers"

    switch_to(qtbot, window, "boss", ADMIN_PW)
    assert "users" in nav_keys(window)
    window.nav.setCurrentRow(nav_keys(window).index("users"))  # clicked in the navigation
    assert window.current_page_key() == "users"
    assert window.stack.currentWidget() is window.pages["users"]
    # Every entry still opens its own page after the list changed.
    for row, key in enumerate(nav_keys(window)):
        window.nav.setCurrentRow(row)
        assert window.current_page_key() == key

    window.show_page("users")
    switch_to(qtbot, window, "lina", SALES_PW)  # back to the salesperson, from the users page
    assert "users" not in nav_keys(window) and "users" not in window.pages
    assert window.current_page_key() == "customers"
    assert window.nav.currentItem().data(Qt.ItemDataRole.UserRole) == "customers"


def test_the_account_menu_locks_the_window(qtbot, window):
    window.lock_action.trigger()
    assert window.lock_screen.isVisible()
    assert not window.menuBar().isEnabled()


def test_users_page_shows_the_refusal_to_a_non_admin(qtbot, ctx, accounts):
    ctx.actor = auth_actor(ctx, "lina")
    page = UsersPage(ctx)
    qtbot.addWidget(page)
    page.show()
    page.activate()
    qtbot.waitUntil(page.refused.isVisible)
    assert "管理用户" in page.refused.text()
    assert not page.body.isVisible()


def test_admin_adds_a_user_sets_a_role_and_deactivates(qtbot, ctx, accounts, db, warnings):
    ctx.actor = auth_actor(ctx, "boss")
    page = UsersPage(ctx)
    qtbot.addWidget(page)
    page.show()
    page.activate()
    qtbot.waitUntil(lambda: page.table.rowCount() > 0)
    before = page.table.rowCount()
    dialog = page.add_user()
    type_text(qtbot, dialog.username, "zhang")
    type_text(qtbot, dialog.display_name, "张婷")
    dialog.role.setCurrentIndex(dialog.role.findData("service_advisor"))
    type_text(qtbot, dialog.password, "zhang")
    click(qtbot, dialog.ok)
    qtbot.waitUntil(dialog.error.isVisible)
    assert dialog.error.text().startswith("初始密码")
    dialog.password.clear()
    type_text(qtbot, dialog.password, "zhang-secret-1")
    click(qtbot, dialog.ok)
    qtbot.waitUntil(lambda: page.table.rowCount() == before + 1)
    names = [page.table.item(r, 0).text() for r in range(before + 1)]
    row = names.index("zhang")
    assert page.table.item(row, 2).text() == "服务顾问"

    page.table.selectRow(row)
    page.role.setCurrentIndex(page.role.findData("manager"))
    click(qtbot, page.role_button)
    qtbot.waitUntil(lambda: page.table.item(row, 2).text() == "经理")
    page.table.selectRow(row)
    click(qtbot, page.active_button)
    # Deactivated accounts sort last.
    qtbot.waitUntil(lambda: page.table.item(before, 3).text() == "已停用")
    assert page.table.item(before, 0).text() == "zhang"
    with db.session_scope() as session, pytest.raises(auth.AuthenticationError):
        auth.login(session, "zhang", "zhang-secret-1")
    # The admin cannot deactivate themself: the refusal is shown, nothing changes.
    me = [page.table.item(r, 0).text() for r in range(before + 1)].index("boss")
    page.table.selectRow(me)
    click(qtbot, page.active_button)
    qtbot.waitUntil(lambda: bool(warnings))
    assert "停用自己" in warnings[0]


def test_changing_another_salespersons_customer_shows_the_refusal(
    qtbot, ctx, accounts, db, warnings, monkeypatch
):
    from ui.customers.editor import CustomerEditor

    with db.session_scope() as session:
        other = auth.login(session, "lei", "lei-secret-1")
        customer = customers.create_customer(
            session, other, CustomerDraft(name="陈其他", phones=["13812340000"])
        )
    ctx.actor = auth_actor(ctx, "lina")
    editor = CustomerEditor(ctx, customer_id=customer.id)
    qtbot.addWidget(editor)
    editor.show()
    qtbot.waitUntil(lambda: editor.save_button.isEnabled())  # read-only: it can be opened
    type_text(qtbot, editor.email, "chen@example.com")
    click(qtbot, editor.save_button)
    qtbot.waitUntil(lambda: bool(warnings))
    assert "修改其他销售顾问的客户" in warnings[0]
    with db.session_scope() as session:
        assert customers.get_customer(session, other, customer.id).email is None
    # Closing with the refused change still typed in asks first; the answer is: discard it.
    monkeypatch.setattr(
        QMessageBox, "question", lambda *_a, **_k: QMessageBox.StandardButton.Discard
    )
    editor.close()


def test_a_manager_sets_the_store_rules_a_salesperson_only_sees_them(qtbot, ctx, db, staff):
    from showroom.services import dealer, leads
    from ui.settings import SettingsPage

    ctx.actor = staff["sales"]
    page = SettingsPage(ctx)
    qtbot.addWidget(page)
    page.activate()
    qtbot.waitUntil(lambda: page.idle_minutes.value() == dealer.DEFAULT_IDLE_LOCK_MINUTES)
    assert not page.lead_visibility.isEnabled() and not page.idle_minutes.isEnabled()

    ctx.actor = staff["manager"]
    page = SettingsPage(ctx)
    qtbot.addWidget(page)
    page.activate()
    qtbot.waitUntil(page.lead_visibility.isEnabled)
    page.idle_minutes.setValue(3)
    with qtbot.waitSignal(page.rules_saved) as saved:
        page.lead_visibility.setCurrentIndex(page.lead_visibility.findData("hidden"))
    assert saved.args == [3] and ctx.idle_lock_minutes == 3
    with db.session_scope() as session:
        assert leads.lead_visibility(session) == "hidden"
        assert dealer.idle_lock_minutes(session) == 3


def test_locking_hides_open_dialogs_until_the_same_user_returns(qtbot, window):
    from PySide6.QtWidgets import QDialog

    dialog = QDialog(window)
    dialog.show()
    window.lock()
    assert not dialog.isVisible()
    type_text(qtbot, window.lock_screen.password, SALES_PW)
    click(qtbot, window.lock_screen.unlock)
    qtbot.waitUntil(dialog.isVisible)

    window.lock()
    switch = window.switch_user()
    type_text(qtbot, switch.username, "boss")
    type_text(qtbot, switch.password, ADMIN_PW)
    with qtbot.waitSignal(window.ctx.navigator.actor_changed):
        click(qtbot, switch.sign_in)
    assert not dialog.isVisible()  # the previous person's dialog is closed, not shown again
    assert dialog.result() == QDialog.DialogCode.Rejected


# --- Account → Change password… ----------------------------------------------------------------


def can_sign_in(db, username, password) -> bool:
    from showroom.services.auth import AuthenticationError

    try:
        with db.session_scope() as session:
            auth.login(session, username, password)
    except AuthenticationError:
        return False
    return True


def password_dialog(qtbot, window):
    from ui.login.password import ChangePasswordDialog

    window.password_action.trigger()  # Account → Change password…
    dialog = window.findChild(ChangePasswordDialog)
    qtbot.waitUntil(dialog.isVisible)
    return dialog


def error_under(dialog, name):
    return dialog.errors.field(name).error


def test_change_password_refusals_are_shown_under_their_fields(qtbot, window, db):
    dialog = password_dialog(qtbot, window)
    assert "李娜" in dialog.findChild(QLabel, "who").text()
    type_text(qtbot, dialog.current, "not-my-password")
    type_text(qtbot, dialog.new, "a-new-secret-1")
    type_text(qtbot, dialog.repeat, "a-new-secret-1")
    qtbot.keyClick(dialog.repeat, Qt.Key.Key_Return)  # Enter saves
    qtbot.waitUntil(error_under(dialog, "current").isVisible)
    assert error_under(dialog, "current").text() == "当前密码不正确。"
    assert not error_under(dialog, "new").isVisible()

    type_text(qtbot, dialog.current, SALES_PW)
    dialog.new.clear()
    dialog.repeat.clear()
    type_text(qtbot, dialog.new, "short")
    type_text(qtbot, dialog.repeat, "short")
    qtbot.keyClick(dialog.repeat, Qt.Key.Key_Return)
    qtbot.waitUntil(error_under(dialog, "new").isVisible)
    assert "8" in error_under(dialog, "new").text()  # says how long it must be
    assert not error_under(dialog, "current").isVisible()

    dialog.new.clear()
    dialog.repeat.clear()
    type_text(qtbot, dialog.new, "a-new-secret-1")
    type_text(qtbot, dialog.repeat, "a-new-secret-2")
    qtbot.keyClick(dialog.repeat, Qt.Key.Key_Return)
    assert error_under(dialog, "repeat").isVisible()  # checked before anything is sent
    assert dialog.isVisible()
    assert can_sign_in(db, "lina", SALES_PW)  # nothing changed


def test_wrong_current_passwords_lock_the_account_and_the_dialog_says_for_how_long(
    qtbot, window, db
):
    dialog = password_dialog(qtbot, window)
    type_text(qtbot, dialog.new, "a-new-secret-1")
    type_text(qtbot, dialog.repeat, "a-new-secret-1")
    for attempt in range(1, auth.MAX_FAILURES + 1):
        error_under(dialog, "current").clear()
        type_text(qtbot, dialog.current, f"guess-{attempt}")
        qtbot.keyClick(dialog.repeat, Qt.Key.Key_Return)
        qtbot.waitUntil(error_under(dialog, "current").isVisible)
        qtbot.waitUntil(dialog.save.isEnabled)
        if attempt < auth.MAX_FAILURES:
            assert error_under(dialog, "current").text() == "当前密码不正确。"
    text = error_under(dialog, "current").text()
    assert "账户已锁定" in text and f"{auth.LOCKOUT_MINUTES}分钟" in text
    assert dialog.current.text() == ""  # the guess is not left in the field
    # The lock is the sign-in lock: the right password does not open the account now.
    with pytest.raises(auth.AccountLockedError), db.session_scope() as session:
        auth.login(session, "lina", SALES_PW)


def test_change_password_with_enter_then_only_the_new_one_signs_in(qtbot, window, db):
    dialog = password_dialog(qtbot, window)
    type_text(qtbot, dialog.current, SALES_PW)
    type_text(qtbot, dialog.new, "a-new-secret-1")
    type_text(qtbot, dialog.repeat, "a-new-secret-1")
    with qtbot.waitSignal(dialog.accepted):
        qtbot.keyClick(dialog.repeat, Qt.Key.Key_Return)
    assert "密码已修改" in window.statusBar().currentMessage()
    assert can_sign_in(db, "lina", "a-new-secret-1")
    assert not can_sign_in(db, "lina", SALES_PW)
    # The idle lock now wants the new password too.
    window.lock()
    type_text(qtbot, window.lock_screen.password, "a-new-secret-1")
    click(qtbot, window.lock_screen.unlock)
    qtbot.waitUntil(lambda: not window.lock_screen.isVisible())


def test_change_password_esc_cancels_and_changes_nothing(qtbot, window, db):
    dialog = password_dialog(qtbot, window)
    type_text(qtbot, dialog.current, SALES_PW)
    type_text(qtbot, dialog.new, "a-new-secret-1")
    with qtbot.waitSignal(dialog.rejected):
        qtbot.keyClick(dialog.new, Qt.Key.Key_Escape)
    assert can_sign_in(db, "lina", SALES_PW)
    assert not can_sign_in(db, "lina", "a-new-secret-1")


def test_the_window_reloads_the_day_s_lists_when_the_day_turns(qtbot, window, today, monkeypatch):
    from ui import day

    window.show_page("follow_ups")
    page = window.pages["follow_ups"]
    qtbot.waitUntil(lambda: page.summary.text() != "", timeout=5_000)
    assert window.day_watch.timer.isActive()
    tomorrow = today + dt.timedelta(days=1)
    monkeypatch.setattr(day, "today", lambda: tomorrow)

    with qtbot.waitSignal(page.loaded, timeout=5_000):
        window.day_watch.check()

    assert formatting.date(tomorrow) in page.summary.text()
