"""Alembic environment of the sync server: migrations run on the engine the caller hands over."""

from __future__ import annotations

from alembic import context

from sync.server.db import VERSION_TABLE
from sync.server.models import metadata

config = context.config
engine = config.attributes["engine"]

with engine.connect() as connection:
    context.configure(
        connection=connection,
        target_metadata=metadata,
        version_table=VERSION_TABLE,
        # SQLite cannot ALTER most things: batch mode copies the table instead.
        render_as_batch=True,
        compare_type=True,
    )
    with context.begin_transaction():
        context.run_migrations()
    connection.commit()
