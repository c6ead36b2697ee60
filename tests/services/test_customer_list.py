"""The customer list: filters, every sort both ways, keyset paging, and the query plans."""

from __future__ import annotations

import contextlib
import dataclasses
import datetime as dt
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import pytest
from sqlalchemy import event, func, select, update

from showroom.errors import ValidationError
from showroom.models import Customer
from showroom.services import customers, follow_ups, leads, merge
from showroom.services.customer_list import (
    INTENT_ORDER,
    SORTS,
    CustomerFilter,
    CustomerRow,
    PageCursor,
    count_customers,
    list_customers,
    search_customer_rows,
)
from showroom.services.customers import CustomerDraft, VehicleDraft


@dataclass
class Crowd:
    """The customers of one test database, by a short key, plus who is not live.

    ``today`` is the day they were made on. Five days on (``later``), the H (due in
    1 day) and A (3 days) follow-ups are overdue; B (7) is not.
    """

    ids: dict[str, str]
    gone: set[str]
    today: dt.date

    @property
    def later(self) -> dt.date:
        return self.today + dt.timedelta(days=5)


def _add(session, actor, name, phone, **fields) -> str:
    created = customers.create_customer(
        session, actor, CustomerDraft(name=name, phones=[phone], **fields)
    )
    return created.id


@pytest.fixture
def crowd(db, staff, today) -> Crowd:
    sales, sales2, manager = staff["sales"], staff["sales2"], staff["manager"]
    ids: dict[str, str] = {}
    with db.session_scope() as s:
        ids["chen1"] = _add(
            s,
            sales,
            "陈晓明",
            "13900000001",
            intent_level="H",
            vip=True,
            vehicles=[VehicleDraft(plate="粤B12345", purchase_date="2023-05-01")],
        )
        ids["chen2"] = _add(
            s,
            sales,
            "陈晓明",
            "13900000002",
            intent_level="A",
            assigned_to_id=sales2.user_id,
        )
        ids["wang"] = _add(
            s,
            manager,
            "王芳",
            "13900000003",
            intent_level="B",
            lifecycle_stage="evaluating",
        )
        ids["li"] = _add(s, sales, "李静", "13900000004")
        ids["zhang"] = _add(s, sales, "张伟", "13900000005", intent_level="C")
        ids["zhao"] = _add(s, sales, "赵敏", "13900000006", intent_level="H")
        ids["sun"] = _add(s, manager, "孙丽", "13900000007", vip=True)
        ids["zhou"] = _add(
            s,
            sales2,
            "周杰",
            "13900000008",
            intent_level="H",
            lifecycle_stage="evaluating",
        )
        ids["qian"] = _add(s, sales, "钱多多", "13900000009", intent_level="B")
        ids["wu"] = _add(s, sales, "吴用", "13900000010", intent_level="A")
    with db.session_scope() as s:
        # Ordered: his H task is closed; done, though due long before five days on: not overdue.
        leads.set_intent_level(s, sales, ids["zhao"], "O")
        # Two open tasks on the same day: listed once, by that day.
        for _ in range(2):
            follow_ups.schedule_follow_up(s, sales, ids["li"], today + dt.timedelta(days=2))
        # A second phone and an older vehicle: the primary phone and newest plate are shown.
        customers.update_customer(
            s, sales, ids["chen1"], {"phones": ["13900000001", "13600000001"]}
        )
        customers.add_vehicle(
            s, sales, ids["chen1"], VehicleDraft(plate="粤B00001", purchase_date="2020-01-01")
        )
        customers.delete_customer(s, sales, ids["qian"])
        merge.merge_customers(s, manager, ids["zhang"], ids["wu"])
    with db.session_scope() as s:
        # Ties in the sort value must still page exactly once each, broken by id.
        tie = dt.datetime(2026, 1, 1, 8, 0, tzinfo=dt.UTC)
        for key in ("wang", "sun", "zhou"):
            s.execute(
                update(Customer)
                .where(Customer.id == ids[key])
                .values(updated_at=tie, created_at=tie)
                .execution_options(synchronize_session=False)
            )
    return Crowd(ids=ids, gone={ids["qian"], ids["wu"]}, today=today)


def page_all(db, actor, f=None, sort="updated_at", descending=True, limit=2, today=None):
    """Every row, page by page through the cursors; checks page sizes on the way."""
    rows: list[CustomerRow] = []
    cursor = None
    pages = 0
    with db.session_scope(write=False) as s:
        while True:
            page = list_customers(s, actor, f, sort, descending, cursor, limit, today=today)
            pages += 1
            assert len(page.rows) <= limit
            rows.extend(page.rows)
            if page.next_cursor is None:
                break
            assert len(page.rows) == limit  # only the last page may be short
            cursor = page.next_cursor
            assert pages < 100, "the cursor does not advance"
    return rows


def names(rows) -> list[str]:
    return [r.name for r in rows]


def test_lists_live_customers_only_most_recently_updated_first(db, sales, crowd):
    rows = page_all(db, sales)
    assert {r.id for r in rows} == set(crowd.ids.values()) - crowd.gone
    assert len(rows) == len({r.id for r in rows}) == 8
    updated = [r.updated_at for r in rows]
    assert updated == sorted(updated, reverse=True)
    with db.session_scope(write=False) as s:
        assert count_customers(s, sales) == 8


def test_a_row_carries_what_the_list_shows(db, sales, crowd):
    rows = {r.id: r for r in page_all(db, sales, today=crowd.later)}
    chen = rows[crowd.ids["chen1"]]
    assert chen.phone == "139****0001"  # primary, not the second number, and masked
    assert chen.plate == "粤B12345"  # the newest vehicle's
    assert chen.assigned_to_name == "李娜" and chen.assigned_to_id == sales.user_id
    assert chen.vip is True and chen.intent_level == "H"
    assert chen.next_due == crowd.today + dt.timedelta(days=1) and chen.overdue is True
    wang = rows[crowd.ids["wang"]]
    assert wang.assigned_to_id is None and wang.assigned_to_name is None
    assert wang.next_due == crowd.today + dt.timedelta(days=7) and wang.overdue is False
    li = rows[crowd.ids["li"]]
    assert li.next_due == crowd.today + dt.timedelta(days=2) and li.intent_level is None
    zhao = rows[crowd.ids["zhao"]]
    assert zhao.next_due is None and zhao.overdue is False
    assert zhao.lifecycle_stage == "customer"  # ordered


@pytest.mark.parametrize(
    ("f", "expected"),
    [
        (CustomerFilter(intent_levels=("H",)), {"chen1", "zhou"}),
        (CustomerFilter(intent_levels=("h", "A")), {"chen1", "chen2", "zhou"}),
        (CustomerFilter(intent_levels=("O", "C")), {"zhao", "zhang"}),
        (CustomerFilter(lifecycle_stage="evaluating"), {"wang", "zhou"}),
        (CustomerFilter(vip=True), {"chen1", "sun"}),
        (CustomerFilter(vip=False), {"chen2", "wang", "li", "zhang", "zhao", "zhou"}),
        (CustomerFilter(unassigned_only=True), {"wang", "sun"}),
        # Overdue five days on: open tasks due within 5 days (H, A, Li's, and the A task Zhang
        # took over from Wu in the merge); Zhao's H task was closed when he ordered.
        (CustomerFilter(overdue_only=True), {"chen1", "chen2", "zhou", "li", "zhang"}),
        (CustomerFilter(overdue_only=True, vip=True), {"chen1"}),
        # Adding a vehicle made Chen an owner.
        (CustomerFilter(intent_levels=("H",), lifecycle_stage="owner"), {"chen1"}),
    ],
)
def test_each_filter_narrows_the_list_and_the_count(db, sales, crowd, f, expected):
    want = {crowd.ids[key] for key in expected}
    for sort in SORTS:
        for descending in (False, True):
            rows = page_all(db, sales, f, sort, descending, limit=3, today=crowd.later)
            assert [r.id for r in rows if r.id not in want] == [], (sort, descending)
            assert {r.id for r in rows} == want, (sort, descending)
    with db.session_scope(write=False) as s:
        assert count_customers(s, sales, f, today=crowd.later) == len(want)


def test_salesperson_filter(db, staff, crowd):
    sales2 = staff["sales2"]
    rows = page_all(db, staff["sales"], CustomerFilter(assigned_to_id=sales2.user_id))
    assert {r.id for r in rows} == {crowd.ids["chen2"], crowd.ids["zhou"]}
    assert {r.assigned_to_name for r in rows} == {"王磊"}


def expected_order(db, rows: list[CustomerRow], sort: str, descending: bool) -> list[str]:
    """The order each sort promises, computed here independently of the SQL."""
    with db.session_scope(write=False) as s:
        created = dict(s.execute(select(Customer.id, Customer.created_at)).all())
    rank = {level: i for i, level in enumerate(INTENT_ORDER)}
    keys = {
        "name": lambda r: (r.name,),
        "updated_at": lambda r: (r.updated_at,),
        "created_at": lambda r: (created[r.id],),
        "intent_level": lambda r: (rank.get(r.intent_level), r.name),
        "next_due": lambda r: (r.next_due,),
    }
    key = keys[sort]
    # Blanks (no level, no open follow-up) come last in both directions.
    valued = [r for r in rows if key(r)[0] is not None]
    blank = [r for r in rows if key(r)[0] is None]
    ordered = sorted(valued, key=lambda r: (*key(r), r.id), reverse=descending)
    blank_key = (lambda r: (r.id,)) if sort == "next_due" else (lambda r: (*key(r)[1:], r.id))
    ordered += sorted(blank, key=blank_key, reverse=descending)
    return [r.id for r in ordered]


@pytest.mark.parametrize("descending", [False, True], ids=["ascending", "descending"])
@pytest.mark.parametrize("sort", SORTS)
def test_every_sort_pages_through_everyone_exactly_once_in_order(
    db, sales, crowd, sort, descending
):
    everyone = page_all(db, sales, limit=100)
    for limit in (1, 2, 3):
        rows = page_all(db, sales, None, sort, descending, limit)
        ids = [r.id for r in rows]
        assert len(ids) == len(set(ids)) == len(everyone)
        assert ids == expected_order(db, everyone, sort, descending), limit


def test_name_ties_are_broken_by_id(db, sales, crowd):
    rows = page_all(db, sales, sort="name", descending=False, limit=1)
    chens = [r.id for r in rows if r.name == "陈晓明"]
    assert chens == sorted([crowd.ids["chen1"], crowd.ids["chen2"]])


def test_intent_level_sort_puts_hot_leads_first_and_unrated_last(db, sales, crowd):
    rows = page_all(db, sales, sort="intent_level", descending=False)
    assert [r.intent_level for r in rows] == ["H", "H", "A", "B", "C", "O", None, None]
    rows = page_all(db, sales, sort="intent_level", descending=True)
    assert [r.intent_level for r in rows] == ["O", "C", "B", "A", "H", "H", None, None]


def test_next_due_sort_lists_each_customer_once_by_earliest_open_task(db, sales, crowd):
    rows = page_all(db, sales, sort="next_due", descending=False, limit=1)
    dues = [r.next_due for r in rows]
    # Zhao's task closed when he ordered; Sun never had one.
    assert dues[:6] == sorted(d for d in dues if d is not None)
    assert dues[6:] == [None, None]
    assert {r.id for r in rows[6:]} == {crowd.ids["zhao"], crowd.ids["sun"]}
    assert [r.id for r in rows].count(crowd.ids["li"]) == 1


@pytest.mark.parametrize(
    ("kwargs", "field"),
    [
        ({"sort": "phone"}, "sort"),
        ({"sort": "id; DROP TABLE customer"}, "sort"),
        ({"limit": 0}, "limit"),
        ({"limit": "many"}, "limit"),
        ({"filter": CustomerFilter(intent_levels=("Z",))}, "intent_level"),
        ({"filter": CustomerFilter(lifecycle_stage="gone")}, "lifecycle_stage"),
        ({"filter": CustomerFilter(assigned_to_id="nobody")}, "assigned_to_id"),
        ({"filter": CustomerFilter(assigned_to_id="x", unassigned_only=True)}, "assigned_to_id"),
        ({"filter": CustomerFilter(vip="yes")}, "vip"),
        ({"filter": "vip"}, "filter"),
        ({"after": PageCursor("name", False, 0, "王", "x")}, "after"),
        ({"after": PageCursor("updated_at", False, 0, None, "x")}, "after"),
    ],
)
def test_bad_input_names_the_field(db, sales, kwargs, field):
    with db.session_scope(write=False) as s, pytest.raises(ValidationError) as raised:
        list_customers(s, sales, **kwargs)
    assert raised.value.field == field


def test_count_rejects_a_bad_filter_too(db, sales):
    with db.session_scope(write=False) as s, pytest.raises(ValidationError) as raised:
        count_customers(s, sales, CustomerFilter(lifecycle_stage="nope"))
    assert raised.value.field == "lifecycle_stage"


def test_search_rows_show_the_phone_that_matched(db, sales, crowd):
    with db.session_scope(write=False) as s:
        rows = search_customer_rows(s, sales, "136 0000 0001")
        assert [r.id for r in rows] == [crowd.ids["chen1"]]
        assert rows[0].phone == "136****0001"  # the matching one, not the primary; masked
        assert rows[0].assigned_to_name == "李娜"
        assert {r.id for r in search_customer_rows(s, sales, "陈晓")} == {
            crowd.ids["chen1"],
            crowd.ids["chen2"],
        }
        assert search_customer_rows(s, sales, "钱多多") == []  # deleted
        with pytest.raises(ValidationError) as raised:
            search_customer_rows(s, sales, "陈")
    assert raised.value.field == "query"


FULL_ID = "110101199003071233"


def _shown(rows) -> str:
    """Everything the rows carry, as one text to look for personal data in."""
    return " ".join(repr(dataclasses.astuple(r)) for r in rows)


def test_list_and_search_rows_hold_no_full_phone_or_id_number(db, sales, manager, crowd):
    with db.session_scope() as s:
        _add(s, sales, "黄嘉怡", "13812348000", id_number=FULL_ID)
    full_values = ("13812348000", "8613812348000", FULL_ID, "19900307", "13900000001")
    with db.session_scope(write=False) as s:
        for actor in (sales, manager):  # even roles that may reveal get masked rows
            listed = list_customers(s, actor, limit=100).rows
            found = {
                query: search_customer_rows(s, actor, query)
                for query in ("13812348000", "138 1234 8000", "138-1234-8000", "12348000",
                              "黄嘉怡", "13900000001")
            }  # fmt: skip
            for query, rows in found.items():
                assert rows, f"{query} finds no one"
            shown = _shown(listed) + _shown(r for rows in found.values() for r in rows)
            for value in full_values:
                assert value not in shown
            huang = next(r for r in listed if r.name == "黄嘉怡")
            assert huang.phone == "138****8000"
            assert [r.phone for r in found["12348000"]] == ["138****8000"]
            assert found["13900000001"][0].id == crowd.ids["chen1"]


def test_a_row_names_its_phone_for_an_audited_reveal(db, sales, crowd):
    from showroom import masking

    with db.session_scope() as s:
        (row,) = search_customer_rows(s, sales, "13600000001")
        number = masking.reveal_personal_data(s, sales, row.id, "phone", phone_id=row.phone_id)
    assert number == "+8613600000001"  # the number the row showed masked


@contextlib.contextmanager
def _executed(db) -> Iterator[list[tuple[str, Any]]]:
    """The (statement, parameters) the database runs inside the block."""
    statements: list[tuple[str, Any]] = []

    def capture(_conn, _cursor, statement, parameters, _context, _many):
        statements.append((statement, parameters))

    event.listen(db.engine, "before_cursor_execute", capture)
    try:
        yield statements
    finally:
        event.remove(db.engine, "before_cursor_execute", capture)


def _plan(session, statement: str, parameters) -> list[str]:
    """SQLite's query plan of ``statement``, a line per step."""
    explained = session.connection().exec_driver_sql("EXPLAIN QUERY PLAN " + statement, parameters)
    return [row[3] for row in explained]


@pytest.mark.parametrize("descending", [False, True], ids=["ascending", "descending"])
@pytest.mark.parametrize("sort", SORTS)
def test_every_sort_reads_an_index_in_order_without_sorting_the_table(
    db, sales, crowd, sort, descending
):
    """Page 2 of the unfiltered list seeks an index: no full scan, no temporary sort."""
    with db.session_scope(write=False) as s:
        first = list_customers(s, sales, None, sort, descending, limit=1)
        with _executed(db) as statements:
            list_customers(s, sales, None, sort, descending, first.next_cursor, limit=1)
        # The paging query comes first (after the store's lead visibility setting); the rest
        # fetch rows by id.
        paging = [st for st in statements if "dealer_setting" not in st[0]]
        plan = _plan(s, *paging[0])
    assert not any("TEMP B-TREE" in step for step in plan), plan
    assert plan[0].startswith("SEARCH"), plan  # a seek into the range, not a scan
    assert "USING INDEX ix_" in plan[0] or "USING COVERING INDEX ix_" in plan[0], plan


@pytest.mark.parametrize("role", ["sales", "manager"])
def test_the_list_s_total_counts_live_customers_from_their_index(db, staff, crowd, role):
    """The total shown beside the list reads the small index of live customers, not every page
    of the customer table (which an encrypted file would decrypt on each count)."""
    with db.session_scope(write=False) as s:
        expected = s.scalar(
            select(func.count())
            .select_from(Customer)
            .where(Customer.deleted.is_(False), Customer.merged_into_id.is_(None))
        )
        with _executed(db) as statements:
            total = count_customers(s, staff[role])
        (count,) = [st for st in statements if "count(*)" in st[0]]
        plan = _plan(s, *count)
    assert total == expected
    assert any("INDEX ix_customer_live" in step for step in plan), plan
