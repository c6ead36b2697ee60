"""Faults on the way to the server and back: lost answers, retries, cut uploads, edits made
while a push is in flight, and a batch holding one bad op. Each runs on SQLite and PostgreSQL."""

from __future__ import annotations

import json
import threading

import pytest
from fault_proxy import CUT_REQUEST, CUT_RESPONSE
from harness import PULL, PUSH, assert_acknowledged_present, assert_converged


def _meta(server, laptop) -> dict:
    return server.get(laptop.token(), "/v1/meta")


def test_lost_answer_then_retry_makes_no_duplicate(make_laptop, server, proxy, ledger):
    a = make_laptop("a")
    b = make_laptop("b")
    customer = a.create_customer("陈晓明", "13812345678")
    a.sync()
    before = _meta(server, a)["last_seq"]
    a.update_customer(customer, address="深圳市南山区科技园")
    (op,) = a.pending()

    # The server commits the push, but the answer never reaches the laptop.
    proxy.add_fault(CUT_RESPONSE, PUSH)
    a.try_sync()
    a.sync()

    pushes = proxy.sent(PUSH)
    carrying = [e for e in pushes if op["op_id"] in json.dumps(e.request_json())]
    assert len(carrying) >= 2, "the op was not sent again after the lost answer"
    assert carrying[0].fault == CUT_RESPONSE and carrying[0].status == 200
    # One change, one sequence number: the retry did not apply the op a second time.
    assert _meta(server, a)["last_seq"] == before + 1
    row = server.rows(a.token())[("customer", customer)]
    assert row["data"]["address"] == "深圳市南山区科技园"
    assert row["version"] == before + 1
    (state,) = [o for o in a.outbox() if o["op_id"] == op["op_id"]]
    assert state["acknowledged"] and state["result"] in ("applied", "merged")
    b.sync()
    assert b.row("customer", customer)["address"] == "深圳市南山区科技园"
    assert b.count("customer", live_only=True) == 1
    assert_converged(server, [a, b])


def test_retried_batch_gets_the_identical_answer(make_laptop, server, proxy):
    a = make_laptop("a")
    a.create_customer("林志强", "13900001111")
    proxy.add_fault(CUT_RESPONSE, PUSH)
    a.try_sync()
    a.sync()

    first, *rest = [e for e in proxy.sent(PUSH) if e.request_json()["ops"]]
    retry = next(
        e for e in rest if e.request_json()["batch_id"] == first.request_json()["batch_id"]
    )
    assert retry.request_json()["ops"] == first.request_json()["ops"]
    assert retry.status == first.status == 200
    assert retry.response_json()["results"] == first.response_json()["results"]
    assert {r["status"] for r in retry.response_json()["results"]} == {"applied"}
    assert not a.pending()


def test_failed_upload_retries_on_the_next_sync_without_a_new_edit(
    make_laptop, server, proxy, ledger
):
    a = make_laptop("a")
    b = make_laptop("b")
    customer = a.create_customer("王芳", "13700002222")
    # Every upload is cut halfway through its body until the network heals.
    proxy.add_fault(CUT_REQUEST, PUSH, times=None)
    outcome = a.try_sync()
    assert isinstance(outcome, Exception) or outcome.pushed == 0
    assert len(a.pending()) >= 2  # the customer and its phone are still waiting
    assert ("customer", customer) not in server.rows(b.token())

    proxy.heal()
    summary = a.sync()  # no new local edit in between
    assert summary.pushed >= 2
    assert not a.pending()
    b.sync()
    assert b.row("customer", customer)["name"] == "王芳"
    assert_acknowledged_present(server, [a, b], ledger)
    assert_converged(server, [a, b])


def test_edits_made_while_a_push_is_in_flight_all_arrive(make_laptop, server, proxy, ledger):
    a = make_laptop("a")
    b = make_laptop("b")
    customer = a.create_customer("赵敏", "13600003333")
    a.sync()
    a.update_customer(customer, address="广州市天河区")

    # The server has taken the push; its answer is held while the salesperson keeps typing.
    def keep_typing() -> None:
        a.update_customer(customer, address="广州市天河区体育西路", notes="周末来试驾")

    _sync_while_held(a, proxy.hold(PUSH), "push", keep_typing)
    a.sync()

    b.sync()
    row = b.row("customer", customer)
    assert (row["address"], row["notes"]) == ("广州市天河区体育西路", "周末来试驾")
    assert a.row("customer", customer)["address"] == "广州市天河区体育西路"
    assert not a.pending()
    assert not [c for c in b.conflicts() if c["row_id"] == customer]
    assert_acknowledged_present(server, [a, b], ledger)
    assert_converged(server, [a, b])


def test_one_bad_op_is_rejected_and_the_rest_of_the_batch_applies(make_laptop, server, ledger):
    from showroom.ids import new_id
    from showroom.models import SyncOutbox

    a = make_laptop("a")
    b = make_laptop("b")
    first = a.create_customer("孙丽", "13500004444")
    a.sync()
    a.update_customer(first, address="杭州市西湖区")
    # A damaged op in the middle of the batch: a number where the name's text belongs.
    bad_op = new_id()
    with a.db.session_scope() as session:
        session.add(
            SyncOutbox(
                op_id=bad_op,
                table_name="customer",
                row_id=first,
                op="update",
                fields=json.dumps({"name": {"new": 12345, "base": "孙丽"}}),
                base_version=a.row("customer", first)["server_version"],
                device_id=a.db.device_id,
            )
        )
    second = a.create_customer("周杰", "13500005555")

    a.sync()
    (rejected,) = [o for o in a.outbox() if o["op_id"] == bad_op]
    assert rejected["acknowledged"] and rejected["result"] == "rejected"
    assert "name" in (rejected["reason"] or "")
    others = [o for o in a.outbox() if o["op_id"] != bad_op]
    assert all(o["acknowledged"] and o["result"] != "rejected" for o in others)

    b.sync()
    assert b.row("customer", first)["name"] == "孙丽"
    assert b.row("customer", first)["address"] == "杭州市西湖区"
    assert b.row("customer", second)["name"] == "周杰"
    assert_acknowledged_present(server, [a, b], ledger)
    assert_converged(server, [a, b])


def test_old_client_gets_426_keeps_its_outbox_and_syncs_after_upgrading(
    make_laptop, server, proxy, ledger, monkeypatch
):
    from sync import protocol
    from sync.client import UpgradeRequired

    a = make_laptop("a")
    b = make_laptop("b")
    customer = a.create_customer("吴磊", "13300006666")
    a.update_customer(customer, notes="旧版本时录入")
    waiting = [o["op_id"] for o in a.pending()]
    assert waiting

    # This laptop still runs a release whose synced tables are older than the server accepts.
    monkeypatch.setattr(protocol, "SCHEMA_VERSION", protocol.SCHEMA_VERSION - 1)
    with pytest.raises(UpgradeRequired):
        a.sync()
    assert any(e.status == 426 for e in proxy.exchanges)
    assert [o["op_id"] for o in a.pending()] == waiting
    assert ("customer", customer) not in server.rows(b.token())

    monkeypatch.undo()  # the upgrade
    summary = a.sync()
    assert summary.pushed == len(waiting)
    assert not a.pending()
    b.sync()
    assert b.row("customer", customer)["notes"] == "旧版本时录入"
    assert_acknowledged_present(server, [a, b], ledger)
    assert_converged(server, [a, b])


def test_laptop_killed_while_its_push_is_answered_sends_it_again_without_duplicates(
    make_laptop, server, proxy, ledger
):
    a = make_laptop("a")
    b = make_laptop("b")
    customer = a.create_customer("何静", "13200007777")
    a.sync()
    before = _meta(server, a)["last_seq"]
    a.update_customer(customer, notes="下单前最后一次确认")
    (op,) = a.pending()

    # The server has applied the push; the laptop dies before the answer reaches it.
    hold = proxy.hold(PUSH)
    process = a.admin("sync")
    assert hold.arrived.wait(60), "the push never reached the server"
    process.kill()
    process.communicate(timeout=30)
    hold.release()
    (state,) = [o for o in a.outbox() if o["op_id"] == op["op_id"]]
    assert not state["acknowledged"], "the laptop recorded an answer it never received"

    a.admin_sync()
    (state,) = [o for o in a.outbox() if o["op_id"] == op["op_id"]]
    assert state["acknowledged"] and state["result"] != "rejected"
    assert _meta(server, a)["last_seq"] == before + 1
    b.sync()
    assert b.row("customer", customer)["notes"] == "下单前最后一次确认"
    assert not b.conflicts()
    assert_acknowledged_present(server, [a, b], ledger)
    assert_converged(server, [a, b])


def test_edits_made_while_a_pull_is_in_flight_survive_the_pulled_page(
    make_laptop, server, proxy, ledger
):
    a = make_laptop("a")
    b = make_laptop("b")
    customer = a.create_customer("高峰", "13100008888", address="成都市锦江区")
    a.sync()
    b.sync()
    b.update_customer(customer, address="成都市武侯区", vip=True)
    b.sync()

    # a's pull brings b's change; while its answer is held, the salesperson on a edits the
    # same customer: one field b changed too, one field b did not touch.
    def edit_meanwhile() -> None:
        a.update_customer(customer, address="成都市高新区", notes="下午三点到店")

    _sync_while_held(a, proxy.hold(PULL), "pull", edit_meanwhile)
    local = a.row("customer", customer)
    # The pulled page did not wipe out the edit that was still waiting to be pushed.
    assert (local["address"], local["notes"], local["vip"]) == ("成都市高新区", "下午三点到店", 1)
    a.sync()
    b.sync()

    for laptop in (a, b):
        row = laptop.row("customer", customer)
        assert (row["address"], row["notes"], row["vip"]) == ("成都市高新区", "下午三点到店", 1)
    assert not a.pending()
    assert_acknowledged_present(server, [a, b], ledger)
    assert_converged(server, [a, b])


def _sync_while_held(laptop, hold, what: str, edit) -> None:
    """Sync ``laptop`` in a thread; while the held request waits at the proxy, make ``edit``;
    then let the answer through and wait for the sync to finish without error."""
    errors: list[BaseException] = []

    def run() -> None:
        try:
            laptop.sync()
        except BaseException as error:
            errors.append(error)

    thread = threading.Thread(target=run)
    thread.start()
    assert hold.arrived.wait(30), f"the {what} never reached the server"
    edit()
    hold.release()
    thread.join(60)
    assert not errors, errors
