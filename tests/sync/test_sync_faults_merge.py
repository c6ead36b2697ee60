"""Concurrent edits from laptops that were offline: same field, different fields, delete against
edit, quick create-delete, and laptop clocks days off. Each runs on SQLite and PostgreSQL."""

from __future__ import annotations

import json

import pytest
from fault_proxy import OFFLINE
from harness import PULL, assert_acknowledged_present, assert_converged

THREE_DAYS = 3 * 24 * 3600


def _conflicts_of(laptop, row_id):
    return [c for c in laptop.conflicts() if c["row_id"] == row_id]


def test_same_field_on_two_offline_laptops_later_arrival_wins(shared_customer, server, ledger):
    a, b, customer = shared_customer
    a.update_customer(customer, address="深圳市南山区")
    b.update_customer(customer, address="深圳市宝安区")
    a.sync()
    b.sync()  # arrives later
    a.sync()

    for laptop in (a, b):
        assert laptop.row("customer", customer)["address"] == "深圳市宝安区"
        (conflict,) = _conflicts_of(laptop, customer)
        assert conflict["kind"] == "field" and conflict["field"] == "address"
        assert json.loads(conflict["theirs_value"]) == "深圳市南山区"
        assert json.loads(conflict["mine_value"]) == "深圳市宝安区"
        assert json.loads(conflict["base_value"]) == "深圳市福田区"
        assert conflict["status"] == "open"
    assert_acknowledged_present(server, [a, b], ledger)
    assert_converged(server, [a, b])


def test_different_fields_of_one_customer_are_both_kept(shared_customer, server, ledger):
    a, b, customer = shared_customer
    a.update_customer(customer, address="深圳市南山区")
    b.update_customer(customer, notes="想要白色，预算二十万")
    a.sync()
    b.sync()
    a.sync()

    for laptop in (a, b):
        row = laptop.row("customer", customer)
        assert (row["address"], row["notes"]) == ("深圳市南山区", "想要白色，预算二十万")
        assert _conflicts_of(laptop, customer) == []
    assert_acknowledged_present(server, [a, b], ledger)
    assert_converged(server, [a, b])


def _merged_push_then_pulls_cut(a, b, customer, proxy):
    """a changes the address and syncs; b's edit of the notes is merged, then the network drops
    before b pulls a's address: b's row has the newest version but the old address."""
    a.update_customer(customer, address="深圳市南山区")
    a.sync()
    b.update_customer(customer, notes="想要白色")
    proxy.add_fault(OFFLINE, PULL, times=None)
    b.try_sync()
    assert not b.pending()
    (notes_op,) = [o for o in b.outbox() if '"notes"' in o["fields"]]
    assert notes_op["result"] == "merged"
    assert b.row("customer", customer)["address"] == "深圳市福田区"


def test_an_edit_after_a_merged_push_whose_pull_failed_keeps_the_value_it_did_not_see(
    shared_customer, server, proxy, ledger
):
    a, b, customer = shared_customer
    _merged_push_then_pulls_cut(a, b, customer, proxy)
    # Still showing the old address, the salesperson changes it.
    b.update_customer(customer, address="深圳市宝安区")
    proxy.heal()
    b.sync()
    a.sync()

    for laptop in (a, b):
        assert laptop.row("customer", customer)["address"] == "深圳市宝安区"
        (conflict,) = _conflicts_of(laptop, customer)
        assert conflict["field"] == "address"
        assert json.loads(conflict["theirs_value"]) == "深圳市南山区"
        assert json.loads(conflict["mine_value"]) == "深圳市宝安区"
    assert_acknowledged_present(server, [a, b], ledger)
    assert_converged(server, [a, b])


def test_a_delete_after_a_merged_push_whose_pull_failed_keeps_what_it_did_not_see(
    shared_customer, server, proxy, ledger
):
    a, b, customer = shared_customer
    _merged_push_then_pulls_cut(a, b, customer, proxy)
    # Still showing the old address, the salesperson deletes the customer.
    b.delete_customer(customer)
    (delete_op,) = [o for o in b.outbox() if o["op"] == "delete" and o["row_id"] == customer]
    assert json.loads(delete_op["held"])["address"] == "深圳市福田区"
    proxy.heal()
    b.sync()
    a.sync()

    (answered,) = [o for o in b.outbox() if o["op_id"] == delete_op["op_id"]]
    assert answered["result"] == "conflict"
    for laptop in (a, b):
        row = laptop.row("customer", customer)
        assert row["deleted"]
        # The tombstone keeps the address b never saw, and the manager is shown the delete.
        assert row["address"] == "深圳市南山区"
        kinds = [c["kind"] for c in _conflicts_of(laptop, customer)]
        assert kinds == ["delete_edit"], kinds
        (conflict,) = _conflicts_of(laptop, customer)
        assert json.loads(conflict["theirs_value"])["address"] == "深圳市南山区"
        assert json.loads(conflict["base_value"])["address"] == "深圳市福田区"
    assert_acknowledged_present(server, [a, b], ledger)
    assert_converged(server, [a, b])


@pytest.mark.parametrize("first", ["delete", "edit"])
def test_delete_against_a_concurrent_edit_stays_deleted(shared_customer, server, ledger, first):
    a, b, customer = shared_customer
    a.delete_customer(customer)
    b.update_customer(customer, notes="客户说下周再来")
    if first == "delete":
        a.sync()
        b.sync()
    else:
        b.sync()
        a.sync()
    a.sync()
    b.sync()

    for laptop in (a, b):
        assert laptop.row("customer", customer)["deleted"]
        assert not laptop.pending()
    assert server.rows(a.token())[("customer", customer)]["deleted"]
    # Whichever came first, the edit is kept in a conflict for the manager to restore.
    for laptop in (a, b):
        kinds = [c["kind"] for c in _conflicts_of(laptop, customer)]
        assert kinds == ["delete_edit"], kinds
        (conflict,) = _conflicts_of(laptop, customer)
        kept = (conflict["theirs_value"] or "") + (conflict["mine_value"] or "")
        assert "客户说下周再来" in kept
    assert_acknowledged_present(server, [a, b], ledger)
    assert_converged(server, [a, b])


def test_create_sync_delete_sync_in_quick_succession_never_resurrects(make_laptop, server, ledger):
    a = make_laptop("a")
    b = make_laptop("b")
    customer = a.create_customer("刘洋", "13911112222")
    a.sync()
    a.delete_customer(customer)
    a.sync()
    for _ in range(2):
        b.sync()
        a.sync()

    for laptop in (a, b):
        row = laptop.row("customer", customer)
        assert row is not None and row["deleted"], laptop.name
        assert not laptop.pending()
    assert server.rows(a.token())[("customer", customer)]["deleted"]
    # A laptop enrolled afterwards does not bring it back either.
    c = make_laptop("c")
    assert c.row("customer", customer) is None or c.row("customer", customer)["deleted"]
    assert_acknowledged_present(server, [a, b, c], ledger)
    assert_converged(server, [a, b, c])


@pytest.mark.parametrize("skew", ["+3d", "-3d"])
def test_laptop_clock_three_days_off_orders_by_server_sequence(
    shared_customer, server, ledger, skew
):
    """The skewed laptop's edit carries a timestamp days off; the server's order decides.

    A clock ahead arrives first (its timestamp is the latest, yet it must lose); a clock behind
    arrives last (its timestamp is the oldest, yet it must win).
    """
    a, b, customer = shared_customer
    skewed_value, plain_value = "上海市浦东新区", "上海市徐汇区"
    edit = a.admin("customers", "set", customer, f"address={skewed_value}", faketime=skew)
    _out, err = edit.communicate(timeout=60)
    assert edit.returncode == 0, err
    ledger.record(a, a.pending())
    b.update_customer(customer, address=plain_value)

    if skew.startswith("+"):
        summary = a.admin_sync(faketime=skew)
        b.sync()
        winner, loser = plain_value, skewed_value
    else:
        b.sync()
        summary = a.admin_sync(faketime=skew)
        winner, loser = skewed_value, plain_value
    a.admin_sync(faketime=skew)
    b.sync()

    expected_skew = -THREE_DAYS if skew.startswith("+") else THREE_DAYS
    assert abs(summary["clock_skew_seconds"] - expected_skew) < 600, summary
    for laptop in (a, b):
        assert laptop.row("customer", customer)["address"] == winner
        (conflict,) = _conflicts_of(laptop, customer)
        assert json.loads(conflict["theirs_value"]) == loser
        assert json.loads(conflict["mine_value"]) == winner
    assert_acknowledged_present(server, [a, b], ledger)
    assert_converged(server, [a, b])
