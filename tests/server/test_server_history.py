"""Restore detection by history marks: a server restored from an older backup is noticed from
the marks a laptop was given, even after other laptops pushed its counter past them."""

from __future__ import annotations

import datetime as dt

from server_kit import customer_insert
from sqlalchemy import delete, select, update

from showroom.ids import new_id
from sync import protocol
from sync.server.db import write_transaction
from sync.server.models import dealer, history, record
from sync.server.purge import purge


def _with_history(laptop, marks):
    return {**laptop.headers, protocol.HISTORY_HEADER: protocol.format_history(marks)}


def _meta(client, laptop, marks=()):
    return client.get("/v1/meta", headers=_with_history(laptop, marks))


def _mark(answer) -> protocol.Mark:
    return protocol.parse_mark(answer["history"])


def _push_marked(client, laptop, name: str) -> protocol.Mark:
    """Push one new customer; the mark of the commit that stored it."""
    response = laptop.push_raw([customer_insert(name=name)])
    assert response.status_code == 200, response.text
    return _mark(response.json())


def _rewind(engine, dealer_id: str, mark: protocol.Mark) -> None:
    """What restoring a backup taken right after ``mark``'s commit does to this dealer (the
    tests only insert, so a row past the mark is a row the backup did not have)."""
    seq, commit = mark
    with write_transaction(engine) as conn:
        conn.execute(delete(record).where(record.c.dealer_id == dealer_id, record.c.version > seq))
        conn.execute(delete(history).where(history.c.dealer_id == dealer_id, history.c.seq > seq))
        conn.execute(
            update(dealer).where(dealer.c.id == dealer_id).values(last_seq=seq, last_commit=commit)
        )


def test_every_answer_carries_the_mark_of_the_newest_commit(client, laptop, laptop2):
    first = _push_marked(client, laptop, "王芳")
    second = _push_marked(client, laptop2, "李娜")
    assert second[0] > first[0] and second[1] != first[1]
    meta = _meta(client, laptop).json()
    assert _mark(meta) == second and meta["last_seq"] == second[0]
    assert _mark(laptop.pull_page()) == second


def test_marks_the_server_holds_change_nothing(client, laptop, laptop2):
    marks = [_push_marked(client, laptop, f"客户{i}") for i in range(3)]
    _push_marked(client, laptop2, "别的设备")  # the counter moves on past this laptop's marks
    epoch = _meta(client, laptop).json()["epoch"]
    answer = _meta(client, laptop, sorted(marks, reverse=True))
    assert answer.status_code == 200
    assert answer.json()["epoch"] == epoch
    pulled = laptop.client.get(
        "/v1/sync/pull", params={"since": 0}, headers=_with_history(laptop, marks[-1:])
    )
    assert pulled.status_code == 200
    assert _meta(client, laptop).json()["epoch_base_seq"] == 0


def test_a_restore_overtaken_by_another_laptop_is_found_from_the_marks(
    client, engine, dealer_id, laptop, laptop2
):
    kept = _push_marked(client, laptop, "备份里有")
    lost = [_push_marked(client, laptop, f"备份后{i}") for i in range(2)]
    meta = _meta(client, laptop).json()
    _rewind(engine, dealer_id, kept)
    # Another laptop pushes more than was lost: the counter alone no longer shows the restore.
    for i in range(4):
        _push_marked(client, laptop2, f"恢复后{i}")
    assert _meta(client, laptop2).json()["last_seq"] > lost[-1][0]

    marks = sorted([kept, *lost], reverse=True)
    answer = _meta(client, laptop, marks)
    assert answer.status_code == 200
    body = answer.json()
    assert body["epoch"] != meta["epoch"]
    # Everything after the newest mark the server still has is sent again.
    assert body["epoch_base_seq"] == kept[0]
    # The laptop that pushed after the restore is on the old epoch: it is told too.
    stale = laptop2.client.get(
        "/v1/sync/pull",
        params={"since": laptop2.cursor},
        headers={**laptop2.headers, protocol.EPOCH_HEADER: meta["epoch"]},
    )
    assert stale.status_code == 409
    assert stale.json()["error"] == protocol.ERROR_EPOCH_CHANGED
    assert stale.json()["epoch_base_seq"] == kept[0]


def test_a_lost_newest_mark_on_push_or_pull_is_answered_409(
    client, engine, dealer_id, laptop, laptop2
):
    _push_marked(client, laptop, "一")
    kept = _push_marked(client, laptop, "二")
    lost = _push_marked(client, laptop, "三")
    epoch = _meta(client, laptop).json()["epoch"]
    _rewind(engine, dealer_id, kept)
    _push_marked(client, laptop2, "恢复后")  # a different commit now holds the lost mark's seq
    assert _meta(client, laptop2).json()["last_seq"] == lost[0]

    headers = {**_with_history(laptop, [lost]), protocol.EPOCH_HEADER: epoch}
    pulled = laptop.client.get("/v1/sync/pull", params={"since": lost[0]}, headers=headers)
    assert pulled.status_code == 409
    body = pulled.json()
    assert body["error"] == protocol.ERROR_EPOCH_CHANGED and body["epoch"] != epoch
    # With only its newest mark the server cannot tell how far back it went: all of the
    # previous epoch is sent again.
    assert body["epoch_base_seq"] == 0
    # On the new epoch, with a mark the server does hold, the laptop carries on.
    pushed = laptop.client.post(
        "/v1/sync/push",
        json={
            "batch_id": new_id(),
            "epoch": body["epoch"],
            "cursor": 0,
            "ops": [customer_insert()],
        },
        headers={**laptop.headers, protocol.HISTORY_HEADER: protocol.format_mark(kept)},
    )
    assert pushed.status_code == 200, pushed.text
    assert _meta(client, laptop).json()["epoch"] == body["epoch"]


def test_a_mark_beyond_the_counter_is_a_restore(client, laptop):
    mark = _push_marked(client, laptop, "张伟")
    epoch = _meta(client, laptop).json()["epoch"]
    ahead = (mark[0] + 10, "0123456789abcdef")
    answer = _meta(client, laptop, [ahead, mark])
    assert answer.json()["epoch"] != epoch
    assert answer.json()["epoch_base_seq"] == mark[0]


def test_malformed_history_is_refused_with_a_400_naming_the_header(client, laptop):
    bad = {**laptop.headers, protocol.HISTORY_HEADER: "12.not-hex"}
    for response in (
        client.get("/v1/meta", headers=bad),
        client.get("/v1/sync/pull", params={"since": 0}, headers=bad),
        client.post(
            "/v1/sync/push",
            json={"batch_id": new_id(), "epoch": None, "cursor": 0, "ops": [customer_insert()]},
            headers=bad,
        ),
    ):
        assert response.status_code == 400, response.text
        assert protocol.HISTORY_HEADER in response.json()["detail"]
    too_many = [(seq, "0123456789abcdef") for seq in range(protocol.MAX_HISTORY_MARKS + 1)]
    response = _meta(client, laptop, too_many)
    assert response.status_code == 400 and protocol.HISTORY_HEADER in response.json()["detail"]


def test_purge_trims_old_marks_but_keeps_the_newest(client, engine, dealer_id, laptop):
    marks = [_push_marked(client, laptop, f"客户{i}") for i in range(3)]
    later = dt.datetime.now(dt.UTC) + dt.timedelta(days=31)
    purge(engine, retention_days=30, now=later)
    with engine.connect() as conn:
        seqs = conn.execute(select(history.c.seq).where(history.c.dealer_id == dealer_id)).scalars()
        assert list(seqs) == [marks[-1][0]]
    # Marks older than the kept history are not judged; the newest still is.
    epoch = _meta(client, laptop).json()["epoch"]
    assert _meta(client, laptop, [marks[1], marks[0]]).json()["epoch"] == epoch
    stale = [(marks[-1][0], "fedcba9876543210")]
    assert _meta(client, laptop, stale).json()["epoch"] != epoch


def test_the_token_check_finds_a_held_newest_mark_in_the_same_query(client, engine, laptop):
    from sync.server import auth

    mark = _push_marked(client, laptop, "赵敏")
    bearer = f"Bearer {laptop.token}"
    assert auth.authenticate(engine, bearer, mark).held_mark == mark
    assert auth.authenticate(engine, bearer, (mark[0], "fedcba9876543210")).held_mark is None
    assert auth.authenticate(engine, bearer, (mark[0] + 5, mark[1])).held_mark is None
    assert auth.authenticate(engine, bearer).held_mark is None
