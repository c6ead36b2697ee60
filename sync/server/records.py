"""Reading and writing the generic record store in bulk, and the dealer counter row."""

from __future__ import annotations

import dataclasses
import datetime as dt
import json
import secrets
from collections.abc import Iterable, Sequence
from typing import Any

from sqlalchemy import (
    JSON,
    Connection,
    and_,
    any_,
    bindparam,
    cast,
    func,
    insert,
    select,
    update,
)

from sync.protocol import Mark, canonical_json, format_mark
from sync.server.errors import epoch_changed
from sync.server.models import dealer, history, record


@dataclasses.dataclass
class Rec:
    """One record's state while a batch works on it."""

    table: str
    row_id: str
    version: int
    deleted: bool
    data: dict[str, Any]
    updated_by_device: str | None
    updated_by_actor: str | None
    updated_at: dt.datetime | None = None
    in_db: bool = True  # False: inserted by this batch
    dirty: bool = False
    # The enrolment that left the row exactly as its laptop holds it (models.record.clean_for).
    clean_for: str | None = None


@dataclasses.dataclass(frozen=True)
class DealerState:
    id: str
    name: str
    last_seq: int
    epoch: str
    epoch_base_seq: int
    purged_through: int
    # The id of the commit that reached last_seq (None before the first one).
    last_commit: str | None = None

    @property
    def head(self) -> Head:
        return self.last_seq, self.last_commit


def new_epoch() -> str:
    return secrets.token_hex(8)


# The dealer's counter as an answer reports it: (last_seq, id of the commit that reached it,
# None before the first commit with an id).
Head = tuple[int, "str | None"]


def history_value(head: Head) -> str | None:
    """The ``"history"`` value of an answer: ``"SEQ.ID"``, or None."""
    return None if head[1] is None else format_mark((head[0], head[1]))


def load_dealer(conn: Connection, dealer_id: str, *, lock: bool = False) -> DealerState:
    """The dealer's counter row; ``lock`` holds it until the transaction ends (serializing
    this dealer's writers on PostgreSQL; SQLite's BEGIN IMMEDIATE already serializes them)."""
    query = select(
        dealer.c.id,
        dealer.c.name,
        dealer.c.last_seq,
        dealer.c.epoch,
        dealer.c.epoch_base_seq,
        dealer.c.purged_through,
        dealer.c.last_commit,
    ).where(dealer.c.id == dealer_id)
    if lock:
        query = query.with_for_update()
    return DealerState(*conn.execute(query).one())


def check_epoch(
    conn: Connection, state: DealerState, client_epoch: str | None, cursor: int
) -> DealerState | None:
    """Restore detection. Returns None when all is well; otherwise the caller must commit (the
    new epoch is written here) and answer :func:`epoch_changed` for the returned state.

    A client epoch that differs from the dealer's means the client last synced with another
    history. A cursor beyond the last seq handed out means this server forgot changes the
    client saw: it was restored from an older backup, so it starts a new epoch.
    """
    if client_epoch and client_epoch != state.epoch:
        return state
    if cursor > state.last_seq:
        epoch = new_epoch()
        conn.execute(
            update(dealer)
            .where(dealer.c.id == state.id)
            .values(epoch=epoch, epoch_base_seq=state.last_seq)
        )
        return dataclasses.replace(state, epoch=epoch, epoch_base_seq=state.last_seq)
    return None


def history_base(conn: Connection, state: DealerState, marks: Sequence[Mark]) -> int | None:
    """Restore detection by history marks (``sync.protocol``, "History marks"), for a client on
    the dealer's current epoch: None when its newest mark is in this server's history (or too
    old to judge), else the base a new epoch must take.

    A mark (seq, id) the server holds proves it has every commit up to seq: a backup is a
    consistent snapshot, and commits after a restore get new random ids. So the base is the
    newest mark it holds below the oldest it does not (else the current epoch's base): never
    past where the backup ends, so laptops re-send at least everything that was lost.
    """
    if not marks or marks[0] == state.head:
        return None
    seqs = sorted({seq for seq, _ in marks if seq <= state.last_seq})
    held: dict[int, str] = {}
    if seqs:
        held = dict(
            conn.execute(
                select(history.c.seq, history.c.commit_id).where(
                    history.c.dealer_id == state.id, in_list(conn, history.c.seq, "seqs")
                ),
                {"seqs": seqs},
            ).all()
        )
    horizon: list[int | None] = []  # where the kept history starts; read once, if needed

    def lost(seq: int, commit: str) -> bool | None:
        """True: not this server's history; False: it is; None: cannot tell."""
        if seq > state.last_seq:
            return True
        if held.get(seq) == commit:
            return False
        if not horizon:
            horizon.append(
                conn.execute(
                    select(func.min(history.c.seq)).where(history.c.dealer_id == state.id)
                ).scalar()
            )
        return None if horizon[0] is None or seq < horizon[0] else True

    if not lost(*marks[0]):
        return None
    lowest_lost = min(seq for seq, commit in marks if lost(seq, commit))
    held_below = [seq for seq, commit in marks if seq < lowest_lost and lost(seq, commit) is False]
    return max([state.epoch_base_seq, *held_below])


def check_restore(
    conn: Connection,
    state: DealerState,
    client_epoch: str | None,
    cursor: int,
    marks: Sequence[Mark],
) -> DealerState | None:
    """:func:`check_epoch`, then for a client on this epoch :func:`history_base`; on a lost
    history a new epoch is written (the caller commits and answers as for check_epoch). Call it
    with the dealer's row locked."""
    changed = check_epoch(conn, state, client_epoch, cursor)
    if changed is not None:
        return changed
    base = history_base(conn, state, marks)
    if base is None:
        return None
    epoch = new_epoch()
    conn.execute(
        update(dealer).where(dealer.c.id == state.id).values(epoch=epoch, epoch_base_seq=base)
    )
    return dataclasses.replace(state, epoch=epoch, epoch_base_seq=base)


def raise_epoch_changed(state: DealerState) -> None:
    raise epoch_changed(state.epoch, state.epoch_base_seq)


def json_text(conn: Connection, key: str):
    """SQL for ``record.data ->> key`` on either backend."""
    if conn.dialect.name == "postgresql":
        return func.json_extract_path_text(cast(record.c.data, JSON), key)
    return func.json_extract(record.c.data, f"$.{key}")


def in_list(conn: Connection, column, name: str):
    """``column IN (:name...)``; on PostgreSQL ``= ANY(:name)`` with one array parameter, which
    plans in a fraction of the time of hundreds of separate parameters."""
    if conn.dialect.name == "postgresql":
        from sqlalchemy.dialects.postgresql import ARRAY

        return column == any_(bindparam(name, type_=ARRAY(column.type)))
    return column.in_(bindparam(name, expanding=True))


def load_records(
    conn: Connection, dealer_id: str, keys: dict[str, Iterable[str]]
) -> dict[tuple[str, str], Rec]:
    """The current state of the given rows (table -> row ids), one query per table."""
    found: dict[tuple[str, str], Rec] = {}
    for table_name, row_ids in keys.items():
        ids = list(set(row_ids))
        if not ids:
            continue
        query = select(
            record.c.row_id,
            record.c.version,
            record.c.deleted,
            record.c.data,
            record.c.updated_by_device,
            record.c.updated_by_actor,
        ).where(
            record.c.dealer_id == dealer_id,
            record.c.table_name == table_name,
            in_list(conn, record.c.row_id, "ids"),
        )
        for row_id, version, deleted, data, by_device, by_actor in conn.execute(
            query, {"ids": ids}
        ):
            found[(table_name, row_id)] = Rec(
                table_name, row_id, version, deleted, json.loads(data), by_device, by_actor
            )
    return found


def find_records(
    conn: Connection, dealer_id: str, table_name: str, key: str, values: Iterable[str]
) -> list[Rec]:
    """Live rows of one table whose content ``key`` is one of ``values`` (for domain rules)."""
    values = list(set(values))
    if not values:
        return []
    query = select(
        record.c.row_id,
        record.c.version,
        record.c.deleted,
        record.c.data,
        record.c.updated_by_device,
        record.c.updated_by_actor,
    ).where(
        record.c.dealer_id == dealer_id,
        record.c.table_name == table_name,
        record.c.deleted.is_(False),
        json_text(conn, key).in_(bindparam("values", expanding=True)),
    )
    return [
        Rec(table_name, row_id, version, deleted, json.loads(data), by_device, by_actor)
        for row_id, version, deleted, data, by_device, by_actor in conn.execute(
            query, {"values": values}
        )
    ]


def write_records(conn: Connection, dealer_id: str, recs: Iterable[Rec]) -> None:
    """Insert the new and update the changed records, each kind in one executemany."""
    inserts = []
    updates = []
    for rec in recs:
        if not rec.dirty:
            continue
        values = {
            "version": rec.version,
            "deleted": rec.deleted,
            "data": canonical_json(rec.data),
            "updated_at": rec.updated_at,
            "updated_by_device": rec.updated_by_device,
            "updated_by_actor": rec.updated_by_actor,
            "clean_for": rec.clean_for,
        }
        if rec.in_db:
            updates.append({"k_table": rec.table, "k_row": rec.row_id, **values})
        else:
            inserts.append(
                {"dealer_id": dealer_id, "table_name": rec.table, "row_id": rec.row_id, **values}
            )
    if inserts:
        conn.execute(insert(record), inserts)
    if updates:
        conn.execute(
            update(record).where(
                and_(
                    record.c.dealer_id == dealer_id,
                    record.c.table_name == bindparam("k_table"),
                    record.c.row_id == bindparam("k_row"),
                )
            ),
            # The SET clause comes from the keys of each parameter set.
            updates,
        )


def new_head(last_seq: int) -> Head:
    """The head of a commit that reaches ``last_seq``: a new random commit id with it."""
    return last_seq, secrets.token_hex(8)


def write_head(conn: Connection, dealer_id: str, head: Head, now: dt.datetime) -> None:
    """Move the dealer's counter to ``head`` and keep its history mark."""
    last_seq, commit = head
    conn.execute(
        update(dealer).where(dealer.c.id == dealer_id).values(last_seq=last_seq, last_commit=commit)
    )
    conn.execute(
        insert(history).values(dealer_id=dealer_id, seq=last_seq, commit_id=commit, at=now)
    )


def set_last_seq(conn: Connection, dealer_id: str, last_seq: int, now: dt.datetime) -> Head:
    """Move the dealer's counter and give this commit its random id; returns the new head."""
    head = new_head(last_seq)
    write_head(conn, dealer_id, head, now)
    return head


def ensure_dealer_record(conn: Connection, dealer_id: str, now: dt.datetime) -> None:
    """Make sure the dealer's own ``dealer`` row is in the record store, so laptops pull it."""
    exists = conn.execute(
        select(record.c.version).where(
            record.c.dealer_id == dealer_id,
            record.c.table_name == "dealer",
            record.c.row_id == dealer_id,
        )
    ).first()
    if exists is not None:
        return
    state = load_dealer(conn, dealer_id, lock=True)
    seq = state.last_seq + 1
    data = {"name": state.name, "code": None, "address": None, "phone": None, "deleted": False}
    write_records(
        conn,
        dealer_id,
        [
            Rec(
                "dealer",
                dealer_id,
                seq,
                False,
                data,
                None,
                None,
                updated_at=now,
                in_db=False,
                dirty=True,
            )
        ],
    )
    set_last_seq(conn, dealer_id, seq, now)
