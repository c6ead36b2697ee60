"""The server's engine (SQLite or PostgreSQL), its migrations and its transactions."""

from __future__ import annotations

import contextlib
import datetime as dt
from collections.abc import Iterator
from pathlib import Path

from sqlalchemy import Connection, Engine, create_engine
from sqlalchemy.engine import make_url

MIGRATIONS = Path(__file__).with_name("migrations")
# Kept apart from the laptop schema's version table, in case both ever share a database.
VERSION_TABLE = "server_alembic_version"


def utcnow() -> dt.datetime:
    return dt.datetime.now(dt.UTC)


def make_engine(url: str) -> Engine:
    """An engine for ``url``: SQLite files get WAL, a busy timeout and foreign keys."""
    parsed = make_url(url)
    if parsed.get_backend_name() == "sqlite":
        from showroom.db.engine import make_engine as make_sqlite_engine

        if not parsed.database or parsed.database == ":memory:":
            raise ValueError("db: the server needs an SQLite file, not an in-memory database")
        path = Path(parsed.database)
        path.parent.mkdir(parents=True, exist_ok=True)
        return make_sqlite_engine(path)
    # No server-side prepared statements: a generic plan made while a table was nearly empty
    # (a sequential scan) would stick and make every push slower as the table grows.
    return create_engine(
        url,
        pool_size=10,
        max_overflow=20,
        # No ping per checkout (it costs a round trip on every transaction): a connection
        # broken by a database restart fails once with 503 and the client retries.
        pool_recycle=3600,
        connect_args={"prepare_threshold": None},
    )


def is_sqlite(engine: Engine | Connection) -> bool:
    return engine.dialect.name == "sqlite"


@contextlib.contextmanager
def write_transaction(engine: Engine) -> Iterator[Connection]:
    """A transaction that will write: on SQLite it takes the write lock at BEGIN (IMMEDIATE),
    which also serializes writers; on PostgreSQL writers lock the rows they depend on."""
    with engine.execution_options(sqlite_begin="IMMEDIATE").begin() as conn:
        yield conn


@contextlib.contextmanager
def read_transaction(engine: Engine) -> Iterator[Connection]:
    with engine.begin() as conn:
        yield conn


@contextlib.contextmanager
def single_read(engine: Engine) -> Iterator[Connection]:
    """For a read that is one statement (it sees one snapshot by itself). On PostgreSQL the
    connection is in autocommit: one round trip instead of three (BEGIN, the query, COMMIT),
    which about halves the time of a request's token check. SQLite, in process, reads in an
    ordinary transaction."""
    if is_sqlite(engine):
        with engine.begin() as conn:
            yield conn
        return
    with engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
        yield conn


def alembic_config(engine: Engine):
    from alembic.config import Config

    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS))
    config.attributes["engine"] = engine
    return config


def migrate(engine: Engine) -> None:
    """Bring the server's tables to the newest revision."""
    from alembic import command

    command.upgrade(alembic_config(engine), "head")


def current_revision(engine: Engine) -> str | None:
    from alembic.runtime.migration import MigrationContext

    with engine.connect() as conn:
        context = MigrationContext.configure(conn, opts={"version_table": VERSION_TABLE})
        return context.get_current_revision()
