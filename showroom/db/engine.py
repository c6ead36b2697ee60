"""Opening the local database: engine with SQLite pragmas, migration at start, session scopes."""

from __future__ import annotations

import contextlib
from collections.abc import Callable, Iterator
from pathlib import Path

from sqlalchemy import Engine, create_engine, event
from sqlalchemy.orm import Session, sessionmaker

from showroom.db import outbox
from showroom.errors import DatabaseKeyError, KeyUnavailableError, WrongKeyError
from showroom.ids import new_id

# How long a write waits for another's transaction before failing. The longest are sync's bulk
# steps on a fresh laptop (copying in the dealer's snapshot, building the indexes after a first
# download): several seconds at 100,000 customers on a small laptop. A save waits them out, in
# its worker thread, rather than fail.
BUSY_TIMEOUT_MS = 30_000
# Page cache per connection during a bulk job on an encrypted file, in KiB (SQLCipher's own is
# about 8 MiB). SQLCipher decrypts a page and checks its HMAC each time it is read into the
# cache, so a first sync, which goes through tables in an order that is not theirs, would
# decrypt the same pages again and again. 64 MiB did as well as 256 MiB at 100,000 customers
# (docs/performance.md, "Eighth measurement").
BULK_CACHE_KIB = 65_536


def make_engine(path: str | Path, key: bytes | None = None) -> Engine:
    """An engine on the SQLite file at ``path`` with WAL, foreign keys and a busy timeout.

    With ``key`` (32 bytes) the file is an SQLCipher database: each connection comes from
    ``sqlcipher3``, is keyed first and checked; a key that does not open the file raises
    ``WrongKeyError`` when the first connection is made. Without ``key`` it is plain SQLite.
    """
    path = Path(path)
    if key is None:
        engine = create_engine(f"sqlite:///{path}", future=True)
    else:
        import sqlcipher3.dbapi2 as sqlcipher

        from showroom.db.crypto import sqlcipher_key_literal

        literal = sqlcipher_key_literal(key)

        def connect():
            conn = sqlcipher.connect(str(path), check_same_thread=False)
            try:
                # A wrong key is reported by the typed error below, not logged to stderr.
                conn.execute("PRAGMA cipher_log_level = NONE")
                conn.execute(f'PRAGMA key = "{literal}"')
                # Cheap check that the key is right: page 1 must decrypt.
                conn.execute("SELECT count(*) FROM sqlite_master").fetchone()
            except sqlcipher.DatabaseError:
                conn.close()
                raise WrongKeyError("key") from None
            return conn

        # ``module`` makes SQLAlchemy recognise sqlcipher3's exceptions as DBAPI errors.
        engine = create_engine(f"sqlite:///{path}", module=sqlcipher, creator=connect)

    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_connection, _record) -> None:
        # Let SQLAlchemy, not the sqlite3 module, decide where transactions begin (see "begin").
        dbapi_connection.isolation_level = None
        cursor = dbapi_connection.cursor()
        cursor.execute(f"PRAGMA busy_timeout = {BUSY_TIMEOUT_MS}")
        try:
            cursor.execute("PRAGMA journal_mode = WAL")
        except Exception as error:  # sqlite3.OperationalError, or sqlcipher3's
            if getattr(error, "sqlite_errorname", None) != "SQLITE_BUSY":
                raise
            # A first sync copying in the dealer's snapshot holds the file in rollback mode
            # (sync.local.snapshot) and puts it back in log mode when it ends. This connection
            # follows the file's mode on its own meanwhile: its reads and writes wait.
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
        # Whether the file is an SQLCipher database (set by ``open_database``).
        self.encrypted = False
        self._write = sessionmaker(
            bind=engine.execution_options(sqlite_begin="IMMEDIATE"), expire_on_commit=False
        )
        self._read = sessionmaker(bind=engine, expire_on_commit=False)
        for factory in (self._write, self._read):
            outbox.install(factory)
        self._bulk_cache = False
        event.listen(engine, "checkout", self._on_checkout)
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

    def _on_checkout(self, dbapi_connection, record, _proxy) -> None:
        if self._bulk_cache and not record.info.get("bulk_cache"):
            dbapi_connection.execute(f"PRAGMA cache_size = -{BULK_CACHE_KIB}")
            record.info["bulk_cache"] = True

    @contextlib.contextmanager
    def bulk_cache(self) -> Iterator[None]:
        """A larger page cache (:data:`BULK_CACHE_KIB`) for every connection used in the block,
        on an encrypted file only: a plain file's pages come from the OS cache at the cost of a
        copy. When the block ends, the pool is replaced: its idle connections are closed, and
        their caches with them; one still checked out goes with the old pool once returned.
        """
        if not self.encrypted or self._bulk_cache:
            yield
            return
        self._bulk_cache = True
        try:
            yield
        finally:
            self._bulk_cache = False
            self.engine.dispose()

    def dispose(self) -> None:
        self.engine.dispose()


def open_database(path: str | Path, key: bytes | None = None, *, migrate: bool = True) -> Database:
    """Open (creating if needed) the database at ``path``, migrate it to head and return it.

    ``key`` opens (or creates) an encrypted database; None opens (or creates) a plain one.
    A switch to encryption cut off earlier is finished or undone first. Errors:
    ``KeyUnavailableError`` (encrypted file, no key), ``WrongKeyError``, and
    ``DatabaseKeyError`` (a key for a plain file: encrypt it with ``showroom-admin encrypt``).
    """
    from showroom.db.crypto import file_state, recover_interrupted_encryption
    from showroom.db.migrate import upgrade_to_head
    from showroom.models import LocalState

    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    recover_interrupted_encryption(path)
    state = file_state(path)
    if key is None and state == "encrypted":
        raise KeyUnavailableError(path)
    if key is not None and state == "plain":
        raise DatabaseKeyError(
            f"数据库尚未加密：{path}（先运行 showroom-admin encrypt）",
            f"the database {path} is not encrypted yet (run showroom-admin encrypt)",
            field="key",
        )
    engine = make_engine(path, key)
    try:
        if migrate:
            upgrade_to_head(engine)
        with Session(engine) as session, session.begin():
            state = session.get(LocalState, "device_id")
            if state is None:
                state = LocalState(key="device_id", value=new_id())
                session.add(state)
            device_id = state.value
    except BaseException:
        engine.dispose()
        raise
    database = Database(engine, device_id)
    database.encrypted = key is not None
    return database
