"""A fresh laptop starting from its dealer's snapshot instead of pulling every row."""

from __future__ import annotations

import threading
import time
from pathlib import Path

import pytest
from conftest import SERVER_URL, Fault
from sqlalchemy import text
from test_client_sync import act, add, customer, enrolled, sync, update, users_of

from showroom.demo import generate_demo_data
from showroom.services import auth, customers, dealer
from sync import client, local
from sync.server import snapshot

# The server keeps snapshots; these tests build them when they want them (the keeper's first
# look is far off).
pytestmark = pytest.mark.parametrize(
    "server", [{"snapshots": True, "snapshot_check_seconds": 3600}], indirect=True
)


def _uploaded(server, new_laptop):
    a = new_laptop("a")
    generate_demo_data(a, 20, seed=7)
    client.enroll(a, SERVER_URL, server.code(), http=server.session())
    assert sync(server, a).checksum_ok is True
    return a


def _build(server):
    settings = server.app.state.settings
    made = snapshot.build(server.engine, settings.snapshot_dir, server.dealer_id)
    assert made is not None
    return made


def test_a_fresh_laptop_starts_from_the_snapshot_and_pulls_only_what_came_after(server, new_laptop):
    a = _uploaded(server, new_laptop)
    made = _build(server)
    with a.engine.connect() as conn:
        first, name = conn.execute(text("SELECT id, name FROM customer ORDER BY id")).first()
    update(a, first, notes="改到快照之后")  # after the snapshot: comes as a page
    sync(server, a)
    log_from = len(server.adapter.log)

    b = enrolled(server, new_laptop, "b")
    seen = []
    summary = sync(server, b, progress=lambda *report: seen.append(report))

    assert summary.checksum_ok is True
    assert local.local_checksums(a) == local.local_checksums(b)
    # The download counts as the pages do, in sequence numbers, up to the snapshot's.
    downloading = [done for stage, done, total in seen if stage == "pull" and total == made.seq]
    assert downloading and downloading[-1] == made.seq
    assert downloading == sorted(downloading) and downloading[0] >= 0
    asked = [(p, status) for _m, p, status in server.adapter.log[log_from:]]
    assert (f"/v1/sync/snapshot/{made.seq}", 200) in asked
    pulls = [r for r in server.adapter.requests[-len(asked) :] if "/sync/pull" in r.url]
    assert pulls and all("since=0" not in r.url for r in pulls)  # nothing pulled from 0
    assert customer(b, first).notes == "改到快照之后"
    with b.session_scope(write=False) as session:  # the search index came with the rows
        hits = customers.search_customers(session, dealer.system_actor(session), name)
        assert name in [h.name for h in hits]
    with b.engine.connect() as conn:
        assert conn.exec_driver_sql("PRAGMA foreign_key_check").fetchall() == []
        assert conn.exec_driver_sql("PRAGMA integrity_check").scalar() == "ok"
    assert not list(local.snapshot_file(b).parent.glob("*.snapshot*"))


def test_a_customer_added_before_the_first_sync_is_kept_searchable_and_uploaded(server, new_laptop):
    a = _uploaded(server, new_laptop)
    _build(server)
    b = enrolled(server, new_laptop, "b")
    mine = add(b, "快照前新客", "13911112222")

    assert sync(server, b).checksum_ok is True
    assert customer(b, mine).name == "快照前新客"
    with b.session_scope(write=False) as session:
        hits = customers.search_customers(session, dealer.system_actor(session), "快照前")
        assert [h.id for h in hits] == [mine]
    sync(server, a)
    assert customer(a, mine).name == "快照前新客"
    assert local.local_checksums(a) == local.local_checksums(b)


def test_a_user_made_before_enrolment_under_a_dealer_s_username_moves_aside_and_goes_up(
    server, new_laptop
):
    a = _uploaded(server, new_laptop)
    made = _build(server)
    name = "admin"  # the first run's administrator on both
    theirs = users_of(a)[name][0]
    b = new_laptop("b")
    mine = act(b, lambda s, who: dealer.create_user(s, who, name, "新电脑管理员", "admin")).id
    client.enroll(b, SERVER_URL, server.code(), http=server.session())
    log_from = len(server.adapter.log)

    summary = sync(server, b)

    assert summary.checksum_ok is True and summary.rejected == 0
    assert (f"/v1/sync/snapshot/{made.seq}", 200) in [
        (p, status) for _m, p, status in server.adapter.log[log_from:]
    ]
    assert users_of(b)[name][0] == theirs
    assert users_of(b)[f"{name}.2"] == (mine, "新电脑管理员")
    with b.session_scope(write=False) as session:
        assert auth.moved_usernames(session) == {name: f"{name}.2"}
    sync(server, a)
    assert users_of(a)[f"{name}.2"] == (mine, "新电脑管理员")  # went up under its new name
    assert local.local_checksums(a) == local.local_checksums(b)


def test_a_customer_saved_while_a_long_copy_holds_the_database_waits_and_is_kept(
    server, new_laptop, monkeypatch
):
    a = _uploaded(server, new_laptop)
    _build(server)
    b = enrolled(server, new_laptop, "b")
    from sync.local import snapshot as taking

    copying, saved = threading.Event(), []
    reapply = taking._reapply_pending

    def slow_copy(conn):  # a large dealer on a small laptop: longer than the old 5 s wait
        copying.set()
        time.sleep(6)
        return reapply(conn)

    monkeypatch.setattr(taking, "_reapply_pending", slow_copy)

    def receptionist():
        copying.wait(30)
        saved.append(add(b, "复制中来店客", "13922223333"))

    walk_in = threading.Thread(target=receptionist)
    walk_in.start()
    summary = sync(server, b)
    walk_in.join(60)

    assert summary.checksum_ok is True
    assert saved and customer(b, saved[0]).name == "复制中来店客"
    sync(server, b), sync(server, a)
    assert customer(a, saved[0]).name == "复制中来店客"
    assert local.local_checksums(a) == local.local_checksums(b)


def test_a_snapshot_that_is_not_as_described_is_dropped_and_pages_follow(server, new_laptop):
    a = _uploaded(server, new_laptop)
    made = _build(server)
    path = snapshot.file_path(server.app.state.settings.snapshot_dir, server.dealer_id, made.seq)
    data = bytearray(path.read_bytes())
    data[len(data) // 2] ^= 0xFF  # damaged on the server's disk, same size
    path.write_bytes(bytes(data))
    log_from = len(server.adapter.log)

    b = enrolled(server, new_laptop, "b")
    summary = sync(server, b)

    assert summary.checksum_ok is True
    assert local.local_checksums(a) == local.local_checksums(b)
    pulls = [r.url for r in server.adapter.requests[log_from:] if "/sync/pull" in r.url]
    assert "since=0" in pulls[0]  # the snapshot was not taken: pages from the start
    assert not list(local.snapshot_file(b).parent.glob("*.snapshot*"))


def test_a_laptop_told_not_to_use_snapshots_or_holding_rows_pulls_pages(server, new_laptop):
    a = _uploaded(server, new_laptop)
    _build(server)
    log_from = len(server.adapter.log)
    b = enrolled(server, new_laptop, "b")
    assert sync(server, b, snapshots=False).checksum_ok is True
    assert not [p for _m, p, _s in server.adapter.log[log_from:] if "/snapshot" in p]
    # The uploading laptop holds every row: a snapshot is of no use to it.
    assert not local.snapshot_wanted(a)
    assert local.local_checksums(a) == local.local_checksums(b)


def test_a_download_cut_off_is_fetched_again_and_a_stop_leaves_nothing_behind(server, new_laptop):
    a = _uploaded(server, new_laptop)
    made = _build(server)
    server.adapter.faults.append(Fault(f"/sync/snapshot/{made.seq}", "lost"))
    b = enrolled(server, new_laptop, "b")
    assert sync(server, b).checksum_ok is True
    fetched = [s for _m, p, s in server.adapter.log if p == f"/v1/sync/snapshot/{made.seq}"]
    assert fetched == [None, 200]  # the first answer was lost on the way, the second taken
    assert local.local_checksums(a) == local.local_checksums(b)

    c = enrolled(server, new_laptop, "c")
    seen = []

    def stop_once_downloading(stage, done, total):
        seen.append((stage, done, total))

    summary = sync(server, c, progress=stop_once_downloading, cancel=lambda: bool(seen))
    assert summary.cancelled and summary.pulled == 0
    assert local.cursor_of(c) == 0
    assert not list(local.snapshot_file(c).parent.glob("*.snapshot*"))
    assert sync(server, c).checksum_ok is True


def test_a_copy_that_fails_half_way_leaves_nothing_and_the_next_cycle_starts_again(
    server, new_laptop, monkeypatch
):
    a = _uploaded(server, new_laptop)
    _build(server)
    b = enrolled(server, new_laptop, "b")
    from sync.local import snapshot as taking

    def disk_full(conn):
        raise OSError("disk full (test)")

    monkeypatch.setattr(taking, "_reapply_pending", disk_full)
    with pytest.raises(OSError):
        sync(server, b)
    assert local.cursor_of(b) == 0
    with b.engine.connect() as conn:
        assert conn.execute(text("SELECT count(*) FROM customer")).scalar() == 0
    monkeypatch.undo()
    assert sync(server, b).checksum_ok is True
    assert local.local_checksums(a) == local.local_checksums(b)


@pytest.fixture
def memory(tmp_path, monkeypatch):
    """The folder an encrypted laptop unpacks a snapshot into, standing in for /dev/shm."""
    from sync.local import snapshot as taking

    folder = tmp_path / "memory"
    folder.mkdir()
    monkeypatch.setattr(taking, "ram_folder", lambda: folder)
    return folder


@pytest.fixture
def sealed(tmp_path):
    """An encrypted laptop, as the app's, alone in its folder; disposed after the test."""
    from showroom.db import crypto
    from showroom.db.engine import open_database

    made = []

    def make(name: str):
        (tmp_path / name).mkdir()
        db = open_database(tmp_path / name / "laptop.db", crypto.new_key())
        made.append(db)
        return db

    yield make
    for db in made:
        db.dispose()


def test_an_encrypted_laptop_starts_from_the_snapshot_unpacked_in_memory_only(
    server, new_laptop, sealed, memory, monkeypatch
):
    a = _uploaded(server, new_laptop)
    made = _build(server)
    b = sealed("b")
    seen = []
    taking = local.import_snapshot

    def importing(db, path, *, seq):
        beside = sorted(p.name for p in Path(b.engine.url.database).parent.iterdir())
        seen.append((path.parent, path.stat().st_mode & 0o777, beside))
        return taking(db, path, seq=seq)

    monkeypatch.setattr(local, "import_snapshot", importing)
    client.enroll(b, SERVER_URL, server.code(), http=server.session())
    log_from = len(server.adapter.log)
    assert sync(server, b).checksum_ok is True

    asked = [p for _m, p, _s in server.adapter.log[log_from:]]
    assert f"/v1/sync/snapshot/{made.seq}" in asked
    assert not [r for r in server.adapter.requests[-len(asked) :] if "since=0" in r.url]
    assert local.local_checksums(a) == local.local_checksums(b)
    # Unpacked in memory, readable by this user only; nothing of it on the laptop's disk.
    [(folder, mode, beside)] = seen
    assert folder == memory and mode == 0o600
    assert not [name for name in beside if not name.startswith("laptop.db")]
    assert list(memory.iterdir()) == []  # and gone once copied
    assert (
        not Path(b.engine.url.database).read_bytes().startswith(b"SQLite format 3")
    )  # still encrypted
    with b.engine.connect() as conn:
        assert conn.exec_driver_sql("PRAGMA integrity_check").scalar() == "ok"


@pytest.mark.parametrize("short", ["no memory folder", "too little memory", "size not told"])
def test_an_encrypted_laptop_pulls_pages_when_the_snapshot_cannot_be_held_in_memory(
    server, new_laptop, sealed, memory, monkeypatch, short
):
    import json

    from sync.local import snapshot as taking

    a = _uploaded(server, new_laptop)
    made = _build(server)
    if short == "no memory folder":
        monkeypatch.setattr(taking, "ram_folder", lambda: None)
    elif short == "too little memory":
        monkeypatch.setattr(taking, "_free_bytes", lambda _folder: made.unpacked * 2 - 1)
    else:  # a snapshot described by an older server
        described = snapshot.dealer_dir(server.app.state.settings.snapshot_dir, server.dealer_id)
        told = json.loads((described / snapshot.DESCRIPTION).read_text("utf-8"))
        del told["unpacked"]
        (described / snapshot.DESCRIPTION).write_text(json.dumps(told), "utf-8")
    b = sealed("b")
    client.enroll(b, SERVER_URL, server.code(), http=server.session())
    log_from = len(server.adapter.log)
    assert sync(server, b).checksum_ok is True

    assert f"/v1/sync/snapshot/{made.seq}" not in [p for _m, p, _s in server.adapter.log[log_from:]]
    pulls = [r.url for r in server.adapter.requests[log_from:] if "/sync/pull" in r.url]
    assert "since=0" in pulls[0]
    assert local.local_checksums(a) == local.local_checksums(b)
    assert list(memory.iterdir()) == []
    assert (
        sorted(p.name for p in Path(b.engine.url.database).parent.iterdir() if "snapshot" in p.name)
        == []
    )


def test_a_snapshot_that_unpacks_to_more_than_told_is_dropped(server, new_laptop):
    import json

    a = _uploaded(server, new_laptop)
    made = _build(server)
    described = snapshot.dealer_dir(server.app.state.settings.snapshot_dir, server.dealer_id)
    told = json.loads((described / snapshot.DESCRIPTION).read_text("utf-8"))
    (described / snapshot.DESCRIPTION).write_text(
        json.dumps(told | {"unpacked": made.unpacked // 2}), "utf-8"
    )
    log_from = len(server.adapter.log)
    b = enrolled(server, new_laptop, "b")
    assert sync(server, b).checksum_ok is True
    pulls = [r.url for r in server.adapter.requests[log_from:] if "/sync/pull" in r.url]
    assert "since=0" in pulls[0]  # fetched, found larger than told, dropped: pages
    assert local.local_checksums(a) == local.local_checksums(b)


def test_a_link_planted_in_memory_is_not_written_through_and_a_killed_download_is_removed(
    server, new_laptop, sealed, memory, tmp_path, monkeypatch
):
    from sync.local import snapshot as taking

    a = _uploaded(server, new_laptop)
    _build(server)
    b = sealed("b")
    client.enroll(b, SERVER_URL, server.code(), http=server.session())
    victim = tmp_path / "victim.txt"
    victim.write_text("untouched")
    choose = local.snapshot_file

    def planted(db, unpacked):  # another program puts a link there just before the download
        target = choose(db, unpacked)
        target.symlink_to(victim)
        return target

    monkeypatch.setattr(local, "snapshot_file", planted)
    assert sync(server, b).checksum_ok is True
    monkeypatch.setattr(local, "snapshot_file", choose)
    assert victim.read_text() == "untouched"
    assert local.local_checksums(a) == local.local_checksums(b)
    assert list(memory.iterdir()) == []

    target = taking._ram_file(memory, b.engine.url.database)
    target.write_bytes(b"half a download")  # as a laptop killed while downloading leaves it
    sync(server, b)
    assert list(memory.iterdir()) == []


def test_an_encrypted_laptop_s_first_sync_decrypts_into_a_large_cache_given_back_after(
    server, new_laptop, sealed, monkeypatch
):
    from showroom.db.engine import BULK_CACHE_KIB

    a = _uploaded(server, new_laptop)
    b = sealed("b")
    plain = new_laptop("plain")

    def cache_size(db) -> int:
        with db.engine.connect() as conn:
            return conn.exec_driver_sql("PRAGMA cache_size").scalar()

    seen: list[int] = []
    apply_page = local.apply_pull_page

    def applying(db, page, *, since):
        seen.append(cache_size(db))
        return apply_page(db, page, since=since)

    monkeypatch.setattr(local, "apply_pull_page", applying)
    usual = cache_size(b)
    assert usual != -BULK_CACHE_KIB
    client.enroll(b, SERVER_URL, server.code(), http=server.session())
    assert sync(server, b).checksum_ok is True
    assert seen and set(seen) == {-BULK_CACHE_KIB}
    assert cache_size(b) == usual  # given back once the first sync is over
    seen.clear()
    with b.engine.connect() as conn:
        some = conn.exec_driver_sql("SELECT id FROM customer LIMIT 1").scalar()
    update(b, some, notes="第二次同步")
    sync(server, b)
    assert seen and set(seen) == {usual}  # a routine cycle keeps the usual cache
    sync(server, a)
    assert local.local_checksums(a) == local.local_checksums(b)
    # A plain file reads pages from the OS cache: its cache stays as it is.
    with plain.bulk_cache():
        assert cache_size(plain) != -BULK_CACHE_KIB
