"""A fresh laptop starting from its dealer's snapshot instead of pulling every row."""

from __future__ import annotations

import sqlite3
import subprocess
import sys
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


def _journal_seen_during_the_copy(monkeypatch) -> list[tuple[str, int]]:
    """The file's journal mode and the size of its write-ahead log, seen at the end of each
    snapshot copy, before its commit."""
    from sync.local import snapshot as taking

    seen: list[tuple[str, int]] = []
    reapply = taking._reapply_pending

    def looking(conn):
        path = Path(conn.engine.url.database)
        wal = Path(f"{path}-wal")
        mode = conn.exec_driver_sql("PRAGMA main.journal_mode").scalar()
        seen.append((mode, wal.stat().st_size if wal.exists() else 0))
        return reapply(conn)

    monkeypatch.setattr(taking, "_reapply_pending", looking)
    return seen


def _header_says_log_mode(path: Path) -> bool:
    # Bytes 18 and 19 of a plain SQLite file: 2 and 2 in write-ahead-log mode, 1 and 1 not.
    return path.read_bytes()[18:20] == b"\x02\x02"


def test_a_first_copy_writes_the_database_once_and_leaves_it_in_log_mode(
    server, new_laptop, monkeypatch
):
    a = _uploaded(server, new_laptop)
    _build(server)
    b = enrolled(server, new_laptop, "b")
    path = Path(b.engine.url.database)
    seen = _journal_seen_during_the_copy(monkeypatch)

    assert sync(server, b).checksum_ok is True

    # Written straight into the file under a rollback journal, not into the log first.
    assert seen == [("delete", 0)]
    assert _header_says_log_mode(path)
    assert not Path(f"{path}-journal").exists()
    with b.engine.connect() as conn:
        assert conn.exec_driver_sql("PRAGMA journal_mode").scalar() == "wal"
        assert conn.exec_driver_sql("PRAGMA synchronous").scalar() == 1  # NORMAL again
    assert local.local_checksums(a) == local.local_checksums(b)
    # And the laptop goes on as any other: an edit goes up and comes down to the other.
    with b.engine.connect() as conn:
        some = conn.execute(text("SELECT id FROM customer ORDER BY id LIMIT 1")).scalar()
    update(b, some, notes="快照之后的修改")
    sync(server, b), sync(server, a)
    assert customer(a, some).notes == "快照之后的修改"


def test_a_file_another_connection_holds_is_copied_through_the_log(server, new_laptop, monkeypatch):
    a = _uploaded(server, new_laptop)
    _build(server)
    b = enrolled(server, new_laptop, "b")
    path = Path(b.engine.url.database)
    seen = _journal_seen_during_the_copy(monkeypatch)
    # Another program (the admin tool, say) has the file open in log mode, reading.
    other = sqlite3.connect(path, isolation_level=None)
    try:
        other.execute("PRAGMA journal_mode = WAL")
        assert other.execute("SELECT count(*) FROM customer").fetchone() == (0,)

        assert sync(server, b).checksum_ok is True

        [(mode, logged)] = seen
        assert mode == "wal" and logged > 0  # the copy went into the log, as before
        assert other.execute("SELECT count(*) FROM customer").fetchone() == (20,)
    finally:
        other.close()
    assert _header_says_log_mode(path)
    assert local.local_checksums(a) == local.local_checksums(b)


CRASH_IN_THE_COPY = """
import os, sys
from pathlib import Path
from showroom.db.engine import open_database
from sync import local
from sync.local import snapshot as taking

laptop, snap, seq = sys.argv[1], Path(sys.argv[2]), int(sys.argv[3])
checking = taking._check_same_schema


def small_cache(conn):
    checking(conn)
    conn.exec_driver_sql("PRAGMA cache_size = 4")  # pages reach the file before the commit


def power_cut(conn):
    print(Path(laptop + "-journal").stat().st_size, os.path.getsize(laptop), flush=True)
    os._exit(9)


taking._check_same_schema, taking._reapply_pending = small_cache, power_cut
local.import_snapshot(open_database(laptop), snap, seq=seq)
"""


def test_a_laptop_killed_in_the_copy_is_as_before_it_when_next_opened_and_starts_again(
    server, new_laptop, tmp_path, monkeypatch
):
    a = _uploaded(server, new_laptop)
    made = _build(server)
    # The snapshot file as a laptop unpacks it, kept aside from a first laptop's download.
    kept = tmp_path / "snapshot.sqlite"
    taking = local.import_snapshot

    def keeping(db, path, *, seq):
        kept.write_bytes(path.read_bytes())
        return taking(db, path, seq=seq)

    monkeypatch.setattr(local, "import_snapshot", keeping)
    sync(server, enrolled(server, new_laptop, "c"))
    monkeypatch.undo()
    b = enrolled(server, new_laptop, "b")
    path = Path(b.engine.url.database)
    size_before = path.stat().st_size
    b.dispose()

    killed = subprocess.run(
        [sys.executable, "-c", CRASH_IN_THE_COPY, str(path), str(kept), str(made.seq)],
        cwd=Path(__file__).resolve().parents[2],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert killed.returncode == 9, killed.stderr
    journal, grown = map(int, killed.stdout.split())
    assert journal > 0 and grown > size_before  # rows had reached the file, the journal held
    assert Path(f"{path}-journal").stat().st_size > 0  # what SQLite plays back

    from showroom.db.engine import open_database

    again = open_database(path)
    try:
        assert not Path(f"{path}-journal").exists()
        assert local.cursor_of(again) == 0
        with again.engine.connect() as conn:
            assert conn.exec_driver_sql("PRAGMA integrity_check").scalar() == "ok"
            assert conn.execute(text("SELECT count(*) FROM customer")).scalar() == 0
        assert _header_says_log_mode(path)
        assert sync(server, again).checksum_ok is True
        assert local.local_checksums(a) == local.local_checksums(again)
    finally:
        again.dispose()


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
