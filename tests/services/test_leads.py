"""Intent levels: history, F needs a reason and a manager, cadence drives follow-ups."""

from __future__ import annotations

import datetime as dt

import pytest
from sqlalchemy import select

from showroom.errors import PermissionDeniedError, ValidationError
from showroom.models import Customer, FollowUp, IntentChange
from showroom.services import customers, dealer, follow_ups, leads
from showroom.services.customers import CustomerDraft

TODAY = dt.date(2026, 11, 22)


def new_lead(db, actor, level=None, phone="13800000001"):
    with db.session_scope() as session:
        return customers.create_customer(
            session, actor, CustomerDraft(name="王芳", phones=[phone], intent_level=level)
        ).id


@pytest.mark.parametrize(("level", "days"), [("H", 1), ("A", 3), ("B", 7), ("C", 14)])
def test_default_cadence_by_level(db, sales, level, days):
    with db.session_scope() as session:
        assert leads.next_due(session, level, TODAY) == TODAY + dt.timedelta(days=days)


@pytest.mark.parametrize("level", ["O", "F", None])
def test_levels_without_cadence(db, level):
    with db.session_scope() as session:
        assert leads.next_due(session, level, TODAY) is None


def test_dealer_cadence_overrides_default(db, manager):
    with db.session_scope() as session:
        dealer.set_cadence(session, manager, {"H": 2, "B": 10})
        assert leads.next_due(session, "H", TODAY) == TODAY + dt.timedelta(days=2)
        assert leads.next_due(session, "B", TODAY) == TODAY + dt.timedelta(days=10)
        assert leads.next_due(session, "A", TODAY) == TODAY + dt.timedelta(days=3)


def test_cadence_setting_is_validated_and_for_managers(db, manager, sales):
    with pytest.raises(ValidationError) as raised, db.session_scope() as session:
        dealer.set_cadence(session, manager, {"H": 0})
    assert raised.value.field == "cadence.H"
    with pytest.raises(PermissionDeniedError), db.session_scope() as session:
        dealer.set_cadence(session, sales, {"H": 2})


def test_new_lead_gets_first_follow_up_from_cadence(today, db, sales):
    cid = new_lead(db, sales, "A")
    with db.session_scope() as session:
        task = session.scalar(select(FollowUp).where(FollowUp.customer_id == cid))
    assert task.due == today + dt.timedelta(days=3)
    assert task.owner_id == sales.user_id


def test_level_changes_are_kept_as_history(db, sales):
    cid = new_lead(db, sales, "C")
    with db.session_scope() as session:
        leads.set_intent_level(session, sales, cid, "B")
        leads.set_intent_level(session, sales, cid, "H")
        assert leads.set_intent_level(session, sales, cid, "H") is None  # no change, no entry
    with db.session_scope() as session:
        record = customers.get_customer_record(session, sales, cid)
    steps = sorted(record.intent_history, key=lambda h: h.changed_at)
    assert [(h.from_level, h.to_level) for h in steps] == [(None, "C"), ("C", "B"), ("B", "H")]
    assert all(h.changed_by_id == sales.user_id for h in steps)
    assert record.customer.intent_level == "H"


@pytest.mark.parametrize("reason", [None, "", "   "])
def test_f_requires_a_reason(db, sales, reason):
    cid = new_lead(db, sales, "B")
    with pytest.raises(ValidationError) as raised, db.session_scope() as session:
        leads.set_intent_level(session, sales, cid, "F", reason=reason)
    assert raised.value.field == "reason"
    with db.session_scope() as session:
        assert session.get(Customer, cid).intent_level == "B"


def test_f_waits_for_a_manager_and_closes_open_tasks(db, sales, manager):
    cid = new_lead(db, sales, "B")
    with db.session_scope() as session:
        change = leads.set_intent_level(session, sales, cid, "F", reason="已在别家购买")
    assert change.approval == "pending"
    with db.session_scope() as session:
        c = session.get(Customer, cid)
        assert (c.intent_level, c.lost_approval) == ("F", "pending")
        assert [r.customer_id for r in leads.pending_lost_requests(session, manager)] == [cid]
        open_tasks = session.scalars(
            select(FollowUp).where(FollowUp.customer_id == cid, FollowUp.done.is_(False))
        ).all()
        assert open_tasks == []

    with pytest.raises(PermissionDeniedError), db.session_scope() as session:
        leads.approve_lost(session, sales, cid)
    with db.session_scope() as session:
        decided = leads.approve_lost(session, manager, cid, note="同意")
    assert (decided.approval, decided.decided_by_id) == ("approved", manager.user_id)
    with db.session_scope() as session:
        c = session.get(Customer, cid)
        assert (c.lost_approval, c.lifecycle_stage) == ("approved", "lost")
        assert leads.pending_lost_requests(session, manager) == []


def test_rejected_f_returns_to_previous_level_with_a_follow_up(db, sales, manager):
    cid = new_lead(db, sales, "A")
    with db.session_scope() as session:
        leads.set_intent_level(session, sales, cid, "F", reason="预算不足")
        leads.reject_lost(session, manager, cid, note="再跟进一次")
    with db.session_scope() as session:
        c = session.get(Customer, cid)
        assert (c.intent_level, c.lost_approval) == ("A", None)
        rejected = session.scalar(select(IntentChange).where(IntentChange.to_level == "F"))
        assert rejected.approval == "rejected"
        open_task = session.scalar(
            select(FollowUp).where(FollowUp.customer_id == cid, FollowUp.done.is_(False))
        )
        assert open_task is not None


def test_approving_without_a_pending_request_is_refused(db, sales, manager):
    cid = new_lead(db, sales, "A")
    with pytest.raises(ValidationError), db.session_scope() as session:
        leads.approve_lost(session, manager, cid)


def test_follow_up_due_list_per_salesperson(today, db, staff):
    sales, sales2 = staff["sales"], staff["sales2"]
    ids = [new_lead(db, sales, None, phone=f"1380000000{i}") for i in range(4)]
    other = new_lead(db, sales2, None, phone="13900000000")
    with db.session_scope() as session:
        for cid, due in zip(ids, [-3, 0, 1, 0], strict=True):
            session.add(FollowUp(customer_id=cid, owner_id=sales.user_id,
                                 due=today + dt.timedelta(days=due)))  # fmt: skip
        session.add(FollowUp(customer_id=other, owner_id=sales2.user_id, due=today))
        session.flush()
        # Done tasks and deleted customers never show up.
        session.add(FollowUp(customer_id=ids[0], owner_id=sales.user_id, due=today, done=True))
        customers.delete_customer(session, sales, ids[3])
    with db.session_scope() as session:
        due = follow_ups.due_follow_ups(session, sales)
        theirs = follow_ups.due_follow_ups(session, sales, sales2.user_id)
    assert [(t.customer_id, (t.due - today).days) for t in due] == [(ids[0], -3), (ids[1], 0)]
    assert [t.customer_id for t in theirs] == [other]


def test_completing_a_follow_up_proposes_next_date_from_cadence(db, sales):
    cid = new_lead(db, sales, "H")
    with db.session_scope() as session:
        task = session.scalar(select(FollowUp).where(FollowUp.customer_id == cid))
        done = follow_ups.complete_follow_up(
            session, sales, task.id, "客户约周六来店试驾", today=TODAY
        )
    assert done.done.done and done.done.outcome == "客户约周六来店试驾"
    assert done.proposed_next_due == TODAY + dt.timedelta(days=1)
    assert done.next.due == TODAY + dt.timedelta(days=1)
    with pytest.raises(ValidationError) as raised, db.session_scope() as session:
        follow_ups.complete_follow_up(session, sales, task.id, "again", today=TODAY)
    assert raised.value.field == "follow_up"


def test_completing_needs_an_outcome_and_honours_a_chosen_date(today, db, sales):
    cid = new_lead(db, sales, "B")
    with db.session_scope() as session:
        task = session.scalar(select(FollowUp).where(FollowUp.customer_id == cid))
    with pytest.raises(ValidationError) as raised, db.session_scope() as session:
        follow_ups.complete_follow_up(session, sales, task.id, "  ")
    assert raised.value.field == "outcome"
    chosen = today + dt.timedelta(days=2)
    with db.session_scope() as session:
        done = follow_ups.complete_follow_up(session, sales, task.id, "已发报价", next_due=chosen)
    assert done.proposed_next_due == today + dt.timedelta(days=7)
    assert done.next.due == chosen


def test_interaction_closes_due_task_and_schedules_next(today, db, sales):
    from showroom.services.interactions import log_interaction

    cid = new_lead(db, sales, None)
    with db.session_scope() as session:
        session.add(FollowUp(customer_id=cid, owner_id=sales.user_id, due=today))
    with db.session_scope() as session:
        log_interaction(
            session, sales, cid, channel="wechat", summary="发送了车型配置表",
            outcome="客户考虑中", next_follow_up=today + dt.timedelta(days=5),
        )  # fmt: skip
    with db.session_scope() as session:
        tasks = session.scalars(select(FollowUp).order_by(FollowUp.due)).all()
    assert [(t.done, t.outcome) for t in tasks] == [(True, "客户考虑中"), (False, None)]
    assert tasks[1].due == today + dt.timedelta(days=5)


@pytest.mark.parametrize(
    ("kwargs", "field"),
    [
        ({"channel": "fax", "summary": "x"}, "channel"),
        ({"channel": "phone", "summary": " "}, "summary"),
        ({"channel": "phone", "summary": "x", "direction": "sideways"}, "direction"),
        ({"channel": "phone", "summary": "x", "next_follow_up": "2000-01-01"}, "due"),
    ],
)
def test_interaction_bad_input_names_field(db, sales, kwargs, field):
    from showroom.models import Interaction
    from showroom.services.interactions import log_interaction

    cid = new_lead(db, sales, None)
    with pytest.raises(ValidationError) as raised, db.session_scope() as session:
        log_interaction(session, sales, cid, **kwargs)
    assert raised.value.field == field
    with db.session_scope() as session:
        assert session.scalars(select(Interaction)).all() == []


def test_next_follow_up_from_an_interaction_moves_the_open_task(today, db, sales):
    from showroom.services.interactions import log_interaction

    cid = new_lead(db, sales, "B")  # one open task, due in 7 days
    soon = today + dt.timedelta(days=2)
    with db.session_scope() as session:
        log_interaction(
            session, sales, cid, channel="phone", summary="约了周末", next_follow_up=soon
        )
    with db.session_scope() as session:
        open_tasks = session.scalars(
            select(FollowUp).where(FollowUp.customer_id == cid, FollowUp.done.is_(False))
        ).all()
    assert [t.due for t in open_tasks] == [soon]


def test_hotter_level_pulls_the_open_task_forward(today, db, sales):
    cid = new_lead(db, sales, "B")
    with db.session_scope() as session:
        leads.set_intent_level(session, sales, cid, "H")
    with db.session_scope() as session:
        (task,) = session.scalars(
            select(FollowUp).where(FollowUp.customer_id == cid, FollowUp.done.is_(False))
        ).all()
    assert task.due == today + dt.timedelta(days=1)
    with db.session_scope() as session:
        leads.set_intent_level(session, sales, cid, "C")  # cooler: the earlier call stays
        (task,) = session.scalars(
            select(FollowUp).where(FollowUp.customer_id == cid, FollowUp.done.is_(False))
        ).all()
    assert task.due == today + dt.timedelta(days=1)


def test_user_names_include_staff_who_left(db, staff):
    from showroom.models import User

    with db.session_scope() as session:
        session.get(User, staff["sales2"].user_id).active = False
    with db.session_scope() as session:
        names = dealer.user_names(session, [staff["sales"].user_id, staff["sales2"].user_id, None])
    assert names == {staff["sales"].user_id: "李娜", staff["sales2"].user_id: "王磊"}
