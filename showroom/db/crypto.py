"""Keys of the encrypted local database, and the safe switch of a plain database to SQLCipher.

Every database has its own random 256-bit key. The plain key is never written to a file in the
data directory. It lives in one of these places (``find_key`` tries them in this order):

1. a key file named explicitly (``--key-file PATH`` or env ``SHOWROOM_DB_KEY_FILE``), kept
   outside the data directory: 64 hex characters, or the 32 raw bytes;
2. env ``SHOWROOM_DB_KEY``: the key as 64 hex characters;
3. the wrapped-key file beside the database (``<db>.key.json``), unwrapped with an admin secret:
   AES-256-GCM under a key derived with argon2id from the secret; the file holds only the
   wrapped key, the salt, the nonce and the parameters;
4. the OS keyring (Windows Credential Manager, macOS Keychain, Secret Service), where one works.

See docs/security.md for the recovery path.
"""

from __future__ import annotations

import base64
import contextlib
import json
import os
import secrets
import sqlite3
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path

from showroom.errors import ShowroomError, ValidationError, WrongKeyError

KEY_BYTES = 32
KEYRING_SERVICE = "Showroom database key"
WRAPPED_SUFFIX = ".key.json"
WRAPPED_FORMAT = "showroom-wrapped-db-key"
MIN_SECRET_LENGTH = 10
ENV_KEY = "SHOWROOM_DB_KEY"
ENV_KEY_FILE = "SHOWROOM_DB_KEY_FILE"

PLAIN_HEADER = b"SQLite format 3\x00"
# Names the switch to encryption uses beside the database (see ``encrypt_in_place``).
ENCRYPTING_SUFFIX = ".encrypting"
PLAIN_BACKUP_SUFFIX = ".plain-old"


class EncryptionError(ShowroomError):
    """The switch of a plain database to an encrypted one could not be done; nothing was lost."""

    code = "db_encrypt"


def new_key() -> bytes:
    """A fresh random 256-bit database key."""
    return secrets.token_bytes(KEY_BYTES)


def key_from_hex(text: str, field: str = "key") -> bytes:
    """The key written as 64 hex characters; a clear error naming ``field`` otherwise."""
    cleaned = text.strip().lower()
    if cleaned.startswith("x'") and cleaned.endswith("'"):
        cleaned = cleaned[2:-1]
    try:
        key = bytes.fromhex(cleaned)
    except ValueError:
        key = b""
    if len(key) != KEY_BYTES:
        raise ValidationError(
            field, "密钥应为64个十六进制字符", "the key must be 64 hex characters (256 bits)"
        )
    return key


def sqlcipher_key_literal(key: bytes) -> str:
    """The raw-key form SQLCipher takes in ``PRAGMA key`` (no key derivation on open)."""
    if len(key) != KEY_BYTES:
        raise ValidationError("key", "密钥应为256位", "the key must be 256 bits")
    return f"x'{key.hex()}'"


def file_state(path: str | Path) -> str:
    """``missing``, ``empty``, ``plain`` (an SQLite file anyone can read) or ``encrypted``."""
    path = Path(path)
    try:
        with path.open("rb") as handle:
            head = handle.read(len(PLAIN_HEADER))
    except FileNotFoundError:
        return "missing"
    if not head:
        return "empty"
    return "plain" if head == PLAIN_HEADER else "encrypted"


# --- The OS keyring ---------------------------------------------------------------------------


def keyring_entry(db_path: str | Path) -> str:
    """The keyring entry name of one database: its absolute path."""
    return str(Path(db_path).resolve())


def keyring_available() -> bool:
    """Whether a real OS keyring answers here (headless Linux and CI usually have none)."""
    import keyring
    from keyring.backends import fail, null

    backend = keyring.get_keyring()
    if isinstance(backend, (fail.Keyring, null.Keyring)):
        return False
    try:
        return backend.priority > 0
    except Exception:  # a backend that cannot even say: treat as absent (keyring's own rule)
        return False


def load_key_from_keyring(db_path: str | Path) -> bytes | None:
    """The key kept in the OS keyring for this database, or None (no keyring or no entry)."""
    import keyring
    from keyring.errors import KeyringError

    if not keyring_available():
        return None
    try:
        stored = keyring.get_password(KEYRING_SERVICE, keyring_entry(db_path))
    except KeyringError:
        return None
    return key_from_hex(stored, "keyring") if stored else None


def store_key_in_keyring(db_path: str | Path, key: bytes) -> bool:
    """Keep ``key`` in the OS keyring; False when there is no working keyring."""
    import keyring
    from keyring.errors import KeyringError

    if not keyring_available():
        return False
    try:
        keyring.set_password(KEYRING_SERVICE, keyring_entry(db_path), key.hex())
    except KeyringError:
        return False
    return True


def forget_key_in_keyring(db_path: str | Path) -> None:
    import keyring
    from keyring.errors import KeyringError, PasswordDeleteError

    if keyring_available():
        # Nothing stored means nothing to forget.
        with contextlib.suppress(PasswordDeleteError, KeyringError):
            keyring.delete_password(KEYRING_SERVICE, keyring_entry(db_path))


# --- The key wrapped by an admin secret ----------------------------------------------------------


@dataclass(frozen=True)
class KdfParams:
    """argon2id cost; stored in the wrapped-key file so it can be raised later."""

    time_cost: int = 3
    memory_cost_kib: int = 64 * 1024
    parallelism: int = 4


def wrapped_key_path(db_path: str | Path) -> Path:
    db_path = Path(db_path)
    return db_path.with_name(db_path.name + WRAPPED_SUFFIX)


def check_admin_secret(secret: str, field: str = "admin_secret") -> None:
    """A new admin secret must be long enough to resist guessing offline."""
    if len(secret) < MIN_SECRET_LENGTH:
        raise ValidationError(
            field,
            f"管理员密码至少{MIN_SECRET_LENGTH}个字符",
            f"the admin secret must be at least {MIN_SECRET_LENGTH} characters",
        )


def _derive(secret: str, salt: bytes, params: KdfParams) -> bytes:
    from argon2.low_level import Type, hash_secret_raw

    return hash_secret_raw(
        secret.encode("utf-8"),
        salt,
        time_cost=params.time_cost,
        memory_cost=params.memory_cost_kib,
        parallelism=params.parallelism,
        hash_len=KEY_BYTES,
        type=Type.ID,
    )


def _b64(data: bytes) -> str:
    return base64.b64encode(data).decode("ascii")


def wrap_key(key: bytes, secret: str, params: KdfParams | None = None) -> dict:
    """The wrapped-key document: the key under AES-256-GCM with an argon2id-derived key."""
    from cryptography.hazmat.primitives.ciphers.aead import AESGCM

    check_admin_secret(secret)
    params = params or KdfParams()
    salt, nonce = secrets.token_bytes(16), secrets.token_bytes(12)
    doc = {
        "format": WRAPPED_FORMAT,
        "version": 1,
        "kdf": "argon2id",
        "time_cost": params.time_cost,
        "memory_cost_kib": params.memory_cost_kib,
        "parallelism": params.parallelism,
        "salt": _b64(salt),
        "cipher": "AES-256-GCM",
        "nonce": _b64(nonce),
    }
    # The parameters are bound as associated data: changing any of them breaks the unwrap.
    wrapped = AESGCM(_derive(secret, salt, params)).encrypt(nonce, key, _aad(doc))
    return {**doc, "wrapped_key": _b64(wrapped)}


def _aad(doc: Mapping) -> bytes:
    fields = {k: v for k, v in doc.items() if k != "wrapped_key"}
    return json.dumps(fields, sort_keys=True).encode("utf-8")


def unwrap_key(doc: Mapping, secret: str) -> bytes:
    """The key inside a wrapped-key document; ``WrongKeyError`` when the secret is wrong."""
    from cryptography.exceptions import InvalidTag
    from cryptography.hazmat.primitives.ciphers.aead import AESGCM

    try:
        if doc.get("format") != WRAPPED_FORMAT or doc.get("kdf") != "argon2id":
            raise ValueError("not a wrapped database key")
        params = KdfParams(
            int(doc["time_cost"]), int(doc["memory_cost_kib"]), int(doc["parallelism"])
        )
        salt = base64.b64decode(doc["salt"], validate=True)
        nonce = base64.b64decode(doc["nonce"], validate=True)
        wrapped = base64.b64decode(doc["wrapped_key"], validate=True)
    except (KeyError, TypeError, ValueError) as error:
        raise ValidationError(
            "key_file", "封装密钥文件已损坏", f"the wrapped-key file is damaged ({error})"
        ) from None
    try:
        key = AESGCM(_derive(secret, salt, params)).decrypt(nonce, wrapped, _aad(doc))
    except InvalidTag:
        raise WrongKeyError("admin_secret") from None
    if len(key) != KEY_BYTES:
        raise WrongKeyError("admin_secret")
    return key


def save_wrapped_key(
    db_path: str | Path, key: bytes, secret: str, params: KdfParams | None = None
) -> Path:
    """Write ``<db>.key.json`` (atomically) holding ``key`` wrapped by ``secret``."""
    target = wrapped_key_path(db_path)
    _write_atomically(target, json.dumps(wrap_key(key, secret, params), indent=2).encode())
    return target


def load_wrapped_key(db_path: str | Path, secret: str) -> bytes:
    """Unwrap ``<db>.key.json`` with the admin secret."""
    source = wrapped_key_path(db_path)
    try:
        doc = json.loads(source.read_text("utf-8"))
    except FileNotFoundError:
        raise ValidationError(
            "admin_secret",
            f"没有封装密钥文件：{source}",
            f"there is no wrapped-key file {source} to unwrap",
        ) from None
    except (ValueError, UnicodeDecodeError):
        raise ValidationError(
            "key_file", "封装密钥文件已损坏", f"the wrapped-key file {source} is damaged"
        ) from None
    if not isinstance(doc, dict):
        raise ValidationError("key_file", "封装密钥文件已损坏", f"{source} is damaged")
    return unwrap_key(doc, secret)


# --- Finding the key ---------------------------------------------------------------------------


def read_key_file(path: str | Path, db_path: str | Path | None = None) -> bytes:
    """The key in a key file (64 hex characters or 32 raw bytes), kept outside the data dir."""
    path = Path(path)
    if db_path is not None:
        data_dir = Path(db_path).resolve().parent
        if path.resolve().parent == data_dir or data_dir in path.resolve().parents:
            raise ValidationError(
                "key_file",
                "密钥文件不能放在数据库所在的目录里",
                "the key file must be kept outside the database's directory",
            )
    try:
        raw = path.read_bytes()
        mode = path.stat().st_mode
    except OSError as error:
        raise ValidationError(
            "key_file",
            f"无法读取密钥文件：{path}",
            f"cannot read the key file {path} ({error.strerror})",
        ) from None
    if os.name == "posix" and mode & 0o077:
        # As ssh does with private keys: a key others can read is a key already given away.
        raise ValidationError(
            "key_file",
            f"密钥文件 {path} 其他用户也能读取；请执行 chmod 600",
            f"the key file {path} is readable by other users; chmod 600 it",
        )
    if len(raw) == KEY_BYTES:
        return raw
    try:
        return key_from_hex(raw.decode("ascii"), "key_file")
    except UnicodeDecodeError:
        raise ValidationError(
            "key_file", "密钥应为64个十六进制字符", "the key must be 64 hex characters"
        ) from None


def write_key_file(path: str | Path, key: bytes) -> None:
    """Write ``key`` as hex to a file readable only by its owner (for servers and scripts)."""
    _write_atomically(Path(path), (key.hex() + "\n").encode("ascii"), mode=0o600)


def find_key(
    db_path: str | Path,
    *,
    key_file: str | Path | None = None,
    admin_secret: str | None = None,
    environ: Mapping[str, str] | None = None,
    use_keyring: bool = True,
) -> bytes | None:
    """The key of ``db_path`` from the first source that has one (see the module doc)."""
    environ = os.environ if environ is None else environ
    if key_file is not None:
        return read_key_file(key_file, db_path)
    if environ.get(ENV_KEY_FILE):
        return read_key_file(environ[ENV_KEY_FILE], db_path)
    if environ.get(ENV_KEY):
        return key_from_hex(environ[ENV_KEY], ENV_KEY)
    if admin_secret is not None:
        return load_wrapped_key(db_path, admin_secret)
    if use_keyring:
        return load_key_from_keyring(db_path)
    return None


# --- Plain to encrypted, safely ------------------------------------------------------------------


@dataclass(frozen=True)
class EncryptionReport:
    path: str
    tables: int
    rows: int


def _stored_tables(conn) -> list[str]:
    return [
        name
        for (name,) in conn.execute(
            "SELECT name FROM sqlite_master WHERE type = 'table'"
            " AND sql NOT LIKE 'CREATE VIRTUAL TABLE%' ORDER BY name"
        )
    ]


def fingerprint(conn, on_table: Callable[[str], None] | None = None) -> dict[str, tuple[int, str]]:
    """Row count and a content hash of every stored table (FTS shadow tables included).

    ``on_table(name)`` is called after each table is read.
    """
    import hashlib

    result = {}
    for name in _stored_tables(conn):
        quoted = '"' + name.replace('"', '""') + '"'
        digest = hashlib.sha256()
        count = 0
        width = len(conn.execute(f"SELECT * FROM {quoted} LIMIT 0").description)
        order = ", ".join(str(i) for i in range(1, width + 1))
        rows = conn.execute(f"SELECT * FROM {quoted} ORDER BY {order}")
        for row in rows:
            digest.update(repr(row).encode("utf-8"))
            count += 1
        result[name] = (count, digest.hexdigest())
        if on_table is not None:
            on_table(name)
    return result


def secure_remove(path: str | Path) -> None:
    """Overwrite a file with zeros, flush it to disk, then delete it (missing: nothing to do).

    On SSDs and copy-on-write file systems the old blocks may survive the overwrite; the
    security doc says so and recommends full-disk encryption as well.
    """
    path = Path(path)
    try:
        size = path.stat().st_size
    except FileNotFoundError:
        return
    with path.open("r+b") as handle:
        chunk = b"\0" * (1 << 20)
        left = size
        while left > 0:
            handle.write(chunk[: min(left, len(chunk))])
            left -= min(left, len(chunk))
        handle.flush()
        os.fsync(handle.fileno())
    path.unlink()


def _fsync_file(path: Path) -> None:
    with path.open("rb") as handle:
        os.fsync(handle.fileno())


def _fsync_dir(path: Path) -> None:
    if os.name == "nt":
        return  # directories cannot be opened for fsync on Windows; NTFS journals renames
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def _write_atomically(target: Path, data: bytes, mode: int = 0o600) -> None:
    target.parent.mkdir(parents=True, exist_ok=True)
    temp = target.with_name(target.name + ".tmp")
    fd = os.open(temp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, mode)
    with os.fdopen(fd, "wb") as handle:
        handle.write(data)
        handle.flush()
        os.fsync(handle.fileno())
    os.replace(temp, target)
    _fsync_dir(target.parent)


def _sibling(path: Path, suffix: str) -> Path:
    return path.with_name(path.name + suffix)


def recover_interrupted_encryption(db_path: str | Path) -> str | None:
    """Finish or undo a switch to encryption that was cut off; says which, or None.

    The database file itself is, at every moment of ``encrypt_in_place``, either the intact
    plain database or the verified encrypted one (the swap is one atomic rename). What can be
    left beside it is the unfinished encrypted copy (deleted: the plain file is still in use) or
    the plain copy kept until the swap succeeded (wiped once the database is encrypted).
    """
    path = Path(db_path)
    temp = _sibling(path, ENCRYPTING_SUFFIX)
    backup = _sibling(path, PLAIN_BACKUP_SUFFIX)
    outcome = None
    if temp.exists():
        temp.unlink()  # encrypted bytes only; the swap never happened
        outcome = "kept plain"
    if backup.exists():
        state = file_state(path)
        if state == "encrypted":
            for leftover in (backup, _sibling(backup, "-wal"), _sibling(backup, "-shm")):
                secure_remove(leftover)
            outcome = "finished encryption"
        elif state == "missing":
            os.replace(backup, path)  # only by hand could this happen; keep the data
            outcome = "kept plain"
        else:
            backup.unlink()  # a second name of the live plain file: unlink, never wipe
            outcome = "kept plain"
    return outcome


# The steps of ``encrypt_in_place``, in order.
ENCRYPTION_STEPS = ("checkpoint", "export", "verify", "fsync", "keep-plain", "swap", "wipe")


def encrypt_in_place(
    db_path: str | Path,
    key: bytes,
    *,
    on_step: Callable[[str], None] | None = None,
    on_progress: Callable[[int, int, str], None] | None = None,
) -> EncryptionReport:
    """Turn the plain database at ``db_path`` into an SQLCipher database under ``key``.

    Nothing else may have the database open. Steps: checkpoint the WAL into the file (and read
    every table's row count and content hash); export into ``<db>.encrypting``; check every
    table of the copy against the plain file; fsync; keep a second name of the plain file;
    atomically rename the encrypted copy over the database; wipe the plain copy. Cut off
    anywhere, the database file is the intact plain one or the verified encrypted one, and
    ``recover_interrupted_encryption`` (run by ``open_database``) tidies what is left.

    ``on_step(name)`` is called before each step (``ENCRYPTION_STEPS``). ``on_progress(done,
    total, step)`` reports the work done, in units of one table read (the plain file's and the
    copy's) or one other step, with the step it belongs to; ``done == total`` at the end. Most
    of the time goes into reading the tables, so the units track the time. An exception raised
    by either callback stops the switch before the swap and leaves the plain database as it was.
    """
    import sqlcipher3.dbapi2 as sqlcipher

    path = Path(db_path)
    progress = _EncryptionProgress(on_step, on_progress)
    step = progress.step
    recover_interrupted_encryption(path)
    state = file_state(path)
    if state != "plain":
        raise EncryptionError(
            f"不是未加密的数据库：{path}",
            f"{path} is not a plain database ({state})",
            field="db",
        )
    temp = _sibling(path, ENCRYPTING_SUFFIX)
    backup = _sibling(path, PLAIN_BACKUP_SUFFIX)
    literal = sqlcipher_key_literal(key)

    step("checkpoint")
    source = sqlcipher.connect(str(path), isolation_level=None)
    try:
        busy, _log, _done = source.execute("PRAGMA wal_checkpoint(TRUNCATE)").fetchone()
        if busy:
            raise EncryptionError(
                "数据库正被其他程序使用，请先关闭它",
                "the database is in use by another program; close it first",
                field="db",
            )
        progress.set_tables(len(_stored_tables(source)))
        plain_print = fingerprint(source, progress.table_read)
        user_version = source.execute("PRAGMA user_version").fetchone()[0]
        step("export")
        source.execute("ATTACH DATABASE ? AS encrypted KEY ?", (str(temp), literal))
        source.execute("SELECT sqlcipher_export('encrypted')")
        source.execute(f"PRAGMA encrypted.user_version = {int(user_version)}")
        source.execute("DETACH DATABASE encrypted")
    except sqlcipher.Error as error:
        temp.unlink(missing_ok=True)
        raise EncryptionError(
            "加密失败，原数据库未改动", f"encryption failed, the database is unchanged: {error}"
        ) from error
    except BaseException:
        temp.unlink(missing_ok=True)  # stopped by a callback: nothing was exported yet to keep
        raise
    finally:
        source.close()

    try:
        step("verify")
        copy = sqlcipher.connect(str(temp), isolation_level=None)
        try:
            copy.execute("PRAGMA cipher_log_level = NONE")
            copy.execute(f'PRAGMA key = "{literal}"')
            copy_print = fingerprint(copy, progress.table_read)
        finally:
            copy.close()
        if copy_print != plain_print:
            temp.unlink(missing_ok=True)
            differ = sorted(n for n in plain_print.keys() | copy_print.keys()
                            if plain_print.get(n) != copy_print.get(n))  # fmt: skip
            raise EncryptionError(
                "加密副本与原数据不一致，原数据库未改动",
                f"the encrypted copy differs in {', '.join(differ)}; the database is unchanged",
            )

        step("fsync")
        _fsync_file(temp)
        _fsync_dir(path.parent)

        step("keep-plain")
        backup.unlink(missing_ok=True)
        try:
            os.link(path, backup)
        except OSError:
            import shutil

            shutil.copy2(path, backup)  # file systems without hard links
        # The checkpoint emptied these; they must not be read as the encrypted file's journal.
        for leftover in (_sibling(path, "-wal"), _sibling(path, "-shm")):
            secure_remove(leftover)

        step("swap")
        os.replace(temp, path)
        _fsync_dir(path.parent)
    except BaseException:
        # Stopped by a callback (or failed) before the swap completed: the database file is
        # the plain one or, swapped, the verified copy; this removes whatever is left beside.
        recover_interrupted_encryption(path)
        raise

    step("wipe")
    recover_interrupted_encryption(path)
    progress.finished()
    return EncryptionReport(
        path=str(path),
        tables=len(plain_print),
        rows=sum(count for count, _digest in plain_print.values()),
    )


class _EncryptionProgress:
    """Turns the steps and table reads of ``encrypt_in_place`` into (done, total, step)."""

    # Units besides the table reads: export, and the short steps from fsync to wipe together.
    _OTHER_UNITS = 2

    def __init__(self, on_step, on_progress) -> None:
        self._on_step = on_step
        self._on_progress = on_progress
        self.current = ENCRYPTION_STEPS[0]
        self.done = 0
        self.total = self._OTHER_UNITS

    def _report(self) -> None:
        if self._on_progress is not None:
            self._on_progress(min(self.done, self.total), self.total, self.current)

    def step(self, name: str) -> None:
        if name == "verify":
            self.done += 1  # the export has finished
        self.current = name
        if self._on_step is not None:
            self._on_step(name)
        self._report()

    def set_tables(self, count: int) -> None:
        self.total = 2 * count + self._OTHER_UNITS  # read in the plain file, then in the copy
        self._report()

    def table_read(self, _name: str) -> None:
        self.done += 1
        self._report()

    def finished(self) -> None:
        self.done = self.total
        self._report()


def plain_sqlite_fingerprint(db_path: str | Path) -> dict[str, tuple[int, str]]:
    """``fingerprint`` of a plain database file, read with the standard sqlite3 module."""
    conn = sqlite3.connect(str(db_path))
    try:
        return fingerprint(conn)
    finally:
        conn.close()
