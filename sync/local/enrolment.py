"""Adopting an enrolment: the dealer's ids, the system account, the initial upload."""

from __future__ import annotations

import uuid
from dataclasses import dataclass

from sqlalchemy import Connection, text

from showroom.db.base import utcnow
from showroom.db.engine import Database
from showroom.models.local import SyncKeys
from sync.local.store import (
    DEALER_TABLE,
    DEVICE_KEY,
    HISTORY_KEY,
    SYSTEM_USERNAME,
    LocalSyncError,
    quote,
    read_state,
    utc_text,
    write_state,
    writer,
)
from sync.local.upload import initial_upload_waiting, start_initial_upload

# --- enrolment -------------------------------------------------------------------------------


def system_user_id(dealer_id: str) -> str:
    """The id of a dealer's ``system`` account: the same on every laptop of the store."""
    return str(uuid.uuid5(uuid.UUID(dealer_id), SYSTEM_USERNAME))


def _id_columns() -> list[tuple[str, str]]:
    """(table, column) of every column that can hold a row id, in every local table."""
    from showroom.db.base import Base

    found = []
    for table in Base.metadata.sorted_tables:
        for column in table.columns:
            length = getattr(column.type, "length", None)
            if column.foreign_keys or (length == 36 and column.name != "id"):
                found.append((table.name, column.name))
    return found


def _rekey(conn: Connection, moves: list[tuple[str, str, str]]) -> None:
    """Give each row ``(table, old id, new id)`` of ``moves`` its new id, and every reference
    to it the same (FKs off). Each table is read once for all the moves and all its id
    columns, not once per column and move: on a laptop of 100,000 customers, whose file is
    encrypted, each extra pass decrypts the table again."""
    moves = [(table, old, new) for table, old, new in moves if old != new]
    if not moves:
        return
    for table, old, new in moves:
        conn.execute(
            text(f"UPDATE {quote(table)} SET id = :new WHERE id = :old"), {"new": new, "old": old}
        )
    params: dict[str, str] = {}
    for index, (_, old, new) in enumerate(moves):
        params[f"old{index}"], params[f"new{index}"] = old, new
    olds = ", ".join(f":old{index}" for index in range(len(moves)))
    cases = " ".join(f"WHEN :old{index} THEN :new{index}" for index in range(len(moves)))
    by_table: dict[str, list[str]] = {}
    for name, column in _id_columns():
        if name == "sync_outbox" and column not in ("row_id", "actor_id"):
            continue
        by_table.setdefault(name, []).append(quote(column))
    for name, columns in by_table.items():
        sets = ", ".join(f"{c} = CASE {c} {cases} ELSE {c} END" for c in columns)
        where = " OR ".join(f"{c} IN ({olds})" for c in columns)
        conn.execute(text(f"UPDATE {quote(name)} SET {sets} WHERE {where}"), params)
    # Ids inside pending ops' values (for example an insert op's dealer_id).
    for _, old, new in moves:
        conn.execute(
            text(
                "UPDATE sync_outbox SET fields = replace(fields, :old, :new) WHERE fields LIKE :pat"
            ),
            {"old": old, "new": new, "pat": f"%{old}%"},
        )


@dataclass(frozen=True)
class EnrolmentChanges:
    dealer_rekeyed: bool
    system_user_rekeyed: bool
    ops_queued: int


def adopt_enrolment(
    db: Database,
    *,
    server_url: str,
    token: str,
    device_id: str,
    dealer_id: str,
    dealer_name: str,
) -> EnrolmentChanges:
    """Make this database the laptop of the server's dealer ``dealer_id``.

    Stores the server, token and dealer; gives the local dealer row (and everything that
    points at it) the server's dealer id, and the ``system`` account its per-dealer id, so
    that two laptops of one store make one dealer and one system user. A laptop that never
    synced gets its outbox rebuilt from its rows (the initial upload). All in one transaction.
    """
    try:
        uuid.UUID(dealer_id)
    except (TypeError, ValueError, AttributeError) as error:
        raise LocalSyncError("dealer_id", "not a UUID") from error
    with writer(db, foreign_keys=False) as conn:
        never_synced = (
            int(read_state(conn, SyncKeys.CURSOR) or 0) == 0
            and not conn.execute(
                text("SELECT 1 FROM sync_outbox WHERE acknowledged LIMIT 1")
            ).first()
        )
        local_dealers = list(
            conn.execute(text("SELECT id FROM dealer WHERE NOT deleted ORDER BY id")).scalars()
        )
        moves: list[tuple[str, str, str]] = []
        if local_dealers and dealer_id not in local_dealers:
            moves.append((DEALER_TABLE, local_dealers[0], dealer_id))
        elif not local_dealers:
            # A placeholder until the pull brings the server's row, so that nothing here
            # creates a second dealer meanwhile.
            conn.execute(
                text(
                    "INSERT INTO dealer (id, server_version, deleted, updated_at, name)"
                    " VALUES (:id, 0, 0, :now, :name) ON CONFLICT (id) DO NOTHING"
                ),
                {"id": dealer_id, "now": utc_text(utcnow()), "name": dealer_name[:100]},
            )
        system_id = system_user_id(dealer_id)
        current = conn.execute(
            text("SELECT id FROM app_user WHERE username = :u"), {"u": SYSTEM_USERNAME}
        ).scalar()
        if current is not None and current != system_id:
            moves.append(("app_user", current, system_id))
        elif current is None:
            conn.execute(
                text(
                    "INSERT INTO app_user (id, server_version, deleted, updated_at, dealer_id,"
                    " username, display_name, role, active, system_account)"
                    " VALUES (:id, 0, 0, :now, :dealer, :u, '系统', 'admin', 1, 1)"
                ),
                {"id": system_id, "now": utc_text(utcnow()), "dealer": dealer_id, "u": "system"},
            )
        _rekey(conn, moves)
        write_state(conn, SyncKeys.SERVER_URL, server_url)
        write_state(conn, SyncKeys.TOKEN, token)
        write_state(conn, SyncKeys.DEALER_ID, dealer_id)
        write_state(conn, SyncKeys.DEALER_NAME, dealer_name)
        write_state(conn, DEVICE_KEY, device_id)
        # Marks of another server (or of this one before a re-enrolment) would read as a
        # restore there: the history starts anew with this enrolment.
        write_state(conn, HISTORY_KEY, None)
        if never_synced:
            conn.execute(text("DELETE FROM sync_outbox"))
            start_initial_upload(conn, restart=True)
            write_state(conn, SyncKeys.CURSOR, "0")
    db.device_id = device_id
    queued = initial_upload_waiting(db) if never_synced else 0
    rekeyed = {table for table, _, _ in moves}
    return EnrolmentChanges(DEALER_TABLE in rekeyed, "app_user" in rekeyed, queued)
