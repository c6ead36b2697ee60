"""A routine pull's bookkeeping (how far the device has applied) is written a moment later, for
many devices at once; never over a newer state of the device, and never lost to a failed write."""

from __future__ import annotations

import time

import pytest
from fastapi.testclient import TestClient
from server_kit import Laptop, customer_insert
from sqlalchemy import select
from sqlalchemy.exc import OperationalError
from test_server_pull import (
    _age_tombstones,
    _caught_up,
    _delete_customer,
    _pull,
    pages_to_the_end,
)

from sync.server import admin, notes
from sync.server.app import create_app
from sync.server.models import device
from sync.server.purge import purge


def _stored(engine, device_id: str):
    with engine.connect() as conn:
        return conn.execute(
            select(device.c.last_pulled_seq, device.c.full_pull).where(device.c.id == device_id)
        ).one()


def _routine_pull(laptop) -> int:
    """Pull to the top from the laptop's cursor (not 0), then ask once more, which tells the
    server the laptop applied it all; the cursor reached."""
    laptop.pull()
    laptop.pull_page()
    return laptop.cursor


def test_a_routine_pull_is_written_shortly_after_without_another_request(engine, laptop, laptop2):
    laptop.push(*(customer_insert() for _ in range(3)))
    laptop2.cursor = 1
    reached = _routine_pull(laptop2)
    assert reached > 1
    deadline = time.monotonic() + 10 * notes.INTERVAL
    while _stored(engine, laptop2.device_id).last_pulled_seq != reached:
        assert time.monotonic() < deadline, "the pull's note was never written"
        time.sleep(0.05)
    # The server's list of devices shows it too.
    (listed,) = [d for d in admin.list_devices(engine) if d["device_id"] == laptop2.device_id]
    assert listed["last_pulled_seq"] == reached


def test_the_list_of_devices_shows_a_pull_made_a_moment_ago(engine, laptop, laptop2, monkeypatch):
    monkeypatch.setattr(notes, "INTERVAL", 60.0)  # the writer thread stays asleep
    laptop.push(customer_insert())
    laptop2.cursor = 1
    reached = _routine_pull(laptop2)
    (listed,) = [d for d in admin.list_devices(engine) if d["device_id"] == laptop2.device_id]
    assert listed["last_pulled_seq"] == reached


def test_a_late_note_does_not_break_a_full_resync_that_started_after_it(
    client, engine, laptop, laptop2, monkeypatch
):
    """After a purge the laptop pulls routinely to the top, then starts over from 0 (a full
    resync) in small pages: they must still be served below the purge point. The routine
    pull's note, written after the resync began, must not make the server think the laptop
    already stands at the top (its pages below the purge point would get 410)."""
    monkeypatch.setattr(notes, "INTERVAL", 60.0)  # notes are written only when flushed
    laptop.push(*(customer_insert(name=f"客户{i}") for i in range(4)))
    gone = {row_id for row_id, _ in (_delete_customer(laptop) for _ in range(2))}
    laptop.push(*(customer_insert(name=f"后来{i}") for i in range(4)))
    _age_tombstones(engine)
    _caught_up(laptop, laptop2)
    assert purge(engine)[0]["purged"] == len(gone)
    laptop.push(customer_insert(name="新来的"))
    top = _routine_pull(laptop2)  # its note waits
    first = _pull(client, laptop2.token, 0, limit=2).json()  # the resync: written at once
    assert first["has_more"]
    notes.flush(engine)  # the routine pull's note, older than the resync
    assert tuple(_stored(engine, laptop2.device_id)) == (0, True)

    pages = [first, *pages_to_the_end(client, laptop2.token, first["next_since"])]
    assert pages[-1]["next_since"] == top
    assert not gone & {row["id"] for page in pages for row in page["rows"]}


def test_notes_a_failed_write_could_not_store_are_kept_for_the_next(
    engine, laptop, laptop2, monkeypatch
):
    monkeypatch.setattr(notes, "INTERVAL", 60.0)
    laptop.push(customer_insert())
    laptop2.cursor = 1
    reached = _routine_pull(laptop2)

    def unavailable(_engine):
        raise OperationalError("BEGIN", {}, Exception("the database is restarting"))

    with monkeypatch.context() as patched:
        patched.setattr(notes, "write_transaction", unavailable)
        with pytest.raises(OperationalError):
            notes.flush(engine)
    assert _stored(engine, laptop2.device_id).last_pulled_seq != reached
    assert notes.flush(engine) == 1
    assert _stored(engine, laptop2.device_id).last_pulled_seq == reached


def test_pending_notes_are_written_when_the_server_stops(settings, engine, dealer_id, monkeypatch):
    monkeypatch.setattr(notes, "INTERVAL", 60.0)
    with TestClient(create_app(settings, engine)) as running:
        code = admin.create_enrollment_code(engine, dealer_id)["code"]
        laptop = Laptop.enrol(running, code, "展厅")
        laptop.push(customer_insert())
        laptop.cursor = 1
        reached = _routine_pull(laptop)
        assert _stored(engine, laptop.device_id).last_pulled_seq != reached
    assert _stored(engine, laptop.device_id).last_pulled_seq == reached
