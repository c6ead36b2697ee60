"""Routine pulls' bookkeeping, written for many devices at once.

Each pull tells the server how far its device has applied (``device.last_pulled_seq``, which
the tombstone purge waits for) and when it was last seen. Written by the pull itself, that is a
transaction of its own for nearly every routine pull, beside the one statement that reads the
page (docs/performance.md, "Ninth measurement"). A routine pull (not part of a pull from 0)
therefore leaves its note here, and a background thread writes every device's latest note in
one short transaction at most :data:`INTERVAL` seconds later.

A note written late, or lost with a crashed process, only makes a device look a little further
behind than it is, which holds a purge back; it never lets one go further. A late note never
overwrites a newer state of the device: it is not written once the device was seen after it
(a push, or a pull from 0 written at once), nor while the device is in a pull from 0, whose
progress lets its pages continue below purged tombstones. In this process, :func:`flush` writes
the notes before anything reads them (the purge, the list of devices); another process (the
command line's ``purge``) may see them up to :data:`INTERVAL` seconds late.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import logging
import threading
import time
import weakref
from collections.abc import Iterator

from sqlalchemy import Connection, Engine, bindparam, not_, or_, update

from sync.server.db import write_transaction
from sync.server.models import device

log = logging.getLogger(__name__)

# The longest a routine pull's note waits before it is written.
INTERVAL = 1.0


@contextlib.contextmanager
def bookkeeping_transaction(engine: Engine) -> Iterator[Connection]:
    """A write of devices' bookkeeping only. Should a crash lose its commit, a device merely
    reads as a little further behind, which only delays a purge: on PostgreSQL it does not wait
    for the WAL flush. Commits holding data still wait."""
    with write_transaction(engine) as conn:
        if conn.dialect.name == "postgresql":
            conn.exec_driver_sql("SET LOCAL synchronous_commit = off")
        yield conn


class PullNotes:
    """The notes of one engine's routine pulls not written yet, and the thread that writes
    them (started by the first note, ended when none are left)."""

    def __init__(self, engine: Engine) -> None:
        # Weak: the engine is the key these notes are kept under (see notes_of).
        self._engine = weakref.ref(engine)
        self._lock = threading.Lock()
        self._pending: dict[str, tuple[int, dt.datetime]] = {}
        self._writer: threading.Thread | None = None

    def add(self, device_id: str, pulled_seq: int, seen_at: dt.datetime) -> None:
        with self._lock:
            self._pending[device_id] = (pulled_seq, seen_at)
            if self._writer is None:
                self._writer = threading.Thread(target=self._run, name="pull-notes", daemon=True)
                self._writer.start()

    def _run(self) -> None:
        while True:
            time.sleep(INTERVAL)
            with self._lock:
                if not self._pending:
                    self._writer = None
                    return
            try:
                self.flush()
            except Exception:  # kept for the next round; a writer that died would stop writing
                log.exception("writing pull notes failed")

    def flush(self) -> int:
        """Write the pending notes now; how many there were."""
        with self._lock:
            pending, self._pending = self._pending, {}
        engine = self._engine()
        if not pending or engine is None:
            return 0
        rows = [
            {"b_id": device_id, "b_seq": seq, "b_seen": seen}
            for device_id, (seq, seen) in pending.items()
        ]
        statement = (
            update(device)
            .where(
                device.c.id == bindparam("b_id"),
                not_(device.c.full_pull),
                or_(device.c.last_seen_at.is_(None), device.c.last_seen_at <= bindparam("b_seen")),
            )
            .values(last_pulled_seq=bindparam("b_seq"), last_seen_at=bindparam("b_seen"))
        )
        try:
            with bookkeeping_transaction(engine) as conn:
                conn.execute(statement, rows)
        except BaseException:
            with self._lock:  # put back what no newer note replaced meanwhile
                for device_id, note in pending.items():
                    self._pending.setdefault(device_id, note)
            raise
        return len(rows)


_notes: weakref.WeakKeyDictionary[Engine, PullNotes] = weakref.WeakKeyDictionary()
_notes_lock = threading.Lock()


def notes_of(engine: Engine) -> PullNotes:
    """The pending notes of ``engine``'s routine pulls (one set per engine)."""
    with _notes_lock:
        found = _notes.get(engine)
        if found is None:
            found = _notes[engine] = PullNotes(engine)
        return found


def flush(engine: Engine) -> int:
    """Write the notes of ``engine``'s routine pulls that are still pending in this process."""
    with _notes_lock:
        found = _notes.get(engine)
    return found.flush() if found is not None else 0
