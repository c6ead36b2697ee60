"""showroom-admin enroll / sync / customers set against the real server (in process)."""

from __future__ import annotations

import datetime as dt
import json
import socket
import time

import pytest
from conftest import SERVER_URL

from showroom.cli import main
from showroom.services import customers, dealer
from showroom.services.customers import CustomerDraft
from sync import client, local


@pytest.fixture
def routed(server, monkeypatch):
    """Every requests session the command line makes goes to the in-process server."""
    monkeypatch.setattr(client, "_new_session", server.session)
    return server


def run(capsys, *argv):
    code = main([str(a) for a in argv])
    out, err = capsys.readouterr()
    return code, [json.loads(line) for line in out.splitlines()], err


def laptop_path(new_laptop, name):
    db = new_laptop(name)
    path = db.engine.url.database
    return db, path


def test_enroll_sync_and_a_scripted_edit_reach_another_laptop(routed, new_laptop, capsys):
    a, path_a = laptop_path(new_laptop, "a")
    _, path_b = laptop_path(new_laptop, "b")
    with a.session_scope() as session:
        actor = dealer.system_actor(session)
        cid = customers.create_customer(
            session, actor, CustomerDraft(name="陈晓明", phones=["13812345678"])
        ).id

    code, (line,), _ = run(
        capsys, "--db", path_a, "enroll", "--server", SERVER_URL, "--code", routed.code(),
        "--name", "前台笔记本",
    )  # fmt: skip
    assert code == 0
    assert line["dealer"] == {"id": routed.dealer_id, "name": "华通大众4S店"}
    assert line["device"]["name"] == "前台笔记本" and line["device"]["id"]

    code, (summary,), _ = run(capsys, "--db", path_a, "sync")
    assert code == 0
    assert set(summary) == {
        "pushed", "pulled", "conflicts", "rejected", "seconds", "clock_skew_seconds",
        "checksum_ok",
    }  # fmt: skip
    assert summary["pushed"] >= 2 and summary["checksum_ok"] is True

    code, _, _ = run(
        capsys, "--db", path_b, "enroll", "--server", SERVER_URL, "--code", routed.code()
    )
    assert code == 0
    code, (summary,), _ = run(capsys, "--db", path_b, "sync")
    assert code == 0 and summary["pulled"] >= 2

    code, (record,), _ = run(
        capsys, "--db", path_b, "customers", "set", cid, "address=深圳市南山区", "intent_level=A"
    )
    assert code == 0 and record["address"] == "深圳市南山区"
    assert run(capsys, "--db", path_b, "sync")[0] == 0
    # Hours after its last comparison, a routine sync compares checksums again.
    hours_ago = (dt.datetime.now(dt.UTC) - dt.timedelta(hours=5)).isoformat()
    local.set_state(a, {client.LAST_VERIFIED_KEY: hours_ago})
    code, (summary,), _ = run(capsys, "--db", path_a, "sync")
    assert code == 0 and summary["pulled"] >= 1 and summary["checksum_ok"] is True
    code, (record,), _ = run(capsys, "--db", path_a, "customers", "get", cid)
    assert record["customer"]["address"] == "深圳市南山区"
    assert record["customer"]["intent_level"] == "A"


def _closed_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def test_sync_with_the_server_unreachable_exits_5_and_keeps_the_outbox(
    routed, new_laptop, capsys, monkeypatch
):
    from sync import local

    a, path = laptop_path(new_laptop, "a")
    assert (
        run(capsys, "--db", path, "enroll", "--server", SERVER_URL, "--code", routed.code())[0] == 0
    )
    argv = ("customers", "add", "--name", "陈晓明", "--phone", "13812345678")
    assert run(capsys, "--db", path, *argv)[0] == 0
    pending = local.pending_count(a)
    assert pending > 0
    # Point the laptop at a port nobody listens on, through real requests.
    monkeypatch.undo()
    local.set_state(a, {"sync.server_url": f"http://127.0.0.1:{_closed_port()}"})
    slept = []
    monkeypatch.setattr(time, "sleep", slept.append)
    code, lines, err = run(capsys, "--db", path, "--lang", "en", "sync")
    assert (code, lines) == (5, [])
    assert err.startswith("error: cannot reach the sync server")
    assert len(slept) == 5  # five retries with backoff, then it gives up
    assert all(0 <= s <= 30 for s in slept)
    assert local.pending_count(a) == pending
    assert local.get_state(a, "sync.online")["sync.online"] == "0"


def test_sync_before_enrolment_exits_6_with_a_clear_message(new_laptop, capsys):
    _, path = laptop_path(new_laptop, "a")
    code, lines, err = run(capsys, "--db", path, "--lang", "en", "sync")
    assert (code, lines) == (6, [])
    assert "not enrolled" in err


@pytest.mark.parametrize(
    ("argv", "field"),
    [
        (["--server", SERVER_URL, "--code", "WRONG-CODE-1234"], "code"),
        (["--server", "ftp://x", "--code", "ABCD"], "server"),
    ],
)
def test_enrolment_with_bad_input_exits_2_naming_the_field(routed, new_laptop, capsys, argv, field):
    _, path = laptop_path(new_laptop, "a")
    code, lines, err = run(capsys, "--db", path, "enroll", *argv)
    assert (code, lines) == (2, [])
    assert err.startswith(f"error: {field}:")
