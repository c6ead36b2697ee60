"""Alembic environment: migrations always run on the engine the caller hands over."""

from __future__ import annotations

from alembic import context

import showroom.models  # noqa: F401 - registers every table on the metadata
from showroom.db.base import Base

config = context.config
engine = config.attributes["engine"]

with engine.connect() as connection:
    context.configure(
        connection=connection,
        target_metadata=Base.metadata,
        # SQLite cannot ALTER most things: batch mode copies the table instead.
        render_as_batch=True,
        compare_type=True,
    )
    with context.begin_transaction():
        context.run_migrations()
    connection.commit()
