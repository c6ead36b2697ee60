"""SyncClient against the real server (in process, SQLite): convergence, retries, errors."""

from __future__ import annotations

import datetime as dt
import gzip
import json
import random

import pytest
from conftest import SERVER_URL, Fault
from sqlalchemy import event, select, text

from showroom.demo import generate_demo_data
from showroom.models import Customer, SyncConflict, SyncOutbox, TestDrive
from showroom.models.local import SyncKeys
from showroom.services import auth, customers, dealer
from showroom.services.customers import CustomerDraft
from showroom.services.sync_status import sync_status
from sync import client, local


def enrolled(server, new_laptop, name):
    db = new_laptop(name)
    client.enroll(db, SERVER_URL, server.code(), device_name=name, http=server.session())
    return db


def sync(server, db, progress=None, cancel=None, **options):
    options.setdefault("sleep", lambda _s: None)
    options.setdefault("verify", True)
    return client.SyncClient(db, http=server.session(), **options).sync(progress, cancel)


def act(db, fn):
    with db.session_scope() as session:
        return fn(session, dealer.system_actor(session))


def add(db, name, phone):
    return act(
        db,
        lambda s, a: customers.create_customer(s, a, CustomerDraft(name=name, phones=[phone])).id,
    )


def update(db, customer_id, **changes):
    act(db, lambda s, a: customers.update_customer(s, a, customer_id, changes))


def customer(db, customer_id):
    with db.session_scope(write=False) as session:
        return session.get(Customer, customer_id)


def test_two_laptops_converge_after_edits_both_ways(server, new_laptop):
    a = enrolled(server, new_laptop, "a")
    b = enrolled(server, new_laptop, "b")
    first = add(a, "陈晓明", "13812345678")
    summary = sync(server, a)
    assert summary.pushed >= 2 and summary.checksum_ok is True
    summary = sync(server, b)
    assert summary.pulled >= 2 and summary.checksum_ok is True
    assert customer(b, first).name == "陈晓明"

    second = add(b, "王芳", "13912345678")
    update(b, first, address="深圳市南山区")
    update(a, first, notes="想要白色")
    for db in (a, b, a):
        assert sync(server, db).checksum_ok is True
    for db in (a, b):
        row = customer(db, first)
        assert (row.address, row.notes) == ("深圳市南山区", "想要白色")
        assert customer(db, second).name == "王芳"
    assert local.local_checksums(a) == local.local_checksums(b)
    with b.session_scope(write=False) as session:
        hits = customers.search_customers(session, dealer.system_actor(session), "王芳")
        assert [h.id for h in hits] == [second]
    # One system user and one dealer for the store, whichever laptop made them first.
    with a.engine.connect() as conn:
        assert conn.execute(text("SELECT count(*) FROM dealer")).scalar() == 1
        users = conn.execute(text("SELECT count(*) FROM app_user WHERE username='system'"))
        assert users.scalar() == 1


def test_sync_records_its_state_for_the_status_bar(server, new_laptop):
    a = enrolled(server, new_laptop, "a")
    add(a, "陈晓明", "13812345678")
    summary = sync(server, a)
    state = local.get_state(
        a,
        SyncKeys.LAST_ATTEMPT_AT,
        SyncKeys.LAST_SUCCESS_AT,
        SyncKeys.LAST_ERROR,
        SyncKeys.ONLINE,
        SyncKeys.CLOCK_SKEW_SECONDS,
        SyncKeys.EPOCH,
    )
    assert state[SyncKeys.LAST_SUCCESS_AT] and state[SyncKeys.LAST_ATTEMPT_AT]
    assert state[SyncKeys.LAST_ERROR] == "" and state[SyncKeys.ONLINE] == "1"
    assert state[SyncKeys.EPOCH]
    # The server runs on this machine: the skew is small, and it is what the summary says.
    assert abs(float(state[SyncKeys.CLOCK_SKEW_SECONDS])) < 5
    assert summary.clock_skew_seconds == float(state[SyncKeys.CLOCK_SKEW_SECONDS])
    assert local.pending_count(a) == 0


def requests_made(server, since):
    return [(method, path) for method, path, _ in server.adapter.log[since:]]


def test_one_edit_costs_meta_push_and_pull_and_the_other_laptop_meta_and_pull(server, new_laptop):
    a = enrolled(server, new_laptop, "a")
    b = enrolled(server, new_laptop, "b")
    cid = add(a, "陈晓明", "13812345678")
    for db in (a, b):
        sync(server, db, verify=None)
    update(a, cid, notes="想要白色")
    before = len(server.adapter.log)
    summary = sync(server, a, verify=None)
    assert (summary.pushed, summary.checksum_ok) == (1, None)
    # Its own edit, stored exactly as sent, does not come back.
    assert "skip_own=true" in server.adapter.requests[-1].url and summary.pulled == 0
    assert requests_made(server, before) == [
        ("GET", "/v1/meta"),
        ("POST", "/v1/sync/push"),
        ("GET", "/v1/sync/pull"),
    ]
    before = len(server.adapter.log)
    summary = sync(server, b, verify=None)
    assert requests_made(server, before) == [("GET", "/v1/meta"), ("GET", "/v1/sync/pull")]
    assert summary.pulled == 1 and customer(b, cid).notes == "想要白色"


def test_checksums_are_compared_after_the_initial_sync_then_every_few_hours(server, new_laptop):
    a = enrolled(server, new_laptop, "a")
    add(a, "陈晓明", "13812345678")
    assert sync(server, a, verify=None).checksum_ok is True  # the initial sync
    assert sync(server, a, verify=None).checksum_ok is None  # routine, just compared
    assert sync(server, a, verify=True).checksum_ok is True  # the caller asks for it
    last = local.get_state(a, client.LAST_VERIFIED_KEY)[client.LAST_VERIFIED_KEY]
    hours_ago = dt.datetime.fromisoformat(last) - client.VERIFY_INTERVAL
    local.set_state(a, {client.LAST_VERIFIED_KEY: hours_ago.isoformat()})
    before = len(server.adapter.log)
    assert sync(server, a, verify=None).checksum_ok is True
    assert ("GET", "/v1/sync/checksum") in requests_made(server, before)
    local.set_state(a, {client.LAST_VERIFIED_KEY: hours_ago.isoformat()})
    before = len(server.adapter.log)
    assert sync(server, a, verify=False).checksum_ok is None
    assert ("GET", "/v1/sync/checksum") not in requests_made(server, before)


def test_requests_carry_auth_schema_epoch_and_gzip_bodies(server, new_laptop):
    a = enrolled(server, new_laptop, "a")
    add(a, "陈晓明", "13812345678")
    sync(server, a)
    push = next(r for r in server.adapter.requests if r.url.endswith("/v1/sync/push"))
    token = local.get_state(a, SyncKeys.TOKEN)[SyncKeys.TOKEN]
    assert push.headers["Authorization"] == f"Bearer {token}"
    assert push.headers["X-Showroom-Schema"] == str(client.protocol.SCHEMA_VERSION)
    assert push.headers["X-Showroom-Epoch"] == local.get_state(a, SyncKeys.EPOCH)[SyncKeys.EPOCH]
    assert push.headers["Content-Encoding"] == "gzip"
    body = json.loads(gzip.decompress(push.body))
    assert body["ops"] and body["batch_id"]


def test_a_lost_response_is_retried_with_the_same_batch_and_makes_no_duplicate(server, new_laptop):
    a = enrolled(server, new_laptop, "a")
    cid = add(a, "陈晓明", "13812345678")
    server.adapter.faults.append(Fault("/sync/push", "lost"))
    summary = sync(server, a)
    pushes = [
        json.loads(gzip.decompress(r.body))
        for r in server.adapter.requests
        if r.url.endswith("/sync/push")
    ]
    assert len(pushes) == 2
    assert pushes[0]["batch_id"] == pushes[1]["batch_id"]
    assert [o["op_id"] for o in pushes[0]["ops"]] == [o["op_id"] for o in pushes[1]["ops"]]
    assert summary.checksum_ok is True
    with a.session_scope(write=False) as session:
        results = set(session.scalars(select(SyncOutbox.result)))
    assert results <= {"applied", "duplicate"}
    b = enrolled(server, new_laptop, "b")
    sync(server, b)
    with b.engine.connect() as conn:
        assert conn.execute(text("SELECT count(*) FROM customer")).scalar() == 1
    assert customer(b, cid).name == "陈晓明"


def test_a_pending_edit_survives_a_pull_of_the_same_row(server, new_laptop):
    a = enrolled(server, new_laptop, "a")
    b = enrolled(server, new_laptop, "b")
    cid = add(a, "陈晓明", "13812345678")
    sync(server, a)
    sync(server, b)
    update(a, cid, address="北京市朝阳区")
    sync(server, a)
    # b edits another field while offline, then pulls a's change of the same row.
    update(b, cid, notes="周末来店")
    cursor = local.cursor_of(b)
    page = client._Http(
        SERVER_URL,
        http=server.session(),
        timeout=(5, 30),
        retries=0,
        backoff_base=0.5,
        backoff_cap=30,
        sleep=lambda _s: None,
        rng=random.Random(1),
        clock=lambda: 0.0,
    )
    page.token = local.get_state(b, SyncKeys.TOKEN)[SyncKeys.TOKEN]
    answer = page.call("GET", "/sync/pull", params={"since": cursor, "limit": 100})
    local.apply_pull_page(b, answer, since=cursor)
    row = customer(b, cid)
    assert (row.address, row.notes) == ("北京市朝阳区", "周末来店")
    assert local.pending_count(b) == 1
    sync(server, b)
    sync(server, a)
    assert customer(a, cid).notes == "周末来店"
    assert local.local_checksums(a) == local.local_checksums(b)


def test_the_cursor_only_moves_with_a_written_page(server, new_laptop, monkeypatch):
    a = enrolled(server, new_laptop, "a")
    for i in range(5):
        add(a, f"客户{i}", f"1381234567{i}")
    sync(server, a)
    b = enrolled(server, new_laptop, "b")
    real_apply = local.apply_pull_page
    calls = []

    def crash_on_the_second_page(db, page, *, since):
        calls.append(since)
        if len(calls) == 2:
            raise local.LocalSyncError("rows", "simulated crash while writing the page")
        return real_apply(db, page, since=since)

    monkeypatch.setattr(local, "apply_pull_page", crash_on_the_second_page)
    with pytest.raises(client.SyncError):
        sync(server, b, pull_limit=4)
    monkeypatch.setattr(local, "apply_pull_page", real_apply)
    first_cursor = local.cursor_of(b)
    assert first_cursor > 0
    with b.engine.connect() as conn:
        written = conn.execute(text("SELECT count(*) FROM customer")).scalar()
        pulled_max = (
            conn.execute(text("SELECT max(server_version) FROM customer_phone")).scalar() or 0
        )
    assert pulled_max <= first_cursor
    assert written < 5
    # The next sync resumes after the first page rather than starting again.
    summary = sync(server, b, pull_limit=4)
    assert summary.checksum_ok is True
    assert local.cursor_of(b) > first_cursor


def test_initial_upload_of_a_demo_then_a_fresh_laptop_downloads_it(server, new_laptop, monkeypatch):
    a = new_laptop("a")
    demo = generate_demo_data(a, 25, seed=4)
    enrolment = client.enroll(a, SERVER_URL, server.code(), http=server.session())
    with a.session_scope(write=False) as session:
        # The status bar counts the rows waiting for the initial upload as pending changes.
        assert sync_status(session).pending_changes == enrolment.ops_queued > demo.customers
    steps = []
    summary = sync(server, a, progress=lambda *step: steps.append(step))
    with a.session_scope(write=False) as session:
        assert sync_status(session).pending_changes == 0
    pushes = [step for step in steps if step[0] == "push"]
    assert pushes[-1] == ("push", enrolment.ops_queued, enrolment.ops_queued)
    assert summary.checksum_ok is True
    assert summary.pushed >= demo.customers + demo.customer_phones
    # Nobody else wrote meanwhile: the laptop does not pull its own upload back.
    assert summary.pulled == 1  # the dealer's row, which the server made
    b = enrolled(server, new_laptop, "b")
    # A fresh laptop has nothing of its own to upload, and after its download it does not
    # read through the rows it pulled looking for some.
    assert not local.initial_upload_pending(b) and local.initial_upload_remaining(b) == 0
    pages, scans_after_a_page = [], []
    apply_pull_page = local.apply_pull_page

    def apply_page(*args, **kwargs):
        pages.append(1)
        return apply_pull_page(*args, **kwargs)

    def note_scan(_conn, _cursor, statement, *_args):
        if "server_version = 0" in statement and pages:
            scans_after_a_page.append(statement)

    monkeypatch.setattr(local, "apply_pull_page", apply_page)
    event.listen(b.engine, "before_cursor_execute", note_scan)
    summary = sync(server, b, pull_limit=50)
    event.remove(b.engine, "before_cursor_execute", note_scan)
    assert len(pages) > 10 and scans_after_a_page == []
    assert not local.initial_upload_pending(b)
    assert summary.checksum_ok is True
    assert summary.pulled >= demo.customers
    assert local.local_checksums(a) == local.local_checksums(b)
    with b.engine.connect() as conn:
        assert conn.execute(text("SELECT count(*) FROM customer")).scalar() == demo.customers
        assert conn.exec_driver_sql("PRAGMA foreign_key_check").fetchall() == []
    with a.engine.connect() as conn:
        name = conn.execute(text("SELECT name FROM customer ORDER BY id LIMIT 1")).scalar()
    with b.session_scope(write=False) as session:
        hits = customers.search_customers(session, dealer.system_actor(session), name)
        assert name in [h.name for h in hits]


def test_a_delete_of_a_row_as_synced_is_applied_without_conflict_in_every_table(server, new_laptop):
    """A delete carries the row as the laptop holds it, and the server compares that with the
    row it stores: every column type must read the same on both sides, on the laptop that
    uploaded the row and on one that downloaded it, or every delete would be a conflict."""
    from showroom.services.conflicts import model_for_table
    from sync.local.store import synced_tables

    a = new_laptop("a")
    generate_demo_data(a, 40, seed=7)
    with a.session_scope() as session:  # the demo books no test drives
        ids = session.scalars(select(Customer.id).order_by(Customer.id).limit(2)).all()
        start = dt.datetime(2026, 12, 8, 2, 0, tzinfo=dt.UTC)
        for hours, customer_id in enumerate(ids):
            at = start + dt.timedelta(hours=2 * hours)
            session.add(
                TestDrive(
                    customer_id=customer_id,
                    demo_car="粤B·D1234",
                    starts_at=at,
                    ends_at=at + dt.timedelta(hours=1),
                )
            )
    client.enroll(a, SERVER_URL, server.code(), http=server.session())
    sync(server, a)
    b = enrolled(server, new_laptop, "b")
    sync(server, b)
    # Not deleted: the dealer is the server's, the audit trail is append-only, and people's
    # accounts are switched off rather than deleted.
    tables = [t for t in synced_tables() if t not in ("dealer", "audit_log", "app_user")]
    deleted = {}
    for laptop, index in ((a, 0), (b, 1)):
        with laptop.session_scope() as session:
            for table in tables:
                model = model_for_table(table)
                rows = session.scalars(
                    select(model).where(model.deleted.is_(False)).order_by(model.id).limit(2)
                ).all()
                if len(rows) > index:
                    rows[index].deleted = True
                    deleted[(laptop.device_id, table)] = rows[index].id
    covered = {table for _, table in deleted}
    assert covered >= {
        "customer",
        "customer_phone",
        "follow_up",
        "quote",
        "quote_line",
        "test_drive",
    }
    sync(server, a)
    sync(server, b)
    sync(server, a)

    for laptop in (a, b):
        with laptop.session_scope(write=False) as session:
            answers = {
                (o.table_name, o.row_id): o.result
                for o in session.scalars(select(SyncOutbox).where(SyncOutbox.op == "delete"))
            }
            conflicts = session.scalars(select(SyncConflict)).all()
        mine = {t: r for (device, t), r in deleted.items() if device == laptop.device_id}
        assert {t: answers.get((t, r)) for t, r in mine.items()} == dict.fromkeys(mine, "applied")
        assert [(c.kind, c.table_name) for c in conflicts] == []


@pytest.mark.parametrize("server", [{"max_bulk_rows": 0}], indirect=True)
def test_a_lost_initial_answer_is_resent_as_the_same_batch_and_a_stop_resumes(server, new_laptop):
    """On a server without the bulk path, the initial upload goes as insert ops."""
    a = new_laptop("a")
    demo = generate_demo_data(a, 150, seed=8)
    client.enroll(a, SERVER_URL, server.code(), http=server.session())
    total = local.initial_upload_remaining(a)
    server.adapter.faults.append(Fault("/sync/push", "lost"))

    def stop_after_two_batches():
        return len([p for p in server.adapter.log if p[1] == "/v1/sync/push"]) >= 3

    # The first push's answer is lost: the retry is the same batch, answered from storage.
    summary = sync(server, a, cancel=stop_after_two_batches)
    bodies = [
        json.loads(gzip.decompress(r.body))
        for r in server.adapter.requests
        if r.url.endswith("/sync/push")
    ]
    assert summary.cancelled and len(bodies) == 3
    assert bodies[0]["batch_id"] == bodies[1]["batch_id"] != bodies[2]["batch_id"]
    assert [o["op_id"] for o in bodies[0]["ops"]] == [o["op_id"] for o in bodies[1]["ops"]]
    assert local.initial_upload_remaining(a) == total - 2 * len(bodies[0]["ops"])
    # The laptop is closed here; the next sync sends only the rest.
    before = len(server.adapter.requests)
    summary = sync(server, a)
    rest = [
        op
        for r in server.adapter.requests[before:]
        if r.url.endswith("/sync/push")
        for op in json.loads(gzip.decompress(r.body))["ops"]
    ]
    sent = {o["row_id"] for body in bodies for o in body["ops"]} | {o["row_id"] for o in rest}
    assert len(rest) == total - 2 * len(bodies[0]["ops"]) and len(sent) == total
    assert summary.checksum_ok is True and summary.conflicts == 0
    assert not local.initial_upload_pending(a)
    b = enrolled(server, new_laptop, "b")
    sync(server, b)
    with b.engine.connect() as conn:
        assert conn.execute(text("SELECT count(*) FROM customer")).scalar() == demo.customers


@pytest.mark.parametrize("server", [{"max_bulk_rows": 100}], indirect=True)
def test_a_bulk_upload_resends_a_lost_batch_unchanged_and_resumes_after_a_stop(server, new_laptop):
    a = new_laptop("a")
    demo = generate_demo_data(a, 60, seed=9)
    client.enroll(a, SERVER_URL, server.code(), http=server.session())
    total = local.initial_upload_remaining(a)
    server.adapter.faults.append(Fault("/sync/bulk", "lost"))

    def bulk_bodies(requests):
        return [json.loads(gzip.decompress(r.body)) for r in requests if r.url.endswith("/bulk")]

    def stop_after_two_batches():
        return len([p for p in server.adapter.log if p[1] == "/v1/sync/bulk"]) >= 3

    summary = sync(server, a, cancel=stop_after_two_batches)
    bodies = bulk_bodies(server.adapter.requests)
    assert summary.cancelled and len(bodies) >= 3
    # The batch whose answer was lost went again, identical; each batch was answered once.
    by_batch: dict[str, list] = {}
    for body in bodies:
        by_batch.setdefault(body["batch_id"], []).append(body)
    (resent,) = [copies for copies in by_batch.values() if len(copies) > 1]
    assert len(resent) == 2 and resent[0] == resent[1]
    first_rows = [row[0] for copies in by_batch.values() for row in copies[0]["rows"]]
    assert local.initial_upload_remaining(a) == total - len(first_rows)
    assert not [r for r in server.adapter.requests if r.url.endswith("/sync/push")]

    before = len(server.adapter.requests)
    summary = sync(server, a)
    rest = bulk_bodies(server.adapter.requests[before:])
    assert all(len(body["rows"]) <= 100 for body in rest)
    sent = first_rows + [row[0] for body in rest for row in body["rows"]]
    assert len(sent) == len(set(sent)) == total
    assert summary.checksum_ok is True and summary.conflicts == 0 and summary.rejected == 0
    assert not local.initial_upload_pending(a) and local.pending_count(a) == 0
    b = enrolled(server, new_laptop, "b")
    assert sync(server, b).checksum_ok is True
    with b.engine.connect() as conn:
        assert conn.execute(text("SELECT count(*) FROM customer")).scalar() == demo.customers
        assert conn.execute(text("SELECT count(*) FROM app_user")).scalar() >= demo.users


def test_a_row_the_server_refuses_in_a_bulk_upload_is_kept_for_review(server, new_laptop):
    a = new_laptop("a")
    generate_demo_data(a, 5, seed=10)
    with a.engine.begin() as conn:
        bad = conn.execute(text("SELECT id FROM customer ORDER BY id LIMIT 1")).scalar()
        # A value the laptop's own checks would never let in: too long for the column.
        conn.execute(
            text("UPDATE customer SET name = :n WHERE id = :i"), {"n": "长" * 300, "i": bad}
        )
    client.enroll(a, SERVER_URL, server.code(), http=server.session())
    summary = sync(server, a)
    assert summary.rejected == 1
    with a.engine.connect() as conn:
        op = conn.execute(
            text("SELECT op, result, reason, acknowledged FROM sync_outbox WHERE row_id = :i"),
            {"i": bad},
        ).one()
    assert op[0] == "insert" and op[1] == "rejected" and op[3]
    assert op[2].startswith("customer.name:")
    assert not local.initial_upload_pending(a)


def users_of(db) -> dict[str, tuple[str, str]]:
    """``{username: (id, display name)}`` of a laptop's users."""
    with db.engine.connect() as conn:
        rows = conn.execute(text("SELECT username, id, display_name FROM app_user")).all()
    return {name: (row_id, shown) for name, row_id, shown in rows}


def test_a_username_made_on_two_laptops_offline_goes_to_the_first_the_other_moves_aside(
    server, new_laptop
):
    a, b = enrolled(server, new_laptop, "a"), enrolled(server, new_laptop, "b")
    sync(server, a), sync(server, b)
    first = act(a, lambda s, who: dealer.create_user(s, who, "sales99", "先到", "salesperson")).id
    second = act(b, lambda s, who: dealer.create_user(s, who, "sales99", "后到", "salesperson")).id
    act(b, lambda s, who: dealer.create_user(s, who, "sales99.2", "占位", "salesperson"))
    sync(server, a)

    summary = sync(server, b)  # the server refuses b's, then the pull brings a's

    assert summary.rejected == 1 and summary.checksum_ok is True
    users = users_of(b)
    assert users["sales99"] == (first, "先到")
    assert users["sales99.3"] == (second, "后到")  # .2 was taken: nothing of it is lost
    with b.session_scope(write=False) as session:
        assert dealer.actor_for(session, "sales99").user_id == first
        op = session.scalars(select(SyncOutbox).where(SyncOutbox.row_id == second)).one()
    assert op.result == "rejected" and op.reason.startswith("app_user.username:")
    sync(server, a)
    assert local.local_checksums(a) == local.local_checksums(b)
    with b.session_scope(write=False) as session:  # for the login dialog to tell its owner
        assert auth.moved_usernames(session) == {"sales99": "sales99.3"}


def test_progress_and_cancel_between_pages(server, new_laptop):
    a = enrolled(server, new_laptop, "a")
    for i in range(6):
        add(a, f"客户{i}", f"1381234567{i}")
    sync(server, a)
    b = enrolled(server, new_laptop, "b")
    seen = []

    def progress(stage, done, total):
        seen.append((stage, done, total))

    # Cancel once the first page is in.
    summary = sync(
        server, b, pull_limit=3, progress=progress, cancel=lambda: any(s[0] == "pull" for s in seen)
    )
    assert summary.cancelled and summary.checksum_ok is None
    assert len([s for s in seen if s[0] == "pull"]) == 1
    _stage, done, total = next(s for s in seen if s[0] == "pull")
    assert 0 < done < total
    cursor = local.cursor_of(b)
    assert cursor > 0
    assert sync(server, b).checksum_ok is True
    assert local.cursor_of(b) > cursor


def test_426_keeps_the_outbox(server, new_laptop):
    a = enrolled(server, new_laptop, "a")
    add(a, "陈晓明", "13812345678")
    before = local.pending_count(a)
    server.adapter.faults.append(Fault("/meta", "status", status=426))
    with pytest.raises(client.UpgradeRequired) as raised:
        sync(server, a)
    assert "升级" in raised.value.message("zh_CN")
    assert local.pending_count(a) == before
    state = local.get_state(a, SyncKeys.LAST_ERROR, SyncKeys.ONLINE)
    assert "newer version" in state[SyncKeys.LAST_ERROR] and state[SyncKeys.ONLINE] == "1"


def test_an_old_schema_gets_426_from_the_real_server(server, new_laptop, monkeypatch):
    a = enrolled(server, new_laptop, "a")
    add(a, "陈晓明", "13812345678")
    before = local.pending_count(a)
    monkeypatch.setattr(client.protocol, "SCHEMA_VERSION", 0)
    with pytest.raises(client.UpgradeRequired):
        sync(server, a)
    assert local.pending_count(a) == before


def test_a_revoked_token_is_a_clear_error(server, new_laptop):
    from sync.server import admin

    a = enrolled(server, new_laptop, "a")
    admin.revoke_device(server.engine, a.device_id)
    with pytest.raises(client.TokenRevoked) as raised:
        sync(server, a)
    assert isinstance(raised.value, client.NotEnrolled)
    assert "重新登记" in raised.value.message("zh_CN")
    assert [status for _m, _p, status in server.adapter.log][-1] == 401  # no retry of a 401


def test_a_laptop_that_never_enrolled_is_told_so(new_laptop):
    with pytest.raises(client.NotEnrolled):
        client.SyncClient(new_laptop("a")).sync()


def test_a_bad_enrolment_code_names_the_code(server, new_laptop):
    db = new_laptop("a")
    with pytest.raises(client.EnrolmentRefused) as raised:
        client.enroll(db, SERVER_URL, "WRONG-CODE-0000", http=server.session())
    assert raised.value.field == "code"
    assert local.get_state(db, SyncKeys.TOKEN)[SyncKeys.TOKEN] is None


def test_an_unreachable_server_is_retried_then_reported_offline(server, new_laptop):
    a = enrolled(server, new_laptop, "a")
    server.adapter.faults.append(Fault("/meta", "refuse", times=100))
    sleeps = []
    with pytest.raises(client.ServerUnreachable):
        sync(server, a, retries=3, sleep=sleeps.append)
    assert len(sleeps) == 3
    assert local.get_state(a, SyncKeys.ONLINE)[SyncKeys.ONLINE] == "0"
    assert local.get_state(a, SyncKeys.LAST_ERROR)[SyncKeys.LAST_ERROR]


def test_backoff_honours_retry_after_and_keeps_jitter_within_bounds(server, new_laptop):
    a = enrolled(server, new_laptop, "a")
    server.adapter.faults += [
        Fault("/meta", "status", status=429, headers={"Retry-After": "7"}),
        Fault("/meta", "status", status=503, times=3),
    ]
    sleeps = []
    summary = sync(server, a, retries=5, sleep=sleeps.append, rng=random.Random(5))
    assert summary.checksum_ok is True
    assert sleeps[0] == 7.0
    # Full jitter: attempt n waits uniformly within [0, min(cap, 0.5 * 2**n)].
    for attempt, delay in enumerate(sleeps[1:], start=1):
        assert 0 <= delay <= min(30.0, 0.5 * 2**attempt)
    assert len(sleeps) == 4


def test_jitter_never_exceeds_the_cap():
    http = client._Http(
        SERVER_URL,
        http=None,
        timeout=(1, 1),
        retries=0,
        backoff_base=0.5,
        backoff_cap=30.0,
        sleep=lambda _s: None,
        rng=random.Random(9),
        clock=lambda: 0.0,
    )
    delays = [http.backoff(attempt) for attempt in range(12) for _ in range(50)]
    assert max(delays) <= 30.0 and min(delays) >= 0
    assert max(delays) > 15  # late attempts do reach toward the cap


def test_a_4xx_other_than_429_is_not_retried(server, new_laptop):
    a = enrolled(server, new_laptop, "a")
    server.adapter.faults.append(Fault("/meta", "status", status=400, times=5))
    sleeps = []
    with pytest.raises(client.ServerRefused) as raised:
        sync(server, a, sleep=sleeps.append)
    assert raised.value.status == 400 and sleeps == []


def _backup(server):
    """An online copy of the server's SQLite database, as a nightly backup makes."""
    import sqlite3

    backup = sqlite3.connect(":memory:")
    with sqlite3.connect(server.engine.url.database) as live:
        live.backup(backup)
    return backup


def _restore(server, backup) -> None:
    """The server's disk dies; it comes back from ``backup``."""
    import sqlite3

    server.engine.dispose()
    with sqlite3.connect(server.engine.url.database) as live:
        backup.backup(live)


def _assert_everything_back(server, a, b, lost, kept) -> None:
    sync(server, b)
    assert sync(server, b).checksum_ok is True
    for db in (a, b):
        assert customer(db, lost).name == "备份后"
        assert customer(db, kept).notes == "备份后的修改"
    assert local.local_checksums(a) == local.local_checksums(b)


def test_a_server_restored_from_an_older_backup_gets_the_lost_rows_again(server, new_laptop):
    a = enrolled(server, new_laptop, "a")
    b = enrolled(server, new_laptop, "b")
    kept = add(a, "备份前", "13800000021")
    sync(server, a)
    backup = _backup(server)
    lost = add(a, "备份后", "13800000022")
    update(a, kept, notes="备份后的修改")
    sync(server, a)
    sync(server, b)
    assert customer(b, lost).name == "备份后"

    _restore(server, backup)  # without a's later changes
    epoch = local.get_state(a, SyncKeys.EPOCH)[SyncKeys.EPOCH]
    before = len(server.adapter.requests)
    summary = sync(server, a)
    assert summary.full_resync and summary.checksum_ok is True
    # The full resync pulls every row again, this laptop's own too.
    resync_pulls = [
        r.url for r in server.adapter.requests[before:] if "/sync/pull?since=0&" in r.url
    ]
    assert resync_pulls and not any("skip_own" in url for url in resync_pulls)
    assert local.get_state(a, SyncKeys.EPOCH)[SyncKeys.EPOCH] != epoch
    _assert_everything_back(server, a, b, lost, kept)


def test_a_restore_overtaken_by_another_laptop_is_still_found(server, new_laptop):
    a = enrolled(server, new_laptop, "a")
    b = enrolled(server, new_laptop, "b")
    kept = add(a, "备份前", "13800000031")
    sync(server, a)
    sync(server, b)
    backup = _backup(server)
    lost = add(a, "备份后", "13800000032")
    update(a, kept, notes="备份后的修改")
    sync(server, a)

    _restore(server, backup)
    # Before a syncs again, b pushes more than was lost: the server's counter passes a's cursor,
    # so only the history marks a keeps can show the restore.
    for i in range(4):
        add(b, f"恢复后{i}", f"1380000004{i}")
    sync(server, b)
    meta = server.session().get(
        SERVER_URL + "/v1/meta",
        headers={
            "Authorization": "Bearer " + local.get_state(b, SyncKeys.TOKEN)[SyncKeys.TOKEN],
            client.protocol.SCHEMA_HEADER: str(client.protocol.SCHEMA_VERSION),
        },
    )
    assert meta.json()["last_seq"] > local.cursor_of(a)

    summary = sync(server, a)
    assert summary.full_resync and summary.checksum_ok is True
    _assert_everything_back(server, a, b, lost, kept)


def test_history_marks_are_kept_and_sent_back(server, new_laptop):
    a = enrolled(server, new_laptop, "a")
    for i in range(3):
        add(a, f"客户{i}", f"1380000005{i}")
        sync(server, a, verify=None)
    stored = local.get_state(a, local.HISTORY_KEY)[local.HISTORY_KEY]
    marks = client.protocol.parse_history(stored)
    # One mark per commit this laptop saw: its three pushes (the pulls saw no newer commit).
    assert len(marks) >= 3
    add(a, "再一个", "13800000060")
    before = len(server.adapter.requests)
    sync(server, a, verify=None)
    sent = {
        r.path_url.split("?")[0]: r.headers.get(client.protocol.HISTORY_HEADER)
        for r in server.adapter.requests[before:]
    }
    # Meta gets every mark, push and pull only the newest.
    assert sent["/v1/meta"] == client.protocol.format_history(marks)
    assert sent["/v1/sync/push"] == client.protocol.format_mark(marks[0])
    newer = client.protocol.parse_history(local.get_state(a, local.HISTORY_KEY)[local.HISTORY_KEY])
    assert newer[0][0] > marks[0][0] and newer[1:4] == marks[:3]


@pytest.mark.parametrize("older", [False, True], ids=["server", "older_server"])
def test_the_sync_erases_deleted_rows_again_only_where_the_server_takes_it(
    server, new_laptop, monkeypatch, older
):
    """A server that says nothing of clearing deleted rows (an older one) keeps such an edit as
    a conflict: the laptop would blank the row, be refused and differ from the server ever
    after. Against it the sync erases only live rows again."""
    from showroom.services import privacy
    from sync.server import pull

    if older:
        newer_meta = pull.meta

        def older_meta(*args, **kwargs):
            answer = newer_meta(*args, **kwargs)
            del answer["clears_deleted_rows"]
            return answer

        monkeypatch.setattr(pull, "meta", older_meta)
    calls = []
    erase_again = privacy.forget_after_sync

    def recorded(session, **options):
        calls.append(options)
        return erase_again(session, **options)

    monkeypatch.setattr(privacy, "forget_after_sync", recorded)
    a = enrolled(server, new_laptop, "a")
    cid = add(a, "黄嘉怡", "13812348000")
    sync(server, a)
    act(a, lambda s, actor: privacy.erase_customer(s, actor, cid))
    summary = sync(server, a)
    assert summary.checksum_ok is True and not summary.full_resync
    assert calls and all(c == {"deleted_rows": not older} for c in calls)


def test_a_routine_cycle_looks_only_at_what_it_pulled_unless_the_last_was_cut_short(
    server, new_laptop, monkeypatch
):
    """The checks after a pull (merges crossed, quotes that no longer add up) look at what the
    pull brought; at everything only after a first download, or when the cycle before wrote a
    page and was cut short before looking."""
    from showroom.services import merge

    a = enrolled(server, new_laptop, "a")
    b = enrolled(server, new_laptop, "b")
    first = add(a, "陈晓明", "13812345678")
    sync(server, a)
    looked: list[set[str] | None] = []
    check = merge.merges_unsettled

    def spy(session, around=None):
        looked.append(None if around is None else set(around))
        return check(session, around=around)

    monkeypatch.setattr(merge, "merges_unsettled", spy)
    sync(server, b)
    assert looked[0] is None  # the first download: everything
    looked.clear()
    sync(server, b)
    assert looked == [set()]  # nothing new: nothing to look at
    update(a, first, notes="想要白色")
    sync(server, a)
    looked.clear()
    sync(server, b)
    assert looked == [{first}]

    update(a, first, notes="想要黑色")
    sync(server, a)

    def killed(session, around=None):
        raise OSError("killed before looking (test)")

    monkeypatch.setattr(merge, "merges_unsettled", killed)
    with pytest.raises(OSError):
        sync(server, b)
    assert customer(b, first).notes == "想要黑色"  # the page was written, not looked at
    monkeypatch.setattr(merge, "merges_unsettled", spy)
    looked.clear()
    sync(server, b)
    assert looked == [None]  # so the next cycle looks at everything
    looked.clear()
    sync(server, b)
    assert looked == [set()]
