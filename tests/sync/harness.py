"""The pieces a fault case is built from: the real server as a process, laptops, and the checks.

``ServerProcess`` runs ``showroom-server`` on a free port and can be killed with SIGKILL and
started again on the same port and database. ``Laptop`` is a local database enrolled through a
``FaultProxy``; it edits through the real services and syncs in-process or as a killable
``showroom-admin sync`` process. ``Ledger`` remembers every edit and which ones the server
acknowledged; ``assert_acknowledged_present`` and ``assert_converged`` are the end checks.
"""

from __future__ import annotations

import json
import os
import shutil
import signal
import socket
import sqlite3
import subprocess
import sys
import time
from collections.abc import Collection, Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, ClassVar

import requests

# Bound at import: a case that makes the laptop an older release must not change the harness.
from sync.protocol import SCHEMA_HEADER, SCHEMA_VERSION

REPO = Path(__file__).resolve().parents[2]
BIN = Path(sys.executable).parent
PUSH = "/v1/sync/push"
PULL = "/v1/sync/pull"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _env(**extra: str) -> dict[str, str]:
    env = dict(os.environ)
    env["PYTHONPATH"] = str(REPO) + os.pathsep + env.get("PYTHONPATH", "")
    env.setdefault("QT_QPA_PLATFORM", "offscreen")
    env.update(extra)
    return env


def json_lines(text: str) -> list[dict[str, Any]]:
    out = []
    for line in text.splitlines():
        line = line.strip()
        if line.startswith("{"):
            out.append(json.loads(line))
    return out


# --- the server ----------------------------------------------------------------------------


class ServerProcess:
    """``showroom-server`` on ``db_url``, as a child process whose log goes to ``log_path``."""

    live: ClassVar[list[ServerProcess]] = []  # for the failure report

    def __init__(self, db_url: str, workdir: Path, *, port: int | None = None) -> None:
        self.db_url = db_url
        self.workdir = workdir
        self.port = port or free_port()
        self.log_path = workdir / f"server-{self.port}.log"
        self.process: subprocess.Popen | None = None
        self.env = _env(SHOWROOM_DATA_DIR=str(workdir / "server-data"))
        ServerProcess.live.append(self)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def cli(self, *args: str, check: bool = True) -> list[dict[str, Any]]:
        """Run one ``showroom-server`` command on this database; its JSON lines."""
        command = [sys.executable, "-m", "sync.server.cli", *args[:1], "--db", self.db_url]
        command += list(args[1:])
        done = subprocess.run(
            command, capture_output=True, text=True, env=self.env, cwd=REPO, timeout=120
        )
        with self.log_path.open("a") as log:
            log.write(f"$ {' '.join(command)}\n{done.stdout}{done.stderr}")
        if check and done.returncode != 0:
            raise AssertionError(
                f"{' '.join(command)} exited {done.returncode}:\n{done.stdout}{done.stderr}"
            )
        return json_lines(done.stdout)

    def migrate(self) -> None:
        self.cli("migrate")

    def create_dealer(self, name: str) -> str:
        (line,) = [x for x in self.cli("create-dealer", name) if "id" in x or "dealer_id" in x]
        return line.get("dealer_id") or line["id"]

    def enroll_code(self, dealer_id: str) -> str:
        (line,) = [x for x in self.cli("enroll-code", "--dealer", dealer_id) if "code" in x]
        return line["code"]

    def purge(self, retention_days: int) -> list[dict[str, Any]]:
        return self.cli("purge", "--retention-days", str(retention_days))

    def start(self, timeout: float = 30.0) -> None:
        assert self.process is None or self.process.poll() is not None, "already running"
        log = self.log_path.open("a")
        command = [sys.executable, "-m", "sync.server.cli", "serve", "--db", self.db_url]
        command += ["--host", "127.0.0.1", "--port", str(self.port)]
        self.process = subprocess.Popen(
            command, stdout=log, stderr=subprocess.STDOUT, env=self.env, cwd=REPO
        )
        log.close()
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise AssertionError(f"server exited {self.process.returncode}:\n{self.log()}")
            try:
                # Any HTTP answer means the server is up; the OpenAPI page is the cheapest one.
                requests.get(self.url + "/openapi.json", timeout=1)
                return
            except requests.RequestException:
                pass
            time.sleep(0.05)
        self.kill()  # no process outlives a failed start
        raise AssertionError(f"server did not answer within {timeout} s:\n{self.log()}")

    def kill(self) -> None:
        """SIGKILL: no shutdown handlers, no flushing, as when the machine loses power."""
        if self.process is not None and self.process.poll() is None:
            self.process.send_signal(signal.SIGKILL)
            self.process.wait(10)

    def stop(self) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(10)
            except subprocess.TimeoutExpired:
                self.kill()

    def restart(self) -> None:
        self.kill()
        self.start()

    def log(self) -> str:
        return self.log_path.read_text(errors="replace") if self.log_path.exists() else ""

    # --- reading the server through the protocol ------------------------------------------

    def get(self, token: str, path: str, **params: Any) -> dict[str, Any]:
        response = requests.get(
            self.url + path,
            params=params,
            headers={"Authorization": f"Bearer {token}", SCHEMA_HEADER: str(SCHEMA_VERSION)},
            timeout=30,
        )
        assert response.status_code == 200, (path, response.status_code, response.text)
        return response.json()

    def checksums(self, token: str) -> dict[str, Any]:
        return self.get(token, "/v1/sync/checksum")["tables"]

    def rows(self, token: str) -> dict[tuple[str, str], dict[str, Any]]:
        """Every row the server holds for the token's dealer, by (table, id), from a full pull."""
        rows: dict[tuple[str, str], dict[str, Any]] = {}
        since = 0
        while True:
            page = self.get(token, PULL, since=since, limit=5000)
            for row in page["rows"]:
                key = (row["table"], row["id"])
                assert key not in rows, f"{key} came twice in one full pull"
                rows[key] = row
            since = page["next_since"]
            if not page["has_more"]:
                return rows


# --- backends: the server's database ---------------------------------------------------------


@dataclass
class Backend:
    """Where the server keeps its data, with the backup and restore IT would do."""

    kind: str  # sqlite / postgres
    url: str
    workdir: Path
    admin_url: str | None = None  # postgres: the maintenance database for CREATE/DROP
    database: str | None = None

    def backup(self, name: str) -> None:
        """Take a copy now; the server must be stopped."""
        if self.kind == "sqlite":
            src = sqlite3.connect(self._path())
            dst = sqlite3.connect(self.workdir / f"{name}.backup")
            src.backup(dst)
            dst.close()
            src.close()
        else:
            self._admin(f'CREATE DATABASE "{self.database}_{name}" TEMPLATE "{self.database}"')

    def restore(self, name: str) -> None:
        """Put the copy back in place of the live data; the server must be stopped."""
        if self.kind == "sqlite":
            path = self._path()
            for suffix in ("-wal", "-shm"):
                Path(str(path) + suffix).unlink(missing_ok=True)
            shutil.copy(self.workdir / f"{name}.backup", path)
        else:
            self._admin(f'DROP DATABASE "{self.database}" WITH (FORCE)')
            self._admin(f'CREATE DATABASE "{self.database}" TEMPLATE "{self.database}_{name}"')

    def drop(self) -> None:
        if self.kind != "postgres":
            return
        import psycopg

        with psycopg.connect(self.admin_url, autocommit=True) as conn:
            names = [
                r[0]
                for r in conn.execute(
                    "SELECT datname FROM pg_database WHERE datname LIKE %s",
                    (f"{self.database}%",),
                )
            ]
            for name in names:
                conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')

    def _path(self) -> Path:
        return Path(self.url.split("sqlite:///", 1)[1])

    def _admin(self, statement: str) -> None:
        import psycopg

        with psycopg.connect(self.admin_url, autocommit=True) as conn:
            conn.execute(statement)


# --- the acknowledged-write ledger ---------------------------------------------------------


@dataclass
class Write:
    """One op a laptop made: the fields it set, and the server's answer once it came back."""

    laptop: str
    op_id: str
    table: str
    row_id: str
    op: str
    fields: dict[str, dict[str, Any]]
    acknowledged: bool = False
    result: str | None = None
    reason: str | None = None
    version: int | None = None


@dataclass
class Ledger:
    writes: dict[str, Write] = field(default_factory=dict)

    def record(self, laptop: Laptop, ops: Iterable[Mapping[str, Any]]) -> None:
        for op in ops:
            if op["op_id"] in self.writes:
                continue  # recorded already, perhaps with the server's answer
            self.writes[op["op_id"]] = Write(
                laptop.name,
                op["op_id"],
                op["table_name"],
                op["row_id"],
                op["op"],
                json.loads(op["fields"]),
            )

    def refresh(self, laptop: Laptop) -> None:
        """Read the server's answers from the laptop's outbox."""
        states = {o["op_id"]: o for o in laptop.outbox()}
        for write in self.writes.values():
            if write.laptop != laptop.name:
                continue
            state = states.get(write.op_id)
            if state is not None:
                write.acknowledged = bool(state["acknowledged"])
                write.result = state["result"]
                write.reason = state["reason"]

    def acknowledged(self) -> list[Write]:
        return [w for w in self.writes.values() if w.acknowledged and w.result != "rejected"]


def _conflict_values(text: str | None, field_name: str) -> list[Any]:
    """The values a conflict column holds for ``field_name`` (a value, or a dict of fields)."""
    if text is None:
        return []
    try:
        value = json.loads(text)
    except ValueError:
        return [text]
    found = [value]
    if isinstance(value, dict):
        inner = value.get(field_name)
        if isinstance(inner, dict) and "new" in inner:
            inner = inner["new"]
        found.append(inner)
    return found


def missing_writes(
    ledger: Ledger,
    rows: Mapping[tuple[str, str], Mapping[str, Any]],
    conflicts: Iterable[Mapping[str, Any]],
    erased: Collection[tuple[str, str]] = (),
) -> list[str]:
    """Acknowledged writes that ``rows`` (table, id) -> {"deleted", "data"} no longer hold.

    A value counts as present when the row holds it, a conflict row keeps it (theirs or mine),
    or a later acknowledged write on the same field was made over it (its base is this value,
    so whoever made it saw it). An acknowledged delete must leave a tombstone, unless a later
    acknowledged write that saw the row deleted brought it back. In the rows an erasure covers
    (``erased``, see :func:`erased_rows`) the personal values are gone on purpose, and so are
    the values of the conflicts about them; the other values must be there. A value kept only
    in a conflict an erasure blanked is gone on purpose too, even when the row has left the
    erased customer since (merged into another). A field an op
    changed whose values an erasure made the outbox forget cannot be followed (a later write
    over a value is known only from its op), wherever the row went since.
    """
    kept: dict[tuple[str, str], list[Any]] = {}
    for c in conflicts:
        key = (c["table_name"], c["row_id"])
        for column in ("theirs_value", "mine_value"):
            kept.setdefault((*key, c.get("field") or ""), []).extend(
                _conflict_values(c[column], c.get("field") or "")
            )
            if not c.get("field"):
                text = c[column]
                parsed = json.loads(text) if text else None
                if isinstance(parsed, dict):
                    for name, value in parsed.items():
                        if isinstance(value, dict) and "new" in value:
                            value = value["new"]
                        kept.setdefault((*key, name), []).append(value)
    conflicted = {(c["table_name"], c["row_id"]) for c in conflicts}
    # Conflicts an erasure blanked (no value left on any side; a conflict the server records
    # always holds one): what they kept is gone on purpose, wherever their row went since (a
    # row of an erased customer may be merged into another customer afterwards).
    blanked = {
        (c["table_name"], c["row_id"], c.get("field") or "")
        for c in conflicts
        if all(c.get(side) is None for side in ("base_value", "theirs_value", "mine_value"))
    }
    personal = _personal_fields()
    seen_bases: dict[tuple[str, str, str], list[Any]] = {}
    acknowledged = ledger.acknowledged()
    # Fields of acknowledged ops whose values an erasure made the outbox forget: every field
    # of such an op reads null to null, which no real edit does.
    forgotten = {
        (w.table, w.row_id, name)
        for w in acknowledged
        if w.fields and all(c == {"new": None, "base": None} for c in w.fields.values())
        for name in w.fields
    }
    for w in acknowledged:
        for name, change in w.fields.items():
            seen_bases.setdefault((w.table, w.row_id, name), []).append(change.get("base"))
    problems = []
    for w in acknowledged:
        row = rows.get((w.table, w.row_id))
        if row is None:
            problems.append(f"{w.laptop} {w.op} {w.table}/{w.row_id}: row missing")
            continue
        if w.op == "delete":
            # A later write that saw the row deleted may bring it back (a restore).
            restored = True in seen_bases.get((w.table, w.row_id, "deleted"), [])
            if not row["deleted"] and not restored:
                problems.append(f"{w.laptop} delete {w.table}/{w.row_id}: row came back")
            continue
        for name, change in w.fields.items():
            if name == "deleted":
                continue
            key = (w.table, w.row_id, name)
            if key in forgotten:
                continue  # changed by an op whose values an erasure made the outbox forget
            if (w.table, w.row_id) in erased and (
                name in personal.get(w.table, ()) or (w.table, w.row_id) in conflicted
            ):
                continue  # erased, or kept in a conflict the erasure blanked
            if key in blanked or (w.table, w.row_id, "") in blanked:
                continue  # kept in a conflict an erasure blanked before the row moved on
            value = change["new"]
            if row["data"].get(name) == value:
                continue
            if value in kept.get(key, []) or value in kept.get((w.table, w.row_id, ""), []):
                continue
            if value in seen_bases.get(key, []):
                continue
            history = "; ".join(
                f"{o.laptop} {o.op} {o.fields[name].get('base')!r}->{o.fields[name]['new']!r}"
                f" {o.result}"
                for o in ledger.writes.values()
                if (o.table, o.row_id) == (w.table, w.row_id) and name in o.fields
            )
            problems.append(
                f"{w.laptop} {w.op} {w.table}/{w.row_id}.{name}={value!r} lost "
                f"(row holds {row['data'].get(name)!r}; the field's writes: {history})"
            )
    return problems


# --- laptops ---------------------------------------------------------------------------------


class Laptop:
    """A salesperson's laptop: a local database that reaches the server through ``server_url``."""

    def __init__(
        self, name: str, path: Path, server_url: str, ledger: Ledger, key: bytes | None = None
    ) -> None:
        from showroom.db.engine import open_database

        self.name = name
        self.path = path
        self.server_url = server_url
        self.ledger = ledger
        self.key = key  # an SQLCipher database, as the app's, under this key; None: plain
        self.db = open_database(path, key)
        self.username: str | None = None
        self.sync_log: list[Any] = []
        self.ops_made_by_sync = 0
        self.processes: list[subprocess.Popen] = []

    # --- enrolment and sync ------------------------------------------------------------------

    def enroll(self, code: str) -> Any:
        from sync import client

        return client.enroll(self.db, self.server_url, code, device_name=self.name)

    def sync(self, **options: Any) -> Any:
        """One in-process sync; the ledger learns the server's answers whatever happens."""
        from sync.client import SyncClient

        # Few, quick retries: a fault case should see its fault, not wait it out.
        options = {"retries": 2, "backoff_base": 0.05, "backoff_cap": 0.5, **options}
        before = self._last_seq()
        try:
            summary = SyncClient(self.db, **options).sync()
            self.sync_log.append(summary)
            return summary
        finally:
            # Edits the sync made itself (a merge or an erasure settled after a pull) are
            # writes like the salespeople's.
            made = "SELECT op_id, table_name, row_id, op, fields FROM sync_outbox WHERE seq > ?"
            ops = self._read(made, (before,))
            self.ops_made_by_sync += len(ops)
            self.ledger.record(self, ops)
            self.ledger.refresh(self)

    def _last_seq(self) -> int:
        return self._read("SELECT coalesce(max(seq), 0) AS seq FROM sync_outbox")[0]["seq"]

    def try_sync(self, **options: Any) -> Any | Exception:
        """A sync that may fail because of a fault; the error is returned, not raised."""
        try:
            return self.sync(**options)
        except Exception as error:
            self.sync_log.append(error)
            return error

    def admin(self, *args: str, faketime: str | None = None) -> subprocess.Popen:
        """``showroom-admin --db <this laptop> ARGS`` as a child process (killable)."""
        command = [sys.executable, "-m", "showroom.cli", "--db", str(self.path), *args]
        if faketime is not None:
            command = ["faketime", "-f", faketime, *command]
        process = subprocess.Popen(
            command,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
            env=_env(**({"SHOWROOM_DB_KEY": self.key.hex()} if self.key else {})),
            cwd=REPO,
        )
        self.processes.append(process)
        return process

    def admin_sync(self, *, faketime: str | None = None, timeout: float = 120) -> dict[str, Any]:
        """``showroom-admin sync`` to the end; its JSON summary."""
        process = self.admin("sync", faketime=faketime)
        out, err = process.communicate(timeout=timeout)
        self.ledger.refresh(self)
        assert process.returncode == 0, f"showroom-admin sync exited {process.returncode}:\n{err}"
        lines = json_lines(out)
        assert lines, f"showroom-admin sync printed no summary:\n{out}\n{err}"
        return lines[-1]

    # --- local state ---------------------------------------------------------------------------

    def _read(self, sql: str, params: tuple = ()) -> list[dict[str, Any]]:
        """A read through a separate connection, as another process would see the file."""
        if self.key is None:
            conn = sqlite3.connect(f"file:{self.path}?mode=ro", uri=True, timeout=10)
            conn.row_factory = sqlite3.Row
        else:
            import sqlcipher3.dbapi2 as sqlcipher

            from showroom.db.crypto import sqlcipher_key_literal

            conn = sqlcipher.connect(f"file:{self.path}?mode=ro", uri=True, timeout=10)
            conn.execute(f'PRAGMA key = "{sqlcipher_key_literal(self.key)}"')
            conn.row_factory = sqlcipher.Row
        try:
            return [dict(r) for r in conn.execute(sql, params)]
        finally:
            conn.close()

    def state(self, key: str) -> str | None:
        rows = self._read("SELECT value FROM local_state WHERE key = ?", (key,))
        return rows[0]["value"] if rows else None

    def cursor(self) -> int:
        from showroom.models.local import SyncKeys

        return int(self.state(SyncKeys.CURSOR) or 0)

    def token(self) -> str:
        from showroom.models.local import SyncKeys

        return self.state(SyncKeys.TOKEN)

    def outbox(self) -> list[dict[str, Any]]:
        return self._read("SELECT * FROM sync_outbox ORDER BY seq")

    def pending(self) -> list[dict[str, Any]]:
        return [o for o in self.outbox() if not o["acknowledged"]]

    def row(self, table: str, row_id: str) -> dict[str, Any] | None:
        rows = self._read(f'SELECT * FROM "{table}" WHERE id = ?', (row_id,))
        return rows[0] if rows else None

    def count(self, table: str, *, live_only: bool = False) -> int:
        where = " WHERE deleted = 0" if live_only else ""
        return self._read(f'SELECT count(*) AS n FROM "{table}"{where}')[0]["n"]

    def conflicts(self) -> list[dict[str, Any]]:
        return self._read("SELECT * FROM sync_conflict")

    def rows(self) -> dict[tuple[str, str], dict[str, Any]]:
        """Every synced row, by (table, id), in the wire shape {"version", "deleted", "data"}."""
        from sqlalchemy import select

        from showroom.db.outbox import to_wire
        from sync.local import content_columns, synced_tables

        found = {}
        with self.db.engine.connect() as conn:
            for name, table in synced_tables().items():
                columns = content_columns(name)
                for r in conn.execute(select(table)).mappings():
                    found[(name, r["id"])] = {
                        "version": r["server_version"],
                        "deleted": bool(r["deleted"]),
                        "data": {c.name: to_wire(r[c.name]) for c in columns},
                    }
        return found

    def checksums(self) -> dict[str, Any]:
        from sync.local import local_checksums

        return local_checksums(self.db)

    # --- edits through the services, recorded in the ledger ------------------------------------

    def edit(self, action) -> Any:
        """Run ``action(session, actor)`` as one user action; record the ops it wrote."""
        from sqlalchemy import func, select

        from showroom.models import SyncOutbox
        from showroom.services import dealer

        with self.db.session_scope() as session:
            before = session.scalar(select(func.max(SyncOutbox.seq))) or 0
            if self.username:
                actor = dealer.actor_for(session, self.username)
            else:
                actor = dealer.system_actor(session)
            result = action(session, actor)
            session.flush()
            ops = [
                {c: getattr(o, c) for c in ("op_id", "table_name", "row_id", "op", "fields")}
                for o in session.scalars(
                    select(SyncOutbox).where(SyncOutbox.seq > before).order_by(SyncOutbox.seq)
                )
            ]
        self.ledger.record(self, ops)
        return result

    def create_customer(self, name: str, phone: str, **extra: Any) -> str:
        from showroom.services import customers

        draft = customers.CustomerDraft(name=name, phones=[phone], **extra)
        return self.edit(lambda s, a: customers.create_customer(s, a, draft, force=True)).id

    def update_customer(self, customer_id: str, **changes: Any) -> None:
        from showroom.services import customers

        self.edit(lambda s, a: customers.update_customer(s, a, customer_id, changes, force=True))

    def delete_customer(self, customer_id: str) -> None:
        from showroom.services import customers

        self.edit(lambda s, a: customers.delete_customer(s, a, customer_id))

    def close(self) -> None:
        for process in self.processes:  # a failed case may leave one running
            if process.poll() is None:
                process.kill()
                process.communicate(timeout=30)
        self.db.dispose()


def load_customers(laptop, count: int, prefix: str = "客户") -> list[str]:
    """``count`` customers with a phone each, made in one user action on ``laptop``."""
    from showroom.services import customers

    def make(session, actor):
        return [
            customers.create_customer(
                session,
                actor,
                customers.CustomerDraft(name=f"{prefix}{i:05d}", phones=[f"139{i:08d}"]),
                force=True,
            ).id
            for i in range(count)
        ]

    return laptop.edit(make)


def sync_until_quiet(*laptops: Laptop, rounds: int = 4) -> None:
    """Sync every laptop in turn until a round pushes and pulls nothing anywhere."""
    for _ in range(rounds):
        summaries = [laptop.sync() for laptop in laptops]
        if all(s.pushed == 0 and s.pulled == 0 for s in summaries):
            return
    raise AssertionError(f"still syncing after {rounds} rounds")


def assert_converged(server: ServerProcess, laptops: Iterable[Laptop]) -> dict[str, Any]:
    """Every laptop's per-table checksums equal the server's."""
    laptops = list(laptops)
    expected = server.checksums(laptops[0].token())
    for laptop in laptops:
        mine = laptop.checksums()
        differing = sorted(t for t in set(expected) | set(mine) if expected.get(t) != mine.get(t))
        assert not differing, (
            f"{laptop.name} differs from the server in {differing}: "
            f"{[(t, mine.get(t), expected.get(t)) for t in differing]}\n"
            + _differing_rows(server.rows(laptops[0].token()), laptop.rows(), differing)
        )
    return expected


def _differing_rows(
    theirs: Mapping[tuple[str, str], Mapping[str, Any]],
    mine: Mapping[tuple[str, str], Mapping[str, Any]],
    tables: Iterable[str],
    limit: int = 5,
) -> str:
    """The first rows of ``tables`` that differ, server's then laptop's, for a failure message."""
    lines = []
    for key in sorted(k for k in set(theirs) | set(mine) if k[0] in set(tables)):
        a, b = theirs.get(key), mine.get(key)
        a = a and {"deleted": a["deleted"], **a["data"]}
        b = b and {"deleted": b["deleted"], **b["data"]}
        if a != b:
            lines.append(f"{key}:\n  server {a}\n  laptop {b}")
        if len(lines) == limit:
            break
    return "\n".join(lines)


def assert_acknowledged_present(
    server: ServerProcess, laptops: Iterable[Laptop], ledger: Ledger
) -> None:
    """Every acknowledged write is on the server and every laptop, as a value or a conflict."""
    laptops = list(laptops)
    server_rows = server.rows(laptops[0].token())
    server_conflicts = [
        {"table_name": r["data"]["table_name"], "row_id": r["data"]["row_id"], **r["data"]}
        for (table, _id), r in server_rows.items()
        if table == "sync_conflict"
    ]
    erased = erased_rows(server_rows)
    problems = missing_writes(ledger, server_rows, server_conflicts, erased)
    assert not problems, "server lost acknowledged writes:\n" + "\n".join(problems[:20])
    for laptop in laptops:
        problems = missing_writes(ledger, laptop.rows(), laptop.conflicts(), erased)
        assert not problems, f"{laptop.name} lost acknowledged writes:\n" + "\n".join(problems[:20])


# --- erased customers (PIPL) ------------------------------------------------------------------


def erased_rows(rows: Mapping[tuple[str, str], Mapping[str, Any]]) -> set[tuple[str, str]]:
    """(table, id) of the rows an erasure covers in a replica's ``rows``: the erased customers,
    the records merged into them, the rows pointing at any of these, and the merge records and
    conflicts about them."""
    customers = {rid: r["data"] for (table, rid), r in rows.items() if table == "customer"}
    people = {rid for rid, data in customers.items() if data.get("erased_at")}
    while more := {
        rid
        for rid, data in customers.items()
        if data.get("merged_into_id") in people and rid not in people
    }:
        people |= more
    found = {("customer", rid) for rid in people}
    for (table, rid), r in rows.items():
        data = r["data"]
        named = {data.get("customer_id"), data.get("survivor_id"), data.get("merged_id")}
        if table != "customer" and named & people:
            found.add((table, rid))
    ids = {rid for _table, rid in found}
    found |= {
        (table, rid)
        for (table, rid), r in rows.items()
        if table == "sync_conflict" and r["data"].get("row_id") in ids
    }
    return found


def personal_values_left(rows: Mapping[tuple[str, str], Mapping[str, Any]]) -> list[str]:
    """What the rows an erasure covers in a replica still hold of the person: a name, a
    personal field or free text, a phone number, a value a conflict kept, the text typed on a
    quote's accessory and fee lines, and its copy of what was printed."""
    from showroom.services import privacy, quotes

    personal = _personal_fields()
    # What the erasure puts in place of a required value; the others are cleared.
    placeholders = {
        ("customer", "name"): privacy.ERASED_NAME,
        ("customer_merge", "snapshot"): privacy.ERASED_SNAPSHOT,
    }
    left = []
    erased = erased_rows(rows)
    for table, rid in sorted(erased):
        data = rows[(table, rid)]["data"]
        for name in personal.get(table, ()):
            value = data.get(name)
            placeholder = placeholders.get((table, name))
            if (value != placeholder) if placeholder else value not in (None, ""):
                left.append(f"{table}/{rid}.{name}={value!r}")
        # The copy of what was printed, cleared as the quote is.
        printed = data.get("issued_snapshot") if table == "quote" else None
        if printed and quotes.erased_snapshot(printed) != printed:
            left.append(f"quote/{rid}.issued_snapshot={printed!r}")
    # The descriptions typed on an erased customer's accessory and fee lines.
    erased_quotes = {rid for table, rid in erased if table == "quote"}
    for (table, rid), row in sorted(rows.items()):
        data = row["data"]
        if (
            table == "quote_line"
            and data.get("quote_id") in erased_quotes
            and data.get("kind") in quotes.EXTRA_KINDS
            and data.get("description")
        ):
            left.append(f"quote_line/{rid}.description={data['description']!r}")
    return left


def _personal_fields() -> dict[str, tuple[str, ...]]:
    """The fields an erasure clears (or replaces, a customer's name), by table."""
    from showroom.services import privacy

    return {
        "customer": ("name", *privacy.ERASED_CUSTOMER_FIELDS),
        "customer_phone": ("number",),
        "sync_conflict": ("base_value", "theirs_value", "mine_value"),
        "customer_merge": ("snapshot",),
        **{m.__tablename__: f for m, f in privacy.ERASED_TEXT_FIELDS.items()},
    }


def assert_erased_everywhere(server: ServerProcess, laptops: Iterable[Laptop]) -> None:
    """No replica holds anything of an erased customer (see :func:`personal_values_left`)."""
    laptops = list(laptops)
    left = personal_values_left(server.rows(laptops[0].token()))
    assert not left, "the server still holds erased values:\n" + "\n".join(left[:20])
    for laptop in laptops:
        left = personal_values_left(laptop.rows())
        assert not left, f"{laptop.name} still holds erased values:\n" + "\n".join(left[:20])
