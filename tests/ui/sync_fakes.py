"""Stand-ins for the sync client in UI tests: they write local state the way the client does."""

from __future__ import annotations

import datetime as dt
import threading
from dataclasses import dataclass

from showroom.models import LocalState
from showroom.models.local import SyncKeys


@dataclass(frozen=True)
class Summary:
    pushed: int = 0
    pulled: int = 0
    conflicts: int = 0
    rejected: int = 0
    seconds: float = 0.1
    clock_skew_seconds: float = 0.0
    checksum_ok: bool = True
    cycles: int = 1


class ServerUnreachable(Exception):
    """Shaped like the client's errors: ``message(language)``."""

    def message(self, language: str = "zh_CN") -> str:
        return "无法连接服务器" if language.startswith("zh") else "cannot reach the server"


def write_state(db, **values: str) -> None:
    with db.session_scope() as session:
        for key, value in values.items():
            session.merge(LocalState(key=getattr(SyncKeys, key), value=value))


def enrol_locally(db, dealer_name: str = "华通大众4S店") -> None:
    write_state(
        db,
        SERVER_URL="http://127.0.0.1:8765",
        TOKEN="device-token",
        DEALER_ID="0190a000-0000-7000-8000-0000000000d1",
        DEALER_NAME=dealer_name,
    )


class FakeClient:
    """Counts cycles and how many ran at once; can hold a cycle open, fail, or go offline."""

    def __init__(self, db, *, summary: Summary | None = None, error: Exception | None = None):
        self.db = db
        self.summary = summary or Summary()
        self.error = error
        self.gate: threading.Event | None = None
        self.entered = threading.Event()
        self.calls = 0
        self.active = 0
        self.max_active = 0
        self.threads: set[int] = set()
        self._lock = threading.Lock()

    def factory(self, database):
        assert database is self.db
        return self

    def sync(self, progress=None, cancel=None):
        with self._lock:
            self.calls += 1
            self.active += 1
            self.max_active = max(self.max_active, self.active)
            self.threads.add(threading.get_ident())
        try:
            now = dt.datetime.now(dt.UTC).isoformat()
            if progress:
                progress("push", 0, 2)
            self.entered.set()
            if self.gate is not None:
                self.gate.wait(10)
            if progress:
                progress("pull", 1, 2)
            if self.error is not None:
                write_state(self.db, LAST_ATTEMPT_AT=now, ONLINE="0", LAST_ERROR=str(self.error))
                raise self.error
            write_state(
                self.db, LAST_ATTEMPT_AT=now, LAST_SUCCESS_AT=now, ONLINE="1", LAST_ERROR=""
            )
            return self.summary
        finally:
            with self._lock:
                self.active -= 1
