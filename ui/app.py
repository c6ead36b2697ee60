"""Start-up: logging, the QApplication, fonts and language, the database, the main window."""

from __future__ import annotations

import argparse
import gc
import logging
import logging.handlers
import sys
from pathlib import Path

from PySide6.QtCore import QSettings, QTimer
from PySide6.QtWidgets import QApplication, QProgressDialog

from showroom.actor import Actor
from showroom.db.engine import Database, open_database
from showroom.paths import default_db_path, demo_db_path, log_dir
from showroom.services.dto import Changed
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
    """Who works in this window, the store's name, and whether there are no customers yet.

    Until sign-in arrives, the user is the one picked in Settings, else the first salesperson.
    With ``create`` false, an empty database is left untouched (the demo data brings its own
    store and staff).
    """
    from sqlalchemy import exists, select

    from showroom.errors import NotFoundError
    from showroom.models import Customer
    from showroom.services import dealer
    from showroom.vocabulary import Role

    store = dealer.current_dealer(session) or (dealer.ensure_dealer(session) if create else None)
    empty = not session.scalar(select(exists().where(Customer.id.is_not(None))))
    actor = None
    username = QSettings().value("user/username")
    if username:
        try:
            actor = dealer.actor_for(session, str(username))
        except NotFoundError:
            actor = None  # the person left or the database changed: fall back below
    if actor is None:
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


def generate_demo(ctx: AppContext, database: Database, customers: int, window) -> None:
    """Fill an empty demo database on the DB lane, with a progress dialog that can cancel."""
    from showroom.demo import generate_demo_data

    progress = QProgressDialog(tr("Creating demo data…"), tr("Cancel"), 0, customers, window)
    progress.setWindowTitle(tr("Showroom"))
    progress.setMinimumDuration(0)

    def work(_session, task):
        return generate_demo_data(database, customers, progress=task.report)

    def done(_summary):
        progress.close()
        # The demo brought its own store and staff: work as its first salesperson.
        ctx.runner.db(lambda session: who_and_where(session), on_done=switch, write=True)

    def switch(found):
        ctx.actor, ctx.dealer_name, _ = found
        ctx.navigator.actor_changed.emit()

    def failed(error):
        progress.close()
        show_error(window, error, ctx.language, str(log_dir() / "showroom.log"))

    task = ctx.runner.db(
        work,
        on_done=done,
        on_error=failed,
        on_progress=lambda n, total, _what: (progress.setMaximum(total), progress.setValue(n)),
        changed=lambda _summary: Changed("customer", (), "created"),
        name="demo-data",
    )
    progress.canceled.connect(task.cancel)


def _report_shown_and_quit(app) -> None:
    print("shown", flush=True)
    app.quit()


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
        database = open_database(path)
    except Exception as error:  # a broken or unreadable file: say so instead of vanishing
        log.exception("could not open the database %s", path)
        show_error(None, error, language, str(log_path))
        return 1
    install_session_guard(database)
    actor, store_name, empty = choose_actor(database, create=not args.demo)
    runner = TaskRunner(database)
    ctx = AppContext(
        runner=runner,
        actor=actor,
        navigator=Navigator(),
        database_path=path,
        dealer_name=store_name,
        language=language,
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
    if args.exit_when_shown:
        QTimer.singleShot(0, lambda: _report_shown_and_quit(app))
    if args.demo and empty:
        generate_demo(ctx, database, args.demo_customers, window)
    code = app.exec()
    window.sync.stop()
    runner.shutdown()
    database.dispose()
    return code
