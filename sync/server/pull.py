"""Reading: pull pages (``GET /v1/sync/pull``), meta and the per-table checksum."""

from __future__ import annotations

import datetime as dt
import hashlib
import json
from collections.abc import Sequence

from sqlalchemy import DateTime, Engine, or_, select, type_coerce, update

from sync import protocol
from sync.protocol import Mark
from sync.server import notes
from sync.server.auth import DeviceContext
from sync.server.config import Settings
from sync.server.db import read_transaction, single_read, utcnow, write_transaction
from sync.server.errors import ApiError, bad_request
from sync.server.models import device, record
from sync.server.records import (
    DealerState,
    Head,
    check_restore,
    history_base,
    history_value,
    load_dealer,
    raise_epoch_changed,
)
from sync.server.schema import MAX_INT, synced_tables

# How stale ``device.last_seen_at`` may get before a pull that changes nothing else writes it.
SEEN_GRANULARITY = dt.timedelta(seconds=60)


def _checked_dealer(
    engine: Engine, who: DeviceContext, epoch: str | None, cursor: int, marks: Sequence[Mark]
) -> DealerState:
    """The dealer's state after the restore checks (409 when the epoch changed)."""
    state = who.dealer
    if (epoch and epoch != state.epoch) or cursor > state.last_seq:
        state = _settle_restore(engine, who, epoch, cursor, marks)
    return state


def _settle_restore(
    engine: Engine, who: DeviceContext, epoch: str | None, cursor: int, marks: Sequence[Mark]
) -> DealerState:
    """Rare: decide under the lock, where a concurrent push cannot move last_seq. Raises 409
    when the client must recover; otherwise the dealer's state as read under the lock."""
    with write_transaction(engine) as conn:
        state = load_dealer(conn, who.dealer_id, lock=True)
        changed = check_restore(conn, state, epoch, cursor, marks)
    if changed is not None:
        raise_epoch_changed(changed)
    return state


def pull(
    engine: Engine,
    who: DeviceContext,
    since: int,
    limit: int,
    epoch: str | None,
    *,
    skip_own: bool = False,
    marks: Sequence[Mark] = (),
) -> str:
    """One page of the dealer's rows changed after ``since``, as JSON text.

    Rows come in version order, each in its latest state. Because a dealer's pushes are
    serialized and commit whole, the committed versions always form a prefix: a page never
    skips a row that a later page would need. 410 when ``since`` is behind purged tombstones.

    With ``skip_own`` the rows this enrolment wrote exactly as its laptop holds them
    (``record.clean_for``) are left out, and ``next_since`` still moves past them. A laptop
    asks for it only while it trusts its own rows: never in a full resync or a recovery.
    """
    if not 0 <= since <= MAX_INT:
        raise bad_request("since: expected a whole number >= 0")
    if limit < 1:
        raise bad_request("limit: expected a whole number >= 1")
    limit = min(limit, protocol.MAX_PULL_LIMIT)
    state = _checked_dealer(engine, who, epoch, since, marks)
    # A pull that started from 0 and goes on page by page (a full resync, also one resumed
    # after a kill) does not need purged tombstones: it may continue below purged_through.
    continuing = who.full_pull and since >= who.last_pulled_seq
    if 0 < since < state.purged_through and not continuing:
        raise ApiError(
            410,
            protocol.ERROR_RESYNC_REQUIRED,
            f"since: deleted rows up to {state.purged_through} were purged; re-sync from 0",
        )
    own = skip_own and bool(who.enrolment)
    # Keyset paging wants the (dealer_id, version) index walked in order. Right after a bulk
    # load, before the table's statistics catch up, the planner would rather sort every row
    # after the cursor for each page: a page far behind the counter forbids the sort first.
    far_behind = state.last_seq - since > 10 * limit
    # Most pulls are one statement: the page (marks held, near the counter).
    reader = read_transaction if marks or far_behind else single_read
    page = {"skip_enrolment": who.enrolment if own else None, "far_behind": far_behind}
    with reader(engine) as conn:
        lost = history_base(conn, state, marks) is not None
        if not lost:
            rows_text, count, last_version = page_rows(conn, who.dealer_id, since, limit, **page)
    if lost:
        state = _settle_restore(engine, who, epoch, since, marks)
        with read_transaction(engine) as conn:
            rows_text, count, last_version = page_rows(conn, who.dealer_id, since, limit, **page)
    has_more = count > limit
    next_since = last_version if last_version is not None else since
    if own and not has_more:
        # Every row up to the counter read with the token was committed before this read (a
        # dealer's pushes commit whole, in order), so the rows left out up to it are passed too.
        next_since = max(next_since, state.last_seq)
    _note_pulled(engine, who, since, (since == 0 or continuing) and has_more)
    return (
        f'{{"rows":[{rows_text}],"next_since":{next_since},'
        f'"has_more":{"true" if has_more else "false"},'
        f'"last_seq":{max(state.last_seq, next_since)},"history":{_json_value(state.head)},'
        f'"server_time":"{utcnow().isoformat()}"}}'
    )


def page_rows(
    conn,
    dealer_id: str,
    since: int,
    limit: int,
    *,
    skip_enrolment: str | None = None,
    far_behind: bool = False,
) -> tuple[str, int, int | None]:
    """The dealer's rows after ``since`` in version order, ``limit`` at most: the JSON text of
    a page's ``rows`` without its brackets, how many rows there were up to ``limit + 1``, and
    the last version within the page. ``skip_enrolment``: leave out the rows that enrolment
    holds exactly as stored. ``far_behind`` (in a transaction, PostgreSQL): the planner may
    not sort, so it walks the version index; a routine pull is left alone, the extra statement
    would cost it more than it saves."""
    if conn.dialect.name == "postgresql":
        return _page_in_postgres(conn, dealer_id, since, limit, skip_enrolment, far_behind)
    return _page_in_python(conn, dealer_id, since, limit, skip_enrolment)


def _page_in_postgres(
    conn, dealer_id: str, since: int, limit: int, skip_enrolment: str | None, far_behind: bool
) -> tuple[str, int, int | None]:
    """:func:`page_rows`, the JSON made by PostgreSQL (the stored data spliced in)."""
    skip = " AND (clean_for IS NULL OR clean_for != %(enrolment)s)" if skip_enrolment else ""
    if far_behind:
        conn.exec_driver_sql("SET LOCAL enable_sort = off")
    text, count, last = conn.exec_driver_sql(
        "SELECT string_agg(piece, ',' ORDER BY version) FILTER (WHERE n <= %(limit)s),"
        " count(*), max(version) FILTER (WHERE n <= %(limit)s) FROM ("
        " SELECT version, row_number() OVER (ORDER BY version) AS n,"
        " '{\"table\":' || to_json(table_name)::text || ',\"id\":' || to_json(row_id)::text"
        " || ',\"version\":' || version"
        " || ',\"deleted\":' || CASE WHEN deleted THEN 'true' ELSE 'false' END"
        " || ',\"data\":' || data"
        " || ',\"updated_at\":\"' || to_char(updated_at, 'YYYY-MM-DD\"T\"HH24:MI:SS.US')"
        " || '+00:00\",\"updated_by_device\":'"
        " || COALESCE(to_json(updated_by_device)::text, 'null') || '}' AS piece"
        " FROM record WHERE dealer_id = %(dealer)s AND version > %(since)s" + skip +
        " ORDER BY version LIMIT %(fetch)s) page",
        {"limit": limit, "fetch": limit + 1, "dealer": dealer_id, "since": since,
         "enrolment": skip_enrolment},
    ).one()  # fmt: skip
    return text or "", count, last


def _page_in_python(
    conn, dealer_id: str, since: int, limit: int, skip_enrolment: str | None
) -> tuple[str, int, int | None]:
    """:func:`page_rows`, the rows read out and their JSON assembled here."""
    query = select(
        record.c.table_name,
        record.c.row_id,
        record.c.version,
        record.c.deleted,
        record.c.data,
        # Stored as naive UTC: read as is and formatted once per distinct value below.
        type_coerce(record.c.updated_at, DateTime()),
        record.c.updated_by_device,
    ).where(record.c.dealer_id == dealer_id, record.c.version > since)
    if skip_enrolment:
        query = query.where(or_(record.c.clean_for.is_(None), record.c.clean_for != skip_enrolment))
    rows = conn.execute(query.order_by(record.c.version).limit(limit + 1)).all()
    count = len(rows)
    rows = rows[:limit]
    # The stored data is already canonical JSON: splice it in rather than parse and re-encode.
    # Tables, devices and timestamps repeat from row to row (a batch shares its timestamp):
    # each distinct one is encoded once.
    tables: dict[str, str] = {}
    devices: dict[str | None, str] = {}
    moments: dict[dt.datetime, str] = {}
    parts = []
    append = parts.append
    for table_name, row_id, version, deleted, data, updated_at, by_device in rows:
        table_text = tables.get(table_name)
        if table_text is None:
            table_text = tables[table_name] = f'{{"table":{_json_text(table_name)},"id":'
        device_text = devices.get(by_device)
        if device_text is None:
            device_text = devices[by_device] = f',"updated_by_device":{json.dumps(by_device)}}}'
        moment = moments.get(updated_at)
        if moment is None:
            moment = moments[updated_at] = f',"updated_at":"{updated_at.isoformat()}+00:00"'
        append(
            f'{table_text}{_json_text(row_id)},"version":{version},'
            f'"deleted":{"true" if deleted else "false"},"data":{data}{moment}{device_text}'
        )
    return ",".join(parts), count, rows[-1][2] if rows else None


def _json_text(value: str) -> str:
    """``json.dumps(value)`` for text, without the encoder's overhead in the common case."""
    if value.isascii() and value.isprintable() and '"' not in value and "\\" not in value:
        return f'"{value}"'
    return json.dumps(value)


def _note_pulled(engine: Engine, who: DeviceContext, since: int, full_pull: bool) -> None:
    """Remember how far the device has applied (tombstone purge waits for it) and whether it is
    in a pull from 0, cheaply: a routine pull's note is written a moment later, with those of
    other devices (:mod:`sync.server.notes`); a pull from 0 starting, going on or ending is
    written at once."""
    now = utcnow()
    fresh = who.last_seen_at is not None and now - who.last_seen_at < SEEN_GRANULARITY
    if since == who.last_pulled_seq and fresh and full_pull == who.full_pull:
        return
    if not full_pull and not who.full_pull:
        notes.notes_of(engine).add(who.id, since, now)
        return
    with notes.bookkeeping_transaction(engine) as conn:
        conn.execute(
            update(device)
            .where(device.c.id == who.id)
            .values(last_pulled_seq=since, last_seen_at=now, full_pull=full_pull)
        )


def _json_value(head: Head) -> str:
    value = history_value(head)
    return "null" if value is None else f'"{value}"'


def meta(
    engine: Engine,
    who: DeviceContext,
    settings: Settings,
    epoch: str | None = None,
    marks: Sequence[Mark] = (),
) -> dict:
    """The dealer's counter, epoch and purge state, and the server's limits. Marks that show a
    restore start a new epoch here, which the client sees and recovers from."""
    state = who.dealer
    if marks and (not epoch or epoch == state.epoch):
        with read_transaction(engine) as conn:
            lost = history_base(conn, state, marks) is not None
        if lost:
            with write_transaction(engine) as conn:
                state = load_dealer(conn, who.dealer_id, lock=True)
                state = check_restore(conn, state, epoch, 0, marks) or state
    return {
        "dealer_id": state.id,
        "dealer_name": state.name,
        "device_id": who.id,
        "last_seq": state.last_seq,
        "epoch": state.epoch,
        "epoch_base_seq": state.epoch_base_seq,
        "purged_through": state.purged_through,
        "history": history_value(state.head),
        "server_time": utcnow().isoformat(),
        "min_schema": settings.min_schema,
        "max_batch_ops": settings.max_batch_ops,
        "max_bulk_rows": settings.max_bulk_rows,
        "clears_deleted_rows": True,
    }


# Row ids whose JSON text is the id in quotes, the same from PostgreSQL's to_json as from
# Python's json.dumps.
_PLAIN_ID = "^[0-9A-Za-z_.:-]*$"


def _sum_in_postgres(
    conn, dealer_id: str, through: int, accumulators: dict[str, list[int]]
) -> None:
    """Add the digests of the dealer's plain-id rows up to ``through``, per table, computed by
    PostgreSQL: sha256 of the same text as :func:`sync.protocol.row_digest`, XORed by bit_xor
    (PostgreSQL 14 or newer)."""
    rows = conn.exec_driver_sql(
        "SELECT table_name, count(*), bit_xor(('x' || encode(sha256(convert_to("
        "'[' || to_json(row_id)::text || ',' || version || ','"
        " || CASE WHEN deleted THEN 'true' ELSE 'false' END || ',' || data || ']',"
        " 'UTF8')), 'hex'))::bit(256))::text"
        " FROM record WHERE dealer_id = %(dealer)s AND version <= %(through)s"
        " AND row_id ~ %(plain)s GROUP BY table_name",
        {"dealer": dealer_id, "through": through, "plain": _PLAIN_ID},
    )
    for table_name, count, bits in rows:
        acc = accumulators.setdefault(table_name, [0, 0])
        acc[0] += count
        acc[1] ^= int(bits, 2)


def checksum(engine: Engine, who: DeviceContext) -> dict:
    """``{"through", "tables": {table: {"count", "hash"}}}`` over every row, tombstones too.

    Same result as :func:`sync.protocol.table_checksum` over (id, version, deleted, data), but
    the digest text is assembled from the stored canonical JSON instead of parsing every row.
    Every synced table is listed, empty ones with count 0.
    """
    accumulators: dict[str, list[int]] = {name: [0, 0] for name in synced_tables()}
    dumps = json.dumps
    sha256 = hashlib.sha256
    snapshot = engine
    if engine.dialect.name == "postgresql":
        # Counter and rows from one snapshot, even while pushes commit.
        snapshot = engine.execution_options(isolation_level="REPEATABLE READ")
    with read_transaction(snapshot) as conn:
        state = load_dealer(conn, who.dealer_id)
        query = select(
            record.c.table_name,
            record.c.row_id,
            record.c.version,
            record.c.deleted,
            record.c.data,
        ).where(record.c.dealer_id == who.dealer_id, record.c.version <= state.last_seq)
        if conn.dialect.name == "postgresql":
            # PostgreSQL hashes and combines the rows whose id needs no JSON escaping (all
            # the app makes); only any others are read out and hashed here.
            _sum_in_postgres(conn, who.dealer_id, state.last_seq, accumulators)
            query = query.where(record.c.row_id.op("!~")(_PLAIN_ID))
        result = conn.execution_options(yield_per=5000).execute(query)
        for table_name, row_id, version, deleted, data in result:
            text = f"[{dumps(row_id)},{version},{'true' if deleted else 'false'},{data}]"
            acc = accumulators.setdefault(table_name, [0, 0])
            acc[0] += 1
            acc[1] ^= int.from_bytes(sha256(text.encode()).digest(), "big")
    return {
        "through": state.last_seq,
        "tables": {
            name: {"count": count, "hash": f"{acc:064x}"}
            for name, (count, acc) in sorted(accumulators.items())
        },
    }
