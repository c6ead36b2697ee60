"""Leads: intent levels with their history, the lost (F) approval, and follow-up cadence."""

from __future__ import annotations

import datetime as dt
import json

from sqlalchemy import select
from sqlalchemy.orm import Session

from showroom.actor import Actor, bind_actor
from showroom.db.base import utcnow
from showroom.errors import NotFoundError, ValidationError
from showroom.models import Customer, DealerSetting, FollowUp, IntentChange
from showroom.permissions import (
    LEAD_HIDDEN,
    LEAD_READ_ONLY,
    LEAD_VISIBILITY_CHOICES,
    denied,
    lead_access_for,
    require,
    sees_all_leads,
)
from showroom.services.common import intent_change_dto, load_customer, parse_choice
from showroom.services.dto import IntentChangeDTO
from showroom.vocabulary import (
    DEFAULT_CADENCE_DAYS,
    IntentLevel,
    LifecycleStage,
    LostApproval,
)

CADENCE_SETTING = "follow_up_cadence_days"
LEAD_VISIBILITY_SETTING = "lead_visibility"
IDLE_LOCK_SETTING = "idle_lock_minutes"
MAX_REASON = 1000


def read_setting(session: Session, key: str):
    """A store setting's decoded JSON value, or None when unset or unreadable."""
    raw = session.scalar(
        select(DealerSetting.value).where(
            DealerSetting.key == key, DealerSetting.deleted.is_(False)
        )
    )
    if raw is None:
        return None
    try:
        return json.loads(raw)
    except ValueError:
        return None


def lead_visibility(session: Session) -> str:
    """The store's rule for other salespeople's leads: "read_only" (default) or "hidden"."""
    value = read_setting(session, LEAD_VISIBILITY_SETTING)
    return value if value in LEAD_VISIBILITY_CHOICES else LEAD_READ_ONLY


def lead_access(session: Session, actor: Actor, assigned_to_id: str | None) -> str:
    """ "edit", "read" or "none": what ``actor`` may do with a lead assigned to that user."""
    if sees_all_leads(actor):
        return "edit"
    return lead_access_for(actor, assigned_to_id, lead_visibility(session))


def hidden_leads_condition(session: Session, actor: Actor, assigned_column):
    """A WHERE condition keeping only the leads ``actor`` may see (None: sees all)."""
    if sees_all_leads(actor) or lead_visibility(session) != LEAD_HIDDEN:
        return None
    return assigned_column.is_(None) | (assigned_column == actor.user_id)


def require_lead_access(session: Session, actor: Actor, customer: Customer, *, write: bool) -> None:
    """Raise for a lead the actor may not see (NotFoundError, as if it did not exist) or, when
    ``write``, may not change (PermissionDeniedError: it belongs to another salesperson)."""
    access = lead_access(session, actor, customer.assigned_to_id)
    if access == "none":
        raise NotFoundError("customer", customer.id)
    if write and access != "edit":
        raise denied(
            "修改其他销售顾问的客户", "change another salesperson's customer", "经理", "a manager"
        )


def cadence_days(session: Session) -> dict[IntentLevel, int]:
    """Days between follow-ups per level: the dealer's setting over the defaults."""
    cadence = dict(DEFAULT_CADENCE_DAYS)
    raw = session.scalar(
        select(DealerSetting.value).where(
            DealerSetting.key == CADENCE_SETTING, DealerSetting.deleted.is_(False)
        )
    )
    if raw:
        for level, days in json.loads(raw).items():
            if level in IntentLevel.__members__ and int(days) > 0:
                cadence[IntentLevel(level)] = int(days)
    return cadence


def next_due(session: Session, level: str | None, after: dt.date) -> dt.date | None:
    """The default next follow-up date for a level, or None when the level has no cadence."""
    if level is None:
        return None
    days = cadence_days(session).get(IntentLevel(level))
    return after + dt.timedelta(days=days) if days else None


def change_level(
    session: Session,
    actor: Actor,
    customer: Customer,
    level: str | None,
    *,
    reason: str | None,
    today: dt.date | None = None,
) -> IntentChange | None:
    """Apply a level change to a loaded customer and record it (used inside other services).

    F needs a reason and waits for a manager's approval. A level with a cadence gets an open
    follow-up if the customer has none; O and F close the open ones.
    """
    if level == customer.intent_level:
        return None
    if level is None:
        raise ValidationError("intent_level", "请选择意向级别", "choose an intent level")
    level = IntentLevel(level)
    reason = " ".join((reason or "").split()) or None
    if level == IntentLevel.F and not reason:
        raise ValidationError(
            "reason", "设为战败必须填写战败原因", "a reason is required to mark a lead lost (F)"
        )
    if reason and len(reason) > MAX_REASON:
        raise ValidationError("reason", f"原因不能超过{MAX_REASON}字", "reason is too long")
    if level == IntentLevel.C and customer.expected_purchase_date is None:
        # "Not now" is only useful with a date to come back to; default to the C cadence.
        customer.expected_purchase_date = (today or dt.date.today()) + dt.timedelta(days=90)

    change = IntentChange(
        customer_id=customer.id,
        from_level=customer.intent_level,
        to_level=level,
        reason=reason,
        changed_at=utcnow(),
        changed_by_id=actor.user_id,
        approval=LostApproval.PENDING if level == IntentLevel.F else None,
    )
    session.add(change)
    customer.intent_level = level
    customer.lost_approval = LostApproval.PENDING if level == IntentLevel.F else None
    if level == IntentLevel.O and customer.lifecycle_stage in (
        LifecycleStage.PROSPECT,
        LifecycleStage.EVALUATING,
        LifecycleStage.LOST,
    ):
        customer.lifecycle_stage = LifecycleStage.CUSTOMER

    open_tasks = list(
        session.scalars(
            select(FollowUp).where(
                FollowUp.customer_id == customer.id,
                FollowUp.done.is_(False),
                FollowUp.deleted.is_(False),
            )
        )
    )
    if level in (IntentLevel.O, IntentLevel.F):
        for task in open_tasks:
            task.done = True
            task.done_at = utcnow()
            task.outcome = task.outcome or f"级别改为{level.value}，任务关闭"
    else:
        due = next_due(session, level, today or dt.date.today())
        # A hotter lead is called sooner: pull an open task forward to the new cadence.
        for task in open_tasks:
            if due is not None and task.due > due:
                task.due = due
        if due is not None and not open_tasks:
            session.add(
                FollowUp(
                    customer_id=customer.id,
                    owner_id=customer.assigned_to_id or actor.user_id,
                    due=due,
                    purpose=f"{level.value}级客户跟进",
                )
            )
    return change


def set_intent_level(
    session: Session, actor: Actor, customer_id: str, level: str, reason: str | None = None
) -> IntentChangeDTO | None:
    """Change a customer's intent level; returns the history entry (None if unchanged).

    Raises ValidationError("intent_level") for an unknown level and ValidationError("reason")
    when F is asked for without a reason.
    """
    bind_actor(session, actor)
    customer = load_customer(session, customer_id)
    require_lead_access(session, actor, customer, write=True)
    level = parse_choice(level, "intent_level", IntentLevel, optional=False)
    change = change_level(session, actor, customer, level, reason=reason)
    session.flush()
    return intent_change_dto(change) if change else None


def _pending_lost(session: Session, customer_id: str) -> tuple[Customer, IntentChange]:
    customer = load_customer(session, customer_id)
    change = session.scalar(
        select(IntentChange)
        .where(
            IntentChange.customer_id == customer_id,
            IntentChange.approval == LostApproval.PENDING,
            IntentChange.deleted.is_(False),
        )
        .order_by(IntentChange.changed_at.desc())
    )
    if customer.intent_level != IntentLevel.F or change is None:
        raise ValidationError(
            "intent_level", "该客户没有待审批的战败申请", "no lost (F) request awaits approval"
        )
    return customer, change


def _require_manager(actor: Actor) -> None:
    require(actor, "approve_lost")


def approve_lost(
    session: Session, actor: Actor, customer_id: str, note: str | None = None
) -> IntentChangeDTO:
    """A manager confirms a lost (F) lead: the customer's stage becomes lost."""
    _require_manager(actor)
    bind_actor(session, actor)
    customer, change = _pending_lost(session, customer_id)
    change.approval = LostApproval.APPROVED
    change.decided_by_id = actor.user_id
    change.decided_at = utcnow()
    change.decision_note = note
    customer.lost_approval = LostApproval.APPROVED
    customer.lifecycle_stage = LifecycleStage.LOST
    session.flush()
    return intent_change_dto(change)


def reject_lost(
    session: Session, actor: Actor, customer_id: str, note: str | None = None
) -> IntentChangeDTO:
    """A manager refuses a lost (F) request: the lead returns to its previous level."""
    _require_manager(actor)
    bind_actor(session, actor)
    customer, change = _pending_lost(session, customer_id)
    change.approval = LostApproval.REJECTED
    change.decided_by_id = actor.user_id
    change.decided_at = utcnow()
    change.decision_note = note
    customer.lost_approval = None
    previous = change.from_level or IntentLevel.C
    change_level(session, actor, customer, previous, reason=note or "战败申请被驳回")
    session.flush()
    return intent_change_dto(change)


def pending_lost_requests(session: Session, actor: Actor) -> list[IntentChangeDTO]:
    """Lost (F) requests waiting for a manager, oldest first."""
    rows = session.scalars(
        select(IntentChange)
        .join(Customer, Customer.id == IntentChange.customer_id)
        .where(
            IntentChange.approval == LostApproval.PENDING,
            IntentChange.deleted.is_(False),
            Customer.deleted.is_(False),
        )
        .order_by(IntentChange.changed_at)
    )
    return [intent_change_dto(r) for r in rows]


def lead_filter(session: Session, actor: Actor):
    """A predicate on ``assigned_to_id``: whether ``actor`` may see that lead at all."""
    if sees_all_leads(actor):
        return lambda _assigned_to_id: True
    visibility = lead_visibility(session)
    return lambda assigned_to_id: lead_access_for(actor, assigned_to_id, visibility) != "none"
