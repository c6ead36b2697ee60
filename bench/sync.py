"""Sync throughput and latency against a real server process (PostgreSQL by default).

    python -m bench sync --customers 100000 [--pg URL | --sqlite] [--devices 50]

Measures:
- ``initial_upload_s``: a laptop holding the demo dealership (customers with their phones,
  vehicles, interactions, follow-ups, level history and consents) enrols and pushes all of it;
  ``enrol_s`` (queueing the rows as the initial upload) and ``first_sync_s`` are its two parts;
- ``snapshot_ready_s``: from the end of the upload until the server offers the dealer's
  snapshot (its keeper waits for a quiet check, then builds it), with ``snapshot_bytes``;
- ``fresh_download_s``: a second, empty laptop enrols and syncs everything, as the app's does.
  Its database is encrypted like the app's (unless ``--plain``): it starts from the snapshot,
  unpacked in memory (``/dev/shm``), and pulls what came after;
- ``fresh_download_log_s``: the same for an encrypted laptop whose file another connection
  holds open, so that the snapshot's copy goes through the write-ahead log (written twice), as
  every copy did before 2026-12-08; measured after ``fresh_download_s``, on a quieter disk;
- ``fresh_download_snapshot_s``: the same for a laptop with a plain file (``showroom-admin`` on
  a plain database), which unpacks the snapshot beside its file (skipped with ``--plain``,
  where the second laptop is such a laptop already);
- ``fresh_download_pages_s``: a laptop like the second, told not to use snapshots: it pulls
  every row page by page and builds its indexes and search index afterwards, as an encrypted
  laptop with no room in memory for the snapshot does (and every encrypted laptop did before
  2026-12-07);
- ``verify_s``: a following cycle with checksums, per laptop (both sides sum every row);
- ``edit_round_trip_ms``: one laptop edits a customer and syncs, the other syncs and sees it
  (median and p95 of ``--edits``), checksums off, as in the app's routine cycles;
- ``bytes_per_row``: request and answer bytes on the wire (gzip) per synced row, for the
  upload and for the download;
- ``devices_*``: ``--devices`` simulated laptops each doing incremental syncs (pull the newest
  page; every tenth sync also pushes one edit). Once flat out (``devices_max_rps``), once paced
  at ``--rate`` requests/s in all (``devices_paced_rps``); each with its latencies, also split
  into pulls and pushes (``pull_p99_ms``, ``push_p50_ms``, ...), and the CPU seconds the
  simulated devices themselves used on the machine they share with the server
  (``devices_cpu_s``).

Laptops A (the uploader) and B are SQLCipher databases under keys of their own, as the app's
database always is (docs/security.md); ``--plain`` makes them plain files, as in measurements
before 2026-12-06. Metrics of a laptop say which its file was (``file``).
"""

from __future__ import annotations

import argparse
import gzip
import json
import os
import random
import shutil
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from pathlib import Path
from typing import Any

from bench.common import demo_database, emit, log, machine_info, median, percentile

HELP = "sync: initial upload, fresh download, edit round trip, 50 devices, bytes per row"

DEFAULT_PG = "postgresql://postgres@127.0.0.1:5432/test"


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--customers", type=int, default=100_000)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument(
        "--db", type=Path, help="demo database: reused (copied, not changed), made if missing"
    )
    backend = parser.add_mutually_exclusive_group()
    backend.add_argument("--pg", default=os.environ.get("SHOWROOM_TEST_PG_URL", DEFAULT_PG))
    backend.add_argument("--sqlite", action="store_true", help="server on an SQLite file")
    parser.add_argument("--workers", type=int, default=2, help="server processes")
    parser.add_argument(
        "--plain", action="store_true", help="laptops A and B as plain files (the app's: encrypted)"
    )
    parser.add_argument("--edits", type=int, default=30, help="edit round trips measured")
    parser.add_argument("--devices", type=int, default=50)
    parser.add_argument("--seconds", type=float, default=15.0, help="per device-load phase")
    # A little above the 300 requests/s target: the devices start at random points of their
    # first interval and the last requests end after the phase, so a few per cent are lost.
    parser.add_argument("--rate", type=float, default=320.0, help="paced phase, requests/s")


class _Wire:
    """Counts bytes on the wire of a requests.Session: bodies as sent, answers as received."""

    def __init__(self, http) -> None:
        self.sent = self.received = self.requests = 0
        http.hooks["response"].append(self._count)

    def _count(self, response, *_args, **_kwargs):
        body = response.request.body or b""
        self.sent += len(body)
        length = response.headers.get("Content-Length")
        self.received += int(length) if length else len(response.content)
        self.requests += 1
        return response

    def reset(self) -> tuple[int, int, int]:
        values = (self.sent, self.received, self.requests)
        self.sent = self.received = self.requests = 0
        return values


def run(args: argparse.Namespace) -> int:
    import requests

    from showroom.db.crypto import new_key
    from showroom.db.engine import make_engine, open_database
    from sync import local
    from sync.client import SyncClient, enroll

    emit("machine", os.cpu_count(), "cores", **machine_info())
    workdir = Path(tempfile.mkdtemp(prefix="showroom-bench-sync-"))
    server = None
    pg_db = None
    try:
        if args.sqlite:
            db_url = f"sqlite:///{workdir / 'server.db'}"
            backend = "sqlite"
        else:
            pg_db, db_url = new_pg_database(args.pg)
            backend = "postgresql"
        server = _Server(db_url, workdir, args.workers)
        server.start()
        dealer = server.cli("create-dealer", "基准测试店")[0]["dealer_id"]

        laptop_a = workdir / "a.db"
        demo_database(laptop_a, args.db, args.customers, args.seed)
        key_a, key_b = (None, None) if args.plain else (_encrypt(laptop_a), new_key())
        a = open_database(laptop_a, key_a)
        b = open_database(workdir / "b.db", key_b)
        rows = _synced_rows(a)
        log(f"laptop A holds {rows:,} synced rows")

        http_a, http_b = requests.Session(), requests.Session()
        wire_a, wire_b = _Wire(http_a), _Wire(http_b)

        # Enrolment codes are the admin's, made before the clock starts.
        code_a = server.code(dealer)
        started = time.perf_counter()
        enroll(a, server.url, code_a, "bench-a", http=http_a)
        enrolled = time.perf_counter()
        summary = SyncClient(a, http=http_a, verify=False).sync()
        done = time.perf_counter()
        sent, received, _ = wire_a.reset()
        common = {"backend": backend, "customers": args.customers, "rows": rows}
        # Laptops A and B: the uploader, and the fresh laptop set up as the app's.
        ab = {**common, "file": "plain" if args.plain else "encrypted"}
        emit("enrol_s", enrolled - started, "s", **ab)
        emit("first_sync_s", done - enrolled, "s", pushed=summary.pushed, **ab)
        emit("initial_upload_s", done - started, "s", target=10, **ab)
        emit("upload_bytes_per_row", (sent + received) / max(summary.pushed, 1), "B",
             sent=sent, received=received, **ab)  # fmt: skip

        offer = _await_snapshot(server, a, done)
        emit("snapshot_ready_s", time.perf_counter() - done, "s", snapshot_rows=offer["rows"],
             seq=offer["seq"], **common)  # fmt: skip
        emit("snapshot_bytes", offer["bytes"], "B", per_row=offer["bytes"] / offer["rows"],
             **common)  # fmt: skip

        def fresh_download(db, http, wire, name, metric, bytes_metric, *, snapshots, **extra):
            path = "snapshot" if snapshots and local.snapshot_wanted(db) else "pages"
            code = server.code(dealer)  # the admin's work, made before the clock starts
            started = time.perf_counter()
            enroll(db, server.url, code, name, http=http)
            pulled = SyncClient(db, http=http, verify=False, snapshots=snapshots).sync().pulled
            emit(metric, time.perf_counter() - started, "s", pulled=pulled, path=path,
                 file="encrypted" if db.encrypted else "plain", **extra, **common)  # fmt: skip
            sent, received, _ = wire.reset()
            emit(bytes_metric, (sent + received) / max(pulled, 1), "B", sent=sent,
                 received=received, path=path, **common)  # fmt: skip

        def other_download(name, metric, bytes_metric, *, snapshots, plain, held=False):
            key = None if plain else new_key()
            db = open_database(workdir / f"{name}.db", key)
            # Another program holding the file open: the copy goes through the log.
            holding = make_engine(workdir / f"{name}.db", key).connect() if held else None
            if holding is not None:
                holding.exec_driver_sql("SELECT count(*) FROM sqlite_master").all()
                holding.rollback()  # open, idle: no read transaction that checkpoints wait for
            http = requests.Session()
            extra = {"copy": "through the log"} if held else {}
            fresh_download(db, http, _Wire(http), name, metric, bytes_metric,
                           snapshots=snapshots, **extra)  # fmt: skip
            if holding is not None:
                holding.close()
                holding.engine.dispose()
            db.dispose()

        fresh_download(b, http_b, wire_b, "bench-b", "fresh_download_s",
                       "download_bytes_per_row", snapshots=True, target=10)  # fmt: skip
        if not args.plain:
            other_download("bench-e", "fresh_download_log_s", "download_log_bytes_per_row",
                           snapshots=True, plain=False, held=True)  # fmt: skip
            other_download("bench-c", "fresh_download_snapshot_s",
                           "download_snapshot_bytes_per_row", snapshots=True,
                           plain=True)  # fmt: skip
        other_download("bench-d", "fresh_download_pages_s", "download_pages_bytes_per_row",
                       snapshots=False, plain=args.plain)  # fmt: skip

        checks = _checksums_agree(a, b, http_a, http_b, ab)
        emit("replicas_identical", checks, "bool", **ab)

        _round_trips(a, b, http_a, http_b, args, ab)
        _devices(server, dealer, args, common)
        return 0
    finally:
        if server is not None:
            server.stop()
        if pg_db is not None:
            drop_pg_database(args.pg, pg_db)
        shutil.rmtree(workdir, ignore_errors=True)


def _encrypt(path: Path) -> bytes:
    """Turn the plain laptop file at ``path`` into an SQLCipher one, as the app's database is
    (not timed); returns its key."""
    from showroom.db.crypto import encrypt_in_place, new_key

    key = new_key()
    started = time.perf_counter()
    encrypt_in_place(path, key)
    log(f"  encrypted laptop A in {time.perf_counter() - started:.1f} s")
    return key


def _await_snapshot(server, laptop, since: float, timeout: float = 600) -> dict[str, Any]:
    """The snapshot the server offers laptop's dealer, once it does."""
    import requests

    from showroom.models.local import SyncKeys
    from sync import local, protocol

    token = local.get_state(laptop, SyncKeys.TOKEN)[SyncKeys.TOKEN]
    url = f"{server.url}{protocol.API_PREFIX}/sync/snapshot"
    log("waiting for the server's snapshot ...")
    while time.perf_counter() - since < timeout:
        answer = requests.get(url, headers=_headers(token, protocol), timeout=10)
        if answer.status_code == 200:
            return answer.json()
        time.sleep(0.5)
    raise SystemExit("the server made no snapshot; see its log")


def _synced_rows(db) -> int:
    from sqlalchemy import text

    from sync.local import synced_tables

    with db.engine.connect() as conn:
        return sum(
            conn.execute(text(f"SELECT count(*) FROM {table}")).scalar()
            for table in synced_tables()
        )


def _checksums_agree(a, b, http_a, http_b, common) -> bool:
    """A cycle with checksums on each laptop (as the app runs after a first sync); emits how
    long each took (``verify_s``: both sides' sums over every row, compared)."""
    from sync.client import SyncClient

    results = []
    for laptop, http, name in ((a, http_a, "uploader"), (b, http_b, "downloader")):
        started = time.perf_counter()
        summary = SyncClient(laptop, http=http).sync()
        emit("verify_s", time.perf_counter() - started, "s", laptop=name, **common)
        results.append(summary.checksum_ok)
    return all(results)


def _round_trips(a, b, http_a, http_b, args, common) -> None:
    from sqlalchemy import text

    from showroom.services.customers import update_customer
    from showroom.services.dealer import system_actor
    from sync.client import SyncClient

    client_a = SyncClient(a, http=http_a, verify=False)
    client_b = SyncClient(b, http=http_b, verify=False)
    with a.engine.connect() as conn:
        ids = [r[0] for r in conn.execute(text("SELECT id FROM customer LIMIT 200"))]
    rng = random.Random(args.seed)
    totals, pushes, pulls = [], [], []
    for index in range(args.edits):
        customer = rng.choice(ids)
        note = f"基准备注 {index} {uuid.uuid4().hex[:6]}"
        with a.session_scope() as session:
            update_customer(session, system_actor(session), customer, {"notes": note})
        started = time.perf_counter()
        client_a.sync()
        pushed = time.perf_counter()
        client_b.sync()
        pulled = time.perf_counter()
        with b.engine.connect() as conn:
            seen = conn.execute(
                text("SELECT notes FROM customer WHERE id = :id"), {"id": customer}
            ).scalar()
        if seen != note:
            raise SystemExit(f"edit {index} did not arrive: {seen!r}")
        totals.append((pulled - started) * 1000)
        pushes.append((pushed - started) * 1000)
        pulls.append((pulled - pushed) * 1000)
    emit("edit_round_trip_ms", median(totals), "ms", p95=percentile(totals, 95), target=200,
         push_ms=median(pushes), pull_ms=median(pulls), runs=len(totals), **common)  # fmt: skip


def _devices(server, dealer, args, common) -> None:
    import requests

    from sync import protocol

    tokens = []
    for index in range(args.devices):
        body = {"code": server.code(dealer), "device_name": f"sim-{index}"}
        body["device_id"] = str(uuid.uuid4())
        answer = requests.post(f"{server.url}/v1/enroll", json=body, timeout=30)
        answer.raise_for_status()
        tokens.append(answer.json()["token"])
    headers = _headers(tokens[0], protocol)
    customers = _customers(server, tokens[0], protocol)
    for phase, rate in (("max", None), ("paced", args.rate)):
        # Devices doing incremental syncs are up to date when a phase starts: the edits of the
        # phase before are not a backlog that all of them pull at once.
        meta = requests.get(f"{server.url}/v1/meta", headers=headers, timeout=30).json()
        cursor = meta["last_seq"]
        cpu = time.process_time()
        timed, errors, elapsed, results = _load(server.url, tokens, customers, cursor, args, rate)
        cpu = time.process_time() - cpu
        latencies = [ms for _, ms in timed]
        pulls = [ms for kind, ms in timed if kind == "pull"]
        pushes = [ms for kind, ms in timed if kind == "push"]
        emit(f"devices_{phase}_rps", len(latencies) / elapsed, "req/s", devices=args.devices,
             p50_ms=percentile(latencies, 50), p99_ms=percentile(latencies, 99),
             pull_p50_ms=percentile(pulls, 50), pull_p99_ms=percentile(pulls, 99),
             push_p50_ms=percentile(pushes, 50), push_p99_ms=percentile(pushes, 99),
             errors=errors, push_results=results, offered_rps=rate, target_rps=300,
             target_p99_ms=250, devices_cpu_s=cpu, **common)  # fmt: skip


def _load(
    url, tokens, customers, cursor, args, rate
) -> tuple[list[tuple[str, float]], int, float, dict[str, int]]:
    """Every device syncs in a loop (flat out, or paced to ``rate`` requests/s in all).

    Nine syncs in ten pull the newest page; the tenth pushes one edit. Each device starts at a
    random point of its ten, as independent laptops do: in step, all of them would push within
    the same moment. An edit is made over the customer's version and notes as last seen in a
    pulled page or a push's answer (``customers``: id -> (version, notes), shared), as a laptop
    makes it over the row it holds; two devices editing one customer at once still conflict.
    Like the app, each request carries the newest history mark the device was given, and asks
    for gzip.

    The devices speak HTTP with the standard library's client, one kept-alive connection each:
    they share the server's two cores, and ``requests`` (the app's client) would spend about
    twice the CPU per request on the devices' side, time the real laptops spend on their own.
    Returns the (kind, ms) of each answered request, the errors, the seconds and the number of
    pushes by result (applied, merged, conflict, ...).
    """
    import http.client
    from urllib.parse import urlencode, urlsplit

    from sync import protocol

    ids = sorted(customers)
    latencies: list[tuple[str, float]] = []
    results: dict[str, int] = {}
    errors = [0]
    lock = threading.Lock()
    stop_at = time.perf_counter() + args.seconds
    interval = len(tokens) / rate if rate else 0.0
    where = urlsplit(url)

    def device(token: str, seed: int) -> None:
        connection = http.client.HTTPConnection(where.hostname, where.port, timeout=30)
        headers = _headers(token, protocol)
        rng = random.Random(seed)
        since = cursor
        count = rng.randrange(10)
        mark = None
        next_at = time.perf_counter() + rng.random() * interval
        mine: list[tuple[str, float]] = []
        while True:
            if interval:
                pause = next_at - time.perf_counter()
                if pause > 0:
                    time.sleep(pause)
                next_at += interval
            if time.perf_counter() >= stop_at:
                break
            count += 1
            started = time.perf_counter()
            marked = {**headers, protocol.HISTORY_HEADER: mark} if mark else headers
            kind = "push" if count % 10 == 0 else "pull"
            try:
                if kind == "push":
                    row_id = rng.choice(ids)
                    version, notes = customers[row_id]
                    new_notes = f"模拟设备 {uuid.uuid4().hex[:8]}"
                    connection.request(
                        "POST",
                        f"{protocol.API_PREFIX}/sync/push",
                        body=_push_body(row_id, version, notes, new_notes, since, protocol),
                        headers={
                            **marked,
                            "Content-Encoding": "gzip",
                            "Content-Type": "application/json",
                        },
                    )
                else:
                    query = urlencode({"since": since, "limit": 1000})
                    connection.request(
                        "GET", f"{protocol.API_PREFIX}/sync/pull?{query}", headers=marked
                    )
                answer = connection.getresponse()
                data = answer.read()
                if answer.status != 200:
                    raise http.client.HTTPException(f"HTTP {answer.status}")
                if answer.getheader("Content-Encoding") == "gzip":
                    data = gzip.decompress(data)
                body = json.loads(data)
                for result in body.get("results", ()):  # the push's one op
                    if result["status"] != protocol.RESULT_REJECTED:
                        customers[row_id] = (result["version"], new_notes)
                    with lock:
                        results[result["status"]] = results.get(result["status"], 0) + 1
                for row in body.get("rows", ()):
                    if row["table"] == "customer":
                        customers[row["id"]] = (row["version"], row["data"].get("notes"))
                since = body.get("next_since", since)
                mark = body.get("history") or mark
                mine.append((kind, (time.perf_counter() - started) * 1000))
            except (OSError, http.client.HTTPException, ValueError):
                connection.close()  # reconnects on the next request
                with lock:
                    errors[0] += 1
        connection.close()
        with lock:
            latencies.extend(mine)

    threads = [threading.Thread(target=device, args=(t, i)) for i, t in enumerate(tokens)]
    began = time.perf_counter()
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return latencies, errors[0], time.perf_counter() - began, results


def _headers(token: str, protocol) -> dict[str, str]:
    return {
        "Authorization": f"Bearer {token}",
        protocol.SCHEMA_HEADER: str(protocol.SCHEMA_VERSION),
        "Accept-Encoding": "gzip",
    }


def _customers(server, token, protocol) -> dict[str, tuple[int, str | None]]:
    import requests

    answer = requests.get(
        f"{server.url}/v1/sync/pull", params={"since": 0, "limit": 2000},
        headers=_headers(token, protocol), timeout=60,
    ).json()  # fmt: skip
    return {
        r["id"]: (r["version"], r["data"].get("notes"))
        for r in answer["rows"]
        if r["table"] == "customer"
    }


def _push_body(
    row_id: str, version: int, notes: str | None, new_notes: str, cursor: int, protocol
) -> bytes:
    op = {
        "op_id": str(uuid.uuid4()),
        "table": "customer",
        "row_id": row_id,
        "op": "update",
        "fields": {"notes": {"new": new_notes, "base": notes}},
        "base_version": version,
        "created_at": "2026-11-22T00:00:00+00:00",
        "actor_id": None,
    }
    body = {"batch_id": str(uuid.uuid4()), "epoch": None, "cursor": cursor, "ops": [op]}
    return gzip.compress(json.dumps(body).encode())


class _Server:
    def __init__(self, db_url: str, workdir: Path, workers: int) -> None:
        import socket

        with socket.socket() as probe:
            probe.bind(("127.0.0.1", 0))
            self.port = probe.getsockname()[1]
        self.db_url = db_url
        self.workers = workers
        self.url = f"http://127.0.0.1:{self.port}"
        self.snapshots = workdir / "snapshots"
        self.log = open(workdir / "server.log", "w")  # noqa: SIM115 - closed in stop()
        self.process: subprocess.Popen | None = None

    def cli(self, *args: str) -> list[dict[str, Any]]:
        out = subprocess.run(
            [sys.executable, "-m", "sync.server.cli", *args, "--db", self.db_url],
            check=True, capture_output=True, text=True,
        ).stdout  # fmt: skip
        return [json.loads(line) for line in out.splitlines() if line.strip()]

    def code(self, dealer: str) -> str:
        return self.cli("enroll-code", "--dealer", dealer)[0]["code"]

    def start(self) -> None:
        import requests

        self.cli("migrate")
        self.process = subprocess.Popen(
            [sys.executable, "-m", "sync.server.cli", "serve", "--db", self.db_url,
             "--port", str(self.port), "--workers", str(self.workers),
             "--snapshots", str(self.snapshots)],
            stdout=self.log, stderr=subprocess.STDOUT,
        )  # fmt: skip
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            try:
                if requests.get(f"{self.url}/openapi.json", timeout=2).ok:
                    return
            except requests.RequestException:
                time.sleep(0.2)
        raise SystemExit("the server did not start; see its log")

    def stop(self) -> None:
        if self.process is not None:
            self.process.terminate()
            try:
                self.process.wait(10)
            except subprocess.TimeoutExpired:
                self.process.kill()
        self.log.close()


def new_pg_database(url: str) -> tuple[str, str]:
    """A new, empty database beside ``url``'s (libpq form): its name and SQLAlchemy URL."""
    import psycopg

    name = f"showroom_bench_{uuid.uuid4().hex[:8]}"
    with psycopg.connect(url, autocommit=True) as conn:
        conn.execute(f'CREATE DATABASE "{name}"')
    base = url.rsplit("/", 1)[0].replace("postgresql://", "postgresql+psycopg://", 1)
    return name, f"{base}/{name}"


def drop_pg_database(url: str, name: str) -> None:
    """Drop the database ``name`` made by :func:`new_pg_database` (connections and all)."""
    import psycopg

    with psycopg.connect(url, autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
