"""Domain rules the server checks on pushed rows, whichever laptop they came from.

- ``app_user.username`` is unique per dealer among live rows: an op breaking it is rejected.
- A demo car is never silently double-booked: overlapping live test drives are both kept and a
  ``double_booking`` conflict is recorded for a manager to settle.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable
from typing import Any

from sqlalchemy import Connection

from sync.server.records import Rec, find_records

USER_TABLE = "app_user"
TEST_DRIVE_TABLE = "test_drive"
# A change to any of these can create (or end) an overlap.
BOOKING_FIELDS = ("demo_car", "starts_at", "ends_at", "status", "deleted")
_KEY = {USER_TABLE: "username", TEST_DRIVE_TABLE: "demo_car"}


class RuleViolation(Exception):
    """The op breaks a rule; the message names the field."""


class Rules:
    """Rule state for one batch: the rows the rules look at, loaded once, kept current by the
    batch's own changes (the batch's records always win over what was loaded)."""

    def __init__(
        self,
        conn: Connection,
        dealer_id: str,
        records: dict[tuple[str, str], Rec],
        ops: Iterable[Any],
    ) -> None:
        self._records = records
        usernames: set[str] = set()
        cars: set[str] = set()
        for op in ops:
            current = records.get((op.table, op.row_id))
            stored = current.data if current is not None else {}
            if op.table == USER_TABLE:
                name = op.new.get("username", stored.get("username"))
                if isinstance(name, str):
                    usernames.add(name)
            elif op.table == TEST_DRIVE_TABLE:
                for car in (op.new.get("demo_car"), stored.get("demo_car")):
                    if isinstance(car, str):
                        cars.add(car)
        # rule key value (username, demo car) -> row id -> a row that holds or held it
        self._holders: dict[str, dict[Any, dict[str, Rec]]] = {USER_TABLE: {}, TEST_DRIVE_TABLE: {}}
        for rec in find_records(conn, dealer_id, USER_TABLE, "username", usernames):
            self.note(rec)
        for rec in find_records(conn, dealer_id, TEST_DRIVE_TABLE, "demo_car", cars):
            self.note(rec)

    def note(self, rec: Rec) -> None:
        """Remember a row the batch wrote, so later ops of the batch see it."""
        holders = self._holders.get(rec.table)
        if holders is None:
            return
        key = rec.data.get(_KEY[rec.table])
        holders.setdefault(key, {})[rec.row_id] = rec

    def _current(self, table: str, key: Any) -> list[Rec]:
        """Rows that hold or held ``key``, each in its latest state (the batch's wins)."""
        rows = self._holders[table].get(key, {})
        return [self._records.get((table, row_id), rec) for row_id, rec in rows.items()]

    def check(self, table: str, row_id: str, before: Rec | None, after: dict[str, Any]) -> None:
        """Raise :class:`RuleViolation` if the row's state ``after`` the op breaks a rule."""
        if table != USER_TABLE or after.get("deleted") is True:
            return
        name = after.get("username")
        unchanged = (
            before is not None
            and not before.deleted
            and before.in_db
            and before.data.get("username") == name
        )
        if unchanged:
            return
        for rec in self._current(USER_TABLE, name):
            if rec.row_id != row_id and not rec.deleted and rec.data.get("username") == name:
                raise RuleViolation(f"app_user.username: {name!r} is already taken")

    def overlapping_bookings(
        self, table: str, rec: Rec, changed: Iterable[str], created: bool
    ) -> list[Rec]:
        """Live bookings of the same demo car overlapping ``rec`` (already applied)."""
        if table != TEST_DRIVE_TABLE or not _is_live_booking(rec):
            return []
        if not created and not any(field in BOOKING_FIELDS for field in changed):
            return []
        car = rec.data.get("demo_car")
        start, end = _span(rec)
        found = []
        for other in self._current(TEST_DRIVE_TABLE, car):
            if other.row_id == rec.row_id or not _is_live_booking(other):
                continue
            if other.data.get("demo_car") != car:
                continue
            other_start, other_end = _span(other)
            if start < other_end and other_start < end:
                found.append(other)
        return found


def _is_live_booking(rec: Rec) -> bool:
    return not rec.deleted and rec.data.get("status") != "cancelled"


def _span(rec: Rec) -> tuple[dt.datetime, dt.datetime]:
    return (
        dt.datetime.fromisoformat(rec.data["starts_at"]),
        dt.datetime.fromisoformat(rec.data["ends_at"]),
    )
