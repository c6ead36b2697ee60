"""Erasure and the audit trail travel through the real sync server (in process) to a second laptop.

Laptop A erases a customer; after A pushes and B pulls, B holds none of the customer's personal
data, the customer is not found by B's search, and B (like the server) has A's audit entries.
"""

from __future__ import annotations

import shutil
import sqlite3

import pytest
import requests
from requests.adapters import BaseAdapter
from requests.structures import CaseInsensitiveDict
from sqlalchemy import select, text

from showroom import masking
from showroom.db.base import Base
from showroom.db.engine import open_database
from showroom.ids import new_id
from showroom.models import AuditEntry, Customer, SyncConflict
from showroom.services import customers, dealer, privacy
from showroom.services.customers import CustomerDraft, VehicleDraft
from showroom.services.interactions import log_interaction
from showroom.validation import id_check_digit, vin_check_digit

SERVER_URL = "http://privacy-sync.test"


class _InProcess(BaseAdapter):
    """Hands requests to the ASGI app through Starlette's TestClient."""

    def __init__(self, app) -> None:
        super().__init__()
        from fastapi.testclient import TestClient

        self.client = TestClient(app, raise_server_exceptions=True)

    def send(self, request, stream=False, timeout=None, verify=True, cert=None, proxies=None):
        from urllib.parse import urlsplit

        parts = urlsplit(request.url)
        path = parts.path + (f"?{parts.query}" if parts.query else "")
        answer = self.client.request(
            request.method, path, headers=dict(request.headers), content=request.body
        )
        response = requests.Response()
        response.status_code = answer.status_code
        response.headers = CaseInsensitiveDict(
            {k: v for k, v in answer.headers.items() if k.lower() != "content-encoding"}
        )
        response._content = answer.content
        response.url = request.url
        response.request = request
        response.encoding = "utf-8"
        return response

    def close(self) -> None:
        self.client.close()


@pytest.fixture
def server(tmp_path):
    from sync.server import admin
    from sync.server.app import create_app
    from sync.server.config import Settings
    from sync.server.db import make_engine, migrate

    url = f"sqlite:///{tmp_path / 'server.db'}"
    engine = make_engine(url)
    migrate(engine)
    dealer_id = admin.create_dealer(engine, "华通大众4S店")
    adapter = _InProcess(create_app(Settings(db_url=url), engine))

    def http() -> requests.Session:
        session = requests.Session()
        session.mount(SERVER_URL, adapter)
        return session

    yield engine, dealer_id, http
    adapter.close()
    engine.dispose()


@pytest.fixture
def laptops(tmp_path, migrated_template, server):
    from sync import client
    from sync.server import admin

    engine, dealer_id, http = server
    made = []
    for name in ("a", "b"):
        path = tmp_path / f"{name}.db"
        shutil.copy(migrated_template, path)
        with sqlite3.connect(path) as conn:
            conn.execute("UPDATE local_state SET value = ? WHERE key = 'device_id'", (new_id(),))
        db = open_database(path)
        code = admin.create_enrollment_code(engine, dealer_id)["code"]
        client.enroll(db, SERVER_URL, code, device_name=name, http=http())
        made.append(db)
    yield made
    for db in made:
        db.dispose()


def sync(server, db):
    from sync import client

    summary = client.SyncClient(db, http=server[2](), sleep=lambda _s: None, verify=True).sync(
        None, None
    )
    assert summary.checksum_ok is not False
    return summary


def whole_database_text(engine) -> str:
    from sqlalchemy import MetaData

    meta = MetaData()
    meta.reflect(engine)
    out = []
    with engine.connect() as conn:
        for table in meta.sorted_tables:
            out.extend(repr(tuple(r)) for r in conn.execute(table.select()))
    return "\n".join(out)


def synced_text(engine) -> str:
    out = []
    with engine.connect() as conn:
        for table in Base.metadata.sorted_tables:
            if "server_version" in table.c and table.name != "sync_outbox":
                out.extend(repr(tuple(r)) for r in conn.execute(table.select()))
    return "\n".join(out)


def test_erasure_on_one_laptop_leaves_no_personal_data_on_the_other(server, laptops):
    a, b = laptops
    vin = "LSVAU2180N2183294"
    vin = vin[:8] + vin_check_digit(vin) + vin[9:]
    id_number = "44030519850612001"
    id_number += id_check_digit(id_number)
    with a.session_scope() as session:
        admin = dealer.system_actor(session)
        created = customers.create_customer(
            session, admin,
            CustomerDraft(name="黄嘉怡", phones=["13812348000"], email="huang@example.com",
                          id_number=id_number, address="深圳市南山区科技园",
                          notes="想要红色", vehicles=[VehicleDraft(vin=vin, plate="粤B7K2Q9")]),
        )  # fmt: skip
        log_interaction(session, admin, created.id, channel="phone", summary="黄女士询问贷款")
        masking.reveal_personal_data(session, admin, created.id, "phone")
    cid = created.id
    sync(server, a)
    sync(server, b)
    with b.session_scope(write=False) as session:
        assert session.get(Customer, cid).name == "黄嘉怡"

    with a.session_scope() as session:
        privacy.erase_customer(session, dealer.system_actor(session), cid)
    sync(server, a)
    sync(server, b)

    personal = ["黄嘉怡", "13812348000", "huang@example.com", id_number, "科技园", "想要红色",
                "询问贷款", vin, "粤B7K2Q9"]  # fmt: skip
    server_engine = server[0]
    for where, dump in (("laptop b", synced_text(b.engine)), ("laptop a", synced_text(a.engine))):
        for value in personal:
            assert value not in dump, f"{value} still on {where}"
    with b.session_scope(write=False) as session:
        row = session.get(Customer, cid)
        assert row.name == privacy.ERASED_NAME and row.erased_at is not None
        actor = dealer.system_actor(session)
        assert customers.search_customers(session, actor, "黄嘉怡") == []
        assert customers.search_customers(session, actor, "13812348000") == []
        actions = sorted(
            session.scalars(select(AuditEntry.action).where(AuditEntry.target_id == cid))
        )
        assert actions == ["erase", "reveal_phone"]
    with server_engine.connect() as conn:
        audit_rows = conn.execute(
            text("SELECT data FROM record WHERE table_name = 'audit_log'")
        ).scalars()
        assert sum(cid in data for data in audit_rows) == 2
        server_rows = "\n".join(
            str(r) for r in conn.execute(text("SELECT data FROM record")).scalars()
        )
    for value in personal:
        assert value not in server_rows, f"{value} still on the server"
    # Nor anywhere else on the server or the laptops (sent ops, stored answers, outboxes): the
    # sync blanks the erasure's own ops once the server has acknowledged them.
    for name, engine in (("server", server_engine), ("laptop a", a.engine), ("laptop b", b.engine)):
        everything = whole_database_text(engine)
        for value in personal:
            assert value not in everything, f"{value} still somewhere on {name}"
    # Each laptop holds the erasure as the server stored it: erasing again, as every sync round
    # does, finds nothing to change, so the laptops do not push it back and forth.
    for laptop in (b, a):
        with laptop.session_scope() as session:
            assert privacy.forget_after_sync(session) == 0


def test_an_erasure_that_meets_another_laptops_edit_leaves_no_personal_data_in_conflicts(
    server, laptops
):
    """Laptop b changes the customer's notes and replaces the phone; laptop a, not having pulled
    them, erases the customer. The erasure meets the notes on the server as a conflict, which
    keeps both sides' values for review, and does not know b's new phone row. Once the laptops
    pulled what the erasure met, b's values are forgotten everywhere too: the new phone, the old
    number in the replaced row's tombstone and both notes in the conflict."""
    a, b = laptops
    with a.session_scope() as session:
        cid = customers.create_customer(
            session,
            dealer.system_actor(session),
            CustomerDraft(name="黄嘉怡", phones=["13812348000"], notes="想要红色"),
        ).id
    sync(server, a)
    sync(server, b)
    with b.session_scope() as session:
        customers.update_customer(
            session,
            dealer.system_actor(session),
            cid,
            {"notes": "想要蓝色", "phones": ["13912348111"]},
        )
    sync(server, b)
    with a.session_scope() as session:
        privacy.erase_customer(session, dealer.system_actor(session), cid)
    sync(server, a)
    sync(server, b)
    sync(server, a)

    with a.session_scope(write=False) as session:
        assert session.get(Customer, cid).erased_at is not None
    personal = ["黄嘉怡", "13812348000", "13912348111", "想要红色", "想要蓝色"]
    for laptop in (a, b):
        with laptop.session_scope(write=False) as session:
            actor = dealer.system_actor(session)
            assert customers.search_customers(session, actor, "13912348111") == []
            assert customers.get_customer(session, actor, cid).phones == ()
    with a.session_scope(write=False) as session:
        (conflict,) = session.scalars(select(SyncConflict)).all()
        assert (conflict.kind, conflict.field, conflict.row_id) == ("field", "notes", cid)
        # Nothing is left to choose between: closed, on both laptops and the server.
        assert (conflict.status, conflict.resolution) == ("resolved", "erased")
    with b.session_scope(write=False) as session:
        assert session.get(SyncConflict, conflict.id).status == "resolved"
    with server[0].connect() as conn:
        stored = conn.execute(
            text("SELECT data FROM record WHERE table_name = 'sync_conflict'")
        ).scalar_one()
    assert '"erased"' in str(stored)
    for name, engine in (("server", server[0]), ("laptop a", a.engine), ("laptop b", b.engine)):
        everything = whole_database_text(engine)
        for value in personal:
            assert value not in everything, f"{value} still somewhere on {name}"
