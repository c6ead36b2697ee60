"""Start-up: logging, the QApplication, fonts and language, the database, the main window."""

from __future__ import annotations

import argparse
import gc
import logging
import logging.handlers
import sys
from dataclasses import dataclass
from pathlib import Path

from PySide6.QtCore import QSettings, QTimer
from PySide6.QtWidgets import QApplication, QProgressDialog

from showroom.actor import Actor
from showroom.db.engine import Database, open_database
from showroom.paths import default_db_path, demo_db_path, log_dir
from ui.context import AppContext, Navigator
from ui.errors import show_error
from ui.i18n import install_fonts, set_language, tr
from ui.tasks import TaskRunner, install_session_guard

log = logging.getLogger("showroom")

DEMO_CUSTOMERS = 5000


def setup_logging() -> Path:
    """A rotating log file in the user's data directory; returns its path."""
    folder = log_dir()
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / "showroom.log"
    handler = logging.handlers.RotatingFileHandler(
        path, maxBytes=1_000_000, backupCount=5, encoding="utf-8"
    )
    handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(name)s: %(message)s"))
    root = logging.getLogger()
    root.addHandler(handler)
    root.setLevel(logging.INFO)
    return path


def parse_args(argv: list[str]) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="showroom", description="Showroom desktop app")
    parser.add_argument("--db", type=Path, help="database file")
    parser.add_argument("--demo", action="store_true", help="use the demo database")
    parser.add_argument("--demo-customers", type=int, default=DEMO_CUSTOMERS)
    parser.add_argument("--lang", choices=["zh_CN", "en"], help="interface language")
    # For the start-up benchmark and smoke tests: quit once the window is on screen.
    parser.add_argument("--exit-when-shown", action="store_true", help=argparse.SUPPRESS)
    return parser.parse_args(argv)


def who_and_where(session, *, create: bool = True) -> tuple[Actor, str, bool]:
    """For the screenshot tool only (it never signs in): the first salesperson, the store's
    name, and whether there are no customers yet. The app itself asks who is working through
    the login dialog."""
    from sqlalchemy import exists, select

    from showroom.models import Customer
    from showroom.services import dealer
    from showroom.vocabulary import Role

    store = dealer.current_dealer(session) or (dealer.ensure_dealer(session) if create else None)
    empty = not session.scalar(select(exists().where(Customer.id.is_not(None))))
    sales = dealer.list_users(session, None, role="salesperson")
    if sales:
        actor = dealer.actor_for(session, sales[0].username)
    elif create:
        actor = dealer.system_actor(session)
    else:
        actor = Actor(user_id=None, display_name="—", role=Role.SALESPERSON)
    return actor, store.name if store else "", empty


def choose_actor(database: Database, *, create: bool = True) -> tuple[Actor, str, bool]:
    """``who_and_where`` in its own session; only before the event loop starts."""
    with database.session_scope() as session:
        return who_and_where(session, create=create)


@dataclass(frozen=True)
class StartState:
    store_name: str
    empty: bool  # no customers yet
    needs_setup: bool  # nobody can sign in yet: first run
    idle_lock_minutes: int


def start_state(session, *, create: bool = True) -> StartState:
    """What the start-up needs to know; with ``create`` false an empty database stays empty
    (the demo data brings its own store and staff)."""
    from sqlalchemy import exists, select

    from showroom.models import Customer
    from showroom.services import auth, dealer

    store = dealer.current_dealer(session) or (dealer.ensure_dealer(session) if create else None)
    return StartState(
        store_name=store.name if store else "",
        empty=not session.scalar(select(exists().where(Customer.id.is_not(None)))),
        needs_setup=auth.needs_setup(session),
        idle_lock_minutes=dealer.idle_lock_minutes(session),
    )


def generate_demo(runner: TaskRunner, database: Database, customers: int) -> bool:
    """Fill an empty demo database on the DB lane, with a progress dialog that can cancel,
    and give the demo staff their documented sign-ins. False when it failed or was cancelled."""
    from showroom.demo import generate_demo_data
    from showroom.services import auth

    progress = QProgressDialog(tr("Creating demo data…"), tr("Cancel"), 0, customers)
    progress.setWindowTitle(tr("Showroom"))
    progress.setMinimumDuration(0)
    progress.setAutoClose(False)  # it stays until the demo sign-ins are set too
    progress.setAutoReset(False)
    outcome: list[bool] = []

    def work(_session, task):
        generate_demo_data(database, customers, progress=task.report)

    def done(_summary):
        runner.db(
            lambda session: auth.enable_demo_logins(session),
            on_done=lambda _names: finish(True),
            on_error=failed,
            write=True,
        )

    def finish(ok: bool) -> None:
        outcome.append(ok)
        progress.done(0)

    def failed(error):
        show_error(progress, error, "zh_CN", str(log_dir() / "showroom.log"))
        finish(False)

    task = runner.db(
        work,
        on_done=done,
        on_error=failed,
        on_progress=lambda n, total, _what: (progress.setMaximum(total), progress.setValue(n)),
        name="demo-data",
    )
    progress.canceled.connect(task.cancel)
    progress.canceled.connect(lambda: finish(False))
    if not outcome:
        progress.exec()
    runner.wait()
    return bool(outcome and outcome[0])


def sign_in(
    runner: TaskRunner,
    state: StartState,
    language: str,
    *,
    demo: bool = False,
    exit_when_shown: bool = False,
) -> Actor | None:
    """The first-run setup dialog or the login dialog; the person who signed in, or None."""
    from ui.login.dialog import LoginDialog, SetupDialog

    if state.needs_setup:
        dialog = SetupDialog(runner, language)
    else:
        dialog = LoginDialog(runner, language, demo=demo, store_name=state.store_name)
    if exit_when_shown:
        QTimer.singleShot(0, lambda: (print("shown", flush=True), dialog.reject()))
    dialog.exec()
    return dialog.actor


def main(argv: list[str] | None = None) -> int:
    args = parse_args(sys.argv[1:] if argv is None else argv)
    log_path = setup_logging()
    app = QApplication.instance() or QApplication(sys.argv[:1])
    app.setOrganizationName("Showroom")
    app.setApplicationName("Showroom")
    install_fonts(app)
    language = set_language(args.lang or str(QSettings().value("language", "zh_CN")))

    path = args.db or (demo_db_path() if args.demo else default_db_path())
    try:
        database = _open(path, demo=args.demo)
    except Exception as error:  # a broken or unreadable file: say so instead of vanishing
        log.exception("could not open the database %s", path)
        show_error(None, error, language, str(log_path))
        return 1
    if database is None:  # the key was not given: the unlock dialogs said why
        return 1
    install_session_guard(database)
    with database.session_scope() as session:
        state = start_state(session, create=not args.demo)
    runner = TaskRunner(database)
    if args.demo and state.empty:
        # The demo brings its own store and staff, with sign-ins shown on the login dialog.
        if not generate_demo(runner, database, args.demo_customers):
            return _close(runner, database, 1)
        with database.session_scope() as session:
            state = start_state(session)
    actor = sign_in(runner, state, language, demo=args.demo, exit_when_shown=args.exit_when_shown)
    if actor is None:  # the dialog was closed: nobody signed in
        return _close(runner, database, 0)
    ctx = AppContext(
        runner=runner,
        actor=actor,
        navigator=Navigator(),
        database_path=path,
        dealer_name=state.store_name,
        language=language,
        idle_lock_minutes=state.idle_lock_minutes,
    )

    from ui.main_window import MainWindow

    window = MainWindow(ctx)
    runner.unhandled_error.connect(
        lambda error: show_error(window, error, ctx.language, str(log_path))
    )

    def unexpected(kind, error, tb) -> None:
        log.error("uncaught exception", exc_info=(kind, error, tb))
        show_error(window, error, ctx.language, str(log_path))

    sys.excepthook = unexpected
    window.show()
    window.sync.start()  # skips quietly until this laptop is connected to a server
    # Everything made during start-up lives as long as the app: keep it out of the cyclic
    # collector, whose full passes over it otherwise stall the GUI for 30-80 ms now and then.
    gc.freeze()
    code = app.exec()
    window.sync.stop()
    window.idle.stop()
    return _close(runner, database, code)


def _open(path: Path, *, demo: bool) -> Database | None:
    """The database, unlocked (asking for the admin secret if needed) before anyone signs in."""
    try:
        from ui.unlock import open_database_for_app
    except ImportError:  # a build without encryption at rest
        return open_database(path)
    return open_database_for_app(path, None, demo=demo)


def _close(runner: TaskRunner, database: Database, code: int) -> int:
    runner.shutdown()
    database.dispose()
    return code
