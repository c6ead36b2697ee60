"""The real entry point starts, shows its window and quits cleanly."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

from showroom.cli import main as admin

# The database key named explicitly, as a kiosk would: no admin-secret dialog at start.
KEY = "5e" * 32


def showroom(*args, data_dir: Path) -> subprocess.CompletedProcess:
    """Start the app; ``--exit-when-shown`` quits once the sign-in dialog is on screen."""
    exe = shutil.which("showroom") or str(Path(sys.executable).with_name("showroom"))
    env = dict(
        os.environ,
        QT_QPA_PLATFORM="offscreen",
        SHOWROOM_DATA_DIR=str(data_dir),
        SHOWROOM_DB_KEY=KEY,
    )
    return subprocess.run(
        [exe, *args, "--exit-when-shown"], env=env, capture_output=True, text=True, timeout=120
    )


def test_opens_a_new_database_migrated(tmp_path, capsys, monkeypatch):
    monkeypatch.setenv("SHOWROOM_DB_KEY", KEY)
    path = tmp_path / "new.db"
    result = showroom("--db", str(path), data_dir=tmp_path)
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "shown"
    assert (tmp_path / "logs" / "showroom.log").exists()
    assert admin(["--db", str(path), "check"]) == 0
    assert '"up_to_date": true' in capsys.readouterr().out


def test_demo_mode_uses_the_demo_database_in_the_data_directory(tmp_path, capsys):
    result = showroom("--demo", "--demo-customers", "30", data_dir=tmp_path)
    assert result.returncode == 0, result.stderr
    demo = tmp_path / "demo.db"
    assert demo.exists()
    # Quitting while the demo data was being written leaves a consistent database.
    assert admin(["--db", str(demo), "check"]) == 0


def test_an_unreadable_database_is_reported_not_crashed_on(tmp_path, monkeypatch):
    from PySide6.QtCore import QCoreApplication

    import ui.app

    shown = []
    monkeypatch.setattr(ui.app, "show_error", lambda *args: shown.append(args[1]))
    monkeypatch.setenv("SHOWROOM_DATA_DIR", str(tmp_path))
    broken = tmp_path / "broken.db"
    broken.write_bytes(b"this is not a database file at all" * 200)
    try:
        assert ui.app.main(["--db", str(broken), "--exit-when-shown"]) == 1
    finally:  # main() names the application; the other tests keep their own settings
        QCoreApplication.setOrganizationName("ShowroomTests")
        QCoreApplication.setApplicationName("ShowroomTests")
    assert shown and "not a database" in str(shown[0])
