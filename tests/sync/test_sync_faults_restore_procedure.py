"""A laptop that comes back after another laptop has pushed the restored server's sequence past
its cursor: its cursor no longer shows the restore.

The documented procedure (restore the backup, run ``showroom-server restored``, serve) starts
the new epoch at once; without it the server finds the restore from the history marks the
returning laptop sends.
"""

from __future__ import annotations

import pytest
from harness import assert_acknowledged_present, assert_converged, load_customers


@pytest.mark.parametrize("announced", [True, False], ids=["restored-command", "unannounced"])
def test_a_laptop_overtaken_after_a_restore_gets_its_lost_writes_back(
    make_laptop, server, backend, ledger, announced
):
    a = make_laptop("a")
    b = make_laptop("b")
    shared = a.create_customer("曹操", "13866660001")
    a.sync()
    b.sync()
    server.stop()
    backend.backup("nightly")
    server.start()

    # Acknowledged by the server, then lost with the restore.
    b.update_customer(shared, address="许昌市")
    only_b = b.create_customer("刘备", "13866660002")
    b.sync()
    b_cursor = b.cursor()
    epoch = server.get(b.token(), "/v1/meta")["epoch"]

    server.kill()
    backend.restore("nightly")
    if announced:
        [answer] = server.cli("restored")
        assert answer["epoch_base_seq"] < b_cursor
    server.start()

    # A pushes far past B's cursor before B comes back.
    a.sync()
    load_customers(a, 40, prefix="新客户")
    a.sync()
    meta = server.get(a.token(), "/v1/meta")
    assert meta["last_seq"] > b_cursor
    # Unannounced, nothing so far has shown the server it was restored.
    assert (meta["epoch"] == epoch) is not announced
    b.sync()
    a.sync()

    assert a.row("customer", shared)["address"] == "许昌市"
    assert a.row("customer", only_b)["name"] == "刘备"
    assert_acknowledged_present(server, [a, b], ledger)
    assert_converged(server, [a, b])
