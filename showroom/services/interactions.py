"""Interactions: each contact with a customer, optionally closing and scheduling follow-ups."""

from __future__ import annotations

import datetime as dt

from sqlalchemy import select
from sqlalchemy.orm import Session

from showroom.actor import Actor, bind_actor
from showroom.db.base import utcnow
from showroom.errors import ValidationError
from showroom.models import FollowUp, Interaction
from showroom.services import leads
from showroom.services.common import interaction_dto, load_customer, parse_choice
from showroom.services.dto import InteractionDTO
from showroom.services.follow_ups import schedule_follow_up
from showroom.vocabulary import Direction, InteractionChannel

MAX_SUMMARY = 4000


def log_interaction(
    session: Session,
    actor: Actor,
    customer_id: str,
    *,
    channel: str,
    summary: str,
    direction: str = Direction.OUTBOUND,
    outcome: str | None = None,
    occurred_at: dt.datetime | None = None,
    next_follow_up: dt.date | str | None = None,
) -> InteractionDTO:
    """Record a contact. ``next_follow_up`` schedules the next call.

    Open follow-ups of this salesperson that are due by today count as done by this contact.
    Raises ValidationError naming ``channel``, ``direction``, ``summary``, ``occurred_at`` or
    ``due``.
    """
    bind_actor(session, actor)
    customer = load_customer(session, customer_id)
    leads.require_lead_access(session, actor, customer, write=True)
    channel = parse_choice(channel, "channel", InteractionChannel, optional=False)
    direction = parse_choice(direction, "direction", Direction, optional=False)
    summary = (summary or "").strip()
    if not summary:
        raise ValidationError("summary", "请填写沟通内容", "describe the contact")
    if len(summary) > MAX_SUMMARY:
        raise ValidationError("summary", "沟通内容过长", "summary is too long")
    now = utcnow()
    occurred_at = occurred_at or now
    if occurred_at.tzinfo is None:
        raise ValidationError("occurred_at", "时间缺少时区", "time needs a time zone")
    if occurred_at > now + dt.timedelta(minutes=5):
        raise ValidationError("occurred_at", "时间不能晚于现在", "time must not be in the future")
    outcome = (outcome or "").strip()[:200] or None
    interaction = Interaction(
        customer_id=customer.id,
        user_id=actor.user_id,
        channel=channel,
        direction=direction,
        summary=summary,
        outcome=outcome,
        occurred_at=occurred_at,
    )
    session.add(interaction)
    session.flush()
    for task in session.scalars(
        select(FollowUp).where(
            FollowUp.customer_id == customer.id,
            FollowUp.owner_id == actor.user_id,
            FollowUp.done.is_(False),
            FollowUp.deleted.is_(False),
            FollowUp.due <= occurred_at.date(),
        )
    ):
        task.done = True
        task.done_at = now
        task.outcome = outcome or summary[:200]
        task.interaction_id = interaction.id
    if next_follow_up:
        _plan_next(session, actor, customer.id, next_follow_up)
    session.flush()
    return interaction_dto(interaction)


def _plan_next(session: Session, actor: Actor, customer_id: str, due) -> None:
    """Move the customer's open follow-up to ``due``, or schedule one if there is none.

    A customer has one next call, not a pile of them: a second open task would show up twice
    on the salesperson's list.
    """
    from showroom.services.common import parse_date

    open_task = session.scalar(
        select(FollowUp)
        .where(
            FollowUp.customer_id == customer_id,
            FollowUp.done.is_(False),
            FollowUp.deleted.is_(False),
        )
        .order_by(FollowUp.due)
    )
    if open_task is None:
        schedule_follow_up(session, actor, customer_id, due)
        return
    day = parse_date(due, "due")
    if day < dt.date.today():
        raise ValidationError("due", "跟进日期不能早于今天", "the date must not be in the past")
    open_task.due = day


def list_interactions(
    session: Session, actor: Actor, customer_id: str, *, limit: int = 200
) -> list[InteractionDTO]:
    """A customer's contacts, newest first."""
    leads.require_lead_access(session, actor, load_customer(session, customer_id), write=False)
    rows = session.scalars(
        select(Interaction)
        .where(Interaction.customer_id == customer_id, Interaction.deleted.is_(False))
        .order_by(Interaction.occurred_at.desc())
        .limit(limit)
    )
    return [interaction_dto(i) for i in rows]
