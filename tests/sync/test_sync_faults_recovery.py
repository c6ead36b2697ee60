"""Crashes and restarts: a laptop killed mid-pull, an initial sync killed halfway, the server
restored from an older backup, tombstones purged while a laptop was away, and a reader paging
while several laptops push. Each runs on SQLite and PostgreSQL."""

from __future__ import annotations

import random
import threading
import time

import pytest
from fault_proxy import CUT_RESPONSE, DELAY
from harness import (
    PULL,
    ServerProcess,
    assert_acknowledged_present,
    assert_converged,
    load_customers,
)


def _wait_for(predicate, timeout: float, what: str) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return
        time.sleep(0.005)
    raise AssertionError(f"timed out waiting for {what}")


def _kill(process) -> None:
    if process.poll() is None:
        process.kill()
    process.communicate(timeout=30)


def test_client_killed_mid_pull_again_and_again_loses_and_doubles_nothing(
    loaded_store, make_laptop, server, proxy
):
    from showroom.services import customers, dealer

    seed, ids = loaded_store
    fresh = make_laptop("fresh", sync=False)
    total = server.get(seed.token(), "/v1/meta")["last_seq"]
    rng = random.Random(4)
    # Answers come a little late, so that a kill can land while a page is being applied.
    proxy.add_fault(DELAY, PULL, times=None, seconds=0.05)
    cursors = []
    for _ in range(6):
        before = fresh.cursor()
        process = fresh.admin("sync")
        _wait_for(
            lambda before=before, process=process: (
                fresh.cursor() > before or process.poll() is not None
            ),
            60,
            "the cursor to move",
        )
        time.sleep(rng.uniform(0.0, 0.06))
        _kill(process)
        cursors.append(fresh.cursor())
        if cursors[-1] >= total:
            break
    assert any(0 < c < total for c in cursors), cursors
    proxy.heal()
    fresh.admin_sync()

    assert fresh.cursor() == total
    assert_converged(server, [seed, fresh])
    for table in ("customer", "customer_phone"):
        assert fresh.count(table) == seed.count(table), table
    with fresh.db.session_scope(write=False) as session:
        actor = dealer.system_actor(session)
        hits = customers.search_customers(session, actor, "客户00007")
    assert [h.id for h in hits] == [ids[7]]


def test_initial_sync_killed_halfway_resumes_with_the_remainder(
    loaded_store, make_laptop, server, proxy
):
    seed, _ids = loaded_store
    fresh = make_laptop("fresh", sync=False)
    total = server.get(seed.token(), "/v1/meta")["last_seq"]

    proxy.add_fault(DELAY, PULL, times=None, seconds=0.3)
    process = fresh.admin("sync")
    _wait_for(lambda: fresh.cursor() >= total // 2, 120, "half of the download")
    _kill(process)
    halfway = fresh.cursor()
    assert total // 2 <= halfway < total
    proxy.heal()

    rows = server.rows(seed.token())
    remainder = sum(1 for r in rows.values() if r["version"] > halfway)
    first_request = len(proxy.exchanges)
    summary = fresh.admin_sync()
    pulls = [e for e in proxy.exchanges[first_request:] if e.path == PULL]
    assert f"since={halfway}" in pulls[0].target, pulls[0].target
    assert summary["pulled"] == remainder < len(rows)
    assert_converged(server, [seed, fresh])


def test_server_restored_from_an_older_backup_gets_every_acknowledged_write_back(
    make_laptop, server, backend, ledger
):
    a = make_laptop("a")
    b = make_laptop("b")
    first = a.create_customer("郑爽", "13811110001", address="北京市朝阳区")
    second = a.create_customer("冯刚", "13811110002")
    a.sync()
    b.sync()
    server.stop()
    backend.backup("nightly")
    server.start()

    # A day's work that the backup does not hold.
    a.update_customer(first, address="北京市海淀区")
    third = b.create_customer("韩梅", "13811110003")
    b.update_customer(second, notes="已付定金")
    a.delete_customer(second)
    a.sync()
    b.sync()
    a.sync()
    acknowledged = len(ledger.acknowledged())
    assert acknowledged == len(ledger.writes)

    server.kill()
    backend.restore("nightly")
    server.start()
    for _ in range(3):
        a.try_sync()
        b.try_sync()
    a.sync()
    b.sync()
    a.sync()

    assert len(ledger.acknowledged()) >= acknowledged
    assert_acknowledged_present(server, [a, b], ledger)
    assert_converged(server, [a, b])
    assert b.row("customer", first)["address"] == "北京市海淀区"
    assert a.row("customer", third)["name"] == "韩梅"
    assert a.row("customer", second)["deleted"]


def test_laptop_away_past_tombstone_retention_does_not_bring_deleted_rows_back(
    make_laptop, server, ledger
):
    a = make_laptop("a")
    b = make_laptop("b")
    gone = a.create_customer("钱多", "13822220001")
    edited_away = a.create_customer("李四", "13822220002")
    kept = a.create_customer("张三", "13822220003")
    a.sync()
    b.sync()

    # b is away: a deletes two customers and the server purges their tombstones.
    a.delete_customer(gone)
    a.delete_customer(edited_away)
    a.sync()
    purged = server.purge(0)
    assert purged, "purge printed nothing"
    # Meanwhile, on b, one of them is edited, and another customer too.
    b.update_customer(edited_away, notes="离线时的备注")
    b.update_customer(kept, notes="要看新款")
    for _ in range(2):
        b.try_sync()
    b.sync()
    a.sync()

    for laptop in (a, b):
        for row_id in (gone, edited_away):
            row = laptop.row("customer", row_id)
            assert row is None or row["deleted"], (laptop.name, row_id)
        assert laptop.row("customer", kept)["notes"] == "要看新款"
    live = {k for k, r in server.rows(a.token()).items() if not r["deleted"]}
    assert ("customer", gone) not in live and ("customer", edited_away) not in live
    assert_converged(server, [a, b])


def test_concurrent_pushes_never_make_a_reader_skip_a_row(make_laptop, server, backend, tmp_path):
    """Three laptops push while a reader pages. On PostgreSQL a second server process shares
    the database, as when the server is scaled out: half of the traffic goes to each."""
    import requests

    from showroom.models.local import SyncKeys
    from sync import local
    from sync.protocol import SCHEMA_HEADER, SCHEMA_VERSION

    pushers = [make_laptop(f"p{i}") for i in range(3)]
    reader = make_laptop("reader")
    urls = [server.url]
    if backend.kind == "postgres":
        second = ServerProcess(backend.url, tmp_path)
        second.start()
        urls.append(second.url)
        for laptop in pushers[1::2]:
            local.set_state(laptop.db, {SyncKeys.SERVER_URL: second.url})
    pages = 0
    errors: list[BaseException] = []

    def push(laptop, index):
        try:
            for round_ in range(8):
                load_customers(laptop, 5, prefix=f"并发{index}-{round_}-")
                laptop.sync()
        except BaseException as error:
            errors.append(error)

    seen: dict[tuple[str, str], int] = {}
    seen_twice: list[tuple[str, str]] = []
    headers = {"Authorization": f"Bearer {reader.token()}", SCHEMA_HEADER: str(SCHEMA_VERSION)}
    since = reader.cursor()

    def page() -> bool:
        nonlocal since, pages
        pages += 1
        answer = requests.get(
            urls[pages % len(urls)] + PULL,
            params={"since": since, "limit": 7},
            headers=headers,
            timeout=30,
        )
        assert answer.status_code == 200, answer.text
        body = answer.json()
        for row in body["rows"]:
            key = (row["table"], row["id"])
            if key in seen:
                seen_twice.append(key)
            seen[key] = row["version"]
        since = body["next_since"]
        return body["has_more"]

    threads = [threading.Thread(target=push, args=(p, i)) for i, p in enumerate(pushers)]
    for thread in threads:
        thread.start()
    while any(t.is_alive() for t in threads):
        page()
    for thread in threads:
        thread.join()
    while page():
        pass
    assert not errors, errors

    everything = server.rows(reader.token())
    new_rows = {k: r["version"] for k, r in everything.items() if r["version"] > reader.cursor()}
    made = sum(1 for k in new_rows if k[0] == "customer")
    assert made == 3 * 8 * 5
    missing = sorted(set(new_rows) - set(seen))
    assert not missing, f"the reader's cursor skipped {len(missing)} rows: {missing[:5]}"
    assert not seen_twice, seen_twice[:5]
    assert seen == new_rows


@pytest.mark.parametrize("file", ["plain", "encrypted"])
def test_a_first_download_from_the_snapshot_killed_or_cut_off_starts_again_and_converges(
    loaded_store, make_laptop, server, proxy, file
):
    """A fresh laptop starts from the dealer's snapshot. Killed while the file is on its way,
    it holds nothing and pulls nothing from 0 next time; an answer cut off is fetched again;
    what changed after the snapshot comes as pages. An encrypted laptop, as the app's, unpacks
    the file in memory (/dev/shm) and leaves nothing of it there or beside its database."""
    from showroom.db.crypto import new_key
    from sync.local import snapshot as taking

    memory = taking.ram_folder()
    if file == "encrypted" and memory is None:
        pytest.skip(f"{taking.RAM_FOLDER} is not a tmpfs here: an encrypted laptop pulls pages")
    seed, ids = loaded_store
    (made,) = server.cli("snapshot", "--dealer", server.dealer_id)
    seed.update_customer(ids[5], notes="快照之后的修改")
    seed.sync()
    total = server.get(seed.token(), "/v1/meta")["last_seq"]
    file_path = f"/v1/sync/snapshot/{made['seq']}"
    fresh = make_laptop("fresh", sync=False, key=new_key() if file == "encrypted" else None)
    in_memory = taking._ram_file(memory, str(fresh.path)) if memory is not None else None

    held = proxy.hold(file_path)
    process = fresh.admin("sync")
    assert held.arrived.wait(60), "the laptop never asked for the snapshot"
    _kill(process)  # the server has sent the file; the laptop dies before it arrives
    held.release()
    assert fresh.cursor() == 0 and fresh.count("customer") == 0

    proxy.add_fault(CUT_RESPONSE, file_path)
    first_request = len(proxy.exchanges)
    summary = fresh.admin_sync()
    asked = [e for e in proxy.exchanges[first_request:] if e.path == file_path]
    assert [e.fault for e in asked] == [CUT_RESPONSE, "pass"]
    pulls = [e for e in proxy.exchanges[first_request:] if e.path == PULL]
    assert pulls and all("since=0" not in e.target for e in pulls)
    assert summary["pulled"] >= made["rows"]
    assert fresh.cursor() == total
    assert fresh.row("customer", ids[5])["notes"] == "快照之后的修改"
    assert not list(fresh.path.parent.glob(f"{fresh.path.name}.snapshot*"))
    if in_memory is not None:
        assert not list(memory.glob(f"{in_memory.name}*"))
    assert fresh.path.read_bytes().startswith(b"SQLite format 3") == (file == "plain")
    assert_converged(server, [seed, fresh])
