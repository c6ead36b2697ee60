"""Where the app keeps its files on this machine (per-user data directory)."""

from __future__ import annotations

import os
from pathlib import Path

APP_NAME = "Showroom"


def data_dir() -> Path:
    """The per-user data directory; ``SHOWROOM_DATA_DIR`` overrides it (tests, portable use)."""
    override = os.environ.get("SHOWROOM_DATA_DIR")
    if override:
        return Path(override)
    from platformdirs import user_data_dir

    return Path(user_data_dir(APP_NAME, appauthor=False))


def default_db_path() -> Path:
    return data_dir() / "showroom.db"


def demo_db_path() -> Path:
    return data_dir() / "demo.db"


def log_dir() -> Path:
    return data_dir() / "logs"
