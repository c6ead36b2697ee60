"""Dealers' snapshots for fresh laptops: built, offered to the dealer's devices only, dropped
when they no longer fit, kept up by the keeper."""

from __future__ import annotations

import dataclasses
import hashlib
import json
import os
import sqlite3
import time

import pytest
import zstandard
from server_kit import Laptop, customer_insert, headers, op

from showroom.db.migrate import head_revision
from showroom.ids import new_id
from sync import protocol
from sync.server import admin, cli, snapshot
from sync.server.app import create_app


@pytest.fixture
def folder(tmp_path):
    return tmp_path / "snapshots"


@pytest.fixture
def snap_client(settings, engine, folder):
    from fastapi.testclient import TestClient

    kept = dataclasses.replace(settings, snapshot_dir=folder, snapshot_check_seconds=3600)
    with TestClient(create_app(kept, engine)) as test_client:
        yield test_client


def _laptop(snap_client, engine, dealer_id, name="销售一") -> Laptop:
    code = admin.create_enrollment_code(engine, dealer_id)["code"]
    return Laptop.enrol(snap_client, code, name)


def _offer(laptop: Laptop):
    return laptop.client.get("/v1/sync/snapshot", headers=headers(laptop.token))


def test_the_snapshot_holds_every_row_up_to_its_seq_as_a_laptop_database(
    snap_client, engine, dealer_id, folder, tmp_path
):
    laptop = _laptop(snap_client, engine, dealer_id)
    laptop.push(*[customer_insert(name=f"客户{i}") for i in range(30)])
    assert _offer(laptop).status_code == 404  # none built yet

    made = snapshot.build(engine, folder, dealer_id)

    answer = _offer(laptop)
    assert answer.status_code == 200, answer.text
    offer = answer.json()
    assert offer["seq"] == made.seq == laptop.pull_page(since=0)["last_seq"]
    assert offer["rows"] == 31  # the customers and the dealer's row
    assert offer["schema"] == head_revision()
    got = snap_client.get(f"/v1/sync/snapshot/{made.seq}", headers=headers(laptop.token))
    assert got.status_code == 200
    assert got.headers["content-type"] == "application/zstd"
    assert "content-encoding" not in got.headers  # not compressed twice
    assert len(got.content) == offer["bytes"]
    assert hashlib.sha256(got.content).hexdigest() == offer["sha256"]
    path = tmp_path / "laptop.db"
    path.write_bytes(zstandard.ZstdDecompressor().decompress(got.content))
    assert path.stat().st_size == offer["unpacked"]  # what an encrypted laptop holds in memory
    with sqlite3.connect(path) as conn:
        names = {n for (n,) in conn.execute("SELECT name FROM customer")}
        assert names == {f"客户{i}" for i in range(30)}
        assert conn.execute("SELECT count(*) FROM search_doc").fetchone() == (30,)
        assert conn.execute("SELECT count(*) FROM local_state").fetchone() == (0,)
        assert conn.execute("PRAGMA journal_mode").fetchone() == ("delete",)
    assert not [p for p in (folder / dealer_id).iterdir() if p.name.startswith("build")]


def test_another_dealers_device_is_offered_nothing_and_cannot_fetch_the_file(
    snap_client, engine, dealer_id, folder
):
    mine = _laptop(snap_client, engine, dealer_id)
    mine.push(customer_insert(name="本店客户"))
    made = snapshot.build(engine, folder, dealer_id)
    other_dealer = admin.create_dealer(engine, "二号店")
    theirs = _laptop(snap_client, engine, other_dealer, "别店")

    assert _offer(theirs).status_code == 404
    got = snap_client.get(f"/v1/sync/snapshot/{made.seq}", headers=headers(theirs.token))
    assert got.status_code == 404 and got.json()["error"] == "not_found"
    assert snap_client.get(f"/v1/sync/snapshot/{made.seq}").status_code == 401


def test_a_snapshot_of_another_history_or_schema_is_not_offered(
    snap_client, engine, dealer_id, folder
):
    laptop = _laptop(snap_client, engine, dealer_id)
    laptop.push(customer_insert())
    snapshot.build(engine, folder, dealer_id)
    description = folder / dealer_id / snapshot.DESCRIPTION
    kept = json.loads(description.read_text())
    description.write_text(json.dumps({**kept, "schema": "an-older-laptop"}))
    assert _offer(laptop).status_code == 404
    description.write_text(json.dumps(kept))
    assert _offer(laptop).status_code == 200

    admin.mark_restored(engine, dealer_id)  # restored from a backup: a new epoch
    fresh = _laptop(snap_client, engine, dealer_id, "新电脑")
    assert _offer(fresh).status_code == 404


def test_the_keeper_builds_once_the_dealer_is_quiet_and_again_only_after_growth(
    snap_client, engine, dealer_id, folder
):
    laptop = _laptop(snap_client, engine, dealer_id)
    laptop.push(*[customer_insert() for _ in range(12)])
    keeper = snapshot.SnapshotKeeper(engine, folder, min_rows=10, interval=3600)

    assert keeper.check() == []  # first sight of the dealer's counter
    laptop.push(customer_insert())
    assert keeper.check() == []  # it moved since: an upload may be going on
    (made,) = keeper.check()
    assert made.rows == 14
    laptop.push(*[customer_insert() for _ in range(5)])
    assert keeper.check() == [] and keeper.check() == []  # 5 new rows: not worth a rebuild
    laptop.push(*[customer_insert() for _ in range(10)])
    keeper.check()
    (again,) = keeper.check()
    assert again.seq > made.seq and again.rows == 29
    files = sorted(p.name for p in (folder / dealer_id).glob("snapshot-*"))
    assert len(files) == snapshot.KEEP_FILES


def _unpacked(folder, dealer_id, made, tmp_path):
    path = tmp_path / f"unpacked-{made.seq}.db"
    packed = (folder / dealer_id / made.file_name).read_bytes()
    path.write_bytes(zstandard.ZstdDecompressor().decompress(packed))
    return path


def test_an_erasure_after_the_snapshot_withdraws_it_and_the_rebuild_holds_no_trace(
    snap_client, engine, dealer_id, folder, tmp_path
):
    laptop = _laptop(snap_client, engine, dealer_id)
    person = new_id()
    (created, *_) = laptop.push(
        customer_insert(person, name="欧阳明远", notes="住天河北路"),
        *[customer_insert() for _ in range(12)],
    )
    keeper = snapshot.SnapshotKeeper(engine, folder, min_rows=10, interval=3600)
    keeper.check()
    (made,) = keeper.check()
    assert "欧阳明远".encode() in _unpacked(folder, dealer_id, made, tmp_path).read_bytes()
    laptop.push(customer_insert(notes="普通修改"))
    assert keeper.check() == [] and _offer(laptop).status_code == 200  # an edit: kept

    # As the laptop's erasure sends it (showroom.services.privacy.erase_customer).
    (erased,) = laptop.push(
        op(
            "customer",
            person,
            protocol.OP_UPDATE,
            {"name": "已删除客户", "notes": None, "erased_at": "2026-12-05T10:00:00.000000+00:00"},
            base={"name": "欧阳明远", "notes": "住天河北路", "erased_at": None},
            base_version=created["version"],
        )
    )
    assert erased["status"] == "applied", erased

    assert keeper.check() == []  # withdrawn at once, though the dealer is not quiet yet
    assert _offer(laptop).status_code == 404
    assert not list((folder / dealer_id).glob("snapshot-*"))
    got = snap_client.get(f"/v1/sync/snapshot/{made.seq}", headers=headers(laptop.token))
    assert got.status_code == 404
    (again,) = keeper.check()  # quiet: built anew
    data = _unpacked(folder, dealer_id, again, tmp_path).read_bytes()
    assert "欧阳明远".encode() not in data and "天河北路".encode() not in data
    assert _offer(laptop).json()["seq"] == again.seq > made.seq
    assert keeper.check() == []  # the new one stays: no erasure after it


def test_a_build_under_way_elsewhere_is_not_started_twice_unless_its_lock_is_stale(
    engine, dealer_id, folder
):
    lock = folder / dealer_id / snapshot.LOCK
    lock.parent.mkdir(parents=True)
    lock.write_text("4242\n")
    assert snapshot.build(engine, folder, dealer_id) is None
    old = time.time() - snapshot.LOCK_STALE_SECONDS - 5
    os.utime(lock, (old, old))  # its builder died long ago
    assert snapshot.build(engine, folder, dealer_id) is not None
    assert not lock.exists()


def test_the_snapshot_command_builds_now_and_names_a_bad_dealer(
    capsys, server_db_url, engine, dealer_id, folder
):
    args = ["--db", server_db_url, "--snapshots", str(folder)]
    assert cli.main(["snapshot", "--dealer", dealer_id, *args]) == 0
    made = json.loads(capsys.readouterr().out)
    assert made["seq"] >= 1 and made["rows"] == 1 and made["seconds"] >= 0
    assert cli.main(["snapshot", "--dealer", "0000-not-a-dealer", *args]) == 2
    assert "dealer" in capsys.readouterr().err
    off = ["--db", server_db_url, "--snapshots", "off"]
    assert cli.main(["snapshot", "--dealer", dealer_id, *off]) == 2
    assert "snapshots" in capsys.readouterr().err
