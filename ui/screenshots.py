"""Render the main pages offscreen from a demo database into PNG files for the README.

    python -m ui.screenshots [--db PATH] [--out docs/screenshots] [--customers 3000]

Without ``--db`` a demo database is generated in a temporary folder (fixed seed, so the pictures
only change when the UI does).
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
import time
from pathlib import Path

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")


def _settle(runner, app, seconds: float = 0.4, timeout: float = 20.0) -> None:
    """Let queued jobs finish and the GUI catch up (no event loop runs in this script)."""
    deadline = time.monotonic() + timeout
    quiet_since = None
    while time.monotonic() < deadline:
        app.processEvents()
        if runner.busy:
            quiet_since = None
        elif quiet_since is None:
            quiet_since = time.monotonic()
        elif time.monotonic() - quiet_since >= seconds:
            return
        time.sleep(0.02)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m ui.screenshots")
    parser.add_argument("--db", type=Path)
    parser.add_argument("--out", type=Path, default=Path("docs/screenshots"))
    parser.add_argument("--customers", type=int, default=3000)
    args = parser.parse_args(argv)

    tmp = tempfile.TemporaryDirectory()
    os.environ.setdefault("SHOWROOM_DATA_DIR", tmp.name)

    from PySide6.QtCore import QCoreApplication, QSettings
    from PySide6.QtWidgets import QApplication

    from showroom.db.engine import open_database
    from ui.app import choose_actor
    from ui.context import AppContext, Navigator
    from ui.i18n import install_fonts, set_language
    from ui.main_window import MainWindow
    from ui.tasks import TaskRunner

    app = QApplication.instance() or QApplication(sys.argv[:1])
    QCoreApplication.setOrganizationName("ShowroomScreenshots")
    QSettings.setDefaultFormat(QSettings.Format.IniFormat)
    QSettings.setPath(QSettings.Format.IniFormat, QSettings.Scope.UserScope, tmp.name)
    install_fonts(app)

    path = args.db or Path(tmp.name) / "demo.db"
    database = open_database(path)
    actor, store, empty = choose_actor(database, create=False)
    if empty:
        from showroom.demo import generate_demo_data

        generate_demo_data(database, args.customers, seed=7)
        actor, store, _ = choose_actor(database)
    runner = TaskRunner(database)
    args.out.mkdir(parents=True, exist_ok=True)

    def shoot(name: str, widget) -> None:
        _settle(runner, app)
        target = args.out / f"{name}.png"
        widget.grab().save(str(target))
        print(target)

    for language, suffix in (("zh_CN", ""), ("en", "_en")):
        set_language(language)
        ctx = AppContext(runner, actor, Navigator(), path, store, language)
        window = MainWindow(ctx)
        window.resize(1280, 800)
        window.show()
        window.show_page("customers")
        shoot(f"customers{suffix}", window)
        if suffix:
            window.close()
            continue
        _open_busiest_customer(database, window)
        shoot("customer360", window)
        window.show_page("follow_ups")
        shoot("follow_ups", window)
        window.close()

    runner.shutdown()
    database.dispose()
    return 0


def _open_busiest_customer(database, window) -> None:
    """Show the customer with the most history: the richest 360 page."""
    from sqlalchemy import func, select

    from showroom.models import Interaction

    with database.session_scope(write=False) as session:
        customer_id = session.scalar(
            select(Interaction.customer_id)
            .group_by(Interaction.customer_id)
            .order_by(func.count().desc(), Interaction.customer_id)
            .limit(1)
        )
    window.open_customer(customer_id)


if __name__ == "__main__":
    sys.exit(main())
