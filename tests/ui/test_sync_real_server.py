"""The app against the real sync client and a real server (in this process, over HTTP).

Two laptops change one customer's address while apart; the server keeps the later value and
records the earlier one as a conflict; a manager on laptop A restores the earlier value from the
conflict page; after both sync again, both laptops hold it and see the conflict resolved.
"""

from __future__ import annotations

import dataclasses
import socket
import threading
import time
from types import SimpleNamespace

import pytest
from qt_keys import type_text

from showroom.db.engine import open_database
from showroom.models import Customer, SyncConflict
from showroom.services import customers
from showroom.services.customers import CustomerDraft
from ui.main_window import MainWindow
from ui.sync.controller import SyncController

uvicorn = pytest.importorskip("uvicorn")


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture
def server(tmp_path):
    from sync.server import admin
    from sync.server.app import create_app
    from sync.server.config import Settings
    from sync.server.db import make_engine, migrate

    settings = Settings.from_env(f"sqlite:///{tmp_path / 'server.db'}")
    engine = make_engine(settings.db_url)
    migrate(engine)
    dealer_id = admin.create_dealer(engine, "华通大众4S店")
    port = free_port()
    config = uvicorn.Config(
        create_app(settings, engine), host="127.0.0.1", port=port, log_level="warning"
    )
    http = uvicorn.Server(config)
    thread = threading.Thread(target=http.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 20
    while not http.started:
        assert thread.is_alive() and time.monotonic() < deadline, "server did not start"
        time.sleep(0.02)
    yield SimpleNamespace(
        url=f"http://127.0.0.1:{port}",
        code=lambda: admin.create_enrollment_code(engine, dealer_id)["code"],
    )
    http.should_exit = True
    thread.join(10)
    engine.dispose()


@pytest.fixture
def laptop_b(tmp_path):
    # Migrated from scratch: a copy of the test template would share laptop A's device id.
    database = open_database(tmp_path / "laptop_b.db")
    yield database
    database.dispose()


def address_of(db, customer_id: str) -> str:
    with db.session_scope(write=False) as session:
        return session.get(Customer, customer_id).address


def sync_in_window(window, qtbot):
    assert window.sync.sync_now()
    qtbot.waitUntil(lambda: not window.sync.running, timeout=30_000)
    assert window.sync.last_error is None, window.sync.last_error
    return window.sync.last_summary


def test_enrol_sync_and_resolve_a_real_conflict(ctx, db, manager, qtbot, server, laptop_b):
    from sync.client import SyncClient, enroll

    with db.session_scope() as session:
        cid = customers.create_customer(
            session,
            manager,
            CustomerDraft(name="陈晓明", phones=["13812345678"], address="深圳市福田区"),
        ).id
    ctx = dataclasses.replace(ctx, actor=manager)
    window = MainWindow(ctx, sync=SyncController(ctx.runner))
    qtbot.addWidget(window)
    window.show()
    qtbot.waitUntil(lambda: window.status_sync.text() == "同步：未设置", timeout=3000)

    # Laptop A connects through the dialog; the first sync uploads what it has.
    dialog = window.connect_to_server()
    type_text(qtbot, dialog.server_url, server.url)
    type_text(qtbot, dialog.code, server.code())
    dialog.connect_button.click()
    qtbot.waitUntil(lambda: "首次同步完成" in dialog.outcome.text(), timeout=30_000)
    assert "已连接到 华通大众4S店" in dialog.outcome.text()
    qtbot.waitUntil(lambda: window.status_sync.text().startswith("同步：在线"), timeout=5000)
    assert window.sync_widget.pending.text() == "待上传：0"
    dialog.close()

    # Laptop B joins and gets the customer.
    enroll(laptop_b, server.url, server.code(), "前台电脑")
    SyncClient(laptop_b).sync()
    assert address_of(laptop_b, cid) == "深圳市福田区"

    # Apart, both change the address; B's change reaches the server first.
    with laptop_b.session_scope() as session:
        customers.update_customer(session, manager, cid, {"address": "深圳市南山区"})
    with db.session_scope() as session:
        customers.update_customer(session, manager, cid, {"address": "深圳市宝安区"})
    SyncClient(laptop_b).sync()
    summary = sync_in_window(window, qtbot)
    assert summary.conflicts == 1
    assert address_of(db, cid) == "深圳市宝安区"  # the later arrival is in place
    qtbot.waitUntil(lambda: window.sync_widget.conflicts.text() == "冲突：1", timeout=5000)

    # The manager follows the status bar to the conflict page and restores B's value.
    window.sync_widget.conflicts.click()
    page = window.pages["conflicts"]
    qtbot.waitUntil(lambda: "revert" in page.choice_buttons, timeout=5000)
    labels = " ".join(w.text() for w in page.detail.findChildren(type(page.detail_title)))
    assert "深圳市南山区" in labels and "深圳市宝安区" in labels
    with qtbot.waitSignal(page.resolved, timeout=5000):
        page.choice_buttons["revert"].click()
    assert address_of(db, cid) == "深圳市南山区"

    sync_in_window(window, qtbot)
    SyncClient(laptop_b).sync()
    assert address_of(laptop_b, cid) == "深圳市南山区"
    with laptop_b.session_scope(write=False) as session:
        (conflict,) = session.query(SyncConflict).all()
        assert (conflict.status, conflict.resolution) == ("resolved", "reverted")
    qtbot.waitUntil(lambda: not window.sync_widget.conflicts.isVisibleTo(window), timeout=5000)
