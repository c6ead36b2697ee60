"""A laptop that comes back after another laptop has pushed the restored server's sequence past
its cursor: its cursor no longer shows the restore, its history marks do.

The documented procedure (restore the backup, run ``showroom-server restored``, serve) starts
the new epoch at once; without it the server finds the restore from the laptop's marks.
"""

from __future__ import annotations

from harness import assert_acknowledged_present, assert_converged, load_customers


def test_restore_procedure_recovers_a_laptop_overtaken_by_another(
    make_laptop, server, backend, ledger
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

    server.kill()
    backend.restore("nightly")
    [answer] = server.cli("restored")
    assert answer["epoch_base_seq"] < b_cursor
    server.start()

    # A pushes far past B's cursor before B comes back.
    a.sync()
    load_customers(a, 40, prefix="新客户")
    a.sync()
    assert server.get(a.token(), "/v1/meta")["last_seq"] > b_cursor
    b.sync()
    a.sync()

    assert a.row("customer", shared)["address"] == "许昌市"
    assert a.row("customer", only_b)["name"] == "刘备"
    assert_acknowledged_present(server, [a, b], ledger)
    assert_converged(server, [a, b])


def test_a_restore_nobody_announced_is_found_from_the_laptops_history_marks(
    make_laptop, server, backend, ledger
):
    a = make_laptop("a")
    b = make_laptop("b")
    shared = a.create_customer("孙权", "13866660011")
    a.sync()
    b.sync()
    server.stop()
    backend.backup("nightly")
    server.start()

    b.update_customer(shared, address="建业")
    only_b = b.create_customer("周瑜", "13866660012")
    b.sync()
    b_cursor = b.cursor()
    epoch = server.get(b.token(), "/v1/meta")["epoch"]

    # Restored by hand, and served again with no word to the server.
    server.kill()
    backend.restore("nightly")
    server.start()
    a.sync()
    load_customers(a, 40, prefix="恢复后")
    a.sync()
    meta = server.get(a.token(), "/v1/meta")
    assert meta["last_seq"] > b_cursor and meta["epoch"] == epoch
    b.sync()
    a.sync()

    assert a.row("customer", shared)["address"] == "建业"
    assert a.row("customer", only_b)["name"] == "周瑜"
    assert_acknowledged_present(server, [a, b], ledger)
    assert_converged(server, [a, b])
