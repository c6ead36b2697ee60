"""Consent per channel and purpose (PIPL), and the filter that keeps lists within it.

Each recording is a new ``consent`` row (given or withdrawn, when, how, by whom), so the history
stays; the newest row for a (customer, channel, purpose) is the one that counts. Recording one is
audited (action ``consent``).

What needs consent: contacting a customer for service reminders, care (birthday and holiday
greetings, offers: purpose ``marketing``) and surveys. A salesperson's follow-ups on a lead who
came to buy a car are the sales conversation the customer asked for, not marketing, so the
follow-up lists are not filtered (PIPL art. 13(2): necessary for a contract the person is party
to). Every list of the consent-gated kinds is built on :func:`consent_filter`, and the
customers without consent are excluded, as are erased and deleted customers.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from sqlalchemy import ColumnElement, and_, exists, func, or_, select
from sqlalchemy.orm import Session, aliased

from showroom.actor import Actor, bind_actor
from showroom.db.base import utcnow
from showroom.errors import ValidationError
from showroom.models import Consent, Customer, CustomerPhone
from showroom.services import audit
from showroom.services.common import load_customer, parse_bool, parse_choice
from showroom.services.dto import ConsentDTO
from showroom.vocabulary import ConsentChannel, ConsentPurpose, ConsentSource

# Purposes for which a list must leave out customers without consent.
GATED_PURPOSES = frozenset(
    {ConsentPurpose.SERVICE_REMINDERS, ConsentPurpose.MARKETING, ConsentPurpose.SURVEYS}
)


def consent_dto(c: Consent) -> ConsentDTO:
    return ConsentDTO(
        id=c.id,
        channel=c.channel,
        purpose=c.purpose,
        granted=c.granted,
        given_at=c.given_at,
        source=c.source,
        recorded_by_id=c.recorded_by_id,
    )


def _given_at(value: dt.datetime | None) -> dt.datetime:
    if value is None:
        return utcnow()
    if not isinstance(value, dt.datetime):
        raise ValidationError("given_at", "应为日期和时间", "expected a date and time")
    if value.tzinfo is None:
        raise ValidationError("given_at", "时间缺少时区", "time without a time zone")
    if value > utcnow() + dt.timedelta(minutes=5):
        raise ValidationError("given_at", "时间不能晚于现在", "time must not be in the future")
    return value.astimezone(dt.UTC)


def record_consent(
    session: Session,
    actor: Actor,
    customer_id: str,
    *,
    channel: str,
    purpose: str,
    granted: bool,
    source: str,
    given_at: dt.datetime | None = None,
) -> ConsentDTO:
    """Record that the customer gave (``granted``) or withdrew consent for a channel and purpose.

    ``given_at`` defaults to now; ``source`` says how it was given (paper form, verbally...).
    The staff member is the actor. Writes one audit entry. Raises ValidationError naming the
    field for an unknown channel, purpose or source or a future time, NotFoundError for an
    unknown customer.
    """
    bind_actor(session, actor)
    channel = parse_choice(channel, "channel", ConsentChannel, optional=False)
    purpose = parse_choice(purpose, "purpose", ConsentPurpose, optional=False)
    source = parse_choice(source, "source", ConsentSource, optional=False)
    granted = parse_bool(granted, "granted")
    at = _given_at(given_at)
    customer = load_customer(session, customer_id)
    if customer.erased_at is not None:
        raise ValidationError(
            "customer", "该客户的个人信息已删除", "this customer's personal data was erased"
        )
    row = Consent(
        customer_id=customer_id,
        channel=channel,
        purpose=purpose,
        granted=granted,
        given_at=at,
        source=source,
        recorded_by_id=actor.user_id,
    )
    session.add(row)
    session.flush()
    audit.record(
        session,
        actor,
        "consent",
        target_table="customer",
        target_id=customer_id,
        detail={
            "consent_id": row.id,
            "channel": channel,
            "purpose": purpose,
            "granted": granted,
            "source": source,
        },
    )
    return consent_dto(row)


def current_consents(session: Session, customer_id: str) -> dict[tuple[str, str], ConsentDTO]:
    """The consent in force for each (channel, purpose) the customer was ever asked about."""
    rows = session.scalars(
        select(Consent)
        .where(Consent.customer_id == customer_id, Consent.deleted.is_(False))
        .order_by(Consent.given_at, Consent.id)
    )
    return {(c.channel, c.purpose): consent_dto(c) for c in rows}


def consent_filter(customer_id, purpose: str, channel: str | None = None) -> ColumnElement[bool]:
    """A WHERE clause: the customer at ``customer_id`` (a column) consents to ``purpose``.

    With ``channel`` the consent must be for that channel, otherwise any channel will do. The
    newest recording per (channel, purpose) counts, so a withdrawal ends an earlier consent.
    """
    purpose = parse_choice(purpose, "purpose", ConsentPurpose, optional=False)
    if channel is not None:
        channel = parse_choice(channel, "channel", ConsentChannel, optional=False)
    given = aliased(Consent)
    later = aliased(Consent)
    newer = exists().where(
        later.customer_id == given.customer_id,
        later.channel == given.channel,
        later.purpose == given.purpose,
        later.deleted.is_(False),
        or_(
            later.given_at > given.given_at,
            and_(later.given_at == given.given_at, later.id > given.id),
        ),
    )
    conditions = [
        given.customer_id == customer_id,
        given.purpose == purpose,
        given.granted.is_(True),
        given.deleted.is_(False),
        ~newer,
    ]
    if channel is not None:
        conditions.append(given.channel == channel)
    return exists().where(*conditions)


def consented_customer_ids(session: Session, purpose: str, channel: str | None = None) -> set[str]:
    """Ids of live, not erased customers who consent to ``purpose`` (on ``channel``)."""
    query = select(Customer.id).where(
        Customer.deleted.is_(False),
        Customer.erased_at.is_(None),
        consent_filter(Customer.id, purpose, channel),
    )
    return set(session.scalars(query))


@dataclass(frozen=True)
class CareContact:
    customer_id: str
    name: str
    birthday: dt.date
    phone: str | None  # E.164; mask it before showing it


def birthday_care_list(
    session: Session,
    actor: Actor,
    *,
    today: dt.date | None = None,
    days: int = 7,
    channel: str | None = None,
) -> list[CareContact]:
    """Customers whose birthday falls in the next ``days`` days and who consent to marketing.

    A birthday greeting is care, which needs consent: customers who never gave it, or withdrew
    it, are left out. Raises ValidationError("days") outside 1..366.
    """
    if isinstance(days, bool) or not isinstance(days, int) or not 1 <= days <= 366:
        raise ValidationError("days", "天数须在 1 到 366 之间", "days must be 1 to 366")
    today = today or dt.date.today()
    month_days = sorted({(today + dt.timedelta(days=n)).strftime("%m-%d") for n in range(days)})
    # Someone born on 29 February is greeted on 28 February in other years.
    if "02-28" in month_days and "02-29" not in month_days:
        month_days.append("02-29")
    query = select(Customer.id, Customer.name, Customer.birthday).where(
        Customer.deleted.is_(False),
        Customer.erased_at.is_(None),
        Customer.birthday.is_not(None),
        func.strftime("%m-%d", Customer.birthday).in_(month_days),
        consent_filter(Customer.id, ConsentPurpose.MARKETING, channel),
    )
    order = {(today + dt.timedelta(days=n)).strftime("%m-%d"): n for n in reversed(range(days))}
    rows = sorted(
        session.execute(query).all(),
        key=lambda r: (
            order.get(r.birthday.strftime("%m-%d"), order.get("02-28", 0)),
            r.name,
            r.id,
        ),
    )
    phones: dict[str, str] = {}
    if rows:
        for customer_id, number in session.execute(
            select(CustomerPhone.customer_id, CustomerPhone.number)
            .where(
                CustomerPhone.customer_id.in_([r.id for r in rows]),
                CustomerPhone.deleted.is_(False),
            )
            .order_by(CustomerPhone.is_primary.desc(), CustomerPhone.number)
        ):
            phones.setdefault(customer_id, number)
    return [CareContact(r.id, r.name, r.birthday, phones.get(r.id)) for r in rows]
