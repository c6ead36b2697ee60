"""Fixtures of the server tests: every test runs on SQLite and on PostgreSQL.

PostgreSQL is the server named by ``SHOWROOM_TEST_PG_URL`` (default: the local ``test``
database). Each test gets a database of its own, cloned from a migrated template, dropped
afterwards. When PostgreSQL is unreachable its cases are skipped, except under ``CI=true``,
where they fail.
"""

from __future__ import annotations

import os
import secrets
import shutil
from collections.abc import Iterator

import pytest
from server_kit import Laptop
from sqlalchemy import create_engine, text
from sqlalchemy.engine import make_url

from sync.server import admin
from sync.server.app import create_app
from sync.server.config import Settings, normalize_db_url
from sync.server.db import make_engine, migrate

PG_DEFAULT = "postgresql+psycopg://postgres@127.0.0.1:5432/test"


def pg_url() -> str:
    return normalize_db_url(os.environ.get("SHOWROOM_TEST_PG_URL", PG_DEFAULT))


@pytest.fixture(scope="session")
def pg_admin():
    """An autocommit engine on the maintenance database, for CREATE/DROP DATABASE."""
    url = pg_url()
    engine = create_engine(url, isolation_level="AUTOCOMMIT", pool_size=1)
    try:
        with engine.connect() as conn:
            conn.execute(text("SELECT 1"))
    except Exception as exc:  # any failure to reach it means the same: no PostgreSQL here
        engine.dispose()
        reason = f"PostgreSQL unreachable at {make_url(url).render_as_string()}: {exc}"
        if os.environ.get("CI") == "true":
            pytest.fail(reason)
        pytest.skip(reason)
    yield engine
    engine.dispose()


def _database_url(name: str) -> str:
    return make_url(pg_url()).set(database=name).render_as_string(hide_password=False)


def _drop(pg_admin, name: str) -> None:
    with pg_admin.connect() as conn:
        conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))


@pytest.fixture(scope="session")
def pg_template(pg_admin) -> Iterator[str]:
    name = f"showroom_tpl_{secrets.token_hex(6)}"
    with pg_admin.connect() as conn:
        conn.execute(text(f'CREATE DATABASE "{name}"'))
    engine = make_engine(_database_url(name))
    migrate(engine)
    engine.dispose()
    yield name
    _drop(pg_admin, name)


@pytest.fixture(scope="session")
def sqlite_template(tmp_path_factory) -> str:
    path = tmp_path_factory.mktemp("server-template") / "server.db"
    engine = make_engine(f"sqlite:///{path}")
    migrate(engine)
    with engine.connect() as conn:
        conn.exec_driver_sql("PRAGMA wal_checkpoint(TRUNCATE)")
    engine.dispose()
    return str(path)


@pytest.fixture(params=["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)])
def server_db_url(request, tmp_path) -> Iterator[str]:
    """A freshly migrated, empty server database of this test's own."""
    if request.param == "sqlite":
        path = tmp_path / "server.db"
        shutil.copy(request.getfixturevalue("sqlite_template"), path)
        yield f"sqlite:///{path}"
        return
    pg_admin = request.getfixturevalue("pg_admin")
    template = request.getfixturevalue("pg_template")
    name = f"showroom_t_{secrets.token_hex(6)}"
    with pg_admin.connect() as conn:
        conn.execute(text(f'CREATE DATABASE "{name}" TEMPLATE "{template}"'))
    yield _database_url(name)
    _drop(pg_admin, name)


@pytest.fixture
def engine(server_db_url):
    engine = make_engine(server_db_url)
    yield engine
    engine.dispose()


@pytest.fixture
def settings(server_db_url) -> Settings:
    return Settings(db_url=server_db_url)


@pytest.fixture
def client(settings, engine):
    from fastapi.testclient import TestClient

    with TestClient(create_app(settings, engine)) as test_client:
        yield test_client


@pytest.fixture
def dealer_id(engine) -> str:
    return admin.create_dealer(engine, "一号店")


@pytest.fixture
def enrol(client, engine, dealer_id):
    """Enrol a laptop of ``dealer`` (the default dealer unless given); returns a Laptop."""

    def make(name: str = "前台", dealer: str | None = None) -> Laptop:
        code = admin.create_enrollment_code(engine, dealer or dealer_id)["code"]
        return Laptop.enrol(client, code, name)

    return make


@pytest.fixture
def laptop(enrol) -> Laptop:
    return enrol("销售一")


@pytest.fixture
def laptop2(enrol) -> Laptop:
    return enrol("销售二")
