"""Push outcomes: applied, merged, conflict, duplicate and rejected, and what a laptop pulls."""

from __future__ import annotations

import json

from server_kit import booking, customer_insert, notes_conflict, op
from sqlalchemy import func, select

from showroom.ids import new_id
from sync import protocol
from sync.server.admin import list_devices
from sync.server.models import dealer, history, record
from sync.server.schema import synced_tables


def _status(results):
    return [r["status"] for r in results]


def test_insert_is_applied_and_pulled_by_another_laptop(laptop, laptop2):
    insert = customer_insert(name="王芳", notes="想看途观L")
    (result,) = laptop.push(insert)
    assert result["status"] == protocol.RESULT_APPLIED
    assert result["version"] > 0
    row = laptop2.row("customer", insert["row_id"])
    assert row["version"] == result["version"]
    assert row["data"]["name"] == "王芳"
    assert row["data"]["notes"] == "想看途观L"
    assert row["deleted"] is False
    # Columns the insert left out arrive with their defaults, so both sides hold the same row.
    assert row["data"]["lifecycle_stage"] == "prospect"
    assert row["data"]["vip"] is False
    assert row["updated_by_device"] == laptop.device_id


def test_update_on_current_version_is_applied(laptop, laptop2):
    insert = customer_insert(notes="a")
    (created,) = laptop.push(insert)
    edit = op(
        "customer",
        insert["row_id"],
        "update",
        {"notes": "b"},
        base={"notes": "a"},
        base_version=created["version"],
    )
    (result,) = laptop.push(edit)
    assert result["status"] == protocol.RESULT_APPLIED
    assert result["version"] > created["version"]
    assert laptop2.row("customer", insert["row_id"])["data"]["notes"] == "b"


def test_different_fields_edited_on_two_laptops_merge(laptop, laptop2):
    insert = customer_insert(notes="n0", email=None)
    (created,) = laptop.push(insert)
    row_id, v = insert["row_id"], created["version"]
    first = op("customer", row_id, "update", {"notes": "n1"}, base={"notes": "n0"}, base_version=v)
    second = op(
        "customer", row_id, "update", {"email": "x@y.cn"}, base={"email": None}, base_version=v
    )
    assert _status(laptop.push(first)) == [protocol.RESULT_APPLIED]
    assert _status(laptop2.push(second)) == [protocol.RESULT_MERGED]
    data = laptop.row("customer", row_id)["data"]
    assert (data["notes"], data["email"]) == ("n1", "x@y.cn")
    assert laptop.conflicts() == []


def test_same_field_edited_on_two_laptops_keeps_later_and_records_earlier(laptop, laptop2):
    insert = customer_insert(notes="base")
    (created,) = laptop.push(insert)
    row_id, v = insert["row_id"], created["version"]
    laptop.push(
        op("customer", row_id, "update", {"notes": "A"}, base={"notes": "base"}, base_version=v)
    )
    (result,) = laptop2.push(
        op("customer", row_id, "update", {"notes": "B"}, base={"notes": "base"}, base_version=v)
    )
    assert result["status"] == protocol.RESULT_CONFLICT
    assert laptop.row("customer", row_id)["data"]["notes"] == "B"
    (conflict,) = laptop.conflicts()
    assert conflict["kind"] == "field"
    assert conflict["table_name"] == "customer"
    assert conflict["row_id"] == row_id
    assert conflict["field"] == "notes"
    assert json.loads(conflict["base_value"]) == "base"
    assert json.loads(conflict["theirs_value"]) == "A"
    assert json.loads(conflict["mine_value"]) == "B"
    assert conflict["theirs_device"] == laptop.device_id
    assert conflict["mine_device"] == laptop2.device_id
    assert conflict["status"] == "open"
    assert conflict["detected_at"].endswith("+00:00")
    # Exactly the laptop's conflict columns, so a laptop can apply the row as it is.
    assert set(conflict) == set(synced_tables()["sync_conflict"].columns)
    assert (conflict["resolution"], conflict["resolved_at"], conflict["deleted"]) == (
        None,
        None,
        False,
    )


def _merged_answer(laptop, laptop2):
    """A customer whose notes the first laptop changed from "n0" to "A", and the second
    laptop's merged edit of its email: (row id, the merged answer's version). That version is
    the row's newest, but the second laptop has not pulled the notes (its pull failed)."""
    insert = customer_insert(notes="n0", email=None)
    (created,) = laptop.push(insert)
    row_id, v = insert["row_id"], created["version"]
    laptop.push(
        op("customer", row_id, "update", {"notes": "A"}, base={"notes": "n0"}, base_version=v)
    )
    (merged,) = laptop2.push(
        op("customer", row_id, "update", {"email": "x@y.cn"}, base={"email": None}, base_version=v)
    )
    assert merged["status"] == protocol.RESULT_MERGED
    return row_id, merged["version"]


def test_edit_on_a_merged_answers_version_still_conflicts_with_what_it_did_not_see(laptop, laptop2):
    row_id, version = _merged_answer(laptop, laptop2)
    (result,) = laptop2.push(
        op("customer", row_id, "update", {"notes": "B"}, base={"notes": "n0"}, base_version=version)
    )
    assert result["status"] == protocol.RESULT_CONFLICT
    data = laptop.row("customer", row_id)["data"]
    assert (data["notes"], data["email"]) == ("B", "x@y.cn")
    (conflict,) = laptop.conflicts()
    assert conflict["field"] == "notes"
    assert json.loads(conflict["theirs_value"]) == "A"
    assert json.loads(conflict["mine_value"]) == "B"


def test_stale_edit_to_the_value_already_there_is_merged_without_conflict(laptop, laptop2):
    insert = customer_insert(notes="base")
    (created,) = laptop.push(insert)
    row_id, v = insert["row_id"], created["version"]
    same = {"notes": "same"}
    laptop.push(op("customer", row_id, "update", same, base={"notes": "base"}, base_version=v))
    (result,) = laptop2.push(
        op("customer", row_id, "update", same, base={"notes": "base"}, base_version=v)
    )
    assert result["status"] == protocol.RESULT_MERGED
    assert laptop.conflicts() == []


def test_same_row_inserted_by_two_laptops(laptop, laptop2):
    row_id = new_id()
    (first,) = laptop.push(customer_insert(row_id, name="本店", notes=None))
    (again,) = laptop2.push(customer_insert(row_id, name="本店", notes=None))
    assert again["status"] == protocol.RESULT_MERGED
    assert again["version"] == first["version"]
    (differs,) = laptop2.push(customer_insert(row_id, name="本店", notes="另一台"))
    assert differs["status"] == protocol.RESULT_CONFLICT
    (conflict,) = laptop.conflicts()
    assert conflict["field"] == "notes"
    assert conflict["base_value"] is None
    assert json.loads(conflict["theirs_value"]) is None
    assert json.loads(conflict["mine_value"]) == "另一台"


def test_delete_on_current_version_then_edit_of_deleted_row(laptop, laptop2):
    insert = customer_insert(notes="x")
    (created,) = laptop.push(insert)
    row_id = insert["row_id"]
    delete = op(
        "customer",
        row_id,
        "delete",
        {"deleted": True},
        base={"deleted": False},
        base_version=created["version"],
    )
    (deleted,) = laptop.push(delete)
    assert deleted["status"] == protocol.RESULT_APPLIED
    edit = op(
        "customer",
        row_id,
        "update",
        {"notes": "still here?"},
        base={"notes": "x"},
        base_version=created["version"],
    )
    (result,) = laptop2.push(edit)
    assert result["status"] == protocol.RESULT_CONFLICT
    row = laptop.row("customer", row_id)
    assert row["deleted"] is True
    assert row["data"]["notes"] == "x"
    (conflict,) = laptop.conflicts()
    assert conflict["kind"] == "delete_edit"
    assert json.loads(conflict["mine_value"]) == {"notes": "still here?"}
    assert conflict["theirs_value"] is None
    # Deleting it again changes nothing.
    again = op(
        "customer",
        row_id,
        "delete",
        {"deleted": True},
        base={"deleted": False},
        base_version=created["version"],
    )
    assert _status(laptop2.push(again)) == [protocol.RESULT_MERGED]


def test_delete_against_a_concurrent_edit_keeps_the_edit_for_review(laptop, laptop2):
    insert = customer_insert(notes="x")
    (created,) = laptop.push(insert)
    row_id, v = insert["row_id"], created["version"]
    laptop.push(
        op("customer", row_id, "update", {"notes": "edited"}, base={"notes": "x"}, base_version=v)
    )
    (result,) = laptop2.push(
        op("customer", row_id, "delete", {"deleted": True}, base={"deleted": False}, base_version=v)
    )
    assert result["status"] == protocol.RESULT_CONFLICT
    assert laptop.row("customer", row_id)["deleted"] is True
    (conflict,) = laptop.conflicts()
    assert conflict["kind"] == "delete_edit"
    assert json.loads(conflict["theirs_value"])["notes"] == "edited"


def _delete(row_id, version, **held):
    delete = op("customer", row_id, "delete", {"deleted": True}, base={"deleted": False})
    return {**delete, "base_version": version, "held": held}


def test_delete_on_a_merged_answers_version_keeps_what_it_did_not_see(laptop, laptop2):
    row_id, version = _merged_answer(laptop, laptop2)
    # The second laptop deletes the row still showing the first notes.
    (result,) = laptop2.push(_delete(row_id, version, notes="n0", email="x@y.cn"))
    assert result["status"] == protocol.RESULT_CONFLICT
    row = laptop.row("customer", row_id)
    assert row["deleted"] is True
    assert row["data"]["notes"] == "A"
    (conflict,) = laptop.conflicts()
    assert conflict["kind"] == "delete_edit"
    assert json.loads(conflict["theirs_value"])["notes"] == "A"
    # What the deleting laptop showed, so the review can name what it had missed.
    assert json.loads(conflict["base_value"]) == {"notes": "n0", "email": "x@y.cn"}


def test_delete_holding_the_stored_row_is_applied_without_conflict(laptop):
    insert = customer_insert(notes="n0", email="x@y.cn")
    (created,) = laptop.push(insert)
    row_id = insert["row_id"]
    # Held as the laptop shows it: an unknown field is ignored, and "deleted" is the base's.
    held = {"notes": "n0", "email": "x@y.cn", "name": "张伟", "deleted": False, "future": 1}
    (result,) = laptop.push(_delete(row_id, created["version"], **held))
    assert result["status"] == protocol.RESULT_APPLIED
    assert laptop.row("customer", row_id)["deleted"] is True
    assert laptop.conflicts() == []


def test_delete_holding_every_stored_value_is_applied_whatever_its_version(laptop):
    # A row inserted and deleted before the laptop heard back: the delete carries version 0.
    insert = customer_insert(notes="n0")
    (created,) = laptop.push(insert)
    row_id = insert["row_id"]
    stored = laptop.row("customer", row_id)["data"]
    (result,) = laptop.push(_delete(row_id, 0, **stored))
    assert result["status"] == protocol.RESULT_MERGED
    assert result["version"] > created["version"]
    assert laptop.row("customer", row_id)["deleted"] is True
    assert laptop.conflicts() == []


def test_delete_on_an_older_version_holding_part_of_the_row_keeps_it_for_review(laptop):
    insert = customer_insert(notes="n0")
    laptop.push(insert)
    row_id = insert["row_id"]
    stored = laptop.row("customer", row_id)["data"]
    partial = {f: v for f, v in stored.items() if f != "kind"}  # a field it may not have seen
    (result,) = laptop.push(_delete(row_id, 0, **partial))
    assert result["status"] == protocol.RESULT_CONFLICT
    assert laptop.row("customer", row_id)["deleted"] is True
    assert [c["kind"] for c in laptop.conflicts()] == ["delete_edit"]


def test_delete_with_malformed_held_values_is_rejected_naming_the_field(laptop):
    insert = customer_insert(notes="n0")
    (created,) = laptop.push(insert)
    row_id = insert["row_id"]
    bad = {**_delete(row_id, created["version"]), "held": ["n0"]}
    (result,) = laptop.push(bad)
    assert result["status"] == protocol.RESULT_REJECTED
    assert result["reason"].startswith("held:")
    assert laptop.row("customer", row_id)["deleted"] is False


def test_a_deleted_row_can_be_restored_by_an_edit_of_deleted(laptop):
    insert = customer_insert(notes="x")
    (created,) = laptop.push(insert)
    row_id = insert["row_id"]
    (deleted,) = laptop.push(
        op(
            "customer",
            row_id,
            "delete",
            {"deleted": True},
            base={"deleted": False},
            base_version=created["version"],
        )
    )
    (restored,) = laptop.push(
        op(
            "customer",
            row_id,
            "update",
            {"deleted": False},
            base={"deleted": True},
            base_version=deleted["version"],
        )
    )
    assert restored["status"] == protocol.RESULT_APPLIED
    assert laptop.row("customer", row_id)["deleted"] is False


def test_update_or_delete_of_unknown_row_is_rejected(laptop):
    missing = new_id()
    results = laptop.push(
        op("customer", missing, "update", {"notes": "x"}),
        op("customer", missing, "delete", {"deleted": True}),
    )
    assert _status(results) == [protocol.RESULT_REJECTED] * 2
    assert all(r["reason"] == "row not found (deleted)" for r in results)
    assert all(r["version"] is None for r in results)


def test_batch_with_invalid_ops_applies_the_others(laptop, laptop2):
    good1, good2 = customer_insert(name="甲"), customer_insert(name="乙")
    bad = [
        op("no_such_table", new_id(), "insert", {"x": 1}),
        customer_insert(no_such_field="x"),
        customer_insert(name=12),
        customer_insert(name=None),
        op("customer", new_id(), "insert", {"notes": "no name"}),
        op("customer", new_id(), "merge", {"notes": "x"}),
        op("test_drive", new_id(), "insert", {**booking("粤B1", 1, 2), "starts_at": "noon"}),
        op("customer", new_id(), "delete", {"deleted": False}),
    ]
    results = laptop.push(good1, *bad, good2)
    assert _status(results) == [protocol.RESULT_APPLIED] + [protocol.RESULT_REJECTED] * 8 + [
        protocol.RESULT_APPLIED
    ]
    reasons = [r["reason"] for r in results[1:-1]]
    assert "no_such_table" in reasons[0]
    assert "customer.no_such_field" in reasons[1]
    assert reasons[2].startswith("customer.name")
    assert reasons[3].startswith("customer.name")
    assert reasons[4].startswith("customer.name")
    assert reasons[5].startswith("op")
    assert reasons[6].startswith("test_drive.starts_at")
    assert reasons[7].startswith("customer.deleted")
    pulled = {row["id"] for row in laptop2.pull() if row["table"] == "customer"}
    assert pulled == {good1["row_id"], good2["row_id"]}


def test_retried_batch_returns_the_identical_answer_and_no_new_seq(laptop, engine, dealer_id):
    batch_id = new_id()
    ops = [customer_insert(), customer_insert()]
    first = laptop.push_raw(ops, batch_id=batch_id)
    with engine.connect() as conn:
        seq = conn.execute(select(dealer.c.last_seq).where(dealer.c.id == dealer_id)).scalar()
    again = laptop.push_raw(ops, batch_id=batch_id)
    assert again.status_code == 200
    assert again.content == first.content
    with engine.connect() as conn:
        assert (
            conn.execute(select(dealer.c.last_seq).where(dealer.c.id == dealer_id)).scalar() == seq
        )
        count = conn.execute(
            select(func.count()).select_from(record).where(record.c.table_name == "customer")
        ).scalar()
    assert count == 2


def test_a_push_moves_the_counter_keeps_its_mark_and_shows_the_laptop_as_seen(
    laptop, engine, dealer_id
):
    (enrolled,) = [d for d in list_devices(engine, dealer_id) if d["device_id"] == laptop.device_id]
    answer = laptop.push_raw([customer_insert(), customer_insert()]).json()
    seq, commit = answer["history"].split(".")
    assert int(seq) == answer["last_seq"] == answer["results"][1]["version"]
    with engine.connect() as conn:
        counter = conn.execute(
            select(dealer.c.last_seq, dealer.c.last_commit).where(dealer.c.id == dealer_id)
        ).one()
        kept = conn.execute(
            select(history.c.commit_id).where(
                history.c.dealer_id == dealer_id, history.c.seq == int(seq)
            )
        ).scalar()
    assert tuple(counter) == (int(seq), commit)
    assert kept == commit
    (seen,) = [d for d in list_devices(engine, dealer_id) if d["device_id"] == laptop.device_id]
    assert seen["last_seen_at"] > enrolled["last_seen_at"]


def test_a_batch_that_changes_nothing_leaves_the_counter_and_its_mark(laptop, engine, dealer_id):
    insert = customer_insert()
    laptop.push(insert)
    with engine.connect() as conn:
        before = conn.execute(select(dealer.c.last_seq, dealer.c.last_commit)).all()
        marks = conn.execute(select(func.count()).select_from(history)).scalar()
    # Only a duplicate and a rejected op: no version is handed out.
    unknown = op("customer", new_id(), "update", {"notes": "x"}, base_version=1)
    answer = laptop.push_raw([insert, unknown]).json()
    assert _status(answer["results"]) == [protocol.RESULT_DUPLICATE, protocol.RESULT_REJECTED]
    with engine.connect() as conn:
        assert conn.execute(select(dealer.c.last_seq, dealer.c.last_commit)).all() == before
        assert conn.execute(select(func.count()).select_from(history)).scalar() == marks
    assert answer["history"] == f"{before[0][0]}.{before[0][1]}"


def test_op_seen_in_an_earlier_batch_is_a_duplicate(laptop):
    insert = customer_insert()
    (first,) = laptop.push(insert)
    edit = op("customer", insert["row_id"], "update", {"notes": "x"}, base_version=first["version"])
    (applied,) = laptop.push(edit)
    # The same two ops again in a new batch (the answer to the first batches was lost).
    results = laptop.push(insert, edit)
    assert _status(results) == [protocol.RESULT_DUPLICATE] * 2
    assert [r["version"] for r in results] == [first["version"], applied["version"]]


def test_conflict_rows_are_ordinary_synced_rows_a_manager_can_resolve(laptop, laptop2):
    notes_conflict(laptop, laptop2)
    laptop.pull()
    (row,) = [r for k, r in laptop.rows.items() if k[0] == "sync_conflict"]
    resolve = op(
        "sync_conflict",
        row["id"],
        "update",
        {"status": "resolved", "resolution": "kept"},
        base={"status": "open", "resolution": None},
        base_version=row["version"],
    )
    assert _status(laptop.push(resolve)) == [protocol.RESULT_APPLIED]
    (conflict,) = laptop2.conflicts()
    assert (conflict["status"], conflict["resolution"]) == ("resolved", "kept")


def test_username_is_unique_per_dealer(laptop, laptop2, enrol, client, engine):
    def user(username):
        values = {"username": username, "display_name": "李娜", "role": "sales", "deleted": False}
        return op("app_user", new_id(), "insert", values)

    first = user("lina")
    assert _status(laptop.push(first)) == [protocol.RESULT_APPLIED]
    (clash,) = laptop2.push(user("lina"))
    assert clash["status"] == protocol.RESULT_REJECTED
    assert "username" in clash["reason"]
    # Once the first is deleted the name is free again.
    laptop.push(
        op(
            "app_user",
            first["row_id"],
            "delete",
            {"deleted": True},
            base_version=laptop.row("app_user", first["row_id"])["version"],
        )
    )
    assert _status(laptop2.push(user("lina"))) == [protocol.RESULT_APPLIED]
    # Another dealer's staff may use the same name.
    from sync.server import admin

    other = admin.create_dealer(engine, "二号店")
    assert _status(enrol("外店", dealer=other).push(user("lina"))) == [protocol.RESULT_APPLIED]


def test_double_booking_of_a_demo_car_is_flagged_not_dropped(laptop, laptop2):
    first = op("test_drive", new_id(), "insert", booking("粤B12345", 10, 11))
    second = op("test_drive", new_id(), "insert", booking("粤B12345", 10, 12))
    other_car = op("test_drive", new_id(), "insert", booking("粤B99999", 10, 11))
    later = op("test_drive", new_id(), "insert", booking("粤B12345", 11, 13))
    adjacent = op("test_drive", new_id(), "insert", booking("粤B12345", 9, 10))
    cancelled = op(
        "test_drive", new_id(), "insert", booking("粤B12345", 10, 11, status="cancelled")
    )
    assert _status(laptop.push(first)) == [protocol.RESULT_APPLIED]
    results = laptop2.push(second, other_car, later, adjacent, cancelled)
    assert _status(results) == [
        protocol.RESULT_CONFLICT,
        protocol.RESULT_APPLIED,
        protocol.RESULT_CONFLICT,  # 11:00-13:00 overlaps the second booking's 10:00-12:00
        protocol.RESULT_APPLIED,  # 9:00-10:00 ends as the others start
        protocol.RESULT_APPLIED,
    ]
    laptop.pull()
    drives = {k[1] for k in laptop.rows if k[0] == "test_drive"}
    assert len(drives) == 6  # every booking is kept
    pairs = {
        (c["row_id"], c["other_row_id"])
        for c in laptop.conflicts()
        if c["kind"] == "double_booking"
    }
    assert pairs == {
        (second["row_id"], first["row_id"]),
        (later["row_id"], second["row_id"]),
    }


def test_ops_on_one_row_within_a_batch_see_each_other(laptop):
    insert = customer_insert(notes="1")
    edit = op("customer", insert["row_id"], "update", {"notes": "2"}, base={"notes": "1"})
    results = laptop.push(insert, edit)
    assert _status(results) == [protocol.RESULT_APPLIED, protocol.RESULT_MERGED]
    assert results[1]["version"] > results[0]["version"]
    assert laptop.row("customer", insert["row_id"])["data"]["notes"] == "2"
    assert laptop.conflicts() == []


def test_values_are_stored_in_one_canonical_form(laptop):
    drive = booking("粤B1", 1, 2)
    drive["starts_at"] = "2025-05-01T09:00:00+08:00"
    insert = op("test_drive", new_id(), "insert", drive)
    price = op(
        "catalogue_colour", new_id(), "insert", {"trim_id": new_id(), "name": "白", "price": "3000"}
    )
    assert _status(laptop.push(insert, price)) == [protocol.RESULT_APPLIED] * 2
    assert (
        laptop.row("test_drive", insert["row_id"])["data"]["starts_at"]
        == "2025-05-01T01:00:00+00:00"
    )
    assert laptop.row("catalogue_colour", price["row_id"])["data"]["price"] == "3000.00"


def test_edits_riding_on_a_second_delete_are_kept_for_review(laptop, laptop2):
    insert = customer_insert(notes="x")
    (created,) = laptop.push(insert)
    v = created["version"]
    laptop.push(op("customer", insert["row_id"], "delete", {"deleted": True}, base_version=v))
    (result,) = laptop2.push(
        op(
            "customer",
            insert["row_id"],
            "delete",
            {"deleted": True, "notes": "why"},
            base_version=v,
        )
    )
    assert result["status"] == protocol.RESULT_CONFLICT
    (conflict,) = laptop.conflicts()
    assert conflict["kind"] == "delete_edit"
    assert json.loads(conflict["mine_value"]) == {"notes": "why"}


def _deleted_customer(laptop, **fields):
    insert = customer_insert(**fields)
    (created,) = laptop.push(insert)
    (deleted,) = laptop.push(_delete(insert["row_id"], created["version"], **fields))
    assert deleted["status"] == protocol.RESULT_APPLIED
    return insert["row_id"], created["version"], deleted["version"]


def test_clearing_values_a_laptop_saw_on_a_deleted_row_is_applied_to_it(laptop, laptop2):
    """An erasure blanks deleted rows too: a laptop that had not yet seen the delete blanks
    the row as it knew it, and a laptop that had blanks the tombstone it pulled."""
    row_id, created, deleted = _deleted_customer(laptop, notes="想要红色", email="huang@qq.com")
    stale = op(
        "customer",
        row_id,
        "delete",
        {"deleted": True, "notes": None},
        base={"deleted": False, "notes": "想要红色"},
        base_version=created,
    )
    pulled = op(
        "customer", row_id, "update", {"email": ""}, base={"email": "huang@qq.com"},
        base_version=deleted,
    )  # fmt: skip
    results = laptop2.push(pulled, stale)
    assert _status(results) == [protocol.RESULT_APPLIED, protocol.RESULT_MERGED]
    row = laptop.row("customer", row_id)
    assert row["deleted"] is True
    assert (row["data"]["notes"], row["data"]["email"]) == (None, "")
    assert row["version"] == results[1]["version"] > deleted
    assert laptop.conflicts() == []


def test_edits_of_a_deleted_row_that_set_values_or_missed_one_are_kept_for_review(laptop):
    row_id, created, deleted = _deleted_customer(laptop, notes="想要红色", email="huang@qq.com")
    sets = op(
        "customer", row_id, "update", {"notes": "想要蓝色"}, base={"notes": "想要红色"},
        base_version=deleted,
    )  # fmt: skip
    # Cleared as the laptop saw it before another laptop's edit it had not pulled.
    missed = op(
        "customer", row_id, "update", {"email": None}, base={"email": "old@qq.com"},
        base_version=created,
    )  # fmt: skip
    assert _status(laptop.push(sets, missed)) == [protocol.RESULT_CONFLICT] * 2
    row = laptop.row("customer", row_id)
    assert (row["data"]["notes"], row["data"]["email"]) == ("想要红色", "huang@qq.com")
    mine = sorted(c["mine_value"] for c in laptop.conflicts())
    assert [json.loads(m) for m in mine] == [{"email": None}, {"notes": "想要蓝色"}]


def test_an_erasures_mark_on_a_deleted_customer_record_is_applied_to_it(laptop, laptop2):
    """A record merged into a customer who is then erased is a tombstone: the erasure marks it
    erased and replaces its name, as on the live record."""
    row_id, _created, deleted = _deleted_customer(laptop, notes="想要红色", name="黄嘉怡")
    erased = {"erased_at": "2026-12-07T05:50:00+00:00", "name": "已删除客户", "notes": None}
    base = {"erased_at": None, "name": "黄嘉怡", "notes": "想要红色"}
    (result,) = laptop2.push(
        op("customer", row_id, "update", erased, base=base, base_version=deleted)
    )
    assert result["status"] == protocol.RESULT_APPLIED
    row = laptop.row("customer", row_id)
    assert row["deleted"] is True
    assert (row["data"]["name"], row["data"]["notes"]) == ("已删除客户", None)
    assert row["data"]["erased_at"] is not None
    assert laptop.conflicts() == []


def test_an_erasure_of_a_deleted_record_changed_since_it_was_seen_is_applied(laptop, laptop2):
    """Another laptop changed the record and deleted it before the erasure arrived: the
    erasure still reaches it, or the customer would stay unerased everywhere."""
    row_id, _created, _deleted = _deleted_customer(laptop, name="黄嘉怡", notes="想要蓝色")
    erased = {"erased_at": "2026-12-07T05:50:00+00:00", "name": "已删除客户", "notes": None}
    base = {"erased_at": None, "name": "黄小姐", "notes": "想要红色"}  # as it once was
    (result,) = laptop2.push(op("customer", row_id, "update", erased, base=base, base_version=1))
    assert result["status"] == protocol.RESULT_MERGED
    row = laptop.row("customer", row_id)
    assert (row["data"]["name"], row["data"]["notes"]) == ("已删除客户", None)
    assert row["data"]["erased_at"] is not None and row["deleted"] is True
    assert laptop.conflicts() == []


def test_a_second_erasure_of_a_deleted_record_keeps_the_first_ones_mark(laptop, laptop2):
    """Two laptops erased the same deleted customer, the second before it had pulled the
    first's erasure: the later mark is in place and the earlier one kept in a conflict, as on a
    live record, rather than overwritten unseen."""
    row_id, _created, deleted = _deleted_customer(laptop, name="黄嘉怡", notes="想要红色")
    base = {"erased_at": None, "name": "黄嘉怡", "notes": "想要红色"}
    first = {"erased_at": "2026-12-07T05:50:00+00:00", "name": "已删除客户", "notes": None}
    second = {**first, "erased_at": "2026-12-07T05:52:00+00:00"}
    (applied,) = laptop.push(op("customer", row_id, "update", first, base=base,
                                base_version=deleted))  # fmt: skip
    (result,) = laptop2.push(
        op("customer", row_id, "update", second, base=base, base_version=deleted)
    )
    assert (applied["status"], result["status"]) == (
        protocol.RESULT_APPLIED,
        protocol.RESULT_CONFLICT,
    )
    row = laptop.row("customer", row_id)
    assert (row["data"]["erased_at"], row["data"]["name"], row["deleted"]) == (
        "2026-12-07T05:52:00+00:00",
        "已删除客户",
        True,
    )
    [conflict] = laptop.conflicts()
    assert (conflict["kind"], conflict["field"]) == ("field", "erased_at")
    assert json.loads(conflict["theirs_value"]) == "2026-12-07T05:50:00+00:00"
    # Nothing of the person is kept in it: only the two marks' times.
    assert "黄嘉怡" not in json.dumps(conflict, ensure_ascii=False)


def test_a_name_change_or_a_value_on_a_deleted_record_is_kept_for_review(laptop):
    row_id, _created, deleted = _deleted_customer(laptop, name="黄嘉怡")
    renamed = op(
        "customer", row_id, "update", {"name": "黄佳怡"}, base={"name": "黄嘉怡"},
        base_version=deleted,
    )  # fmt: skip
    # Marked erased, but setting a value an erasure does not set.
    marked = op(
        "customer", row_id, "update",
        {"erased_at": "2026-12-07T05:50:00+00:00", "notes": "想要红色"},
        base={"erased_at": None, "notes": None}, base_version=deleted,
    )  # fmt: skip
    assert _status(laptop.push(renamed, marked)) == [protocol.RESULT_CONFLICT] * 2
    row = laptop.row("customer", row_id)
    assert (row["data"]["name"], row["data"]["erased_at"]) == ("黄嘉怡", None)


def _audit_entry(**fields):
    values = {
        "at": "2025-05-01T09:00:00+00:00",
        "actor_name": "王经理",
        "actor_role": "manager",
        "action": "export",
        "detail": '{"rows": 3}',
        "deleted": False,
        **fields,
    }
    return op("audit_log", new_id(), "insert", values)


def test_audit_log_rows_are_append_only(laptop, laptop2):
    entry = _audit_entry()
    (created,) = laptop.push(entry)
    assert created["status"] == protocol.RESULT_APPLIED
    v = created["version"]
    row_id = entry["row_id"]
    edit = op("audit_log", row_id, "update", {"action": "print"}, base={"action": "export"})
    edit["base_version"] = v
    delete = op("audit_log", row_id, "delete", {"deleted": True}, base_version=v)
    changed_insert = _audit_entry(action="print")
    changed_insert["row_id"] = row_id
    results = laptop2.push(edit, delete, changed_insert)
    assert _status(results) == [protocol.RESULT_REJECTED] * 3
    for result in results:
        assert result["version"] is None
        assert "audit_log" in result["reason"] and "append-only" in result["reason"]
    # The stored entry is untouched, no conflict was recorded, and nothing new was numbered.
    row = laptop.row("audit_log", row_id)
    assert row["version"] == v
    assert row["deleted"] is False
    assert row["data"]["action"] == "export"
    assert laptop.conflicts() == []
    # The same entry sent again (a retry after a restore) is not an error and changes nothing.
    again = _audit_entry()
    again["row_id"] = row_id
    (result,) = laptop2.push(again)
    assert result["status"] == protocol.RESULT_MERGED
    assert laptop.row("audit_log", row_id)["version"] == v
