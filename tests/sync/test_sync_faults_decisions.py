"""Two managers deciding the same conflict on two laptops, each before the other's decision
reached them, through the real server on SQLite and PostgreSQL: the later decision stands,
the earlier one is kept, and nothing but a real difference is left for a manager."""

from __future__ import annotations

import json

import pytest
from harness import assert_acknowledged_present, assert_converged, sync_until_quiet


@pytest.fixture
def decided_apart(shared_customer):
    """Laptops a and b holding one open address conflict: b's 宝安 is in place, a's 南山 was
    overwritten. Returns (a, b, customer, conflict id)."""
    a, b, customer = shared_customer
    a.update_customer(customer, address="深圳市南山区")
    b.update_customer(customer, address="深圳市宝安区")
    a.sync()
    b.sync()
    a.sync()
    (conflict,) = _open(a)
    assert conflict["table_name"] == "customer" and conflict["field"] == "address"
    return a, b, customer, conflict["id"]


def _open(laptop) -> list[dict]:
    return [c for c in laptop.conflicts() if c["status"] == "open"]


def _decide(laptop, conflict_id: str, choice: str) -> None:
    from showroom.services import conflicts

    laptop.edit(lambda s, actor: conflicts.resolve_conflict(s, actor, conflict_id, choice))


def _listed(laptop, status: str = "open"):
    from showroom.services import conflicts, dealer

    with laptop.db.session_scope(write=False) as session:
        return conflicts.list_conflicts(session, dealer.system_actor(session), status)


@pytest.mark.parametrize("later", ["keep", "revert"])
def test_a_conflict_decided_differently_on_two_laptops_leaves_one_item_naming_both(
    decided_apart, server, ledger, later
):
    """a keeps 宝安 while b, offline from a, restores 南山. Whichever decision reaches the
    server later is the conflict's resolution; the revert's address stands either way (keeping
    writes nothing). Both laptops show one open item, naming both decisions and the address now,
    and nothing about who decided when."""
    a, b, customer, conflict_id = decided_apart
    choices = {"keep": a, "revert": b}
    _decide(a, conflict_id, "keep")
    _decide(b, conflict_id, "revert")
    earlier = "revert" if later == "keep" else "keep"
    choices[earlier].sync()
    choices[later].sync()
    sync_until_quiet(a, b)

    resolution = {"keep": "kept", "revert": "reverted"}
    for laptop in (a, b):
        assert laptop.row("customer", customer)["address"] == "深圳市南山区"
        assert laptop.row("sync_conflict", conflict_id)["resolution"] == resolution[later]
        (item,) = _listed(laptop)
        assert item.kind == "decided_twice" and item.row_id == conflict_id
        assert (item.theirs, item.mine) == (resolution[earlier], resolution[later])
        assert item.record_label == "陈晓明" and item.customer_id == customer
        assert item.decided.field == "address" and item.decided.current == "深圳市南山区"
        assert item.choices == ("keep",)
        # The time of the earlier decision is kept, closed by the sync.
        closed = [c for c in _listed(laptop, "resolved") if c.field == "resolved_at"]
        assert [c.resolution for c in closed] == ["decision_settled"]
    assert_acknowledged_present(server, [a, b], ledger)
    assert_converged(server, [a, b])

    # A manager marks it reviewed: nothing is left open anywhere, and no new conflict comes of it.
    _decide(a, item.id, "keep")
    sync_until_quiet(a, b)
    for laptop in (a, b):
        assert _open(laptop) == []
    assert_converged(server, [a, b])


def test_a_conflict_decided_alike_on_two_laptops_leaves_nothing_open(decided_apart, server, ledger):
    """Both managers keep 宝安: only the time of the decisions differs, and the sync closes that
    alike on both laptops."""
    a, b, customer, conflict_id = decided_apart
    _decide(a, conflict_id, "keep")
    _decide(b, conflict_id, "keep")
    sync_until_quiet(a, b)

    for laptop in (a, b):
        assert laptop.row("customer", customer)["address"] == "深圳市宝安区"
        assert _open(laptop) == []
        (closed,) = [c for c in laptop.conflicts() if c["table_name"] == "sync_conflict"]
        assert closed["field"] == "resolved_at" and closed["resolution"] == "decision_settled"
        # Both times are kept in it.
        assert json.loads(closed["theirs_value"]) != json.loads(closed["mine_value"])
    assert_acknowledged_present(server, [a, b], ledger)
    assert_converged(server, [a, b])
