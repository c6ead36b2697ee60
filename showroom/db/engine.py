"""Opening the local database: engine with SQLite pragmas, migration at start, session scopes."""

from __future__ import annotations

import contextlib
from collections.abc import Callable, Iterator
from pathlib import Path

from sqlalchemy import Engine, create_engine, event
from sqlalchemy.orm import Session, sessionmaker

from showroom.db import outbox
from showroom.ids import new_id

BUSY_TIMEOUT_MS = 5000


def make_engine(path: str | Path) -> Engine:
    """An engine on the SQLite file at ``path`` with WAL, foreign keys and a busy timeout."""
    engine = create_engine(f"sqlite:///{Path(path)}", future=True)

    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_connection, _record) -> None:
        # Let SQLAlchemy, not the sqlite3 module, decide where transactions begin (see "begin").
        dbapi_connection.isolation_level = None
        cursor = dbapi_connection.cursor()
        cursor.execute(f"PRAGMA busy_timeout = {BUSY_TIMEOUT_MS}")
        cursor.execute("PRAGMA journal_mode = WAL")
        cursor.execute("PRAGMA synchronous = NORMAL")
        cursor.execute("PRAGMA foreign_keys = ON")
        cursor.close()

    @event.listens_for(engine, "begin")
    def _on_begin(connection) -> None:
        # A writer takes the write lock up front: a deferred transaction that upgrades later
        # fails at once with "database is locked" when another process wrote meanwhile.
        mode = connection.get_execution_options().get("sqlite_begin", "DEFERRED")
        connection.exec_driver_sql(f"BEGIN {mode}")

    return engine


class Database:
    """One local database: its engine, its device id and the session scopes services run in."""

    def __init__(self, engine: Engine, device_id: str) -> None:
        self.engine = engine
        self.device_id = device_id
        self._write = sessionmaker(
            bind=engine.execution_options(sqlite_begin="IMMEDIATE"), expire_on_commit=False
        )
        self._read = sessionmaker(bind=engine, expire_on_commit=False)
        for factory in (self._write, self._read):
            outbox.install(factory)
        # Called at the start of every session scope; the desktop app installs a check here
        # that fails loudly when the GUI thread opens a session while its event loop runs.
        self.session_guard: Callable[[], None] | None = None

    @contextlib.contextmanager
    def session_scope(self, *, write: bool = True) -> Iterator[Session]:
        """One unit of work: commits when the block ends, rolls back on any error."""
        if self.session_guard is not None:
            self.session_guard()
        factory = self._write if write else self._read
        session = factory(info={"device_id": self.device_id})
        try:
            yield session
            session.commit()
        except BaseException:
            session.rollback()
            raise
        finally:
            session.close()

    def dispose(self) -> None:
        self.engine.dispose()


def open_database(path: str | Path, *, migrate: bool = True) -> Database:
    """Open (creating if needed) the database at ``path``, migrate it to head and return it."""
    from showroom.db.migrate import upgrade_to_head
    from showroom.models import LocalState

    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    engine = make_engine(path)
    if migrate:
        upgrade_to_head(engine)
    with Session(engine) as session, session.begin():
        state = session.get(LocalState, "device_id")
        if state is None:
            state = LocalState(key="device_id", value=new_id())
            session.add(state)
        device_id = state.value
    return Database(engine, device_id)
