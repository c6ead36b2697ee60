"""Server settings: where the database is and the limits it enforces."""

from __future__ import annotations

import dataclasses
import os
from pathlib import Path

from sync import protocol

DB_ENV = "SHOWROOM_SERVER_DB"
MIN_SCHEMA_ENV = "SHOWROOM_SERVER_MIN_SCHEMA"
THREADS_ENV = "SHOWROOM_SERVER_THREADS"
SNAPSHOTS_ENV = "SHOWROOM_SERVER_SNAPSHOTS"
# Requests one server process works on at once. More threads than this only queue on the GIL
# and on database connections, and lengthen the slowest answers.
DEFAULT_THREADS = 8


def default_db_url() -> str:
    """``SHOWROOM_SERVER_DB`` if set, else an SQLite file ``server.db`` in the data directory."""
    url = os.environ.get(DB_ENV)
    if url:
        return url
    from showroom.paths import data_dir

    return f"sqlite:///{data_dir() / 'server.db'}"


def snapshot_dir_from(chosen: str) -> Path | None:
    """A snapshot folder as given on the command line or in the environment; ``off``: none."""
    return None if chosen.strip().lower() == "off" else Path(chosen).expanduser()


def default_snapshot_dir(db_url: str) -> Path | None:
    """``SHOWROOM_SERVER_SNAPSHOTS`` if set (``off``: none); else ``snapshots`` beside an
    SQLite server's file, or in the data directory for PostgreSQL."""
    chosen = os.environ.get(SNAPSHOTS_ENV)
    if chosen:
        return snapshot_dir_from(chosen)
    if db_url.startswith("sqlite:///") and len(db_url) > len("sqlite:///"):
        return Path(db_url[len("sqlite:///") :]).expanduser().parent / "snapshots"
    from showroom.paths import data_dir

    return data_dir() / "snapshots"


def normalize_db_url(value: str) -> str:
    """Accept a SQLAlchemy URL or a plain file path (taken as an SQLite file)."""
    if "://" in value:
        if value.startswith(("postgresql://", "postgres://")):
            # psycopg 3 is the driver this server ships with.
            return "postgresql+psycopg://" + value.split("://", 1)[1]
        return value
    return f"sqlite:///{Path(value).expanduser()}"


@dataclasses.dataclass(frozen=True)
class Settings:
    db_url: str
    # Clients below this schema version get 426 and keep their outbox.
    min_schema: int = protocol.SCHEMA_VERSION
    max_body_bytes: int = protocol.MAX_BODY_BYTES
    max_batch_ops: int = protocol.MAX_BATCH_OPS
    max_bulk_rows: int = protocol.MAX_BULK_ROWS
    # Enrolment rate limit: this many failed attempts per address within the window -> 429.
    enroll_max_failures: int = 10
    enroll_window_seconds: int = 15 * 60
    # Worker threads per process for database work (see DEFAULT_THREADS).
    threads: int = DEFAULT_THREADS
    # Where dealers' snapshots for fresh laptops are kept (sync.server.snapshot); None: none
    # are made or served.
    snapshot_dir: Path | None = None
    # A dealer gets a snapshot from this many rows on; the keeper looks this often (seconds).
    snapshot_min_rows: int = 20_000
    snapshot_check_seconds: float = 10.0

    @classmethod
    def from_env(cls, db_url: str | None = None) -> Settings:
        min_schema = os.environ.get(MIN_SCHEMA_ENV)
        threads = os.environ.get(THREADS_ENV)
        url = normalize_db_url(db_url or default_db_url())
        return cls(
            db_url=url,
            min_schema=int(min_schema) if min_schema else protocol.SCHEMA_VERSION,
            threads=int(threads) if threads else DEFAULT_THREADS,
            snapshot_dir=default_snapshot_dir(url),
        )
