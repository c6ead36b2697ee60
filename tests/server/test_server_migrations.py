"""The server's migrations build exactly the tables its code uses, on both backends."""

from __future__ import annotations

from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from sqlalchemy import inspect

from sync.server.db import VERSION_TABLE, alembic_config, current_revision, migrate
from sync.server.models import metadata


def test_migrated_schema_matches_the_models(engine):
    with engine.connect() as conn:
        context = MigrationContext.configure(
            conn, opts={"version_table": VERSION_TABLE, "compare_type": True}
        )
        assert compare_metadata(context, metadata) == []


def test_migrate_is_idempotent_and_keeps_its_own_version_table(engine):
    migrate(engine)
    migrate(engine)
    assert current_revision(engine) == "s0003"
    tables = set(inspect(engine).get_table_names())
    assert VERSION_TABLE in tables
    assert "alembic_version" not in tables  # the laptop schema's table name stays free


def test_downgrade_and_upgrade_again(engine):
    from alembic import command

    config = alembic_config(engine)
    command.downgrade(config, "base")
    assert "record" not in inspect(engine).get_table_names()
    command.upgrade(config, "head")
    assert "record" in inspect(engine).get_table_names()
