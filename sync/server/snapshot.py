"""Per-dealer snapshots: a fresh laptop's first download as one file.

A laptop that starts from nothing would otherwise pull every row page by page, then build its
secondary indexes and its search index: for a store of 100,000 customers (1.2 million rows) that
is most of a minute of the laptop's time. Instead the server keeps, for each dealer with at
least ``Settings.snapshot_min_rows`` rows, a laptop database holding them exactly as a laptop
that pulled them would (made by the laptop's own code, :func:`sync.local.apply_pull_page`),
its indexes and search keys built, compressed with zstd. A fresh laptop copies it in
(:mod:`sync.local.snapshot`) and pulls only what changed after it.

A snapshot is a cache, not state. A server without one, or whose snapshot no longer fits (another
epoch, tombstones purged past it, a laptop schema of another version), serves pages as before;
several server processes or hosts each keep their own. The files of a dealer live in
``<snapshot_dir>/<dealer id>/``: ``snapshot-<seq>.sqlite.zst`` and ``snapshot.json``, the
description of the newest, replaced last (atomically) once its file is complete.

A :class:`SnapshotKeeper` thread in each server process (re)builds a dealer's snapshot once its
rows have grown enough and the dealer has been quiet for one check, so that a build never
competes with the upload that made it necessary. A lock file keeps builds to one at a time per
dealer across processes. A customer erased after a snapshot (a PIPL request) withdraws it at the
next check, files and all: the personal data it still holds is not kept, nor offered, and the
rebuild holds the erased state.
"""

from __future__ import annotations

import hashlib
import json
import logging
import os
import sqlite3
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import asdict, dataclass
from pathlib import Path

import orjson
from sqlalchemy import Engine, select

from showroom.ids import new_id
from sync import protocol
from sync.server.db import read_transaction, utcnow
from sync.server.models import dealer, record
from sync.server.pull import page_rows
from sync.server.records import load_dealer

log = logging.getLogger(__name__)

DESCRIPTION = "snapshot.json"
LOCK = "build.lock"
# A lock file this much older than its last touch belongs to a build that died.
LOCK_STALE_SECONDS = 600
# Rows per page the builder reads: a laptop's largest page.
BUILD_PAGE_ROWS = protocol.MAX_PULL_LIMIT
# zstd level: 3 compresses a laptop database about 3:1 at several hundred MB/s.
ZSTD_LEVEL = 3
# The table whose rows carry ``erased_at`` (showroom.services.privacy).
ERASABLE_TABLE = "customer"
# Snapshot files kept per dealer: the newest and the one before, which a laptop may still be
# downloading when the newest replaces it.
KEEP_FILES = 2


@dataclass(frozen=True)
class Snapshot:
    """What ``snapshot.json`` holds, and the answer of ``GET /v1/sync/snapshot``."""

    seq: int  # every row up to this version is in the file, in its state at the build
    epoch: str
    schema: str  # the laptop database's migration revision
    rows: int
    bytes: int  # of the compressed file
    sha256: str  # of the compressed file
    built_at: str
    # Of the SQLite file, unpacked (0: not told, a snapshot built before it was): an encrypted
    # laptop unpacks it in memory, and only when it fits.
    unpacked: int = 0

    @property
    def file_name(self) -> str:
        return f"snapshot-{self.seq}.sqlite.zst"


def laptop_schema() -> str:
    """The migration revision of a laptop database made by this code."""
    from showroom.db.migrate import head_revision

    return head_revision()


def dealer_dir(directory: Path, dealer_id: str) -> Path:
    # Dealer ids are UUIDs made by this server; anything else never names a folder.
    if not dealer_id or any(c not in "0123456789abcdef-" for c in dealer_id):
        raise ValueError(f"dealer: not a dealer id: {dealer_id!r}")
    return directory / dealer_id


def current(directory: Path, dealer_id: str) -> Snapshot | None:
    """The dealer's newest snapshot, if its file is there."""
    folder = dealer_dir(directory, dealer_id)
    try:
        data = json.loads((folder / DESCRIPTION).read_text("utf-8"))
        found = Snapshot(**data)
    except (OSError, ValueError, TypeError):
        return None
    if not (folder / found.file_name).is_file():
        return None
    return found


def servable(found: Snapshot | None, epoch: str, purged_through: int) -> bool:
    """Whether a laptop may start from ``found`` now: same history, no tombstone purged past
    it (a laptop starting there would be sent to a full resync), and this code's schema."""
    return (
        found is not None
        and found.epoch == epoch
        and found.seq >= purged_through
        and found.schema == laptop_schema()
    )


def file_path(directory: Path, dealer_id: str, seq: int) -> Path | None:
    """The file of the dealer's snapshot at ``seq``, if it is still kept."""
    path = dealer_dir(directory, dealer_id) / f"snapshot-{seq}.sqlite.zst"
    return path if path.is_file() else None


def withdraw(directory: Path, dealer_id: str) -> None:
    """Stop offering the dealer's snapshot and delete its files (the description first)."""
    folder = dealer_dir(directory, dealer_id)
    (folder / DESCRIPTION).unlink(missing_ok=True)
    for path in folder.glob("snapshot-*.sqlite.zst"):
        path.unlink(missing_ok=True)


def erased_between(engine: Engine, dealer_id: str, after: int, through: int) -> bool:
    """Whether a customer of the dealer was erased by a change in versions (after, through]."""
    with read_transaction(engine) as conn:
        changed = conn.execute(
            select(record.c.data).where(
                record.c.dealer_id == dealer_id,
                record.c.version > after,
                record.c.version <= through,
                record.c.table_name == ERASABLE_TABLE,
            )
        ).scalars()
        return any(orjson.loads(data).get("erased_at") for data in changed)


@contextmanager
def _build_lock(folder: Path) -> Iterator[Path | None]:
    """The dealer's build lock (its path), or None when another build holds it."""
    path = folder / LOCK
    try:
        fd = os.open(path, os.O_CREAT | os.O_EXCL | os.O_WRONLY)
    except FileExistsError:
        try:
            stale = time.time() - path.stat().st_mtime > LOCK_STALE_SECONDS
        except FileNotFoundError:
            stale = False
        if not stale:
            yield None
            return
        log.warning("snapshot: taking over a stale build lock in %s", folder)
        path.unlink(missing_ok=True)
        try:
            fd = os.open(path, os.O_CREAT | os.O_EXCL | os.O_WRONLY)
        except FileExistsError:
            yield None
            return
    try:
        os.write(fd, f"{os.getpid()}\n".encode())
        os.close(fd)
        yield path
    finally:
        path.unlink(missing_ok=True)


def build(engine: Engine, directory: Path, dealer_id: str) -> Snapshot | None:
    """Build the dealer's snapshot now; None when another build of it is under way, or the
    dealer's history changed during the build (a restore: the next check builds anew)."""
    folder = dealer_dir(directory, dealer_id)
    folder.mkdir(parents=True, exist_ok=True)
    with _build_lock(folder) as lock:
        if lock is None:
            return None
        for leftover in folder.glob("build-*"):
            leftover.unlink(missing_ok=True)  # of a build that died; the lock is ours
        work = folder / f"build-{new_id()}.db"
        try:
            made = _build_into(engine, dealer_id, work, lock)
            if made is None:
                return None
            seq, epoch, rows = made
            return _publish(folder, work, seq, epoch, rows)
        finally:
            for suffix in ("", "-wal", "-shm", ".zst"):
                Path(f"{work}{suffix}").unlink(missing_ok=True)


def _build_into(engine: Engine, dealer_id: str, work: Path, lock: Path):
    """Pull the dealer's rows into a new laptop database at ``work``, as a fresh laptop would.
    Returns (seq, epoch, rows), or None when the epoch changed meanwhile."""
    from showroom.db.engine import open_database
    from sync import local
    from sync.local.store import quote

    with read_transaction(engine) as conn:
        epoch = load_dealer(conn, dealer_id).epoch
    db = open_database(work)
    try:
        local.begin_bulk_download(db)
        since = 0
        while True:
            with read_transaction(engine) as conn:
                text, count, last = page_rows(
                    conn, dealer_id, since, BUILD_PAGE_ROWS, far_behind=True
                )
            page = {
                "rows": orjson.loads(f"[{text}]"),
                "next_since": last if last is not None else since,
                "has_more": count > BUILD_PAGE_ROWS,
            }
            result = local.apply_pull_page(db, page, since=since)
            since = result.next_since
            os.utime(lock)  # still alive
            if not result.has_more:
                break
        local.end_bulk_download(db)
        local.rebuild_search_if_needed(db)
        with db.engine.begin() as conn:
            # Nothing of this builder's own identity goes out with the file.
            conn.exec_driver_sql("DELETE FROM local_state")
            rows = sum(
                conn.exec_driver_sql(f"SELECT count(*) FROM {quote(name)}").scalar()
                for name in local.synced_tables()
            )
        with db.engine.connect() as conn:
            conn.exec_driver_sql("PRAGMA wal_checkpoint(TRUNCATE)")
    finally:
        db.dispose()
    raw = sqlite3.connect(work)
    try:
        # A file a laptop attaches as it is, without a write-ahead log of its own.
        raw.execute("PRAGMA journal_mode = DELETE")
    finally:
        raw.close()
    with read_transaction(engine) as conn:
        if load_dealer(conn, dealer_id).epoch != epoch:
            log.warning("snapshot of dealer %s dropped: its history changed", dealer_id)
            return None
    return since, epoch, rows


def _publish(folder: Path, work: Path, seq: int, epoch: str, rows: int) -> Snapshot:
    import zstandard

    packed = Path(f"{work}.zst")
    digest = hashlib.sha256()
    size = 0
    compressor = zstandard.ZstdCompressor(level=ZSTD_LEVEL)
    with open(work, "rb") as source, open(packed, "wb") as target:
        chunks = compressor.read_to_iter(
            source, size=work.stat().st_size, read_size=1 << 20, write_size=1 << 20
        )
        for chunk in chunks:
            digest.update(chunk)
            size += len(chunk)
            target.write(chunk)
        target.flush()
        os.fsync(target.fileno())
    made = Snapshot(
        seq=seq,
        epoch=epoch,
        schema=laptop_schema(),
        rows=rows,
        bytes=size,
        sha256=digest.hexdigest(),
        built_at=utcnow().isoformat(),
        unpacked=work.stat().st_size,
    )
    os.replace(packed, folder / made.file_name)
    description = folder / f"{DESCRIPTION}.part"
    description.write_text(json.dumps(asdict(made)), "utf-8")
    os.replace(description, folder / DESCRIPTION)
    kept = sorted(folder.glob("snapshot-*.sqlite.zst"), key=_seq_of, reverse=True)
    for old in kept[KEEP_FILES:]:
        old.unlink(missing_ok=True)
    log.info("snapshot of dealer in %s: %d rows through %d, %d bytes", folder, rows, seq, size)
    return made


def _seq_of(path: Path) -> int:
    try:
        return int(path.name.split("-", 1)[1].split(".", 1)[0])
    except (IndexError, ValueError):
        return -1


def due(found: Snapshot | None, last_seq: int, epoch: str, purged: int, min_rows: int) -> bool:
    """Whether a dealer's snapshot should be (re)built: none yet or unusable, once the dealer
    has ``min_rows`` changes; else once the changes since it reach ``min_rows`` and a quarter
    of it (a large store's snapshot is not rebuilt for every few thousand edits)."""
    if last_seq < min_rows:
        return False
    if not servable(found, epoch, purged):
        return True
    assert found is not None
    return last_seq - found.seq >= max(min_rows, found.seq // 4)


class SnapshotKeeper:
    """A daemon thread that checks every ``interval`` seconds which dealers need a snapshot,
    and builds those that were quiet since the check before."""

    def __init__(self, engine: Engine, directory: Path, min_rows: int, interval: float) -> None:
        self.engine = engine
        self.directory = directory
        self.min_rows = min_rows
        self.interval = interval
        self._stop = threading.Event()
        self._seen: dict[str, int] = {}
        # dealer -> (seq of its snapshot, version through which changes since it were looked
        # at for erasures)
        self._scanned: dict[str, tuple[int, int]] = {}
        self._thread = threading.Thread(target=self._run, name="snapshot-keeper", daemon=True)

    def start(self) -> None:
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        self._thread.join(timeout=5)

    def _run(self) -> None:
        while not self._stop.wait(self.interval):
            try:
                self.check()
            except Exception:  # a keeper that died would silently stop keeping
                log.exception("snapshot check failed")

    def check(self) -> list[Snapshot]:
        """One check; returns the snapshots it built."""
        with read_transaction(self.engine) as conn:
            dealers = conn.execute(
                select(dealer.c.id, dealer.c.last_seq, dealer.c.epoch, dealer.c.purged_through)
            ).all()
        built = []
        for dealer_id, last_seq, epoch, purged in dealers:
            quiet = self._seen.get(dealer_id) == last_seq
            self._seen[dealer_id] = last_seq
            if self._stop.is_set():
                continue
            found = current(self.directory, dealer_id)
            if found is not None and self._erased_since(dealer_id, found, last_seq):
                log.info("snapshot of dealer %s withdrawn: a customer was erased", dealer_id)
                withdraw(self.directory, dealer_id)
                found = None
            if not quiet:
                continue
            if due(found, last_seq, epoch, purged, self.min_rows):
                started = time.perf_counter()
                made = build(self.engine, self.directory, dealer_id)
                if made is not None:
                    log.info(
                        "snapshot of dealer %s built in %.1f s",
                        dealer_id,
                        time.perf_counter() - started,
                    )
                    built.append(made)
        return built

    def _erased_since(self, dealer_id: str, found: Snapshot, last_seq: int) -> bool:
        """Whether a customer was erased after ``found``: each check looks at the changes
        since the one before (all of them since the snapshot when it is new to this keeper)."""
        seq, through = self._scanned.get(dealer_id, (found.seq, found.seq))
        if seq != found.seq:
            through = found.seq
        erased = last_seq > through and erased_between(self.engine, dealer_id, through, last_seq)
        self._scanned[dealer_id] = (found.seq, max(through, last_seq))
        return erased
