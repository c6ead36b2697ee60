"""Pull paging under concurrent pushes, tombstone purge, restore detection and checksums."""

from __future__ import annotations

import datetime as dt
import threading
from collections import defaultdict

from server_kit import booking, customer_insert, headers, notes_conflict, op
from sqlalchemy import update

from showroom.ids import new_id
from sync import protocol
from sync.server import admin
from sync.server.models import record
from sync.server.purge import purge


def _pull(client, token, since, **extra):
    return client.get("/v1/sync/pull", params={"since": since, **extra}, headers=headers(token))


def pages_to_the_end(client, token, since, limit=2) -> list[dict]:
    """Pages of ``limit`` rows from ``since`` up to the last, each of which must be served."""
    pages = []
    while not pages or pages[-1]["has_more"]:
        response = _pull(client, token, pages[-1]["next_since"] if pages else since, limit=limit)
        assert response.status_code == 200, response.text
        pages.append(response.json())
    return pages


def test_pages_in_version_order_with_has_more(laptop, laptop2):
    inserts = [customer_insert(name=f"客户{i}") for i in range(25)]
    laptop.push(*inserts)
    pages = []
    since = 0
    while True:
        page = laptop2.pull_page(since=since, limit=10)
        pages.append(page)
        since = page["next_since"]
        if not page["has_more"]:
            break
    assert [len(p["rows"]) for p in pages] == [10, 10, 6]  # 25 customers + the dealer row
    versions = [row["version"] for p in pages for row in p["rows"]]
    assert versions == sorted(versions) and len(set(versions)) == 26
    assert pages[-1]["next_since"] == pages[-1]["last_seq"]
    empty = laptop2.pull_page(since=since)
    assert empty["rows"] == [] and empty["next_since"] == since and not empty["has_more"]


def test_a_row_changed_twice_is_pulled_once_in_its_latest_state(laptop, laptop2):
    insert = customer_insert(notes="1")
    (created,) = laptop.push(insert)
    laptop.push(
        op(
            "customer",
            insert["row_id"],
            "update",
            {"notes": "2"},
            base={"notes": "1"},
            base_version=created["version"],
        )
    )
    rows = [r for r in laptop2.pull() if r["table"] == "customer"]
    assert [r["data"]["notes"] for r in rows] == ["2"]


def test_paging_never_skips_or_repeats_while_several_devices_push(client, enrol):
    pushers = [enrol(f"推送{i}") for i in range(3)]
    reader = enrol("读取")
    batches, per_batch = 8, 15
    pushed: set[str] = set()
    errors: list[str] = []
    done = threading.Event()

    def push_all(device):
        try:
            for _ in range(batches):
                ops = [customer_insert() for _ in range(per_batch)]
                pushed.update(o["row_id"] for o in ops)
                device.push(*ops)
        except Exception as exc:  # reported by the main thread
            errors.append(repr(exc))

    seen: dict[str, int] = defaultdict(int)
    versions: list[int] = []

    def read_all():
        since = 0
        try:
            while True:
                finished = done.is_set()
                page = reader.pull_page(since=since, limit=7)
                for row in page["rows"]:
                    if row["table"] == "customer":
                        seen[row["id"]] += 1
                    versions.append(row["version"])
                since = page["next_since"]
                if finished and not page["has_more"]:
                    return
        except Exception as exc:
            errors.append(repr(exc))

    threads = [threading.Thread(target=push_all, args=(p,)) for p in pushers]
    reader_thread = threading.Thread(target=read_all)
    reader_thread.start()
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(120)
    done.set()
    reader_thread.join(120)
    assert not errors, errors
    assert set(seen) == pushed and len(pushed) == 3 * batches * per_batch
    assert all(count == 1 for count in seen.values())
    assert versions == sorted(versions) and len(versions) == len(set(versions))


def _delete_customer(laptop):
    insert = customer_insert()
    (created,) = laptop.push(insert)
    (deleted,) = laptop.push(
        op(
            "customer",
            insert["row_id"],
            "delete",
            {"deleted": True},
            base={"deleted": False},
            base_version=created["version"],
        )
    )
    return insert["row_id"], deleted["version"]


def _age_tombstones(engine, days=40):
    """Make every tombstone ``days`` old, as if deleted long ago."""
    with engine.begin() as conn:
        conn.execute(
            update(record)
            .where(record.c.deleted.is_(True))
            .values(updated_at=dt.datetime.now(dt.UTC) - dt.timedelta(days=days))
        )


def _caught_up(*laptops):
    for device in laptops:
        device.pull()
        device.pull_page()  # tells the server how far this laptop has applied


def test_tombstones_wait_for_every_active_device_then_go(client, engine, laptop, laptop2):
    row_id, version = _delete_customer(laptop)
    _age_tombstones(engine)
    _caught_up(laptop)
    (summary,) = purge(engine)
    assert summary["purged"] == 0  # laptop2 has not pulled the delete yet
    _caught_up(laptop2)
    (summary,) = purge(engine)
    assert summary["purged"] == 1
    assert summary["purged_through"] == version
    fresh = _pull(client, laptop2.token, 0).json()
    assert all(row["id"] != row_id for row in fresh["rows"])
    behind = _pull(client, laptop2.token, 1)
    assert behind.status_code == 410
    assert behind.json()["error"] == protocol.ERROR_RESYNC_REQUIRED
    # An update of the purged row cannot bring it back.
    (result,) = laptop.push(op("customer", row_id, "update", {"notes": "x"}, base_version=version))
    assert result["status"] == protocol.RESULT_REJECTED


def test_retention_period_and_inactive_or_revoked_devices(engine, laptop, laptop2, enrol):
    _delete_customer(laptop)
    _caught_up(laptop, laptop2)
    (summary,) = purge(engine, retention_days=30)
    assert summary["purged"] == 0  # too recent
    enrol("很久没来")  # has pulled nothing, but will not have been seen for 31 days
    admin.revoke_device(engine, laptop2.device_id)
    # 31 days on nobody was seen within the retention, so nobody holds the tombstone back.
    later = dt.datetime.now(dt.UTC) + dt.timedelta(days=31)
    (summary,) = purge(engine, retention_days=30, now=later)
    assert summary["purged"] == 1


def test_open_conflicts_are_not_purged(engine, laptop, laptop2):
    notes_conflict(laptop, laptop2, base="x")
    laptop.pull()
    (conflict,) = [r for k, r in laptop.rows.items() if k[0] == "sync_conflict"]
    laptop.push(
        op(
            "sync_conflict",
            conflict["id"],
            "delete",
            {"deleted": True},
            base_version=conflict["version"],
        )
    )
    _age_tombstones(engine)
    _caught_up(laptop, laptop2)
    (summary,) = purge(engine)
    assert summary["purged"] == 0
    assert any(k[0] == "sync_conflict" for k in laptop2.rows)


def test_cursor_beyond_the_last_seq_starts_a_new_epoch(client, laptop, laptop2):
    laptop.push(customer_insert())
    meta = client.get("/v1/meta", headers=laptop.headers).json()
    laptop.cursor = meta["last_seq"] + 50  # this laptop saw changes the server no longer has
    response = laptop.push_raw([customer_insert()])
    assert response.status_code == 409
    body = response.json()
    assert body["error"] == protocol.ERROR_EPOCH_CHANGED
    assert body["epoch"] != meta["epoch"]
    assert body["epoch_base_seq"] == meta["last_seq"]
    after = client.get("/v1/meta", headers=laptop.headers).json()
    assert (after["epoch"], after["epoch_base_seq"]) == (body["epoch"], meta["last_seq"])
    # A laptop still on the old epoch is told too, on push and on pull.
    stale = {**laptop2.headers, protocol.EPOCH_HEADER: meta["epoch"]}
    pulled = client.get("/v1/sync/pull", params={"since": 0}, headers=stale)
    assert pulled.status_code == 409 and pulled.json()["epoch"] == body["epoch"]
    # On the new epoch, with its cursor reset, the laptop carries on.
    laptop.cursor, laptop.epoch = body["epoch_base_seq"], body["epoch"]
    assert laptop.push_raw([customer_insert()]).status_code == 200


def test_pull_since_beyond_the_last_seq_is_a_restore_too(client, laptop):
    last = client.get("/v1/meta", headers=laptop.headers).json()["last_seq"]
    response = _pull(client, laptop.token, last + 1)
    assert response.status_code == 409
    assert response.json()["epoch_base_seq"] == last


def test_checksum_matches_what_was_pushed(client, laptop, laptop2):
    inserts = [customer_insert(name=f"客户{i}") for i in range(5)]
    # Text needing JSON escapes, and an id that is not a UUID (PostgreSQL sums such rows in
    # Python, the others in SQL; both must agree with the protocol's digest).
    inserts.append(customer_insert(name='引号" 反斜杠\\ 换行\n 😀 \u2028'))
    inserts.append(customer_insert(row_id='odd id "1"', name="奇怪的编号"))
    drive = op("test_drive", new_id(), "insert", booking("粤B1", 1, 2))
    results = laptop.push(*inserts, drive)
    laptop.push(
        op(
            "customer",
            inserts[0]["row_id"],
            "delete",
            {"deleted": True},
            base_version=results[0]["version"],
        )
    )
    laptop2.pull()
    expected = defaultdict(list)
    for (table, row_id), row in laptop2.rows.items():
        expected[table].append((row_id, row["version"], row["deleted"], row["data"]))
    answer = client.get("/v1/sync/checksum", headers=laptop2.headers).json()
    assert answer["through"] == laptop2.cursor
    tables = answer["tables"]
    for table, rows in expected.items():
        assert tables[table] == protocol.table_checksum(rows), table
    assert tables["customer"]["count"] == 7  # the tombstone counts
    assert tables["consent"] == {"count": 0, "hash": "0" * 64}


def test_negative_or_malformed_pull_parameters_are_4xx(client, laptop):
    for params in ({"since": -1}, {"limit": 0}, {"limit": -5}, {"since": "abc"}):
        response = client.get("/v1/sync/pull", params=params, headers=laptop.headers)
        assert 400 <= response.status_code < 500, params
        body = response.json()
        assert body["error"] == protocol.ERROR_BAD_REQUEST
        assert next(iter(params)) in body["detail"]
    big = client.get("/v1/sync/pull", params={"limit": 10**6}, headers=laptop.headers)
    assert big.status_code == 200  # capped at the protocol's maximum


def test_a_full_pull_from_zero_goes_on_below_purged_tombstones(client, engine, laptop, laptop2):
    laptop.push(*(customer_insert(name=f"客户{i}") for i in range(6)))
    gone = [_delete_customer(laptop) for _ in range(3)]
    laptop.push(*(customer_insert(name=f"后来{i}") for i in range(6)))
    _age_tombstones(engine)
    _caught_up(laptop, laptop2)
    (summary,) = purge(engine)
    assert summary["purged"] == 3
    # A full resync from 0 in small pages: its continuation pages sit below purged_through, yet
    # they are served, also after a pause (a kill and a resume), and no purged row comes.
    pages = pages_to_the_end(client, laptop2.token, 0)
    assert 0 < pages[1]["next_since"] < summary["purged_through"]
    received = [row["id"] for page in pages for row in page["rows"]]
    assert len(pages) > 3
    assert not {row_id for row_id, _ in gone} & set(received)
    assert len(received) == len(set(received)) == 1 + 12  # the dealer row and live customers
    # Once the pull reached the end, a cursor behind the purge is refused again.
    behind = _pull(client, laptop2.token, 1)
    assert behind.status_code == 410
    # And an incremental pull that did not start from 0 never goes below it.
    assert _pull(client, laptop.token, 1, limit=2).status_code == 410
