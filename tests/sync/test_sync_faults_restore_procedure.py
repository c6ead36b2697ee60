"""The documented restore procedure: restore the backup, run ``showroom-server restored``, serve.

Without the command a restore is noticed only when a laptop's cursor is above the restored
sequence. With it, every laptop is caught, even one that comes back after another laptop has
pushed the sequence past its cursor.
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
