"""Merging duplicate customers while other laptops work offline, through the real server on
SQLite and PostgreSQL: nothing a salesperson added ends up on a retired record, out of every list.
"""

from __future__ import annotations

import datetime as dt

import pytest
from fault_proxy import OFFLINE
from harness import PULL, assert_converged, sync_until_quiet

PHONE_X, PHONE_Y, PHONE_NEW = "13812340001", "13812340002", "13812340003"


def e164(*numbers: str) -> list[str]:
    """The numbers as stored (E.164), sorted."""
    return sorted(f"+86{n}" for n in numbers)


def _merge(laptop, survivor: str, absorbed: str) -> None:
    from showroom.services import merge

    laptop.edit(lambda session, actor: merge.merge_customers(session, actor, survivor, absorbed))


def _live_phones(laptop, customer: str) -> list[str]:
    return sorted(
        r["number"]
        for r in laptop._read(
            "SELECT number FROM customer_phone WHERE customer_id = ? AND deleted = 0", (customer,)
        )
    )


def _listed(laptop) -> set[str]:
    from showroom.services import customer_list

    def read(session, actor):
        page = customer_list.list_customers(session, actor, customer_list.CustomerFilter())
        return {row.id for row in page.rows}

    with laptop.db.session_scope(write=False) as session:
        from showroom.services import dealer

        return read(session, dealer.system_actor(session))


def _found_by_phone(laptop, number: str) -> list[str]:
    from showroom.services import customer_list, dealer

    with laptop.db.session_scope(write=False) as session:
        rows = customer_list.search_customer_rows(session, dealer.system_actor(session), number)
        return [row.id for row in rows]


def _due_for(laptop) -> list[str]:
    from showroom.services import dealer, follow_ups

    with laptop.db.session_scope(write=False) as session:
        actor = dealer.system_actor(session)
        return [task.customer_id for task in follow_ups.due_follow_ups(session, actor)]


@pytest.fixture
def pair(make_laptop):
    """Laptops a and b, both holding x and y: two records of one person, each with a phone
    (x with notes, y with an address)."""
    a = make_laptop("a")
    b = make_laptop("b")
    x = a.create_customer("陈晓明", PHONE_X, notes="喜欢SUV")
    y = a.create_customer("陈小明", PHONE_Y, address="深圳市福田区")
    sync_until_quiet(a, b)
    return a, b, x, y


def _schedule_today(laptop, customer: str) -> None:
    from showroom.services import follow_ups

    today = dt.date.today()
    laptop.edit(
        lambda s, actor: follow_ups.schedule_follow_up(s, actor, customer, today, purpose="回访")
    )


def test_rows_added_offline_to_a_record_merged_elsewhere_move_to_the_survivor(
    pair, make_laptop, server, ledger
):
    a, b, x, y = pair
    _merge(a, y, x)  # x and y are the same person: x is retired into y
    a.sync()
    # b has not pulled the merge: its salesperson adds a phone and a follow-up to x.
    b.update_customer(x, phones=[PHONE_X, PHONE_NEW])
    _schedule_today(b, x)
    sync_until_quiet(b, a)
    c = make_laptop("c")  # enrolled afterwards: downloads the dealer

    for laptop in (a, b, c):
        assert not laptop.pending(), laptop.name
        assert y in _listed(laptop) and x not in _listed(laptop), laptop.name
        # Everything of the person is on the survivor, each phone once.
        assert _live_phones(laptop, y) == e164(PHONE_X, PHONE_Y, PHONE_NEW), laptop.name
        assert _live_phones(laptop, x) == [], laptop.name
        assert _found_by_phone(laptop, PHONE_NEW) == [y], laptop.name
        assert _due_for(laptop) == [y], f"{laptop.name}: b's follow-up is not on the survivor"
    assert_converged(server, [a, b, c])


def test_a_pair_merged_both_ways_offline_leaves_one_customer(pair, server, ledger):
    a, b, x, y = pair
    # Both salespeople see the pair as duplicates and merge it, each the other way round.
    _merge(a, y, x)
    _merge(b, x, y)
    sync_until_quiet(a, b)

    keep, gone = sorted([x, y])  # every laptop picks the same survivor: the smaller id
    for laptop in (a, b):
        assert not laptop.pending(), laptop.name
        assert _listed(laptop) >= {keep} and gone not in _listed(laptop), laptop.name
        survivor = laptop.row("customer", keep)
        assert (survivor["deleted"], survivor["merged_into_id"]) == (0, None), laptop.name
        # The survivor holds what each record had: the notes of one, the address of the other.
        assert (survivor["notes"], survivor["address"]) == ("喜欢SUV", "深圳市福田区")
        assert laptop.row("customer", gone)["merged_into_id"] == keep, laptop.name
        assert _live_phones(laptop, keep) == e164(PHONE_X, PHONE_Y), laptop.name
        assert _live_phones(laptop, gone) == [], laptop.name
        # Each merge's fill met the other's delete on the server: nothing is left to choose, so
        # no manager is asked.
        assert _open_conflicts(laptop) == [], laptop.name
        assert _closed_by_merge(laptop) == {keep, gone}, laptop.name
    assert_converged(server, [a, b])


def test_an_edit_of_a_record_merged_both_ways_that_the_survivor_lacks_stays_for_a_manager(
    pair, make_laptop, server, ledger
):
    a, b, x, y = pair
    c = make_laptop("c")
    sync_until_quiet(a, b, c)
    _merge(a, y, x)
    _merge(b, x, y)
    # c has pulled neither merge: its salesperson adds an e-mail address to both records.
    c.update_customer(x, email="chen@example.com")
    c.update_customer(y, email="xiaoming@example.com")
    sync_until_quiet(a, b, c)

    keep, gone = sorted([x, y])
    address = {x: "chen@example.com", y: "xiaoming@example.com"}
    for laptop in (a, b, c):
        assert not laptop.pending(), laptop.name
        # c's edit of the survivor is on it; its edit of the retired record, which the survivor
        # lacks, waits for a manager. Only the merges' own conflicts are closed.
        assert laptop.row("customer", keep)["email"] == address[keep], laptop.name
        [(row_id, mine)] = _open_conflicts(laptop)
        assert row_id == gone and address[gone] in mine, laptop.name
        assert _closed_by_merge(laptop) == {keep, gone}, laptop.name
    assert_converged(server, [a, b, c])


@pytest.mark.parametrize("first", ["merge", "edit"])
def test_an_edit_that_met_a_merge_goes_onto_the_survivor_at_a_managers_choice(
    pair, server, ledger, first
):
    """b adds an e-mail address to x offline while a merges x into y; whichever reaches the
    server first, a manager applies the address to y, and every laptop has it there."""
    from showroom.services import conflicts

    a, b, x, y = pair
    _merge(a, y, x)
    b.update_customer(x, email="chen@example.com")
    for laptop in (a, b) if first == "merge" else (b, a):
        laptop.sync()
    sync_until_quiet(a, b)
    [(row_id, _mine)] = _open_conflicts(a)
    assert row_id == x
    with a.db.session_scope(write=False) as session:
        [found] = conflicts.list_conflicts(session, _system(session))
    assert found.kept_edit == {"email": "chen@example.com"}, found.kept_edit
    assert conflicts.APPLY_TO_MERGED in found.choices and found.customer_id == y

    a.edit(lambda s, actor: conflicts.resolve_conflict(s, actor, found.id, "apply_to_merged"))
    sync_until_quiet(a, b)
    for laptop in (a, b):
        assert laptop.row("customer", y)["email"] == "chen@example.com", laptop.name
        assert _open_conflicts(laptop) == [], laptop.name
        assert laptop.row("customer", x)["merged_into_id"] == y, laptop.name
    assert_converged(server, [a, b])


def _system(session):
    from showroom.services import dealer

    return dealer.system_actor(session)


def _open_conflicts(laptop) -> list[tuple[str, str]]:
    """(row id, kept edit) of the conflicts waiting for a manager."""
    return sorted(
        (c["row_id"], c["mine_value"]) for c in laptop.conflicts() if c["status"] == "open"
    )


def _closed_by_merge(laptop) -> set[str]:
    from showroom.services.conflicts import MERGED

    return {
        c["row_id"]
        for c in laptop.conflicts()
        if c["status"] == "resolved" and c["resolution"] == MERGED
    }


def test_a_merge_into_a_record_merged_elsewhere_ends_on_the_last_survivor(
    make_laptop, server, ledger
):
    a = make_laptop("a")
    b = make_laptop("b")
    c = make_laptop("c")
    x = a.create_customer("陈晓明", PHONE_X)
    y = a.create_customer("陈小明", PHONE_Y)
    z = a.create_customer("陈晓鸣", PHONE_NEW)
    sync_until_quiet(a, b, c)
    _merge(a, y, x)  # a: x into y
    _merge(b, z, y)  # b, offline: y into z
    _schedule_today(c, x)
    sync_until_quiet(a, b, c)

    for laptop in (a, b, c):
        assert not laptop.pending(), laptop.name
        listed = _listed(laptop)
        assert z in listed and not {x, y} & listed, laptop.name
        assert _live_phones(laptop, z) == e164(PHONE_X, PHONE_Y, PHONE_NEW), laptop.name
        assert _due_for(laptop) == [z], laptop.name
    assert_converged(server, [a, b, c])


def test_merging_a_record_with_a_replaced_phone_keeps_every_laptop_identical(
    make_laptop, server, ledger
):
    a = make_laptop("a")
    b = make_laptop("b")
    x = a.create_customer("陈晓明", PHONE_X)
    y = a.create_customer("陈小明", PHONE_Y)
    a.update_customer(x, phones=[PHONE_NEW])  # the old number's row is a tombstone now
    sync_until_quiet(a, b)
    _merge(a, y, x)
    sync_until_quiet(a, b)

    for laptop in (a, b):
        assert not laptop.conflicts(), f"{laptop.name}: the merge met a conflict of its own"
        assert _live_phones(laptop, y) == e164(PHONE_Y, PHONE_NEW), laptop.name
    assert_converged(server, [a, b])


def _follow_up_from_a_laptop_that_never_pulls_the_merge(pair, proxy) -> None:
    """a merges x into y and syncs; b adds a follow-up to x and syncs with its pulls cut, so
    its push arrives but it never learns of the merge: only a can move the follow-up."""
    a, b, x, y = pair
    _merge(a, y, x)
    a.sync()
    _schedule_today(b, x)
    proxy.add_fault(OFFLINE, PULL, times=None)
    b.try_sync()
    assert not b.pending()
    proxy.heal()


def test_the_merging_laptop_settles_a_row_another_laptop_added_and_never_pulled_over(
    pair, server, proxy, ledger
):
    a, _b, _x, y = pair
    _follow_up_from_a_laptop_that_never_pulls_the_merge(pair, proxy)
    a.sync()
    assert _due_for(a) == [y]
    server_rows = server.rows(a.token())
    tasks = [r["data"] for (table, _id), r in server_rows.items() if table == "follow_up"]
    assert [t["customer_id"] for t in tasks if not t.get("done")] == [y]


def test_a_cycle_that_died_after_writing_a_page_leaves_its_row_to_the_next_cycle(
    pair, server, proxy, ledger
):
    from sync.client import SyncClient

    a, _b, _x, y = pair
    _follow_up_from_a_laptop_that_never_pulls_the_merge(pair, proxy)

    class Died(Exception):
        """The app closed, or the laptop lost power, right after a page was written."""

    def die_after_a_page(stage: str, done: int, _total) -> None:
        if stage == "pull" and done:
            raise Died

    with pytest.raises(Died):
        SyncClient(a.db, retries=2, backoff_base=0.05).sync(progress=die_after_a_page)
    assert _due_for(a) == []  # the follow-up was written, on the retired x
    summary = a.sync()  # nothing left to push or pull
    assert (summary.pulled, _due_for(a)) == (0, [y])
