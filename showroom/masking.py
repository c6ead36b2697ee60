"""Masking of ID numbers and phones, and the audited reveal of a full value.

Rules:

* The core masks: the customer list and search rows (``customer_list``), search hits,
  duplicate candidates and every customer DTO that ``showroom.services.customers`` hands back
  carry ``110101********1234`` and ``138****8000`` (international numbers keep their first 3
  and last 4 digits, see :func:`showroom.validation.mask_phone`). Lists, the customer 360
  view, printouts and the command line show them as they arrive. Searching still matches the
  full numbers: the search index holds them, the results do not.
* A full value is shown only when the role may see it (permission ``reveal_personal_data``:
  managers and admins for every customer, a salesperson for customers assigned to them;
  receptionists / service advisors never) AND the user asks for it. Each reveal is one audit
  entry (``reveal_phone`` / ``reveal_id_number``) naming the customer, never the value.
* A value that does not parse (typed before validation existed, or arriving from an older
  laptop) is masked all the same: everything but its last 4 characters is hidden. Masking never
  raises, so a bad stored value never breaks a list or a printout, and masking a value that is
  already masked leaves it as it is.
* Full values leave the core only through ``reveal_personal_data`` / ``reveal_profile`` (and
  the audited PIPL export). A form that edits a customer never sends a masked value back:
  unchanged fields are left out, and a phone kept as it was is named by its id
  (``customers.KeptPhone``).
"""

from __future__ import annotations

import dataclasses
from collections.abc import Sequence
from dataclasses import dataclass
from typing import TypeVar

from sqlalchemy import select
from sqlalchemy.orm import Session

from showroom import permissions, validation
from showroom.actor import Actor
from showroom.errors import NotFoundError, ValidationError
from showroom.models import CustomerPhone
from showroom.services.common import load_customer
from showroom.services.dto import CustomerDTO, CustomerRecord

T = TypeVar("T")

# What can be revealed, and the audit action each reveal records.
REVEAL_ACTIONS = {"phone": "reveal_phone", "id_number": "reveal_id_number"}


MASK_CHARACTER = "*"


def is_masked(value: str | None) -> bool:
    """Whether ``value`` is a masked phone or ID number (stored values never hold a "*")."""
    return bool(value) and MASK_CHARACTER in value


def _fallback(value: str) -> str:
    keep = min(4, max(0, len(value) - 4))
    return "*" * (len(value) - keep) + value[len(value) - keep :]


def mask_phone(e164: str | None) -> str:
    """``138****8000`` for a mainland mobile; "" for no number."""
    if not e164:
        return ""
    if is_masked(e164):
        return e164
    try:
        return validation.mask_phone(e164)
    except ValueError:
        return _fallback(e164)


def mask_id_number(id_number: str | None) -> str:
    """``110101********1234``; "" for no number."""
    if not id_number:
        return ""
    if is_masked(id_number):
        return id_number
    try:
        return validation.mask_id_number(id_number)
    except ValueError:
        return _fallback(id_number)


def may_reveal(actor: Actor | None, assigned_to_id: str | None) -> bool:
    """Whether ``actor`` may reveal full values of a customer assigned to ``assigned_to_id``."""
    return permissions.can(actor, "reveal_personal_data", owner_id=assigned_to_id)


def masked_customer(customer: CustomerDTO) -> CustomerDTO:
    """The customer with every phone and the ID number masked (the rest unchanged)."""
    return dataclasses.replace(
        customer,
        id_number=mask_id_number(customer.id_number) or None,
        phones=tuple(dataclasses.replace(p, number=mask_phone(p.number)) for p in customer.phones),
    )


def masked_record(record: CustomerRecord) -> CustomerRecord:
    return dataclasses.replace(record, customer=masked_customer(record.customer))


def reveal_personal_data(
    session: Session, actor: Actor, customer_id: str, what: str, *, phone_id: str | None = None
) -> str:
    """The full ID number or phone of one customer, with one audit entry for the reveal.

    ``what`` is "id_number" or "phone"; for a phone, ``phone_id`` picks the number (default: the
    primary one). Returns "" when the customer has no such value (still audited: the user saw
    that there is none). Raises ValidationError("what") for anything else, NotFoundError for an
    unknown customer or phone, PermissionDeniedError when the role may not see it (nothing is
    recorded then).
    """
    from showroom.services import audit

    if what not in REVEAL_ACTIONS:
        raise ValidationError(
            "what",
            f"只能查看证件号或电话，不能查看：{what}",
            f"can reveal id_number or phone, not {what}",
        )
    customer = load_customer(session, customer_id)
    permissions.require(actor, "reveal_personal_data", owner_id=customer.assigned_to_id)
    detail: dict[str, str] = {}
    if what == "id_number":
        value = customer.id_number or ""
    else:
        query = select(CustomerPhone).where(
            CustomerPhone.customer_id == customer_id, CustomerPhone.deleted.is_(False)
        )
        if phone_id is not None:
            query = query.where(CustomerPhone.id == phone_id)
        phone = session.scalars(
            query.order_by(CustomerPhone.is_primary.desc(), CustomerPhone.number)
        ).first()
        if phone is None and phone_id is not None:
            raise NotFoundError("phone", phone_id)
        value = phone.number if phone is not None else ""
        if phone is not None:
            detail["phone_id"] = phone.id
    audit.record(
        session,
        actor,
        REVEAL_ACTIONS[what],
        target_table="customer",
        target_id=customer_id,
        detail=detail or None,
    )
    return value


@dataclass(frozen=True)
class RevealedProfile:
    """Full values shown after a reveal: phones by phone id, and the ID number."""

    phones: dict[str, str]
    id_number: str | None


def reveal_profile(session: Session, actor: Actor, customer_id: str) -> RevealedProfile:
    """Reveal every phone and the ID number of one customer, as the 360 view's "Reveal" does.

    One audit entry per value revealed (each phone, the ID number). Raises
    PermissionDeniedError before anything is revealed or recorded when the role may not see
    them, NotFoundError for an unknown customer.
    """
    customer = load_customer(session, customer_id)
    permissions.require(actor, "reveal_personal_data", owner_id=customer.assigned_to_id)
    phones = {
        phone_id: reveal_personal_data(session, actor, customer_id, "phone", phone_id=phone_id)
        for phone_id in session.scalars(
            select(CustomerPhone.id).where(
                CustomerPhone.customer_id == customer_id, CustomerPhone.deleted.is_(False)
            )
        ).all()
    }
    id_number = (
        reveal_personal_data(session, actor, customer_id, "id_number")
        if customer.id_number
        else None
    )
    return RevealedProfile(phones=phones, id_number=id_number)


def revealed_record(session: Session, actor: Actor, record: CustomerRecord) -> CustomerRecord:
    """``record`` (as ``customers.get_customer_record`` hands it out, masked) with its phones
    and ID number in full, through ``reveal_profile``: one audit entry per value. Raises
    PermissionDeniedError, with nothing revealed or recorded, when the role may not see them."""
    shown = reveal_profile(session, actor, record.customer.id)
    customer = record.customer
    return dataclasses.replace(
        record,
        customer=dataclasses.replace(
            customer,
            id_number=shown.id_number if shown.id_number is not None else customer.id_number,
            phones=tuple(
                dataclasses.replace(p, number=shown.phones.get(p.id, p.number))
                for p in customer.phones
            ),
        ),
    )


def revealed_phones(session: Session, actor: Actor, rows: Sequence[T]) -> list[T]:
    """List rows or search hits (anything with ``id``, ``phone``, ``phone_id`` and
    ``assigned_to_id``) with the phone each shows in full: one ``reveal_phone`` audit entry per
    row that has a phone, naming its customer.

    All or nothing: when the role may not see one of them, PermissionDeniedError is raised
    before anything is revealed or recorded.
    """
    for row in rows:
        if row.phone_id is not None:
            permissions.require(actor, "reveal_personal_data", owner_id=row.assigned_to_id)
    return [
        dataclasses.replace(
            row,
            phone=reveal_personal_data(session, actor, row.id, "phone", phone_id=row.phone_id),
        )
        if row.phone_id is not None
        else row
        for row in rows
    ]
