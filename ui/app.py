"""Start-up: logging, the QApplication, fonts and language, the database, the main window."""

from __future__ import annotations

import argparse
import logging
import logging.handlers
import sys
from pathlib import Path

from PySide6.QtCore import QSettings
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
    return parser.parse_args(argv)


def choose_actor(database: Database) -> tuple[Actor, str, bool]:
    """Who works in this window, the store's name, and whether the database has no customers.

    Until sign-in arrives, the user is the one picked in Settings, else the first salesperson.
    Runs once before the event loop starts.
    """
    from sqlalchemy import exists, select

    from showroom.models import Customer
    from showroom.services import dealer

    with database.session_scope() as session:
        store = dealer.ensure_dealer(session)
        username = QSettings().value("user/username")
        actor = None
        if username:
            try:
                actor = dealer.actor_for(session, str(username))
            except Exception:
                actor = None
        if actor is None:
            sales = dealer.list_users(session, None, role="salesperson")
            actor = (
                dealer.actor_for(session, sales[0].username)
                if sales
                else dealer.system_actor(session)
            )
        empty = not session.scalar(select(exists().where(Customer.id.is_not(None))))
    return actor, store.name, empty


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


def main(argv: list[str] | None = None) -> int:
    args = parse_args(sys.argv[1:] if argv is None else argv)
    log_path = setup_logging()
    app = QApplication.instance() or QApplication(sys.argv[:1])
    app.setOrganizationName("Showroom")
    app.setApplicationName("Showroom")
    install_fonts(app)
    language = set_language(args.lang or str(QSettings().value("language", "zh_CN")))

    path = args.db or (demo_db_path() if args.demo else default_db_path())
    database = open_database(path)
    install_session_guard(database)
    actor, store_name, empty = choose_actor(database)
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
    sys.excepthook = lambda kind, error, tb: (
        log.error("uncaught", exc_info=(kind, error, tb)),
        show_error(window, error, ctx.language, str(log_path)),
    )
    window.show()
    if args.demo and empty:
        generate_demo(ctx, database, args.demo_customers, window)
    code = app.exec()
    runner.shutdown()
    database.dispose()
    return code
