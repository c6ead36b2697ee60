"""Plain, frozen results the services hand back. No live ORM object leaves a service."""

from __future__ import annotations

import datetime as dt
from dataclasses import asdict, dataclass, field
from decimal import Decimal
from typing import Any


def to_json_dict(obj: Any) -> Any:
    """A DTO as JSON-ready data (dates ISO, Decimal as string)."""
    from showroom.db.outbox import to_wire

    if isinstance(obj, dict):
        return {k: to_json_dict(v) for k, v in obj.items()}
    if isinstance(obj, list | tuple):
        return [to_json_dict(v) for v in obj]
    if hasattr(obj, "__dataclass_fields__"):
        return to_json_dict(asdict(obj))
    if isinstance(obj, Decimal | dt.date | dt.datetime):
        return to_wire(obj)
    return obj


@dataclass(frozen=True)
class PhoneDTO:
    id: str
    number: str  # masked ("138****8000") as services hand it out; reveal for the E.164 number
    label: str
    is_primary: bool


@dataclass(frozen=True)
class VehicleDTO:
    id: str
    customer_id: str
    vin: str | None
    plate: str | None
    trim_id: str | None
    model_name: str | None
    colour: str | None
    purchase_date: dt.date | None
    mileage_km: int | None


@dataclass(frozen=True)
class IntentChangeDTO:
    id: str
    customer_id: str
    from_level: str | None
    to_level: str
    reason: str | None
    changed_at: dt.datetime
    changed_by_id: str | None
    approval: str | None
    decided_by_id: str | None
    decided_at: dt.datetime | None


@dataclass(frozen=True)
class InteractionDTO:
    id: str
    customer_id: str
    user_id: str | None
    channel: str
    direction: str
    summary: str
    outcome: str | None
    occurred_at: dt.datetime


@dataclass(frozen=True)
class FollowUpDTO:
    id: str
    customer_id: str
    customer_name: str
    intent_level: str | None
    owner_id: str | None
    due: dt.date
    purpose: str | None
    done: bool
    done_at: dt.datetime | None
    outcome: str | None


@dataclass(frozen=True)
class ConsentDTO:
    id: str
    channel: str
    purpose: str
    granted: bool
    given_at: dt.datetime
    source: str
    recorded_by_id: str | None


@dataclass(frozen=True)
class CustomerDTO:
    id: str
    kind: str
    name: str
    contact_name: str | None
    email: str | None
    wechat_id: str | None
    gender: str | None
    birthday: dt.date | None
    address: str | None
    id_number: str | None  # masked ("110101********1234") as services hand it out
    source: str | None
    assigned_to_id: str | None
    intent_level: str | None
    lost_approval: str | None
    expected_purchase_date: dt.date | None
    lifecycle_stage: str
    vip: bool
    notes: str | None
    created_at: dt.datetime
    updated_at: dt.datetime
    phones: tuple[PhoneDTO, ...] = ()
    vehicles: tuple[VehicleDTO, ...] = ()


@dataclass(frozen=True)
class CustomerRecord:
    """Everything kept about one customer: what `customers get` prints and the 360 view shows."""

    customer: CustomerDTO
    consents: tuple[ConsentDTO, ...]
    intent_history: tuple[IntentChangeDTO, ...]
    follow_ups: tuple[FollowUpDTO, ...]
    interactions: tuple[InteractionDTO, ...]
    merged_from: tuple[str, ...] = field(default=())


@dataclass(frozen=True)
class DuplicateCandidate:
    customer_id: str
    name: str
    phone: str | None  # masked
    # Which facts matched: "phone", "id_number", "vin", "email", "similar_name".
    reasons: tuple[str, ...]


@dataclass(frozen=True)
class CustomerHit:
    """One search result row."""

    id: str
    name: str
    kind: str
    phone: str | None  # masked
    plate: str | None
    vin: str | None
    intent_level: str | None
    assigned_to_id: str | None
    match: str  # "exact" / "prefix" / "substring"
    matched_on: str | None  # "name" / "phone" / "plate" / "vin"
    phone_id: str | None = None  # the phone shown (masked), for an audited reveal of it


@dataclass(frozen=True)
class Changed:
    """What a mutation changed, so each view can decide whether to refresh."""

    entity: str
    ids: tuple[str, ...]
    kind: str = "updated"  # created / updated / deleted / merged


@dataclass(frozen=True)
class QuoteLineDTO:
    id: str
    # colour / option / accessory / insurance / registration / purchase_tax / service_fee
    kind: str
    code: str | None
    description: str
    quantity: int
    unit_price: Decimal
    amount: Decimal  # quantity × unit price


@dataclass(frozen=True)
class QuoteDTO:
    """One quote as the services hand it out.

    ``dealer_cost``, ``margin`` and ``margin_rate`` are None for a role without ``see_margins``
    (they never leave the service for a receptionist or service advisor). ``status`` is the
    effective one: a quote past its ``valid_until`` that was not cancelled reads "expired".
    """

    id: str
    number: str
    customer_id: str
    customer_name: str
    salesperson_id: str | None
    salesperson_name: str | None
    trim_id: str
    brand: str
    model: str
    trim: str
    model_year: int
    fuel: str
    colour: str | None
    vehicle_price: Decimal
    lines: tuple[QuoteLineDTO, ...]
    vehicle_subtotal: Decimal  # vehicle + colour + options, before the discount
    discount: Decimal
    fees_total: Decimal  # accessories, insurance, registration, purchase tax, fees
    total: Decimal
    valid_until: dt.date
    status: str
    # The discount is above the store's limit and no manager has approved it.
    needs_approval: bool
    discount_limit: Decimal
    approved_by_id: str | None
    approved_by_name: str | None
    approved_at: dt.datetime | None
    rejection_reason: str | None
    issued_at: dt.datetime | None
    # Whether it may still be changed: neither handed to the customer nor voided (an issued
    # quote, expired or not, is copied into a new quote instead).
    editable: bool
    # Issued, and changed on another laptop since it was printed: ``issued_total`` is the
    # printed total (None for a quote not printed, or printed before schema 5).
    changed_after_issue: bool
    issued_total: Decimal | None
    notes: str | None
    created_at: dt.datetime
    updated_at: dt.datetime
    dealer_cost: Decimal | None = None
    margin: Decimal | None = None
    margin_rate: Decimal | None = None  # margin / (vehicle price − discount), e.g. 0.0412

    @property
    def vehicle_name(self) -> str:
        return f"{self.brand} {self.model} {self.trim}"

    @property
    def printable(self) -> bool:
        """Whether the quote may be printed or saved for the customer now."""
        return (
            self.status in ("draft", "approved", "issued")
            and not self.needs_approval
            and not self.changed_after_issue
        )


@dataclass(frozen=True)
class PrintedQuote:
    """A quote rendered for the customer: the PDF and what the UI needs to name the file."""

    quote_id: str
    number: str
    customer_id: str
    customer_name: str
    purpose: str  # print / save / preview
    pdf: bytes
