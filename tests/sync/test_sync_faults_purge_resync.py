"""A full resync after a purge, longer than one page, cut by a kill and resumed: its later
pages go on below the purge point (they once got 410), the outbox is kept, nothing returns."""

from __future__ import annotations

from fault_proxy import DELAY
from harness import PULL, assert_converged
from test_sync_faults_recovery import _kill, _wait_for


def test_full_resync_after_a_purge_survives_a_kill_and_keeps_the_outbox(
    loaded_store, make_laptop, server, proxy, ledger
):
    seed, ids = loaded_store
    away = make_laptop("away")
    assert away.count("customer", live_only=True) == len(ids)

    # While the laptop is away, 300 customers are deleted and their tombstones purged.
    from showroom.services import customers

    gone = ids[:300]
    seed.edit(lambda s, a: [customers.delete_customer(s, a, c) for c in gone])
    seed.sync()
    server.purge(0)
    away.update_customer(ids[1000], notes="离开期间的备注")
    away.update_customer(gone[5], notes="改了一个已删除的客户")

    # The full re-download is killed a third of the way through, then run again.
    total = server.get(seed.token(), "/v1/meta")["last_seq"]  # before the laptop's own pushes
    proxy.add_fault(DELAY, PULL, times=None, seconds=0.3)
    process = away.admin("sync")
    _wait_for(
        lambda: (
            (away.state("sync.full_resync") == "1" and away.cursor() >= total // 3)
            or process.poll() is not None
        ),
        120,
        "a third of the full resync",
    )
    assert process.poll() is None, f"sync ended early: {process.communicate()[1][-500:]}"
    _kill(process)
    assert 0 < away.cursor() < total
    proxy.heal()
    away.admin_sync()

    assert not away.pending()
    assert away.row("customer", ids[1000])["notes"] == "离开期间的备注"
    for customer in gone:
        row = away.row("customer", customer)
        assert row is None or row["deleted"], customer
    live = {k for k, r in server.rows(seed.token()).items() if not r["deleted"]}
    assert not {("customer", c) for c in gone} & live
    assert away.count("customer", live_only=True) == len(ids) - len(gone)
    seed.sync()
    assert_converged(server, [seed, away])


def test_laptop_back_after_a_purge_resyncs_fully_and_keeps_its_edit(
    loaded_store, make_laptop, server, ledger
):
    """The same without a kill: one ``showroom-admin sync`` after the purge must succeed."""
    from showroom.services import customers

    seed, ids = loaded_store
    away = make_laptop("away")
    gone = ids[:60]
    seed.edit(lambda s, a: [customers.delete_customer(s, a, c) for c in gone])
    seed.sync()
    server.purge(0)
    away.update_customer(ids[100], notes="离开期间的备注")

    away.admin_sync()

    assert not away.pending()
    assert away.count("customer", live_only=True) == len(ids) - len(gone)
    seed.sync()
    assert seed.row("customer", ids[100])["notes"] == "离开期间的备注"
    assert_converged(server, [seed, away])
