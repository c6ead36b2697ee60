"""Pieces every service shares: loading rows, parsing typed input, building DTOs."""

from __future__ import annotations

import datetime as dt
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from showroom.errors import NotFoundError, ValidationError
from showroom.models import (
    Customer,
    CustomerPhone,
    CustomerVehicle,
    FollowUp,
    IntentChange,
    Interaction,
)
from showroom.services.dto import (
    CustomerDTO,
    FollowUpDTO,
    IntentChangeDTO,
    InteractionDTO,
    PhoneDTO,
    VehicleDTO,
)


def parse_choice(
    value: Any, field_name: str, choices: type, *, optional: bool = True
) -> str | None:
    if value is None or str(value).strip() == "":
        if optional:
            return None
        raise ValidationError(field_name, "必填", "is required")
    text = str(value).strip()
    allowed = [c.value for c in choices]
    if text not in allowed and text.upper() in allowed:
        text = text.upper()
    if text not in allowed:
        raise ValidationError(
            field_name,
            f"无效的取值“{text}”，可选：{'、'.join(allowed)}",
            f"invalid value '{text}', expected one of: {', '.join(allowed)}",
        )
    return text


def parse_date(value: Any, field_name: str, *, not_future: bool = False) -> dt.date | None:
    """A date from a ``date`` or an ISO string ("2024-05-01"); None for blank."""
    if value is None or value == "":
        return None
    if isinstance(value, dt.datetime):
        value = value.date()
    if not isinstance(value, dt.date):
        try:
            value = dt.date.fromisoformat(str(value).strip())
        except ValueError:
            raise ValidationError(
                field_name,
                f"日期格式不正确：{value}（应为 YYYY-MM-DD）",
                f"not a date: {value} (expected YYYY-MM-DD)",
            ) from None
    if value.year < 1900:
        raise ValidationError(field_name, "日期过早", "date is too far in the past")
    if not_future and value > dt.date.today():
        raise ValidationError(field_name, "日期不能晚于今天", "date must not be in the future")
    return value


def parse_bool(value: Any, field_name: str) -> bool:
    if isinstance(value, bool):
        return value
    text = str(value).strip().lower()
    if text in {"1", "true", "yes", "y", "是"}:
        return True
    if text in {"0", "false", "no", "n", "否", ""}:
        return False
    raise ValidationError(field_name, f"应为是或否：{value}", f"expected yes or no: {value}")


def join_notes(held: str | None, added: str | None) -> str | None:
    """``held`` with the lines of ``added`` it lacks appended, each once, in their order
    (``held`` itself when it has them all): how records' notes are put together, nothing
    dropped and nothing doubled."""
    lines = held.split("\n") if held else []
    extra = [line for line in (added or "").split("\n") if line and line not in lines]
    return "\n".join([*lines, *extra]) if extra else held


def load_customer(session: Session, customer_id: str) -> Customer:
    customer = session.get(Customer, customer_id)
    if customer is None or customer.deleted:
        raise NotFoundError("customer", customer_id)
    return customer


def phone_rows(session: Session, customer_id: str) -> list[CustomerPhone]:
    return list(
        session.scalars(
            select(CustomerPhone)
            .where(CustomerPhone.customer_id == customer_id, CustomerPhone.deleted.is_(False))
            .order_by(CustomerPhone.is_primary.desc(), CustomerPhone.number)
        )
    )


def vehicle_rows(session: Session, customer_id: str) -> list[CustomerVehicle]:
    return list(
        session.scalars(
            select(CustomerVehicle)
            .where(CustomerVehicle.customer_id == customer_id, CustomerVehicle.deleted.is_(False))
            .order_by(CustomerVehicle.purchase_date.desc(), CustomerVehicle.id)
        )
    )


def vehicle_dto(v: CustomerVehicle) -> VehicleDTO:
    return VehicleDTO(
        id=v.id,
        customer_id=v.customer_id,
        vin=v.vin,
        plate=v.plate,
        trim_id=v.trim_id,
        model_name=v.model_name,
        colour=v.colour,
        purchase_date=v.purchase_date,
        mileage_km=v.mileage_km,
    )


def customer_dto(session: Session, c: Customer) -> CustomerDTO:
    return CustomerDTO(
        id=c.id,
        kind=c.kind,
        name=c.name,
        contact_name=c.contact_name,
        email=c.email,
        wechat_id=c.wechat_id,
        gender=c.gender,
        birthday=c.birthday,
        address=c.address,
        id_number=c.id_number,
        source=c.source,
        assigned_to_id=c.assigned_to_id,
        intent_level=c.intent_level,
        lost_approval=c.lost_approval,
        expected_purchase_date=c.expected_purchase_date,
        lifecycle_stage=c.lifecycle_stage,
        vip=c.vip,
        notes=c.notes,
        created_at=c.created_at,
        updated_at=c.updated_at,
        phones=tuple(
            PhoneDTO(id=p.id, number=p.number, label=p.label, is_primary=p.is_primary)
            for p in phone_rows(session, c.id)
        ),
        vehicles=tuple(vehicle_dto(v) for v in vehicle_rows(session, c.id)),
    )


def follow_up_dto(f: FollowUp, customer: Customer) -> FollowUpDTO:
    return FollowUpDTO(
        id=f.id,
        customer_id=f.customer_id,
        customer_name=customer.name,
        intent_level=customer.intent_level,
        owner_id=f.owner_id,
        due=f.due,
        purpose=f.purpose,
        done=f.done,
        done_at=f.done_at,
        outcome=f.outcome,
    )


def intent_change_dto(h: IntentChange) -> IntentChangeDTO:
    return IntentChangeDTO(
        id=h.id,
        customer_id=h.customer_id,
        from_level=h.from_level,
        to_level=h.to_level,
        reason=h.reason,
        changed_at=h.changed_at,
        changed_by_id=h.changed_by_id,
        approval=h.approval,
        decided_by_id=h.decided_by_id,
        decided_at=h.decided_at,
    )


def interaction_dto(i: Interaction) -> InteractionDTO:
    return InteractionDTO(
        id=i.id,
        customer_id=i.customer_id,
        user_id=i.user_id,
        channel=i.channel,
        direction=i.direction,
        summary=i.summary,
        outcome=i.outcome,
        occurred_at=i.occurred_at,
    )
