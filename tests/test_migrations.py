"""The schema is built by migrations, and the models agree with them."""

from __future__ import annotations

from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from sqlalchemy import inspect

import showroom.models  # noqa: F401
from showroom.db.base import Base
from showroom.db.engine import BUSY_TIMEOUT_MS, make_engine
from showroom.db.migrate import current_revision, downgrade, head_revision, upgrade_to_head


def test_upgrade_to_head_and_back_to_base(tmp_path):
    engine = make_engine(tmp_path / "m.db")
    upgrade_to_head(engine)
    assert current_revision(engine) == head_revision()
    tables = set(inspect(engine).get_table_names())
    assert {"customer", "customer_phone", "sync_outbox", "search_key", "follow_up"} <= tables

    downgrade(engine, "base")
    assert current_revision(engine) is None
    assert set(inspect(engine).get_table_names()) <= {"alembic_version"}

    upgrade_to_head(engine)  # and up again: downgrades leave nothing behind that blocks it
    assert current_revision(engine) == head_revision()
    engine.dispose()


def test_models_match_migrations(tmp_path):
    engine = make_engine(tmp_path / "m.db")
    upgrade_to_head(engine)
    with engine.connect() as conn:
        context = MigrationContext.configure(conn, opts={"compare_type": True})
        diff = compare_metadata(context, Base.metadata)
    engine.dispose()
    assert diff == []


def test_sqlite_runs_in_wal_with_foreign_keys(db):
    with db.engine.connect() as conn:
        assert conn.exec_driver_sql("PRAGMA journal_mode").scalar() == "wal"
        assert conn.exec_driver_sql("PRAGMA foreign_keys").scalar() == 1
        assert conn.exec_driver_sql("PRAGMA busy_timeout").scalar() == BUSY_TIMEOUT_MS


def test_head_revision_constant_matches_the_scripts():
    from showroom.db.migrate import HEAD_REVISION

    assert head_revision() == HEAD_REVISION, "bump HEAD_REVISION in showroom/db/migrate.py"


def test_start_up_check_still_migrates_an_older_database(tmp_path):
    engine = make_engine(tmp_path / "old.db")
    upgrade_to_head(engine)
    downgrade(engine, "0001")
    upgrade_to_head(engine)
    assert current_revision(engine) == head_revision()
    engine.dispose()
