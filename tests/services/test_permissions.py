"""Each role and each rule: what a denied service call raises, and what stays allowed."""

from __future__ import annotations

from decimal import Decimal

import pytest

from showroom import permissions
from showroom.actor import Actor
from showroom.errors import NotFoundError, PermissionDeniedError, ValidationError
from showroom.services import customers, dealer, leads
from showroom.services.customer_list import count_customers, list_customers, search_customer_rows
from showroom.services.customers import CustomerDraft
from showroom.vocabulary import Role

RECEPTION = Actor("r-1", "前台", Role.SERVICE_ADVISOR)
ADMIN = Actor("a-1", "管理员", Role.ADMIN)


@pytest.fixture
def book(db, staff):
    """One lead of each kind, seen from salesperson ``sales``."""

    def add(actor, name, phone, **fields):
        with db.session_scope() as session:
            draft = CustomerDraft(name=name, phones=[phone], intent_level="A", **fields)
            return customers.create_customer(session, actor, draft).id

    return {
        "own": add(staff["sales"], "陈晓明", "13812345678"),
        "other": add(staff["sales2"], "陈其他", "13812340000"),
        "free": add(staff["manager"], "陈无主", "13812341111"),
    }


def _hide(db, manager):
    with db.session_scope() as session:
        dealer.set_lead_visibility(session, manager, "hidden")


def _listed(db, actor) -> set[str]:
    with db.session_scope(write=False) as session:
        return {row.id for row in list_customers(session, actor, limit=100).rows}


def test_permission_table_per_role():
    sales = Actor("s-1", "李娜", Role.SALESPERSON)
    manager = Actor("m-1", "周经理", Role.MANAGER)
    expected = {
        "manage_users": {ADMIN},
        "approve_lost": {manager, ADMIN},
        "approve_discount": {manager, ADMIN},
        "read_audit": {manager, ADMIN},
        "export_personal_data": {manager, ADMIN},
        "erase_personal_data": {manager, ADMIN},
        "see_margins": {sales, manager, ADMIN},
        "reveal_personal_data": {manager, ADMIN},
    }
    for name, allowed in expected.items():
        for actor in (sales, RECEPTION, manager, ADMIN):
            assert permissions.can(actor, name) is (actor in allowed), (name, actor.role)
            if actor not in allowed:
                with pytest.raises(PermissionDeniedError) as refused:
                    permissions.require(actor, name)
                assert permissions.PERMISSIONS[name].what_zh in refused.value.message_zh
    assert not permissions.can(None, "see_margins")


def test_a_salesperson_reveals_personal_data_of_their_own_customers_only():
    sales = Actor("s-1", "李娜", Role.SALESPERSON)
    assert permissions.can(sales, "reveal_personal_data", owner_id="s-1")
    assert not permissions.can(sales, "reveal_personal_data", owner_id="s-2")
    assert not permissions.can(sales, "reveal_personal_data", owner_id=None)
    assert not permissions.can(RECEPTION, "reveal_personal_data", owner_id="r-1")
    with pytest.raises(PermissionDeniedError):
        permissions.require(sales, "reveal_personal_data", owner_id="s-2")


def test_an_unknown_permission_is_a_programming_error():
    with pytest.raises(ValueError):
        permissions.can(ADMIN, "launch_rockets")


def test_discount_above_the_threshold_needs_a_manager():
    sales = Actor("s-1", "李娜", Role.SALESPERSON)
    permissions.require_discount(sales, Decimal("3000"), "3000")  # at the limit: fine
    with pytest.raises(PermissionDeniedError) as refused:
        permissions.require_discount(sales, "3000.01", 3000)
    assert "3000" in refused.value.message_zh and "折扣" in refused.value.message_zh
    with pytest.raises(PermissionDeniedError):
        permissions.require_discount(RECEPTION, 5000, Decimal("3000"))
    permissions.require_discount(Actor("m", "经理", Role.MANAGER), 50000, 3000)
    # No threshold set: every discount needs a manager.
    with pytest.raises(PermissionDeniedError):
        permissions.require_discount(sales, 1, None)
    with pytest.raises(ValidationError) as bad:
        permissions.require_discount(sales, "-5", 3000)
    assert bad.value.field == "discount"
    with pytest.raises(ValidationError) as bad_limit:
        permissions.require_discount(sales, "5", "lots")
    assert bad_limit.value.field == "discount_threshold"


def test_read_only_by_default_others_leads_are_listed_but_not_changed(db, staff, book):
    sales = staff["sales"]
    assert _listed(db, sales) == set(book.values())
    with db.session_scope() as session:
        assert customers.get_customer(session, sales, book["other"]).name == "陈其他"
        with pytest.raises(PermissionDeniedError) as refused:
            customers.update_customer(session, sales, book["other"], {"name": "改名"})
        assert "其他销售顾问" in refused.value.message_zh
        with pytest.raises(PermissionDeniedError):
            leads.set_intent_level(session, sales, book["other"], "H")
        with pytest.raises(PermissionDeniedError):
            customers.delete_customer(session, sales, book["other"])
        # Own and unassigned leads stay editable.
        customers.update_customer(session, sales, book["own"], {"notes": "回访"})
        customers.update_customer(session, sales, book["free"], {"notes": "回访"})
    with db.session_scope(write=False) as session:
        assert customers.get_customer(session, sales, book["other"]).name == "陈其他"


def test_hidden_others_leads_disappear_from_list_count_search_and_get(db, staff, book):
    sales = staff["sales"]
    _hide(db, staff["manager"])
    assert _listed(db, sales) == {book["own"], book["free"]}
    with db.session_scope(write=False) as session:
        assert count_customers(session, sales) == 2
        assert {r.id for r in search_customer_rows(session, sales, "1381234")} == {
            book["own"],
            book["free"],
        }
        assert [h.id for h in customers.search_customers(session, sales, "陈其他")] == []
        assert [h.id for h in customers.search_customers(session, sales, "陈晓明")] == [book["own"]]
        with pytest.raises(NotFoundError):
            customers.get_customer(session, sales, book["other"])
        with pytest.raises(NotFoundError):
            customers.get_customer_record(session, sales, book["other"])
    with db.session_scope() as session, pytest.raises(NotFoundError):
        customers.update_customer(session, sales, book["other"], {"name": "改名"})
    # The owner, managers and reception still see everything they saw.
    assert book["other"] in _listed(db, staff["sales2"])
    assert _listed(db, staff["manager"]) == set(book.values())
    assert _listed(db, RECEPTION) == set(book.values())


def test_only_managers_set_the_store_rules(db, staff):
    with db.session_scope() as session:
        for call in (
            lambda: dealer.set_lead_visibility(session, staff["sales"], "hidden"),
            lambda: dealer.set_idle_lock_minutes(session, RECEPTION, 5),
            lambda: dealer.set_cadence(session, staff["sales"], {"H": 2}),
        ):
            with pytest.raises(PermissionDeniedError):
                call()
        with pytest.raises(ValidationError) as bad:
            dealer.set_lead_visibility(session, staff["manager"], "secret")
        assert bad.value.field == "lead_visibility"
        with pytest.raises(ValidationError) as bad_minutes:
            dealer.set_idle_lock_minutes(session, staff["manager"], 0)
        assert bad_minutes.value.field == "idle_lock_minutes"
        assert dealer.idle_lock_minutes(session) == dealer.DEFAULT_IDLE_LOCK_MINUTES
        dealer.set_idle_lock_minutes(session, staff["manager"], 3)
        assert dealer.idle_lock_minutes(session) == 3


@pytest.mark.parametrize("who", ["sales", "reception"])
def test_only_a_manager_approves_a_lost_lead(db, staff, book, who):
    actor = staff["sales"] if who == "sales" else RECEPTION
    with db.session_scope() as session:
        leads.set_intent_level(session, staff["sales"], book["own"], "F", reason="买了别家")
    with db.session_scope() as session:
        with pytest.raises(PermissionDeniedError) as refused:
            leads.approve_lost(session, actor, book["own"])
        assert "审批战败" in refused.value.message_zh
        with pytest.raises(PermissionDeniedError):
            leads.reject_lost(session, actor, book["own"])
    with db.session_scope() as session:
        assert leads.approve_lost(session, staff["manager"], book["own"]).approval == "approved"


def test_contacts_follow_ups_and_merges_respect_lead_visibility(db, staff, book):
    from showroom.services import follow_ups, interactions, merge

    sales = staff["sales"]
    with db.session_scope() as session:
        # Read-only: another salesperson's contacts can be read, not added to.
        assert interactions.list_interactions(session, sales, book["other"]) == []
        with pytest.raises(PermissionDeniedError):
            interactions.log_interaction(
                session, sales, book["other"], channel="phone", summary="抢客户"
            )
        with pytest.raises(PermissionDeniedError):
            follow_ups.schedule_follow_up(session, sales, book["other"], purpose="抢客户")
        with pytest.raises(PermissionDeniedError):
            merge.merge_customers(session, sales, book["own"], book["other"])
        # Their own lead and the unassigned one stay open to them.
        interactions.log_interaction(session, sales, book["own"], channel="phone", summary="回访")
        follow_ups.schedule_follow_up(session, sales, book["free"], purpose="回访")
    _hide(db, staff["manager"])
    with db.session_scope(write=False) as session, pytest.raises(NotFoundError):
        interactions.list_interactions(session, sales, book["other"])
