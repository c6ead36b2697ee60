"""Pulls that leave out what the pulling laptop itself inserted exactly as stored (``skip_own``).

Rows a laptop inserted and that the server stored exactly as sent need not travel back to it.
Everything else does: edits (a rejected op may have left the laptop's row apart), merged rows,
rows stored in another form, conflicts, other laptops' writes, and everything after the laptop
enrolled again.
"""

from __future__ import annotations

from typing import Any

from server_kit import Laptop, op

from showroom.ids import new_id
from sync import protocol
from sync.server import admin
from sync.server.schema import synced_tables


def full_insert(table: str = "customer", row_id: str | None = None, **values: Any) -> dict:
    """An insert carrying every column in canonical form, as the initial upload sends it."""
    spec = synced_tables()[table]
    fields = {}
    for name in spec.columns:
        if name in values:
            fields[name] = values[name]
        elif name in spec.defaults:
            fields[name] = spec.defaults[name]()
        else:
            fields[name] = None
    if table == "customer":
        fields.setdefault("name", "张伟")
        fields["name"] = values.get("name", "张伟")
    return op(table, row_id or new_id(), protocol.OP_INSERT, fields)


def pull_all(laptop: Laptop, *, skip_own: bool, limit: int = 1000) -> tuple[list[dict], int]:
    """Every page after the laptop's cursor; returns the rows and the final cursor."""
    rows = []
    since = laptop.cursor
    while True:
        response = laptop.client.get(
            "/v1/sync/pull",
            params={"since": since, "limit": limit, "skip_own": str(skip_own).lower()},
            headers=laptop.headers,
        )
        assert response.status_code == 200, response.text
        page = response.json()
        rows.extend(page["rows"])
        assert page["next_since"] >= since
        since = page["next_since"]
        if not page["has_more"]:
            return rows, since


def _ids(rows):
    return [(row["table"], row["id"]) for row in rows]


def test_own_exact_writes_are_left_out_and_the_cursor_passes_them(laptop, laptop2):
    mine = [full_insert(notes=str(n)) for n in range(3)]
    results = laptop.push(*mine)
    assert {r["status"] for r in results} == {protocol.RESULT_APPLIED}
    theirs = full_insert(notes="theirs")
    (other,) = laptop2.push(theirs)

    rows, cursor = pull_all(laptop, skip_own=True)
    assert _ids(rows) == [("dealer", laptop.dealer_id), ("customer", theirs["row_id"])]
    assert cursor == other["version"]
    # Nothing is left out without the flag, nor for another laptop.
    everything, _ = pull_all(laptop, skip_own=False)
    assert {("customer", o["row_id"]) for o in mine} <= set(_ids(everything))
    rows2, _ = pull_all(laptop2, skip_own=True)
    assert set(_ids(rows2)) == {("customer", o["row_id"]) for o in mine} | {
        ("dealer", laptop.dealer_id)
    }


def test_a_cursor_past_only_own_rows_moves_to_the_end(laptop):
    laptop.pull()
    start = laptop.cursor
    results = laptop.push(*(full_insert() for _ in range(5)))
    rows, cursor = pull_all(laptop, skip_own=True, limit=2)
    assert rows == []
    assert cursor == max(r["version"] for r in results) > start


def test_paged_pull_leaves_out_only_own_rows(laptop, laptop2):
    expected = set()
    for round_ in range(4):
        laptop.push(*(full_insert(notes=f"a{round_}{n}") for n in range(3)))
        theirs = [full_insert(notes=f"b{round_}{n}") for n in range(2)]
        laptop2.push(*theirs)
        expected |= {("customer", o["row_id"]) for o in theirs}
    rows, cursor = pull_all(laptop, skip_own=True, limit=3)
    ids = _ids(rows)
    assert len(ids) == len(set(ids))
    assert set(ids) - {("dealer", laptop.dealer_id)} == expected
    everything, end = pull_all(laptop, skip_own=False)
    assert cursor == end == max(row["version"] for row in everything)


def test_rows_stored_in_another_form_go_back(laptop):
    moment = full_insert(
        "test_drive",
        customer_id=new_id(),
        demo_car="粤B1",
        starts_at="2025-05-01T09:00:00+08:00",
        ends_at="2025-05-01T02:00:00+00:00",
        status="booked",
    )
    partial = op("customer", new_id(), protocol.OP_INSERT, {"name": "李", "deleted": False})
    laptop.push(moment, partial)
    rows, _ = pull_all(laptop, skip_own=True)
    by_id = {row["id"]: row for row in rows}
    assert by_id[moment["row_id"]]["data"]["starts_at"] == "2025-05-01T01:00:00+00:00"
    assert partial["row_id"] in by_id  # the server filled the columns left out


def test_merged_and_conflicting_rows_go_back_with_their_conflicts(laptop, laptop2):
    insert = full_insert(notes="0", email=None)
    (created,) = laptop.push(insert)
    v = created["version"]
    row_id = insert["row_id"]
    laptop2.push(
        op("customer", row_id, "update", {"notes": "2"}, base={"notes": "0"}, base_version=v)
    )
    laptop.cursor = v
    # A different field on a stale version: merged, and the merged row must come back.
    (merged,) = laptop.push(
        op("customer", row_id, "update", {"email": "a@b.cn"}, base={"email": None}, base_version=v)
    )
    assert merged["status"] == protocol.RESULT_MERGED
    rows, cursor = pull_all(laptop, skip_own=True)
    (row,) = [r for r in rows if r["id"] == row_id]
    assert row["data"]["notes"] == "2" and row["data"]["email"] == "a@b.cn"
    laptop.cursor = cursor
    # The same field on a stale version: a conflict; the row and the conflict come back.
    (conflict,) = laptop.push(
        op(
            "customer",
            row_id,
            "update",
            {"notes": "1"},
            base={"notes": "0"},
            base_version=merged["version"] - 1,
        )
    )
    assert conflict["status"] == protocol.RESULT_CONFLICT
    rows, _ = pull_all(laptop, skip_own=True)
    tables = {r["table"] for r in rows}
    assert "sync_conflict" in tables
    assert any(r["id"] == row_id and r["data"]["notes"] == "1" for r in rows)


def test_a_clean_write_by_another_laptop_later_goes_back(laptop, laptop2):
    insert = full_insert(notes="0")
    (created,) = laptop.push(insert)
    laptop2.pull()
    (edited,) = laptop2.push(
        op(
            "customer",
            insert["row_id"],
            "update",
            {"notes": "1"},
            base={"notes": "0"},
            base_version=created["version"],
        )
    )
    assert edited["status"] == protocol.RESULT_APPLIED
    rows, _ = pull_all(laptop, skip_own=True)
    assert [r["data"]["notes"] for r in rows if r["id"] == insert["row_id"]] == ["1"]


def test_a_laptop_enrolled_again_gets_its_old_rows(client, engine, dealer_id, laptop):
    inserts = [full_insert() for _ in range(3)]
    laptop.push(*inserts)
    code = admin.create_enrollment_code(engine, dealer_id)["code"]
    again = Laptop.enrol(client, code, "重装", device_id=laptop.device_id)
    assert again.device_id == laptop.device_id
    rows, _ = pull_all(again, skip_own=True)
    assert {("customer", o["row_id"]) for o in inserts} <= set(_ids(rows))


def test_an_edit_next_to_a_rejected_one_brings_the_servers_row_back(laptop):
    insert = full_insert(notes="0")
    (created,) = laptop.push(insert)
    v = created["version"]
    row_id = insert["row_id"]
    bad = op("customer", row_id, "update", {"name": None}, base={"name": "张伟"}, base_version=v)
    good = op("customer", row_id, "update", {"notes": "1"}, base={"notes": "0"}, base_version=v)
    rejected, applied = laptop.push(bad, good)
    assert rejected["status"] == protocol.RESULT_REJECTED
    assert applied["status"] == protocol.RESULT_APPLIED
    laptop.cursor = v
    rows, _ = pull_all(laptop, skip_own=True)
    (row,) = [r for r in rows if r["id"] == row_id]
    assert row["data"]["name"] == "张伟" and row["data"]["notes"] == "1"
