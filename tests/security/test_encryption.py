"""Encryption at rest: a copied database file reveals nothing, keys stay out of the data
directory, the switch from a plain database loses no rows even when cut off, and the command
line works headless on an encrypted database."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import keyring
import pytest
from keyring_fakes import MemoryKeyring, headless_keyring
from sqlalchemy import select, text

from showroom.cli import EXIT_KEY, main
from showroom.db import crypto
from showroom.db.engine import open_database
from showroom.demo import generate_demo_data
from showroom.errors import DatabaseKeyError, KeyUnavailableError, ValidationError, WrongKeyError
from showroom.models import Customer, CustomerPhone

ROOT = Path(__file__).resolve().parents[2]
FAST_KDF = crypto.KdfParams(time_cost=1, memory_cost_kib=8 * 1024, parallelism=1)
SECRET = "correct horse battery"


@pytest.fixture(autouse=True)
def no_keyring():
    with headless_keyring():
        yield


@pytest.fixture
def memory_keyring(no_keyring):
    backend = MemoryKeyring()
    keyring.set_keyring(backend)
    return backend


@pytest.fixture
def data_dir(tmp_path) -> Path:
    folder = tmp_path / "data"
    folder.mkdir()
    return folder


def personal_values(db) -> list[str]:
    """Several customers' names, phones (as stored and as dialled) and ID numbers."""
    with db.session_scope(write=False) as session:
        names = session.scalars(select(Customer.name).where(Customer.kind == "person")).all()
        ids = session.scalars(select(Customer.id_number).where(Customer.id_number.is_not(None)))
        phones = session.scalars(select(CustomerPhone.number)).all()
        values = [n for n in names if len(n) >= 2][:15] + list(ids.all())[:10]
        for number in phones[:15]:
            values += [number, number.removeprefix("+86")]
    assert len(values) >= 30
    return values


def found_in_files(folder: Path, values: list[str]) -> set[str]:
    blobs = [p.read_bytes() for p in folder.rglob("*") if p.is_file()]
    return {v for v in values if any(v.encode("utf-8") in blob for blob in blobs)}


def demo_database(path: Path, key: bytes | None, customers: int = 40):
    db = open_database(path, key)
    generate_demo_data(db, customers, seed=3)
    return db


def test_demo_data_in_an_encrypted_database_reveals_no_personal_data(data_dir):
    db = demo_database(data_dir / "showroom.db", crypto.new_key())
    try:
        values = personal_values(db)
        # Read while the database is open: the WAL still holds recent pages then.
        assert (data_dir / "showroom.db-wal").exists()
        assert found_in_files(data_dir, values) == set()
    finally:
        db.dispose()
    assert found_in_files(data_dir, values) == set()
    assert crypto.file_state(data_dir / "showroom.db") == "encrypted"


def test_the_same_search_finds_personal_data_in_a_plain_database(tmp_path):
    # The control: the byte search above would see the values if they were there.
    db = demo_database(tmp_path / "plain.db", None)
    try:
        values = personal_values(db)
    finally:
        db.dispose()
    assert len(found_in_files(tmp_path, values)) >= len(values) // 2


def test_the_key_is_in_no_file_of_the_data_directory(data_dir, memory_keyring, capsys):
    path = data_dir / "showroom.db"
    db = demo_database(path, None, customers=10)
    db.dispose()
    os.environ["TEST_ADMIN_SECRET"] = SECRET
    try:
        code = main(["--db", str(path), "--admin-secret-env", "TEST_ADMIN_SECRET", "encrypt"])
    finally:
        del os.environ["TEST_ADMIN_SECRET"]
    out = json.loads(capsys.readouterr().out.splitlines()[-1])
    assert code == 0 and "OS keyring" in out["key_kept"]
    key = crypto.load_key_from_keyring(path)
    assert key is not None and crypto.load_wrapped_key(path, SECRET) == key
    db = open_database(path, key)  # leaves a WAL and shared memory file while open
    try:
        files = [p for p in data_dir.rglob("*") if p.is_file()]
        assert {p.name for p in files} >= {"showroom.db", "showroom.db.key.json"}
        for candidate in (key, key.hex().encode(), key.hex().upper().encode()):
            assert not [p for p in files if candidate in p.read_bytes()]
    finally:
        db.dispose()


def test_switching_a_plain_database_to_encrypted_loses_no_rows(data_dir):
    path = data_dir / "showroom.db"
    db = demo_database(path, None)
    values = personal_values(db)
    db.dispose()
    before = crypto.plain_sqlite_fingerprint(path)
    assert before["customer"][0] == 40 and sum(n for n, _ in before.values()) > 500
    key = crypto.new_key()

    report = crypto.encrypt_in_place(path, key)

    assert report.rows == sum(n for n, _ in before.values())
    assert sorted(p.name for p in data_dir.iterdir()) == ["showroom.db"]
    assert crypto.file_state(path) == "encrypted"
    assert found_in_files(data_dir, values) == set()
    db = open_database(path, key)
    try:
        with db.engine.connect() as conn:
            after = crypto.fingerprint(conn.connection.dbapi_connection)
        with db.session_scope(write=False) as session:
            assert session.scalar(text("SELECT count(*) FROM customer")) == 40
    finally:
        db.dispose()
    assert after == before


def test_the_switch_reports_its_progress_and_a_stop_from_it_leaves_the_plain_file(data_dir):
    path = data_dir / "showroom.db"
    demo_database(path, None, customers=15).dispose()
    before = crypto.plain_sqlite_fingerprint(path)
    tables = len(before)

    class Stop(Exception):
        pass

    def stop_while_checking(done, total, step):
        if step == "verify":
            raise Stop

    with pytest.raises(Stop):
        crypto.encrypt_in_place(path, crypto.new_key(), on_progress=stop_while_checking)
    assert crypto.file_state(path) == "plain"
    assert crypto.plain_sqlite_fingerprint(path) == before
    assert sorted(p.name for p in data_dir.iterdir()) == ["showroom.db"]  # no copy left

    reports: list[tuple[int, int, str]] = []
    crypto.encrypt_in_place(path, crypto.new_key(), on_progress=lambda *r: reports.append(r))
    done = [d for d, _, _ in reports]
    assert done == sorted(done) and reports[-1][:2] == (2 * tables + 2, 2 * tables + 2)
    assert {t for _, t, _ in reports[1:]} == {2 * tables + 2}  # the total is known at once
    steps = [s for _, _, s in reports]
    assert [s for i, s in enumerate(steps) if s not in steps[:i]] == list(crypto.ENCRYPTION_STEPS)
    assert steps.count("checkpoint") > tables and steps.count("verify") > tables  # per table


_INTERRUPT = """
import os, sys
from showroom.db import crypto
path, key, at = sys.argv[1], bytes.fromhex(sys.argv[2]), sys.argv[3]
def step(name):
    if name == at:
        os._exit(9)  # the power goes: no clean-up runs
crypto.encrypt_in_place(path, key, on_step=step)
"""


@pytest.mark.parametrize(
    "cut_before", ["checkpoint", "export", "verify", "fsync", "keep-plain", "swap", "wipe"]
)
def test_an_interrupted_switch_leaves_a_usable_database(data_dir, cut_before):
    path = data_dir / "showroom.db"
    db = demo_database(path, None, customers=25)
    values = personal_values(db)
    db.dispose()
    before = crypto.plain_sqlite_fingerprint(path)
    key = crypto.new_key()
    run = subprocess.run(
        [sys.executable, "-c", _INTERRUPT, str(path), key.hex(), cut_before],
        cwd=ROOT,
        capture_output=True,
        text=True,
    )
    assert run.returncode == 9, run.stderr

    swapped = cut_before == "wipe"
    assert crypto.file_state(path) == ("encrypted" if swapped else "plain")
    db = open_database(path, key if swapped else None)
    try:
        with db.engine.connect() as conn:
            assert crypto.fingerprint(conn.connection.dbapi_connection) == before
        with db.session_scope(write=False) as session:
            assert session.scalar(text("SELECT count(*) FROM customer")) == 25
    finally:
        db.dispose()
    # Opening tidied up: no half-made copy, and no plain copy once the switch happened.
    assert not (data_dir / "showroom.db.encrypting").exists()
    assert not (data_dir / "showroom.db.plain-old").exists()
    if swapped:
        assert found_in_files(data_dir, values) == set()
    else:
        crypto.encrypt_in_place(path, key)  # and the switch can simply be run again
        assert crypto.file_state(path) == "encrypted"


def test_a_wrong_or_missing_key_gives_a_typed_error(data_dir):
    path = data_dir / "showroom.db"
    open_database(path, crypto.new_key()).dispose()
    with pytest.raises(WrongKeyError) as wrong:
        open_database(path, crypto.new_key())
    assert wrong.value.field == "key" and "密钥不正确" in wrong.value.describe("zh_CN")
    with pytest.raises(KeyUnavailableError):
        open_database(path)
    plain = data_dir / "plain.db"
    open_database(plain).dispose()
    with pytest.raises(DatabaseKeyError, match="not encrypted"):
        open_database(plain, crypto.new_key())


def test_the_admin_secret_unwraps_the_key_and_a_wrong_one_is_refused(data_dir):
    path = data_dir / "showroom.db"
    key = crypto.new_key()
    crypto.save_wrapped_key(path, key, SECRET, FAST_KDF)
    stored = json.loads(crypto.wrapped_key_path(path).read_text())
    assert stored["kdf"] == "argon2id" and key.hex() not in json.dumps(stored)
    assert crypto.find_key(path, admin_secret=SECRET, environ={}) == key
    with pytest.raises(WrongKeyError) as wrong:
        crypto.load_wrapped_key(path, SECRET + "!")
    assert wrong.value.field == "admin_secret"
    # Weakening the stored parameters breaks the unwrap instead of helping a guesser.
    stored["time_cost"] = 1 if FAST_KDF.time_cost != 1 else 2
    crypto.wrapped_key_path(path).write_text(json.dumps(stored))
    with pytest.raises(WrongKeyError):
        crypto.load_wrapped_key(path, SECRET)
    crypto.wrapped_key_path(path).write_text("{not json")
    with pytest.raises(ValidationError) as damaged:
        crypto.load_wrapped_key(path, SECRET)
    assert damaged.value.field == "key_file"
    with pytest.raises(ValidationError) as short:
        crypto.wrap_key(key, "short")
    assert short.value.field == "admin_secret"


def test_key_sources_in_order_and_bad_ones_named(data_dir, tmp_path, memory_keyring):
    path = data_dir / "showroom.db"
    in_keyring, in_file, in_env = crypto.new_key(), crypto.new_key(), crypto.new_key()
    assert crypto.store_key_in_keyring(path, in_keyring)
    key_file = tmp_path / "keys" / "showroom.key"
    key_file.parent.mkdir()
    crypto.write_key_file(key_file, in_file)
    assert crypto.find_key(path, environ={}) == in_keyring
    assert crypto.find_key(path, environ={"SHOWROOM_DB_KEY": in_env.hex()}) == in_env
    assert crypto.find_key(path, environ={"SHOWROOM_DB_KEY_FILE": str(key_file)}) == in_file
    assert crypto.find_key(path, key_file=key_file, environ={}) == in_file
    with pytest.raises(ValidationError) as bad_env:
        crypto.find_key(path, environ={"SHOWROOM_DB_KEY": "abc"})
    assert bad_env.value.field == "SHOWROOM_DB_KEY"
    beside = data_dir / "showroom.key"
    crypto.write_key_file(beside, in_file)
    with pytest.raises(ValidationError, match="outside") as inside:
        crypto.find_key(path, key_file=beside, environ={})
    assert inside.value.field == "key_file"
    if os.name == "posix":
        key_file.chmod(0o644)
        with pytest.raises(ValidationError, match="chmod 600") as shared:
            crypto.find_key(path, key_file=key_file, environ={})
        assert shared.value.field == "key_file"
    with pytest.raises(ValidationError) as missing:
        crypto.find_key(path, key_file=tmp_path / "nope.key", environ={})
    assert missing.value.field == "key_file"


def test_without_a_keyring_encrypt_insists_on_a_place_for_the_key(data_dir, capsys):
    path = data_dir / "showroom.db"
    open_database(path).dispose()
    assert not crypto.keyring_available()  # headless, as on CI
    assert main(["--db", str(path), "encrypt"]) == 2
    assert "admin-secret-env" in capsys.readouterr().err
    assert crypto.file_state(path) == "plain"


def _admin(*argv, env):
    return subprocess.run(
        [sys.executable, "-m", "showroom.cli", *argv],
        cwd=ROOT,
        env={**os.environ, **env},
        capture_output=True,
        text=True,
    )


def test_showroom_admin_works_headless_with_a_key_file_or_an_env_var(data_dir, tmp_path):
    path = data_dir / "showroom.db"
    key_file = tmp_path / "secure" / "showroom.key"
    headless = {"DISPLAY": "", "PYTHON_KEYRING_BACKEND": "keyring.backends.fail.Keyring"}

    made = _admin("--db", str(path), "demo-data", "--customers", "12", env=headless)
    assert made.returncode == 0, made.stderr
    encrypted = _admin(
        "--db", str(path), "encrypt", "--write-key-file", str(key_file), env=headless
    )
    assert encrypted.returncode == 0, encrypted.stderr
    assert json.loads(encrypted.stdout)["rows"] > 12
    key = crypto.read_key_file(key_file)

    by_file = _admin("--db", str(path), "--key-file", str(key_file), "check", env=headless)
    assert by_file.returncode == 0, by_file.stderr
    assert json.loads(by_file.stdout)["customers"] == 12
    with_env_file = {**headless, "SHOWROOM_DB_KEY_FILE": str(key_file)}
    by_env_file = _admin("--db", str(path), "check", env=with_env_file)
    assert by_env_file.returncode == 0, by_env_file.stderr
    db = open_database(path, key)
    with db.session_scope(write=False) as session:
        name = session.scalar(select(Customer.name).where(Customer.kind == "person"))
    db.dispose()
    with_env_key = {**headless, "SHOWROOM_DB_KEY": key.hex()}
    by_env = _admin("--db", str(path), "customers", "search", name, env=with_env_key)
    assert by_env.returncode == 0, by_env.stderr
    assert name in [json.loads(line)["name"] for line in by_env.stdout.splitlines()]

    no_key = _admin("--db", str(path), "check", env=headless)
    assert no_key.returncode == EXIT_KEY
    assert "SHOWROOM_DB_KEY" in no_key.stderr and "Traceback" not in no_key.stderr
    with_wrong_key = {**headless, "SHOWROOM_DB_KEY": crypto.new_key().hex()}
    wrong = _admin("--db", str(path), "check", env=with_wrong_key)
    assert wrong.returncode == EXIT_KEY and "Traceback" not in wrong.stderr


def test_the_admin_secret_can_be_set_and_replaced_headless(data_dir, tmp_path, monkeypatch, capsys):
    path = data_dir / "showroom.db"
    key_file = tmp_path / "keys" / "showroom.key"
    open_database(path).dispose()
    assert main(["--db", str(path), "encrypt", "--write-key-file", str(key_file)]) == 0
    monkeypatch.setenv("FIRST_SECRET", SECRET)
    monkeypatch.setenv("NEXT_SECRET", "another long secret")
    monkeypatch.setenv("SHORT_SECRET", "short")
    base = ["--db", str(path)]
    assert main([*base, "set-admin-secret", "--new-secret-env", "FIRST_SECRET"]) == EXIT_KEY
    assert main([*base, "--key-file", str(key_file), "set-admin-secret",
                 "--new-secret-env", "SHORT_SECRET"]) == 2  # fmt: skip
    assert "new-secret-env" in capsys.readouterr().err
    assert main([*base, "--key-file", str(key_file), "set-admin-secret",
                 "--new-secret-env", "FIRST_SECRET"]) == 0  # fmt: skip
    key = crypto.read_key_file(key_file)
    assert crypto.load_wrapped_key(path, SECRET) == key
    # Replacing it needs only the old secret; afterwards the old one no longer unlocks.
    assert main([*base, "--admin-secret-env", "FIRST_SECRET", "set-admin-secret",
                 "--new-secret-env", "NEXT_SECRET"]) == 0  # fmt: skip
    assert crypto.load_wrapped_key(path, "another long secret") == key
    with pytest.raises(WrongKeyError):
        crypto.load_wrapped_key(path, SECRET)
