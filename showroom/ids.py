"""Row identifiers: time-ordered UUID v7 made on the laptop, as canonical text."""

from __future__ import annotations

import uuid6


def new_id() -> str:
    return str(uuid6.uuid7())
