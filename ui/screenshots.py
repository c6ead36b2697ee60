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
        _shoot_quotes(database, ctx, shoot, args.out)
        if empty:  # only a generated database gets the sample sync state
            _shoot_sync(database, ctx, shoot)

    runner.shutdown()
    database.dispose()
    return 0


def _shoot_sync(database, ctx, shoot) -> None:
    """The conflict review page as a manager, and the enrolment dialog, over sample state."""
    import dataclasses

    from showroom.services import dealer
    from ui.main_window import MainWindow
    from ui.sync.enrol import EnrolDialog

    _stage_sync_review(database)
    with database.session_scope() as session:
        manager = dealer.actor_for(session, "manager01")
    window = MainWindow(dataclasses.replace(ctx, actor=manager))
    window.resize(1280, 800)
    window.show()
    window.show_page("conflicts")
    shoot("sync_conflicts", window)
    dialog = EnrolDialog(window.sync, ctx.language, parent=window)
    dialog.server_url.setText("https://sync.huatong-vw.cn:8765")
    dialog.code.setText("K7QM-3XRT-9PWD")
    dialog.device_name.setText("展厅前台-笔记本02")
    dialog.show()
    dialog.device_name.setFocus()
    dialog.code.deselect()
    shoot("sync_enrol", dialog)
    dialog.close()
    window.close()


def _stage_sync_review(database) -> None:
    """Make the demo laptop look enrolled, with conflicts and a rejected change to review."""
    import datetime as dt
    import json

    from sqlalchemy import select

    from showroom.db.outbox import CAPTURE
    from showroom.models import Customer, LocalState, SyncConflict, SyncOutbox, TestDrive, User
    from showroom.models.local import SyncKeys

    now = dt.datetime.now(dt.UTC)
    other_laptop = "0190b3c2-7d41-7a8e-9f10-5c3b2a1d0e4f"
    with database.session_scope() as session:
        people = list(session.scalars(select(User).where(User.role == "salesperson").limit(2)))
        found = list(
            session.scalars(select(Customer).where(Customer.address.is_not(None)).limit(3))
        )
        for key, value in {
            SyncKeys.SERVER_URL: "https://sync.huatong-vw.cn:8765",
            SyncKeys.TOKEN: "sample",
            SyncKeys.DEALER_NAME: "华通大众4S店",
            SyncKeys.LAST_ATTEMPT_AT: (now - dt.timedelta(minutes=4)).isoformat(),
            SyncKeys.LAST_SUCCESS_AT: (now - dt.timedelta(minutes=4)).isoformat(),
            SyncKeys.ONLINE: "1",
            SyncKeys.CLOCK_SKEW_SECONDS: "2.5",
        }.items():
            session.merge(LocalState(key=key, value=value))
        session.info[CAPTURE] = False
        first, second = found[0], found[1]
        start = (now + dt.timedelta(days=1)).replace(hour=2, minute=0, second=0, microsecond=0)
        booked = [
            TestDrive(
                customer_id=customer.id,
                salesperson_id=person.id,
                demo_car="粤B·D8U21",
                starts_at=start + dt.timedelta(minutes=offset),
                ends_at=start + dt.timedelta(minutes=offset + 60),
            )
            for customer, person, offset in ((first, people[0], 0), (second, people[1], 30))
        ]
        session.add_all(booked)
        session.flush()
        session.add_all(
            [
                SyncConflict(
                    kind="field",
                    table_name="customer",
                    row_id=first.id,
                    field="address",
                    base_value=json.dumps("深圳市福田区华强北路1002号", ensure_ascii=False),
                    theirs_value=json.dumps("深圳市南山区科技园南区8栋", ensure_ascii=False),
                    mine_value=json.dumps(first.address, ensure_ascii=False),
                    theirs_actor=people[0].id,
                    mine_actor=people[1].id,
                    theirs_device=database.device_id,
                    mine_device=other_laptop,
                    detected_at=now - dt.timedelta(minutes=5),
                ),
                SyncConflict(
                    kind="field",
                    table_name="customer",
                    row_id=second.id,
                    field="intent_level",
                    base_value=json.dumps("B"),
                    theirs_value=json.dumps("H"),
                    mine_value=json.dumps(second.intent_level or "A"),
                    theirs_actor=people[1].id,
                    mine_actor=people[0].id,
                    theirs_device=other_laptop,
                    mine_device=database.device_id,
                    detected_at=now - dt.timedelta(hours=2),
                ),
                SyncConflict(
                    kind="double_booking",
                    table_name="test_drive",
                    row_id=booked[0].id,
                    other_row_id=booked[1].id,
                    detected_at=now - dt.timedelta(hours=3),
                ),
            ]
        )
        session.info[CAPTURE] = True
        found[2].notes = "客户要求周六上午回电"
        session.flush()
        op = session.scalar(select(SyncOutbox).order_by(SyncOutbox.seq.desc()).limit(1))
        op.acknowledged, op.result = True, "rejected"
        op.reason = "customer was merged into another record on the server"


def _shoot_quotes(database, ctx, shoot, out: Path) -> None:
    """The Quotes tab as a manager (a discount waiting for approval), the editor, and the
    printed quote's first page (rendered with poppler's pdftoppm, when it is installed)."""
    import dataclasses
    import shutil
    import subprocess

    from sqlalchemy import func, select

    from showroom.models import Quote
    from showroom.services import dealer, quotes
    from ui.main_window import MainWindow
    from ui.quotes.editor import QuoteEditor

    with database.session_scope() as session:
        manager = dealer.actor_for(session, "manager01")
        pending = select(Quote.customer_id).where(Quote.status == "pending_approval")
        customer_id = session.scalar(
            select(Quote.customer_id)
            .where(Quote.customer_id.in_(pending), Quote.deleted.is_(False))
            .group_by(Quote.customer_id)
            .order_by(func.count().desc(), Quote.customer_id)
            .limit(1)
        )
        shown = quotes.list_quotes(session, manager, customer_id)
    window = MainWindow(dataclasses.replace(ctx, actor=manager))
    window.resize(1280, 800)
    window.show()
    window.open_customer(customer_id)
    page = window._detail
    page.tabs.setCurrentWidget(page.quotes_panel)
    for row, q in enumerate(page.quotes_panel.quotes):
        if q.status == "pending_approval":
            page.quotes_panel.table.selectRow(row)
            break
    shoot("quotes", window)
    selected = page.quotes_panel.selected()
    editor = QuoteEditor(window.ctx, customer_id, selected.id if selected else None, window)
    editor.show()
    shoot("quote_editor", editor)
    editor.close()
    window.close()

    tool = shutil.which("pdftoppm")
    if tool is None:
        print("quote_pdf: skipped (pdftoppm is not installed)")
        return
    # The preview (marked as such): printing for real would issue the quote and audit it.
    with database.session_scope(write=False) as session:
        pdf = quotes.render_preview(session, manager, shown[0].id).pdf
    source = out / "quote_pdf.pdf"
    source.write_bytes(pdf)
    subprocess.run(
        [tool, "-png", "-r", "80", "-singlefile", str(source), str(out / "quote_pdf")],
        check=True,
    )
    source.unlink()
    print(out / "quote_pdf.png")


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
