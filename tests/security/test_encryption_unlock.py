"""The app's unlock path, offscreen: a new or plain database is encrypted with an admin secret,
an encrypted one opens from the keyring or with the secret, and a lost key is said plainly."""

from __future__ import annotations

import os
from pathlib import Path

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")

import keyring
import pytest
from keyring_fakes import MemoryKeyring, headless_keyring
from PySide6.QtCore import QTimer
from PySide6.QtWidgets import QApplication
from sqlalchemy import text

from showroom.db import crypto
from showroom.db.engine import open_database
from showroom.demo import generate_demo_data
from showroom.errors import KeyUnavailableError, WrongKeyError
from ui.i18n import install_fonts, set_language
from ui.unlock import AdminSecretDialog, open_database_for_app

SECRET = "store-admin-2026"


@pytest.fixture(autouse=True)
def zh_app(qapp):
    install_fonts(qapp)
    set_language("zh_CN")
    with headless_keyring():
        yield qapp


@pytest.fixture(autouse=True)
def no_key_in_environment(monkeypatch):
    monkeypatch.delenv(crypto.ENV_KEY, raising=False)
    monkeypatch.delenv(crypto.ENV_KEY_FILE, raising=False)


@pytest.fixture
def memory_keyring(zh_app):
    backend = MemoryKeyring()
    keyring.set_keyring(backend)
    return backend


class Answers:
    """Answers the modal dialogs the code under test opens, one handler per dialog, in order."""

    def __init__(self, *handlers) -> None:
        self.handlers = list(handlers)
        self.seen: list[str] = []
        QTimer.singleShot(10, self._poll)

    def _poll(self) -> None:
        dialog = QApplication.activeModalWidget()
        if dialog is not None and self.handlers and dialog.isVisible():
            self.seen.append(type(dialog).__name__)
            self.handlers.pop(0)(dialog)
        if self.handlers:
            QTimer.singleShot(10, self._poll)


def type_secret(*values, save=True):
    def handle(dialog: AdminSecretDialog) -> None:
        dialog.secret.setText(values[0])
        if len(values) > 1:
            dialog.repeat.setText(values[1])
        if save:
            dialog.buttons.accepted.emit()

    return handle


def expect_error(fragment):
    def handle(dialog: AdminSecretDialog) -> None:
        assert dialog.error.isVisible() and fragment in dialog.error.text(), dialog.error.text()

    return handle


def count_customers(db) -> int:
    with db.session_scope(write=False) as session:
        return session.scalar(text("SELECT count(*) FROM customer"))


def test_a_new_database_is_encrypted_and_its_key_wrapped_by_the_admin_secret(tmp_path, qtbot):
    path = tmp_path / "data" / "showroom.db"
    shots = []
    answers = Answers(
        type_secret("short", "short"),
        expect_error("至少10个字符"),
        lambda d: shots.append(d.grab()),
        type_secret(SECRET, SECRET + "x"),
        expect_error("两次输入不一致"),
        type_secret(SECRET, SECRET),
    )
    db = open_database_for_app(path)
    assert db is not None and db.encrypted
    db.dispose()
    assert answers.handlers == [] and set(answers.seen) == {"AdminSecretDialog"}
    assert crypto.file_state(path) == "encrypted"
    assert crypto.load_wrapped_key(path, SECRET)  # the recovery path works
    shots[0].save(str(tmp_path / "set-secret.png"))
    assert shots[0].width() >= 460


def test_without_a_keyring_giving_up_on_the_secret_leaves_the_database_untouched(tmp_path):
    path = tmp_path / "showroom.db"
    open_database(path).dispose()
    answers = Answers(lambda dialog: dialog.reject())
    assert open_database_for_app(path) is None
    assert answers.handlers == [] and crypto.file_state(path) == "plain"


def test_a_plain_database_is_switched_in_place_and_then_unlocks_with_the_secret(tmp_path):
    path = tmp_path / "showroom.db"
    db = open_database(path)
    generate_demo_data(db, 20, seed=5)
    db.dispose()
    answers = Answers(type_secret(SECRET, SECRET))
    db = open_database_for_app(path)
    assert answers.handlers == []
    assert db is not None and count_customers(db) == 20
    db.dispose()
    assert crypto.file_state(path) == "encrypted"

    answers = Answers(
        type_secret("not-the-secret"),
        expect_error("无法解锁"),
        type_secret(SECRET),
    )
    db = open_database_for_app(path)
    assert db is not None and count_customers(db) == 20
    db.dispose()
    assert answers.handlers == []


def test_with_a_keyring_the_database_opens_without_asking(tmp_path, memory_keyring):
    path = tmp_path / "showroom.db"
    answers = Answers(lambda dialog: dialog.reject())  # "Skip": the keyring keeps the key
    db = open_database_for_app(path)
    assert answers.handlers == [] and db is not None and db.encrypted
    db.dispose()
    assert crypto.load_key_from_keyring(path) is not None
    assert not crypto.wrapped_key_path(path).exists()
    unexpected = Answers(lambda dialog: dialog.reject())  # a dialog now would be a failure
    db = open_database_for_app(path)
    assert unexpected.seen == [] and db is not None
    db.dispose()
    unexpected.handlers.clear()


def test_a_lost_key_is_said_plainly_with_the_way_back(tmp_path, monkeypatch):
    path = tmp_path / "showroom.db"
    open_database(path, crypto.new_key()).dispose()
    with pytest.raises(KeyUnavailableError) as lost:
        open_database_for_app(path)
    assert "服务器" in lost.value.message("zh_CN") and "重新登记" in lost.value.message("zh_CN")
    # A key from the environment that does not open it, and no admin secret to fall back on.
    monkeypatch.setenv(crypto.ENV_KEY, crypto.new_key().hex())
    with pytest.raises(WrongKeyError):
        open_database_for_app(path)
    assert crypto.file_state(path) == "encrypted"


def test_the_demo_database_stays_plain_and_asks_nothing(tmp_path):
    path = Path(tmp_path) / "demo.db"
    db = open_database_for_app(path, demo=True)
    assert db is not None and not db.encrypted
    db.dispose()
    assert crypto.file_state(path) == "plain"


def test_switching_a_plain_database_keeps_the_gui_thread_free_and_loses_no_rows(
    tmp_path, monkeypatch
):
    import itertools
    import threading
    import time

    from ui.unlock import EncryptionProgress

    path = tmp_path / "showroom.db"
    db = open_database(path)
    generate_demo_data(db, 30, seed=3)
    db.dispose()
    before = crypto.plain_sqlite_fingerprint(path)
    key = crypto.new_key()
    monkeypatch.setenv(crypto.ENV_KEY, key.hex())  # the key is given: no dialog asks for it

    # Each table read is slowed a little, so the switch lasts long enough to watch.
    real_fingerprint, readers = crypto.fingerprint, set()

    def slow_fingerprint(conn, on_table=None):
        readers.add(threading.get_ident())

        def table_read(name):
            time.sleep(0.02)
            if on_table is not None:
                on_table(name)

        return real_fingerprint(conn, table_read)

    monkeypatch.setattr(crypto, "fingerprint", slow_fingerprint)
    ticks: list[float] = []
    heartbeat = QTimer()
    heartbeat.setInterval(10)
    heartbeat.timeout.connect(lambda: ticks.append(time.monotonic()))
    seen: list[tuple[int, int, str]] = []
    shots = []

    def watch() -> None:
        dialog = QApplication.activeModalWidget()
        if isinstance(dialog, EncryptionProgress):
            seen.append((dialog.value(), dialog.maximum(), dialog.labelText()))
            if len(seen) == 10:
                shots.append(dialog.grab())

    watcher = QTimer()
    watcher.setInterval(25)
    watcher.timeout.connect(watch)
    heartbeat.start()
    watcher.start()
    started = time.monotonic()
    db = open_database_for_app(path)
    finished = time.monotonic()
    heartbeat.stop()
    watcher.stop()

    assert threading.get_ident() not in readers  # the tables were read on a worker
    assert finished - started > 0.8  # 2 reads of every table at 20 ms each, at least
    # The GUI thread's event loop kept turning throughout: a timer every 10 ms kept firing.
    during = [t for t in ticks if started <= t <= finished]
    assert len(during) >= 20
    beats = [started, *during, finished]
    assert max(b - a for a, b in itertools.pairwise(beats)) < 0.5
    tables = len(before)
    assert seen and {total for _, total, _ in seen} >= {2 * tables + 2}
    values = [done for done, _, _ in seen]
    assert values == sorted(values) and values[-1] > values[0]  # it moved forward
    assert "正在" in seen[-1][2] or "核对" in seen[-1][2]  # says what it is doing, in Chinese
    shots[0].save(str(tmp_path / "encrypting.png"))

    assert db is not None and db.encrypted and crypto.file_state(path) == "encrypted"
    try:
        with db.engine.connect() as conn:
            after = real_fingerprint(conn.connection.dbapi_connection)
        assert count_customers(db) == 30
    finally:
        db.dispose()
    assert after == before  # every row of every table, unchanged
