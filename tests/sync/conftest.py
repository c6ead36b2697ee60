"""Fixtures of the sync fault suite: the server's database on SQLite and on PostgreSQL, the
server process, the fault proxy, and laptops enrolled through it.

Every case runs on both backends. PostgreSQL cases need the server named by
``SHOWROOM_TEST_PG_URL`` (default: the local ``test`` database); each test gets a fresh database
of its own, dropped afterwards. With ``CI=true`` an unreachable PostgreSQL fails the run.
"""

from __future__ import annotations

import os
import uuid
from collections.abc import Callable, Iterator

import pytest
from fault_proxy import FaultProxy
from harness import PULL, Backend, Laptop, Ledger, ServerProcess, load_customers

DEFAULT_PG_URL = "postgresql://postgres@127.0.0.1:5432/test"
DEALER = "示范店"


def _pg_admin_url() -> str:
    url = os.environ.get("SHOWROOM_TEST_PG_URL", DEFAULT_PG_URL)
    return url.replace("postgresql+psycopg://", "postgresql://")


def _pg_unreachable_reason(url: str) -> str | None:
    try:
        import psycopg

        with psycopg.connect(url, connect_timeout=3) as conn:
            conn.execute("SELECT 1")
    except Exception as error:
        return f"PostgreSQL at {url} is unreachable: {error}"
    return None


@pytest.fixture(params=["sqlite", "postgres"])
def backend(request, tmp_path) -> Iterator[Backend]:
    """The server's database: an SQLite file, or a fresh PostgreSQL database of its own."""
    if request.param == "sqlite":
        yield Backend("sqlite", f"sqlite:///{tmp_path / 'server.db'}", tmp_path)
        return
    admin = _pg_admin_url()
    reason = _pg_unreachable_reason(admin)
    if reason is not None:
        if os.environ.get("CI") == "true":
            pytest.fail(reason + " (CI=true: the PostgreSQL cases must run)")
        pytest.skip(reason)
    import psycopg

    name = f"showroom_f_{uuid.uuid4().hex[:12]}"
    with psycopg.connect(admin, autocommit=True) as conn:
        conn.execute(f'CREATE DATABASE "{name}"')
    base = admin.rsplit("/", 1)[0]
    url = f"{base.replace('postgresql://', 'postgresql+psycopg://')}/{name}"
    found = Backend("postgres", url, tmp_path, admin_url=admin, database=name)
    try:
        yield found
    finally:
        found.drop()


@pytest.fixture
def server(backend, tmp_path) -> Iterator[ServerProcess]:
    """The real server, migrated and running, with one dealer."""
    ServerProcess.live.clear()
    process = ServerProcess(backend.url, tmp_path)
    try:
        # Every command migrates the database first, so the dealer comes with the schema.
        process.dealer_id = process.create_dealer(DEALER)
        process.start()
        yield process
    finally:
        for started in ServerProcess.live:  # a case may start more processes of its own
            started.kill()
        ServerProcess.live.clear()


@pytest.fixture
def proxy(server) -> Iterator[FaultProxy]:
    found = FaultProxy(server.port)
    try:
        yield found
    finally:
        found.close()


@pytest.fixture
def ledger() -> Ledger:
    return Ledger()


@pytest.fixture
def make_laptop(tmp_path, server, proxy, ledger) -> Iterator[Callable[..., Laptop]]:
    """``make_laptop(name)``: a new laptop enrolled through the proxy (and synced once); with
    ``key``, encrypted under it as the app's database is."""
    made: list[Laptop] = []

    def make(name: str, *, sync: bool = True, key: bytes | None = None) -> Laptop:
        laptop = Laptop(name, tmp_path / f"{name}.db", proxy.url, ledger, key)
        made.append(laptop)
        laptop.enroll(server.enroll_code(server.dealer_id))
        if sync:
            laptop.sync()
        return laptop

    yield make
    for laptop in made:
        laptop.close()


@pytest.fixture
def shared_customer(make_laptop):
    """Laptops a and b, both holding the same customer from the server."""
    a = make_laptop("a")
    b = make_laptop("b")
    customer = a.create_customer("陈晓明", "13812345678", address="深圳市福田区")
    a.sync()
    b.sync()
    assert b.row("customer", customer)["address"] == "深圳市福田区"
    return a, b, customer


STORE_CUSTOMERS = 1500  # with a phone each: about 3,000 rows
PAGE = 500  # rows per pull page in the download cases


@pytest.fixture
def loaded_store(make_laptop, server, proxy):
    """A server holding a store of a few thousand rows, uploaded by the laptop ``seed``.

    Pull pages are capped at ``PAGE`` rows, as a server with a smaller page size would answer,
    so that a download takes several pages and can be cut between them.
    """
    proxy.cap(PULL, "limit", PAGE)
    seed = make_laptop("seed")
    ids = load_customers(seed, STORE_CUSTOMERS)
    seed.sync()
    assert not seed.pending()
    return seed, ids


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item, call):
    """On a failure, add the server's log to the report."""
    outcome = yield
    report = outcome.get_result()
    if report.failed and report.when in ("setup", "call"):
        for process in ServerProcess.live:
            text = process.log()
            if text:
                report.sections.append((f"server log {process.port}", text[-20000:]))
