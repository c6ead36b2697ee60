"""The dealership's vocabulary: levels, stages, channels, roles (DESIGN.md, "Domain vocabulary").

Values are stored as these short English codes; the UI and printouts translate them.
"""

from __future__ import annotations

from enum import StrEnum


class IntentLevel(StrEnum):
    H = "H"  # buys within 7 days
    A = "A"  # within 15 days
    B = "B"  # within 30 days
    C = "C"  # later: record the expected date
    O = "O"  # ordered  # noqa: E741
    F = "F"  # lost (战败): needs a reason and a manager's approval


# Days between follow-ups for each level; the dealer can override them in its settings.
DEFAULT_CADENCE_DAYS: dict[IntentLevel, int] = {
    IntentLevel.H: 1,
    IntentLevel.A: 3,
    IntentLevel.B: 7,
    IntentLevel.C: 14,
}


class LostApproval(StrEnum):
    PENDING = "pending"
    APPROVED = "approved"
    REJECTED = "rejected"


class LifecycleStage(StrEnum):
    PROSPECT = "prospect"
    EVALUATING = "evaluating"
    CUSTOMER = "customer"
    OWNER = "owner"
    LAPSED = "lapsed"
    LOST = "lost"


class CustomerKind(StrEnum):
    PERSON = "person"
    COMPANY = "company"


class Gender(StrEnum):
    MALE = "male"
    FEMALE = "female"


class SourceChannel(StrEnum):
    WALK_IN = "walk_in"
    PHONE = "phone"
    WEB = "web"
    REFERRAL = "referral"
    EVENT = "event"


class PhoneLabel(StrEnum):
    MOBILE = "mobile"
    HOME = "home"
    WORK = "work"
    OTHER = "other"


class InteractionChannel(StrEnum):
    VISIT = "visit"
    PHONE = "phone"
    SMS = "sms"
    WECHAT = "wechat"
    EMAIL = "email"
    OTHER = "other"


class Direction(StrEnum):
    INBOUND = "inbound"
    OUTBOUND = "outbound"


class ConsentChannel(StrEnum):
    PHONE = "phone"
    SMS = "sms"
    WECHAT = "wechat"
    EMAIL = "email"


class ConsentPurpose(StrEnum):
    SALES = "sales"
    SERVICE_REMINDERS = "service_reminders"
    MARKETING = "marketing"
    SURVEYS = "surveys"


class ConsentSource(StrEnum):
    PAPER_FORM = "paper_form"
    VERBAL = "verbal"
    WEB = "web"
    WECHAT = "wechat"
    OTHER = "other"


class Role(StrEnum):
    SALESPERSON = "salesperson"
    SERVICE_ADVISOR = "service_advisor"
    MANAGER = "manager"
    ADMIN = "admin"


class FuelType(StrEnum):
    PETROL = "petrol"
    HYBRID = "hybrid"
    PLUG_IN_HYBRID = "phev"
    ELECTRIC = "ev"
