"""sync.local on real migrated databases: outbox batches, pulled pages, resync, enrolment."""

from __future__ import annotations

import json
import uuid

import pytest
from sqlalchemy import select, text

from showroom.db.outbox import to_wire
from showroom.demo import generate_demo_data
from showroom.models import Customer, CustomerPhone, Dealer, SyncOutbox, User
from showroom.models.local import SyncKeys
from showroom.services import customers, dealer
from showroom.services.customers import CustomerDraft
from sync import local, protocol


def add_customer(db, actor, name="陈晓明", phone="13812345678"):
    with db.session_scope() as session:
        return customers.create_customer(session, actor, CustomerDraft(name=name, phones=[phone]))


def wire_rows(db, version_of=None):
    """Every synced row of ``db`` as the server would send it (version from ``version_of``)."""
    rows = []
    with db.engine.connect() as conn:
        for name, table in local.synced_tables().items():
            for r in conn.execute(select(table)).mappings():
                rows.append(
                    {
                        "table": name,
                        "id": r["id"],
                        "version": version_of(name, r["id"]) if version_of else 1,
                        "deleted": bool(r["deleted"]),
                        "data": {c.name: to_wire(r[c.name]) for c in local.content_columns(name)},
                        "updated_at": to_wire(r["updated_at"]),
                        "updated_by_device": "server-device",
                    }
                )
    return rows


def page(rows, next_since, has_more=False):
    return {"rows": rows, "next_since": next_since, "has_more": has_more, "last_seq": next_since}


def customer_row(customer_id, version, **data):
    base = {
        "kind": "person",
        "name": "王芳",
        "lifecycle_stage": "prospect",
        "vip": False,
        "deleted": False,
        "created_at": "2026-01-02T03:04:05+00:00",
    }
    base.update(data)
    return {
        "table": "customer",
        "id": customer_id,
        "version": version,
        "deleted": base["deleted"],
        "data": base,
        "updated_at": "2026-01-02T03:04:05+00:00",
        "updated_by_device": "other",
    }


def ack_all(db, version=0):
    """Answer every pending op as applied, version after version; returns the last version."""
    while (batch := local.next_batch(db)) is not None:
        results = []
        for op in batch.ops:
            version += 1
            results.append({"op_id": op["op_id"], "status": "applied", "version": version})
        local.record_results(db, batch, {"results": results})
    return version


# --- initial upload --------------------------------------------------------------------------


def upload_all(db, limit=protocol.MAX_BATCH_OPS, status="applied"):
    """Send the whole initial upload, every op answered ``status``; returns the batches."""
    batches = []
    version = 100
    while (batch := local.next_initial_batch(db, limit)) is not None:
        results = []
        for op in batch.ops:
            version += 1
            results.append({"op_id": op["op_id"], "status": status, "version": version})
        local.record_initial_results(db, batch, {"results": results})
        batches.append(batch)
    local.finish_initial_upload(db, batches[-1].after if batches else None)
    return batches


def test_initial_upload_sends_every_demo_row_once_without_the_dealer_or_an_outbox(db):
    summary = generate_demo_data(db, 15, seed=3)
    local.begin_initial_upload(db)
    expected = summary.users + summary.trims + summary.trim_options + summary.trim_colours
    expected += summary.customers + summary.customer_phones + summary.customer_vehicles
    expected += summary.interactions + summary.follow_ups + summary.intent_changes
    expected += summary.consents + summary.quotes + summary.quote_lines
    assert local.initial_upload_remaining(db) == expected
    batches = upload_all(db, limit=100)
    ops = [op for batch in batches for op in batch.ops]
    assert len(ops) == expected == len({(o["table"], o["row_id"]) for o in ops})
    assert all(len(batch.ops) <= 100 for batch in batches)
    assert {o["op"] for o in ops} == {"insert"} and "dealer" not in {o["table"] for o in ops}
    with db.session_scope() as session:
        first = next(o for o in ops if o["table"] == "customer")
        row = session.get(Customer, first["row_id"])
        assert first["fields"]["name"] == {"new": row.name, "base": None}
        assert set(first["fields"]) == {c.name for c in local.content_columns("customer")}
        assert row.server_version > 100
    with db.engine.connect() as conn:
        assert conn.execute(text("SELECT count(*) FROM sync_outbox")).scalar() == 0
        unversioned = conn.execute(
            text("SELECT count(*) FROM customer_phone WHERE server_version = 0")
        )
        assert unversioned.scalar() == 0
    assert not local.initial_upload_pending(db)
    assert local.next_initial_batch(db) is None
    local.begin_initial_upload(db)  # a later first cycle finds nothing left to send
    assert upload_all(db) == [] and not local.initial_upload_pending(db)


def test_initial_upload_puts_parents_before_children(db):
    generate_demo_data(db, 5, seed=1)
    local.begin_initial_upload(db)
    order = [o["table"] for batch in upload_all(db, limit=40) for o in batch.ops]
    assert order.index("customer") < order.index("customer_phone")
    assert order.index("app_user") < order.index("customer")


def test_an_unanswered_initial_batch_comes_back_identical_and_a_cut_upload_resumes(db):
    generate_demo_data(db, 10, seed=4)
    local.begin_initial_upload(db)
    total = local.initial_upload_remaining(db)
    assert local.initial_upload_waiting(db) == total  # as the status bar shows it
    first = local.next_initial_batch(db, 50)
    again = local.next_initial_batch(db, 50)  # the answer was lost: the same batch
    assert again.batch_id == first.batch_id
    assert [o["op_id"] for o in again.ops] == [o["op_id"] for o in first.ops]
    assert len({o["op_id"] for o in first.ops}) == 50
    ahead = local.next_initial_batch(db, 50, after=first.after)
    results = [{"op_id": o["op_id"], "status": "applied", "version": 1} for o in first.ops]
    local.record_initial_results(db, first, {"results": results})
    # The process dies here; the next one goes on after the answered batch.
    resumed = local.next_initial_batch(db, 50)
    assert resumed.batch_id == ahead.batch_id != first.batch_id
    assert local.initial_upload_remaining(db) == local.initial_upload_waiting(db) == total - 50
    rest = upload_all(db, limit=50)
    sent = {o["row_id"] for o in first.ops} | {o["row_id"] for b in rest for o in b.ops}
    assert len(sent) == total
    assert local.initial_upload_waiting(db) == 0


def server_versions(db, table):
    with db.engine.connect() as conn:
        return dict(conn.exec_driver_sql(f"SELECT id, server_version FROM {table}").all())


def test_answered_versions_outlive_a_cut_upload_and_reach_their_rows_once_written(db):
    generate_demo_data(db, 3, seed=5)
    local.begin_initial_upload(db)
    batch = local.next_initial_batch(db, 10_000)  # the whole upload in one batch
    answered = {(o["table"], o["row_id"]): 40 + i for i, o in enumerate(batch.ops)}
    results = [
        {"op_id": o["op_id"], "status": "applied", "version": answered[o["table"], o["row_id"]]}
        for o in batch.ops
    ]
    local.record_initial_results(db, batch, {"results": results})
    # The process dies before the upload ends. Meanwhile one customer is edited (its op brings
    # its version later) and another one is pulled at a newer version than its answer.
    edited, pulled = sorted(row for table, row in answered if table == "customer")[:2]
    with db.session_scope() as session:
        customers.update_customer(
            session, dealer.system_actor(session), edited, {"notes": "上传中修改"}
        )
    with db.engine.begin() as conn:
        conn.exec_driver_sql("UPDATE customer SET server_version = 999 WHERE id = ?", (pulled,))
    assert local.next_initial_batch(db, 10_000) is None  # every row is answered: none resent

    assert local.write_upload_versions(db) == len(answered) - 2
    for table in {table for table, _ in answered}:
        stored = server_versions(db, table)
        for (t, row_id), version in answered.items():
            if t == table and row_id not in (edited, pulled):
                assert stored[row_id] == version, (table, row_id)
    customers_now = server_versions(db, "customer")
    assert (customers_now[edited], customers_now[pulled]) == (0, 999)
    assert local.write_upload_versions(db) == 0  # written once, then forgotten


def test_a_bulk_answer_applying_every_row_stages_its_versions_but_an_edited_rows(db):
    generate_demo_data(db, 3, seed=5)
    local.begin_initial_upload(db)
    local.set_state(db, {SyncKeys.CURSOR: "7"})
    answered, edited = {}, None
    while (batch := local.next_bulk_batch(db, 10_000)) is not None:
        cursor, count = local.cursor_of(db), len(batch.ids)
        last_seq = cursor + count
        if batch.table == "customer":
            # Edited while its batch is in flight: the edit's op brings the row's version.
            edited = batch.ids[1]
            with db.session_scope() as session:
                customers.update_customer(
                    session, dealer.system_actor(session), edited, {"notes": "上传中修改"}
                )
            last_seq += 1  # and another laptop wrote after this batch
        answer = {"batch_id": batch.batch_id, "first_version": cursor + 1, "rejected": []}
        outcome = local.record_bulk_results(db, batch, {**answer, "last_seq": last_seq})
        assert (outcome.applied, outcome.rejected) == (count, 0)
        # The cursor moves past a batch only when the server's history is exactly it.
        assert local.cursor_of(db) == (cursor if batch.table == "customer" else last_seq)
        answered.update({(batch.table, row): cursor + 1 + i for i, row in enumerate(batch.ids)})
    assert edited is not None

    assert local.write_upload_versions(db) == len(answered) - 1
    for table in {table for table, _ in answered}:
        stored = server_versions(db, table)
        for (t, row_id), version in answered.items():
            if t == table:
                assert stored[row_id] == (0 if row_id == edited else version), (table, row_id)


def test_versions_answered_by_another_server_are_dropped_by_a_new_enrolment(db):
    generate_demo_data(db, 2, seed=5)
    enrol(db, str(uuid.uuid4()))
    batch = local.next_initial_batch(db, 5)
    results = [{"op_id": o["op_id"], "status": "applied", "version": 7} for o in batch.ops]
    local.record_initial_results(db, batch, {"results": results})
    enrol(db, str(uuid.uuid4()))  # never synced: the upload starts again, for the new server
    assert local.write_upload_versions(db) == 0
    sent = [o["row_id"] for b in upload_all(db) for o in b.ops]
    assert {o["row_id"] for o in batch.ops} <= set(sent)


def test_the_cursor_moves_past_an_upload_only_when_the_servers_history_is_exactly_it(db):
    generate_demo_data(db, 3, seed=4)
    local.begin_initial_upload(db)
    local.set_state(db, {SyncKeys.CURSOR: "7"})

    def answer(batch, first, last_seq):
        results = [
            {"op_id": o["op_id"], "status": "applied", "version": first + i}
            for i, o in enumerate(batch.ops)
        ]
        return {"results": results, "last_seq": last_seq}

    batch = local.next_initial_batch(db, 10)
    local.record_initial_results(db, batch, answer(batch, 8, 17))
    assert local.cursor_of(db) == 17  # versions 8..17 are this batch, nothing else
    batch = local.next_initial_batch(db, 10)
    local.record_initial_results(db, batch, answer(batch, 19, 28))  # 18 is someone else's
    assert local.cursor_of(db) == 17
    batch = local.next_initial_batch(db, 10)
    local.record_initial_results(db, batch, answer(batch, 18, 28))  # another write after it
    assert local.cursor_of(db) == 17


def test_an_answer_missing_an_initial_result_leaves_the_batch_to_send_again(db):
    generate_demo_data(db, 3, seed=4)
    local.begin_initial_upload(db)
    batch = local.next_initial_batch(db, 20)
    partial = {"results": [{"op_id": batch.ops[0]["op_id"], "status": "applied", "version": 1}]}
    with pytest.raises(local.LocalSyncError, match="results"):
        local.record_initial_results(db, batch, partial)
    assert local.next_initial_batch(db, 20).batch_id == batch.batch_id


def test_a_rejected_initial_row_is_kept_for_review_and_not_sent_again(db):
    generate_demo_data(db, 3, seed=6)
    local.begin_initial_upload(db)
    batch = local.next_initial_batch(db, 10)
    bad = batch.ops[3]
    results = [
        {"op_id": o["op_id"], "status": "applied", "version": i + 1}
        for i, o in enumerate(batch.ops)
    ]
    results[3] = {"op_id": bad["op_id"], "status": "rejected", "version": None, "reason": "bad"}
    outcome = local.record_initial_results(db, batch, {"results": results})
    assert (outcome.rejected, outcome.applied) == (1, 9)
    with db.session_scope() as session:
        kept = session.scalar(select(SyncOutbox).where(SyncOutbox.op_id == bad["op_id"]))
        assert (kept.acknowledged, kept.result, kept.reason) == (True, "rejected", "bad")
        assert (kept.row_id, kept.op) == (bad["row_id"], "insert")
        assert json.loads(kept.fields) == bad["fields"]
    assert local.pending_count(db) == 0
    later = [o["row_id"] for b in upload_all(db) for o in b.ops]
    assert bad["row_id"] not in later
    local.begin_initial_upload(db)
    assert bad["row_id"] not in [o["row_id"] for b in upload_all(db) for o in b.ops]


def test_rows_edited_or_deleted_before_the_upload_go_as_they_are_before_their_ops(db, sales):
    generate_demo_data(db, 4, seed=7)
    local.begin_initial_upload(db)
    with db.session_scope() as session:
        edited, deleted = session.scalars(select(Customer.id).limit(2)).all()
        customers.update_customer(
            session, dealer.system_actor(session), edited, {"notes": "登记后修改"}
        )
    with db.session_scope() as session:
        session.get(Customer, deleted).deleted = True
    created = add_customer(db, sales, name="登记后新建", phone="13800000031").id
    ops = {o["row_id"]: o for b in upload_all(db) for o in b.ops}
    assert ops[edited]["fields"]["notes"]["new"] == "登记后修改"
    assert ops[deleted]["fields"]["deleted"]["new"] is True
    assert created not in ops  # its own insert op in the outbox carries it
    with db.session_scope() as session:
        # The edit's op is still to be answered: it brings the version then.
        assert session.get(Customer, edited).server_version == 0
    pending = {o["row_id"]: o["op"] for o in local.pending_ops(db)}
    assert pending[edited] == "update" and pending[deleted] == "delete"
    assert pending[created] == "insert"


# --- batches and results ---------------------------------------------------------------------


def test_batch_id_is_stored_before_sending_and_a_retry_resends_the_same_batch(db, sales):
    add_customer(db, sales)
    first = local.next_batch(db)
    with db.engine.connect() as conn:
        stored = conn.execute(text("SELECT DISTINCT batch_id FROM sync_outbox")).scalars().all()
    assert stored == [first.batch_id]
    # An edit made while the batch is in flight is a new op, not part of the batch.
    customer_id = next(o["row_id"] for o in first.ops if o["table"] == "customer")
    with db.session_scope() as session:
        customers.update_customer(session, sales, customer_id, {"address": "深圳市福田区"})
    again = local.next_batch(db)
    assert again.batch_id == first.batch_id
    assert [o["op_id"] for o in again.ops] == [o["op_id"] for o in first.ops]

    local.record_results(
        db,
        again,
        {"results": [{"op_id": o["op_id"], "status": "applied", "version": 7} for o in again.ops]},
    )
    following = local.next_batch(db)
    assert following.batch_id != first.batch_id
    (edit,) = following.ops
    assert edit["op"] == "update" and edit["fields"]["address"]["new"] == "深圳市福田区"


def test_batches_hold_at_most_the_limit_in_order(db, sales):
    for i in range(5):
        add_customer(db, sales, name=f"客户{i}", phone=f"1381234567{i}")
    pending = local.pending_count(db)
    seen = []
    while (batch := local.next_batch(db, limit=3)) is not None:
        assert len(batch.ops) <= 3
        seen += batch.seqs
        local.record_results(
            db,
            batch,
            {
                "results": [
                    {"op_id": o["op_id"], "status": "applied", "version": 1} for o in batch.ops
                ]
            },
        )
    assert seen == sorted(seen) and len(seen) == pending >= 10  # customers, phones, staff


def test_results_set_versions_and_keep_rejected_ops_with_their_reason(db, sales):
    c = add_customer(db, sales)
    ack_all(db)
    with db.session_scope() as session:
        version = session.get(Customer, c.id).server_version
        assert version > 0
        customers.update_customer(session, sales, c.id, {"address": "广州市天河区"})
    batch = local.next_batch(db)
    (op,) = batch.ops
    assert op["base_version"] == version
    outcome = local.record_results(
        db,
        batch,
        {"results": [{"op_id": op["op_id"], "status": "rejected", "reason": "bad address"}]},
    )
    assert outcome.rejected == 1
    with db.session_scope() as session:
        kept = session.scalar(select(SyncOutbox).where(SyncOutbox.op_id == op["op_id"]))
        assert (kept.acknowledged, kept.result, kept.reason) == (True, "rejected", "bad address")
        # The row shows what the server holds again.
        row = session.get(Customer, c.id)
        assert row.address is None and row.server_version == version
    assert local.pending_count(db) == 0


def test_a_newer_pending_edit_keeps_the_row_version_unchanged(db, sales):
    c = add_customer(db, sales)
    batch = local.next_batch(db)
    with db.session_scope() as session:
        customers.update_customer(session, sales, c.id, {"notes": "之后的修改"})
    local.record_results(
        db,
        batch,
        {"results": [{"op_id": o["op_id"], "status": "applied", "version": 3} for o in batch.ops]},
    )
    with db.session_scope() as session:
        assert session.get(Customer, c.id).server_version == 0
        phone = session.scalar(select(CustomerPhone).where(CustomerPhone.customer_id == c.id))
        assert phone.server_version == 3


def test_an_answer_missing_a_result_leaves_the_batch_pending(db, sales):
    add_customer(db, sales)
    batch = local.next_batch(db)
    with pytest.raises(local.LocalSyncError, match="results"):
        local.record_results(
            db, batch, {"results": [{"op_id": batch.ops[0]["op_id"], "status": "applied"}]}
        )
    with pytest.raises(local.LocalSyncError, match=r"results\[0\].status"):
        local.record_results(db, batch, {"results": [{"op_id": "x", "status": "great"}]})
    assert local.pending_count(db) == len(batch.ops)
    assert local.next_batch(db).batch_id == batch.batch_id


# --- pulled pages ----------------------------------------------------------------------------


def test_a_pulled_page_is_written_with_its_cursor_and_makes_no_op(db):
    cid = "01900000-0000-7000-8000-000000000001"
    result = local.apply_pull_page(db, page([customer_row(cid, 5, name="王芳")], 5), since=0)
    assert (result.rows, result.next_since) == (1, 5)
    assert local.cursor_of(db) == 5
    assert local.pending_count(db) == 0
    with db.session_scope() as session:
        row = session.get(Customer, cid)
        assert (row.name, row.server_version, row.updated_by_device) == ("王芳", 5, "other")
        hits = customers.search_customers(session, dealer.system_actor(session), "王芳")
        assert [h.id for h in hits] == [cid]


def test_a_child_may_arrive_before_its_parent(db):
    cid = "01900000-0000-7000-8000-000000000002"
    phone = {
        "table": "customer_phone",
        "id": "01900000-0000-7000-8000-0000000000a2",
        "version": 1,
        "deleted": False,
        "data": {"customer_id": cid, "number": "+8613812345678", "label": "mobile",
                 "is_primary": True, "deleted": False},
    }  # fmt: skip
    local.apply_pull_page(db, page([phone], 1, has_more=True), since=0)
    local.apply_pull_page(db, page([customer_row(cid, 2, name="周杰")], 2), since=1)
    with db.engine.connect() as conn:
        assert conn.exec_driver_sql("PRAGMA foreign_key_check").fetchall() == []
        assert conn.exec_driver_sql("PRAGMA foreign_keys").scalar() == 1
    with db.session_scope() as session:
        hits = customers.search_customers(session, dealer.system_actor(session), "13812345678")
        assert [h.id for h in hits] == [cid]


def test_a_pending_edit_survives_a_pull_of_the_same_row(db, sales):
    c = add_customer(db, sales)
    ack_all(db)
    with db.session_scope() as session:
        customers.update_customer(session, sales, c.id, {"notes": "客户想要白色"})
    pulled = customer_row(c.id, 40, name="陈晓明（已改）", notes="服务器上的备注")
    local.apply_pull_page(db, page([pulled], 40), since=local.cursor_of(db))
    with db.session_scope() as session:
        row = session.get(Customer, c.id)
        assert row.notes == "客户想要白色"  # mine, still pending
        assert row.name == "陈晓明（已改）"  # theirs, a field I did not touch
        assert row.server_version == 40
    assert local.pending_count(db) == 1


def test_unknown_tables_and_columns_from_a_newer_server_are_ignored(db):
    cid = "01900000-0000-7000-8000-000000000003"
    row = customer_row(cid, 3, name="林峰", future_column="x")
    other = {"table": "future_table", "id": "x", "version": 4, "deleted": False, "data": {}}
    result = local.apply_pull_page(db, page([row, other], 4), since=0)
    assert (result.rows, result.ignored) == (1, 1)
    with db.session_scope() as session:
        assert session.get(Customer, cid).name == "林峰"


@pytest.mark.parametrize(
    ("bad", "field"),
    [
        ({"rows": "x", "next_since": 1, "has_more": False}, "rows"),
        ({"rows": [], "next_since": -1, "has_more": False}, "next_since"),
        ({"rows": [], "next_since": 1}, "has_more"),
        (page([{"table": "customer", "id": "a", "version": "1", "deleted": False, "data": {}}], 1),
         r"rows\[0\].version"),
    ],
)  # fmt: skip
def test_a_malformed_page_names_the_field_and_writes_nothing(db, bad, field):
    with pytest.raises(local.LocalSyncError, match=field):
        local.apply_pull_page(db, bad, since=0)
    assert local.cursor_of(db) == 0


def test_a_bad_value_rolls_back_the_whole_page_with_its_cursor(db):
    good = customer_row("01900000-0000-7000-8000-000000000004", 1, name="好")
    bad = customer_row("01900000-0000-7000-8000-000000000005", 2, vip="yes")
    with pytest.raises(local.LocalSyncError, match=r"customer\.vip"):
        local.apply_pull_page(db, page([good, bad], 2), since=0)
    assert local.cursor_of(db) == 0
    with db.session_scope() as session:
        assert session.scalar(select(Customer.id)) is None


def test_a_tombstone_removes_the_customer_from_search(db, sales):
    c = add_customer(db, sales, name="赵敏")
    ack_all(db)
    local.apply_pull_page(
        db, page([customer_row(c.id, 90, name="赵敏", deleted=True)], 90), since=0
    )
    with db.session_scope() as session:
        assert session.get(Customer, c.id).deleted is True
        assert customers.search_customers(session, sales, "赵敏") == []


def test_a_large_page_leaves_the_search_index_to_one_rebuild(db):
    rows = [
        customer_row(str(uuid.UUID(int=i + 1, version=4)), i + 1, name=f"批量{i:03d}")
        for i in range(local.REINDEX_LIMIT + 5)
    ]
    local.apply_pull_page(db, page(rows, len(rows)), since=0)
    assert local.rebuild_search_if_needed(db) is True
    assert local.rebuild_search_if_needed(db) is False
    with db.session_scope() as session:
        hits = customers.search_customers(session, dealer.system_actor(session), "批量007")
        assert [h.name for h in hits] == ["批量007"]


def index_names(db):
    with db.engine.connect() as conn:
        return set(
            conn.exec_driver_sql(
                "SELECT name FROM sqlite_master WHERE type = 'index' AND sql IS NOT NULL"
            ).scalars()
        )


def test_a_first_download_builds_its_indexes_once_at_the_end_even_when_cut_short(
    db, tmp_path, migrated_template
):
    import shutil

    from showroom.db.engine import open_database

    before = index_names(db)
    rows = [
        customer_row(str(uuid.UUID(int=i + 1, version=4)), i + 1, name=f"新店客户{i:03d}")
        for i in range(30)
    ]
    assert local.begin_bulk_download(db) is True
    assert "ix_customer_name_id" not in index_names(db)
    local.apply_pull_page(db, page(rows[:10], 10, has_more=True), since=0)
    # The laptop is closed half-way: the next run finds the download under way and goes on.
    path = db.engine.url.database
    db.dispose()
    again = open_database(path)
    try:
        assert local.begin_bulk_download(again) is True
        local.apply_pull_page(again, page(rows[10:], 30), since=10)
        assert local.end_bulk_download(again) is True
        assert index_names(again) == before
        assert local.end_bulk_download(again) is False
        assert local.rebuild_search_if_needed(again) is True
        with again.session_scope() as session:
            hits = customers.search_customers(session, dealer.system_actor(session), "新店客户017")
            assert [h.name for h in hits] == ["新店客户017"]
        with again.engine.connect() as conn:
            assert conn.execute(text("SELECT count(*) FROM customer")).scalar() == 30
    finally:
        again.dispose()
    # A laptop that holds a store already is not "empty": its indexes stay.
    other = tmp_path / "full.db"
    shutil.copy(migrated_template, other)
    full = open_database(other)
    try:
        generate_demo_data(full, 120, seed=1)
        assert local.begin_bulk_download(full) is False
        assert index_names(full) == before
    finally:
        full.dispose()


def test_rows_the_laptop_already_holds_are_not_written_again(db, sales):
    c = add_customer(db, sales)
    ack_all(db)
    with db.engine.connect() as conn:
        versions = {
            (name, r[0]): r[1]
            for name in local.synced_tables()
            for r in conn.execute(text(f"SELECT id, server_version FROM {name}"))
        }
    mine = wire_rows(db, version_of=lambda name, row_id: versions[(name, row_id)])
    mine = [r for r in mine if r["version"] > 0]
    result = local.apply_pull_page(db, page(mine, 90), since=0)
    assert result.rows == 0 and local.cursor_of(db) == 90
    with db.session_scope() as session:
        row = session.get(Customer, c.id)
        assert row.updated_by_device == db.device_id  # not rewritten with the server's stamp
    # Same version, other values (the server merged another laptop's edit): written.
    (merged,) = [r for r in mine if r["id"] == c.id]
    merged = {**merged, "data": {**merged["data"], "address": "杭州市西湖区"}}
    assert local.apply_pull_page(db, page([merged], 91), since=90).rows == 1
    with db.session_scope() as session:
        assert session.get(Customer, c.id).address == "杭州市西湖区"


# --- checksums -------------------------------------------------------------------------------


def test_a_copy_made_from_pulled_rows_has_the_same_checksums(db, tmp_path, migrated_template):
    import shutil

    from showroom.db.engine import open_database

    generate_demo_data(db, 10, seed=2)
    rows = wire_rows(db, version_of=lambda *_: 1)
    path = tmp_path / "copy.db"
    shutil.copy(migrated_template, path)
    other = open_database(path)
    try:
        local.apply_pull_page(other, page(rows, 1), since=0)
        local.set_state(db, {})
        # Give the source the versions the copy got, as acknowledgements would.
        with db.engine.begin() as conn:
            for name in local.synced_tables():
                conn.execute(text(f"UPDATE {name} SET server_version = 1"))
        mine, theirs = local.local_checksums(db), local.local_checksums(other)
        assert mine == theirs
        assert mine["customer"]["count"] == 10
        expected = protocol.table_checksum(
            (r["id"], r["version"], r["deleted"], r["data"])
            for r in rows
            if r["table"] == "customer"
        )
        assert theirs["customer"] == expected
    finally:
        other.dispose()


def test_rows_the_server_never_acknowledged_are_left_out_of_the_checksum(db, sales):
    add_customer(db, sales)
    assert local.local_checksums(db, ["customer"])["customer"]["count"] == 0
    ack_all(db)
    assert local.local_checksums(db, ["customer"])["customer"]["count"] == 1


# --- full resync and restore -----------------------------------------------------------------


def test_full_resync_marks_rows_the_server_no_longer_has_unless_they_are_pending(db, sales):
    kept = add_customer(db, sales, name="留下", phone="13800000001")
    purged = add_customer(db, sales, name="清除", phone="13800000002")
    edited = add_customer(db, sales, name="编辑", phone="13800000003")
    ack_all(db)
    with db.session_scope() as session:
        customers.update_customer(session, sales, edited.id, {"notes": "未同步"})
    local.start_full_resync(db)
    assert local.cursor_of(db) == 0 and local.full_resync_pending(db)
    with db.engine.connect() as conn:
        keep_version = conn.execute(
            text("SELECT -server_version FROM customer WHERE id = :i"), {"i": kept.id}
        ).scalar()
    # The server sends the kept customer only: the others were purged there.
    local.apply_pull_page(db, page([customer_row(kept.id, keep_version, name="留下")], 50), since=0)
    assert local.finish_full_resync(db) >= 1
    assert not local.full_resync_pending(db)
    with db.session_scope() as session:
        assert session.get(Customer, kept.id).deleted is False
        assert session.get(Customer, purged.id).deleted is True
        assert session.get(Customer, purged.id).server_version == 0  # the server has none
        assert session.get(Customer, edited.id).deleted is False  # pending edit keeps it
        assert customers.search_customers(session, sales, "清除") == []
    assert local.pending_count(db) == 1  # the resync itself queued nothing


def test_restore_recovery_requeues_rows_newer_than_the_backup(db, sales):
    old = add_customer(db, sales, name="早期", phone="13800000011")
    backup = ack_all(db)
    new = add_customer(db, sales, name="后期", phone="13800000012")
    ack_all(db, backup)
    queued = local.requeue_lost_rows(db, epoch_base_seq=backup)
    assert queued == 2  # the customer and the phone
    ops = local.pending_ops(db)
    assert {o["row_id"] for o in ops} >= {new.id}
    assert old.id not in {o["row_id"] for o in ops}
    assert all(o["op"] == "insert" and o["base_version"] == 0 for o in ops)
    insert = next(o for o in ops if o["row_id"] == new.id)
    assert insert["fields"]["name"]["new"] == "后期"


# --- enrolment -------------------------------------------------------------------------------


def enrol(db, dealer_id, device="dev-1"):
    return local.adopt_enrolment(
        db,
        server_url="http://server",
        token="t0ken",
        device_id=device,
        dealer_id=dealer_id,
        dealer_name="华通大众4S店",
    )


def test_enrolment_rekeys_the_dealer_and_the_system_user_everywhere(db, sales):
    c = add_customer(db, sales)
    with db.session_scope() as session:
        old_dealer = session.scalar(select(Dealer.id))
        old_system = dealer.system_actor(session).user_id
        customers.update_customer(session, sales, c.id, {"assigned_to_id": old_system})
    server_dealer = str(uuid.uuid4())
    changes = enrol(db, server_dealer)
    assert changes.dealer_rekeyed and changes.system_user_rekeyed
    system_id = local.system_user_id(server_dealer)
    with db.session_scope() as session:
        assert session.scalar(select(Dealer.id)) == server_dealer
        assert session.get(Dealer, old_dealer) is None
        assert {u.dealer_id for u in session.scalars(select(User))} == {server_dealer}
        assert session.get(User, system_id).username == "system"
        assert session.get(Customer, c.id).assigned_to_id == system_id
        assert dealer.system_actor(session).user_id == system_id
    with db.engine.connect() as conn:
        assert conn.exec_driver_sql("PRAGMA foreign_key_check").fetchall() == []
        assert conn.execute(text("SELECT count(*) FROM sync_outbox")).scalar() == 0
    # Never synced: everything goes as the initial upload, with the new ids, without the dealer.
    assert changes.ops_queued == local.initial_upload_remaining(db) > 0
    ops = [o for batch in upload_all(db) for o in batch.ops]
    assert len(ops) == changes.ops_queued and c.id in {o["row_id"] for o in ops}
    assert "dealer" not in {o["table"] for o in ops}
    sent = json.dumps([o["fields"] for o in ops])
    assert server_dealer in sent and old_dealer not in sent and old_system not in sent
    state = local.get_state(db, SyncKeys.TOKEN, SyncKeys.DEALER_ID, SyncKeys.SERVER_URL)
    assert state == {
        SyncKeys.TOKEN: "t0ken",
        SyncKeys.DEALER_ID: server_dealer,
        SyncKeys.SERVER_URL: "http://server",
    }
    assert db.device_id == "dev-1"


def test_two_laptops_of_one_store_share_the_system_user(db, tmp_path, migrated_template):
    import shutil

    from showroom.db.engine import open_database

    path = tmp_path / "second.db"
    shutil.copy(migrated_template, path)
    second = open_database(path)
    try:
        for database in (db, second):
            with database.session_scope() as session:
                dealer.system_actor(session)
        server_dealer = str(uuid.uuid4())
        enrol(db, server_dealer, "dev-1")
        enrol(second, server_dealer, "dev-2")
        ids = []
        for database in (db, second):
            with database.session_scope() as session:
                ids.append(dealer.system_actor(session).user_id)
        assert ids[0] == ids[1] == local.system_user_id(server_dealer)
    finally:
        second.dispose()


def test_a_fresh_laptop_gets_a_placeholder_dealer_and_no_second_one(db):
    server_dealer = str(uuid.uuid4())
    enrol(db, server_dealer)
    with db.session_scope() as session:
        assert dealer.ensure_dealer(session).id == server_dealer
        assert dealer.system_actor(session).user_id == local.system_user_id(server_dealer)
        assert len(list(session.scalars(select(Dealer)))) == 1


def test_enrolment_with_a_bad_dealer_id_names_it(db):
    with pytest.raises(local.LocalSyncError, match="dealer_id"):
        enrol(db, "not-a-uuid")
    assert local.get_state(db, SyncKeys.TOKEN)[SyncKeys.TOKEN] is None


def test_fast_value_conversions_agree_with_the_column_types(db):
    """The bulk paths' converters give what from_wire/to_wire and the column types give."""
    generate_demo_data(db, 12, seed=5)
    checked = 0
    with db.engine.connect() as conn:
        for name, table in local.synced_tables().items():
            columns = local.content_columns(name)
            names = ", ".join(f'"{c.name}"' for c in columns)
            raw_rows = {
                r[0]: r[1:] for r in conn.exec_driver_sql(f"SELECT id, {names} FROM {name}")
            }
            for row in conn.execute(select(table)).mappings():
                for column, raw in zip(columns, raw_rows[row["id"]], strict=True):
                    wire = to_wire(row[column.name])
                    assert local.wire_value(column)(raw) == wire, (name, column.name, raw)
                    if raw is not None and not isinstance(raw, bool | int | str):
                        continue
                    stored = local.stored_value(column)(wire)
                    assert stored == raw or (column.name == "deleted" and stored == bool(raw))
                    checked += 1
    assert checked > 1000
    money = local.synced_tables()["catalogue_trim"].c.msrp
    assert local.wire_value(money)(-150) == "-1.50" == to_wire(local.from_wire(money, "-1.5"))
    assert local.stored_value(money)("12.30") == 1230
    moment = local.synced_tables()["customer"].c.created_at
    assert local.stored_value(moment)("2026-01-02T11:04:05+08:00") == "2026-01-02 03:04:05.000000"
    with pytest.raises(ValueError):
        local.stored_value(moment)("2026-01-02T03:04:05")
    with pytest.raises(TypeError):
        local.stored_value(local.synced_tables()["customer"].c.vip)("yes")
