"""Follow-up tasks: schedule, complete (proposing the next date), and the day's list."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.orm import Session

from showroom.actor import Actor, bind_actor
from showroom.db.base import utcnow
from showroom.errors import NotFoundError, ValidationError
from showroom.models import Customer, FollowUp, User
from showroom.services import leads
from showroom.services.common import follow_up_dto, load_customer, parse_date
from showroom.services.dto import FollowUpDTO

MAX_OUTCOME = 2000


@dataclass(frozen=True)
class CompletedFollowUp:
    done: FollowUpDTO
    # The date the level's cadence proposes for the next call (None for O, F or no level).
    proposed_next_due: dt.date | None
    next: FollowUpDTO | None


def _owner(session: Session, owner_id: str | None) -> str | None:
    if owner_id and session.get(User, owner_id) is None:
        raise ValidationError("owner_id", "跟进人不存在", "no such user")
    return owner_id


def schedule_follow_up(
    session: Session,
    actor: Actor,
    customer_id: str,
    due: dt.date | str | None = None,
    *,
    owner_id: str | None = None,
    purpose: str | None = None,
    today: dt.date | None = None,
) -> FollowUpDTO:
    """Add an open follow-up. Without ``due``, the level's cadence picks the date.

    Raises ValidationError("due") for a date in the past or when no date can be derived.
    """
    bind_actor(session, actor)
    customer = load_customer(session, customer_id)
    leads.require_lead_access(session, actor, customer, write=True)
    today = today or dt.date.today()
    due_date = parse_date(due, "due") or leads.next_due(session, customer.intent_level, today)
    if due_date is None:
        raise ValidationError("due", "请填写跟进日期", "give a follow-up date")
    if due_date < today:
        raise ValidationError("due", "跟进日期不能早于今天", "the date must not be in the past")
    task = FollowUp(
        customer_id=customer.id,
        owner_id=_owner(session, owner_id) or customer.assigned_to_id or actor.user_id,
        due=due_date,
        purpose=(purpose or "").strip()[:200] or None,
    )
    session.add(task)
    session.flush()
    return follow_up_dto(task, customer)


def complete_follow_up(
    session: Session,
    actor: Actor,
    follow_up_id: str,
    outcome: str,
    *,
    next_due: dt.date | str | None = None,
    schedule_next: bool = True,
    today: dt.date | None = None,
) -> CompletedFollowUp:
    """Close a task with its outcome and, by default, open the next one.

    The next date is ``next_due`` when given, otherwise today plus the level's cadence; the
    proposal is returned either way so the UI can show it. Raises ValidationError("outcome")
    for an empty outcome and ValidationError("follow_up") for a task already done.
    """
    bind_actor(session, actor)
    task = session.get(FollowUp, follow_up_id)
    if task is None or task.deleted:
        raise NotFoundError("follow_up", follow_up_id)
    if task.done:
        raise ValidationError("follow_up", "该跟进任务已完成", "this follow-up is already done")
    outcome = (outcome or "").strip()
    if not outcome:
        raise ValidationError("outcome", "请填写跟进结果", "describe the outcome")
    if len(outcome) > MAX_OUTCOME:
        raise ValidationError("outcome", "跟进结果过长", "outcome is too long")
    customer = load_customer(session, task.customer_id)
    leads.require_lead_access(session, actor, customer, write=True)
    today = today or dt.date.today()
    proposed = leads.next_due(session, customer.intent_level, today)
    chosen = parse_date(next_due, "next_due") or proposed
    if chosen is not None and chosen < today:
        raise ValidationError("next_due", "下次跟进日期不能早于今天", "next date is in the past")

    task.done = True
    task.done_at = utcnow()
    task.outcome = outcome
    follow_on = None
    if schedule_next and chosen is not None:
        follow_on = FollowUp(
            customer_id=customer.id,
            owner_id=task.owner_id,
            due=chosen,
            purpose=task.purpose,
        )
        session.add(follow_on)
    session.flush()
    return CompletedFollowUp(
        done=follow_up_dto(task, customer),
        proposed_next_due=proposed,
        next=follow_up_dto(follow_on, customer) if follow_on else None,
    )


def due_follow_ups(
    session: Session,
    actor: Actor,
    owner_id: str | None = None,
    *,
    today: dt.date | None = None,
    limit: int = 500,
) -> list[FollowUpDTO]:
    """Open tasks due today or overdue for one salesperson (the actor by default), oldest first.

    Tasks of deleted or merged-away customers are left out.
    """
    today = today or dt.date.today()
    owner_id = owner_id or actor.user_id
    rows = session.execute(
        select(FollowUp, Customer)
        .join(Customer, Customer.id == FollowUp.customer_id)
        .where(
            FollowUp.owner_id == owner_id,
            FollowUp.done.is_(False),
            FollowUp.deleted.is_(False),
            FollowUp.due <= today,
            Customer.deleted.is_(False),
            Customer.merged_into_id.is_(None),
        )
        .order_by(FollowUp.due, Customer.intent_level, Customer.name)
        .limit(limit)
    )
    return [follow_up_dto(task, customer) for task, customer in rows]
