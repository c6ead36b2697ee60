"""An erasure (PIPL) that meets edits another laptop made before it reached the server, through
the real server on SQLite and PostgreSQL, with the erasing laptop's pulls cut after its push."""

from __future__ import annotations

import json

from fault_proxy import OFFLINE
from harness import (
    PULL,
    assert_acknowledged_present,
    assert_converged,
    assert_erased_everywhere,
)
from sqlalchemy import MetaData

PERSONAL = ["黄嘉怡", "13812348000", "13912348111", "想要红色", "想要蓝色", "科技园"]


def _everything(laptop) -> str:
    """Every row of every table of the laptop's database (outbox, conflicts, search index)."""
    meta = MetaData()
    meta.reflect(laptop.db.engine)
    with laptop.db.engine.connect() as conn:
        return "\n".join(
            repr(tuple(row)) for table in meta.sorted_tables for row in conn.execute(table.select())
        )


def test_an_erasure_that_missed_another_laptops_edits_leaves_no_personal_data_anywhere(
    make_laptop, server, proxy, ledger
):
    from showroom.services import privacy

    a = make_laptop("a")
    b = make_laptop("b")
    customer = a.create_customer(
        "黄嘉怡", "13812348000", notes="想要红色", address="深圳市南山区科技园"
    )
    a.sync()
    b.sync()
    # b replaces the phone, changes the notes and marks the customer VIP; a never pulls it
    # before erasing, and its pulls after the erasure's push are cut.
    b.update_customer(customer, notes="想要蓝色", phones=["13912348111"], vip=True)
    b.sync()
    a.edit(lambda session, actor: privacy.erase_customer(session, actor, customer))
    proxy.add_fault(OFFLINE, PULL, times=None)
    a.try_sync()
    assert not a.pending()  # the erasure reached the server
    proxy.heal()
    a.sync()
    b.sync()
    a.sync()
    c = make_laptop("c")  # a laptop enrolled afterwards downloads the dealer

    server_rows = server.rows(a.token())
    on_server = json.dumps(list(server_rows.values()), ensure_ascii=False)
    for value in PERSONAL:
        assert value not in on_server, f"{value} still on the server"
    for laptop in (a, b, c):
        assert not laptop.pending(), laptop.name
        everything = _everything(laptop)
        for value in PERSONAL:
            assert value not in everything, f"{value} still on laptop {laptop.name}"
        row = laptop.row("customer", customer)
        assert (row["name"], row["vip"]) == (privacy.ERASED_NAME, 1)  # b's VIP mark stays
        phones = laptop._read(
            "SELECT number, deleted FROM customer_phone WHERE customer_id = ?", (customer,)
        )
        assert len(phones) == 2 and all(p["deleted"] and p["number"] == "" for p in phones)
        # The erasure met b's notes as a conflict: blanked and closed, nothing to choose.
        (conflict,) = [c for c in laptop.conflicts() if c["row_id"] == customer]
        assert (conflict["field"], conflict["status"], conflict["resolution"]) == (
            "notes",
            "resolved",
            "erased",
        )
    assert_converged(server, [a, b, c])


def test_erasing_a_customer_a_record_was_merged_into_reaches_that_record_everywhere(
    make_laptop, server, ledger
):
    from showroom.services import merge, privacy

    a = make_laptop("a")
    b = make_laptop("b")
    absorbed = a.create_customer("黄嘉怡", "13812348000", notes="想要红色")
    survivor = a.create_customer("黄佳怡", "13912348111")
    a.sync()
    a.edit(lambda session, actor: merge.merge_customers(session, actor, survivor, absorbed))
    a.sync()
    b.sync()
    # The merged-away record is a tombstone; the erasure marks and blanks it all the same.
    b.edit(lambda session, actor: privacy.erase_customer(session, actor, survivor))
    b.sync()
    a.sync()

    for laptop in (a, b):
        assert not laptop.pending(), laptop.name
        assert laptop.conflicts() == [], laptop.name
        assert laptop.row("customer", absorbed)["name"] == privacy.ERASED_NAME, laptop.name
    assert_erased_everywhere(server, [a, b])
    assert_converged(server, [a, b])


def test_an_erasure_that_meets_a_delete_of_a_changed_record_still_erases_it(
    make_laptop, server, ledger
):
    from showroom.services import privacy

    a = make_laptop("a")
    b = make_laptop("b")
    customer = a.create_customer("黄嘉怡", "13812348000", address="深圳市南山区科技园")
    a.sync()
    b.sync()
    # b changes the address and then deletes the customer; a, not having pulled either,
    # erases the customer.
    b.update_customer(customer, address="深圳市福田区")
    b.delete_customer(customer)
    b.sync()
    a.edit(lambda session, actor: privacy.erase_customer(session, actor, customer))
    a.sync()
    b.sync()

    for laptop in (a, b):
        assert not laptop.pending(), laptop.name
        row = laptop.row("customer", customer)
        assert row["erased_at"] is not None and row["deleted"] == 1, laptop.name
    assert_erased_everywhere(server, [a, b])
    assert_converged(server, [a, b])


def test_two_laptops_erasing_a_deleted_customer_keep_both_erasures(make_laptop, server, ledger):
    """c deletes a customer; a and b, having pulled neither that nor each other's work, both
    erase them. The later erasure's mark is in place and the earlier one's is kept in a
    conflict (which the laptops then blank and close with the customer's others), as for a
    live customer: no erasure is overwritten unseen."""
    from showroom.services import privacy

    a, b, c = make_laptop("a"), make_laptop("b"), make_laptop("c")
    customer = a.create_customer("黄嘉怡", "13812348000", notes="想要红色")
    for laptop in (a, b, c):
        laptop.sync()
    c.delete_customer(customer)
    c.sync()
    a.edit(lambda session, actor: privacy.erase_customer(session, actor, customer))
    b.edit(lambda session, actor: privacy.erase_customer(session, actor, customer))
    for laptop in (a, b, c, a, b):
        laptop.sync()

    marks = {laptop.row("customer", customer)["erased_at"] for laptop in (a, b, c)}
    assert len(marks) == 1 and None not in marks
    for laptop in (a, b, c):
        assert not laptop.pending(), laptop.name
        assert laptop.row("customer", customer)["deleted"] == 1, laptop.name
        kept = [(x["field"], x["status"], x["resolution"]) for x in laptop.conflicts()]
        assert kept == [("erased_at", "resolved", "erased")], laptop.name
    assert_erased_everywhere(server, [a, b, c])
    assert_acknowledged_present(server, [a, b, c], ledger)
    assert_converged(server, [a, b, c])
