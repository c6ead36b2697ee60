"""Customers: create, update, read, soft delete, duplicate detection and instant search.

Every function takes the caller's Session and the acting user, and returns frozen DTOs. Input
arrives as people typed it; it is normalised here, and the first bad value raises a
ValidationError naming its field before anything is written.

Phones and ID numbers leave here masked (``showroom.masking``): in customer DTOs, search hits
and duplicate candidates. Full values come only from the audited reveal in ``masking``. So that
a form showing masked values can save without knowing the full ones, ``update_customer`` takes
a phone kept as it was as ``KeptPhone(phone_id)``, and refuses a masked value typed as new.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, fields
from difflib import SequenceMatcher
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from showroom import masking, search, validation
from showroom.actor import Actor, bind_actor
from showroom.errors import ConflictError, ValidationError
from showroom.models import (
    Consent,
    Customer,
    CustomerMerge,
    CustomerPhone,
    CustomerVehicle,
    FollowUp,
    IntentChange,
    Interaction,
    Trim,
    User,
)
from showroom.services import leads
from showroom.services.common import (
    customer_dto,
    follow_up_dto,
    intent_change_dto,
    interaction_dto,
    load_customer,
    parse_bool,
    parse_choice,
    parse_date,
    phone_rows,
    vehicle_dto,
    vehicle_rows,
)
from showroom.services.dto import (
    ConsentDTO,
    CustomerDTO,
    CustomerHit,
    CustomerRecord,
    DuplicateCandidate,
    VehicleDTO,
)
from showroom.vocabulary import (
    CustomerKind,
    Gender,
    IntentLevel,
    LifecycleStage,
    PhoneLabel,
    SourceChannel,
)

MAX_PHONES = 5
SIMILAR_NAME_RATIO = 0.8


@dataclass(frozen=True)
class VehicleDraft:
    """A vehicle as typed on a form or the command line; ``save`` normalises it."""

    vin: str | None = None
    plate: str | None = None
    trim_id: str | None = None
    model_name: str | None = None
    colour: str | None = None
    purchase_date: dt.date | str | None = None
    mileage_km: int | str | None = None


@dataclass(frozen=True)
class KeptPhone:
    """In ``update_customer``'s ``phones`` list: one of the customer's phones, kept as it is.

    A form shows phones masked, so it cannot send a kept number back in full; it names the
    phone by its id instead (``PhoneDTO.id``), and its place in the list still sets the order.
    """

    phone_id: str


@dataclass(frozen=True)
class CustomerDraft:
    """A new customer as typed. The first phone is the primary one."""

    name: str
    phones: Sequence[str] = ()
    kind: str = CustomerKind.PERSON
    contact_name: str | None = None
    email: str | None = None
    wechat_id: str | None = None
    gender: str | None = None
    birthday: dt.date | str | None = None
    address: str | None = None
    id_number: str | None = None
    source: str | None = None
    assigned_to_id: str | None = None
    intent_level: str | None = None
    expected_purchase_date: dt.date | str | None = None
    lifecycle_stage: str = LifecycleStage.PROSPECT
    vip: bool = False
    notes: str | None = None
    vehicles: Sequence[VehicleDraft] = field(default_factory=tuple)


class DuplicateCustomerError(ConflictError):
    """The new or changed customer looks like one already on file."""

    code = "duplicate"

    def __init__(self, candidates: Sequence[DuplicateCandidate]) -> None:
        self.candidates = tuple(candidates)
        names = "、".join(c.name for c in self.candidates[:3])
        super().__init__(
            f"可能与已有客户重复：{names}",
            f"possible duplicate of existing customers: {names}",
            field=self.candidates[0].reasons[0] if self.candidates else None,
        )


# --- input normalisation -------------------------------------------------------------------

_TEXT_LIMITS = {"wechat_id": 50, "address": 200, "notes": 4000, "contact_name": 100}


def _indexed(field_name: str, index: int) -> str:
    return field_name if index == 0 else f"{field_name}{index + 1}"


def _optional_text(value: Any, field_name: str) -> str | None:
    if value is None:
        return None
    text = " ".join(str(value).split()) if field_name != "notes" else str(value).strip()
    if not text:
        return None
    limit = _TEXT_LIMITS[field_name]
    if len(text) > limit:
        raise ValidationError(
            field_name, f"不能超过{limit}个字符", f"must be at most {limit} characters"
        )
    return text


def _refuse_masked(value: Any, field_name: str) -> None:
    """A masked value ("138****8000") typed or sent back as if it were new data."""
    if isinstance(value, str) and masking.is_masked(value):
        raise ValidationError(
            field_name,
            "已遮蔽：请输入完整号码，或保持原样",
            "masked: type the whole value, or leave it as it was",
        )


def _phones(
    raw: Sequence[str | KeptPhone] | str | None, kept: Mapping[str, str] | None = None
) -> list[str]:
    """Normalised, de-duplicated numbers; ``kept`` maps the customer's phone ids to numbers."""
    if raw is None:
        return []
    if isinstance(raw, str):
        raw = [p for p in raw.replace("；", ",").replace(";", ",").split(",")]
    phones: list[str] = []
    given = (p for p in raw if isinstance(p, KeptPhone) or (p is not None and str(p).strip()))
    for i, value in enumerate(given):
        field_name = _indexed("phone", i)
        if isinstance(value, KeptPhone):
            if kept is None or value.phone_id not in kept:
                raise ValidationError(
                    field_name, "该客户没有这个电话", "this customer has no such phone"
                )
            number = kept[value.phone_id]
        else:
            _refuse_masked(value, field_name)
            number = validation.normalize_phone(value, field_name)
        if number not in phones:
            phones.append(number)
    if len(phones) > MAX_PHONES:
        raise ValidationError("phone", f"最多{MAX_PHONES}个电话", f"at most {MAX_PHONES} phones")
    return phones


def _mileage(value: Any, field_name: str) -> int | None:
    if value is None or str(value).strip() == "":
        return None
    try:
        km = int(str(value).strip().replace(",", ""))
    except ValueError:
        raise ValidationError(
            field_name, f"里程应为整数公里：{value}", f"mileage must be whole km: {value}"
        ) from None
    if not 0 <= km <= 2_000_000:
        raise ValidationError(field_name, "里程超出范围", "mileage out of range")
    return km


def _vehicle_values(session: Session, draft: VehicleDraft, index: int) -> dict[str, Any]:
    vin = validation.normalize_vin(draft.vin, _indexed("vin", index)) if draft.vin else None
    plate = (
        validation.normalize_plate(draft.plate, _indexed("plate", index)) if draft.plate else None
    )
    if not (vin or plate):
        raise ValidationError(
            _indexed("vin", index), "车架号和车牌至少填一项", "give a VIN or a plate"
        )
    if draft.trim_id and session.get(Trim, draft.trim_id) is None:
        raise ValidationError(_indexed("trim_id", index), "车型不存在", "unknown trim")
    model_name = draft.model_name.strip() if draft.model_name else None
    return {
        "vin": vin,
        "plate": plate,
        "trim_id": draft.trim_id or None,
        "model_name": model_name[:100] if model_name else None,
        "colour": draft.colour.strip()[:30] if draft.colour else None,
        "purchase_date": parse_date(
            draft.purchase_date, _indexed("purchase_date", index), not_future=True
        ),
        "mileage_km": _mileage(draft.mileage_km, _indexed("mileage_km", index)),
    }


def _email(value: str) -> str:
    # Stored in lower case: no mail provider our customers use tells addresses apart by case,
    # and an exact, indexed comparison is what duplicate detection needs.
    return validation.normalize_email(value).lower()


def _normalise(
    session: Session, values: Mapping[str, Any], kept_phones: Mapping[str, str] | None = None
) -> dict[str, Any]:
    """Normalise the customer fields present in ``values``; raises on the first bad one.

    ``kept_phones`` (phone id -> number) lets ``phones`` name existing phones by ``KeptPhone``.
    """
    out: dict[str, Any] = {}
    for key, value in values.items():
        if key == "name":
            out[key] = validation.normalize_name(value, "name")
        elif key == "phones":
            out[key] = _phones(value, kept_phones)
        elif key == "kind":
            out[key] = parse_choice(value, key, CustomerKind, optional=False)
        elif key in _TEXT_LIMITS:
            out[key] = _optional_text(value, key)
        elif key == "email":
            out[key] = _email(value) if value else None
        elif key == "gender":
            out[key] = parse_choice(value, key, Gender)
        elif key == "birthday":
            out[key] = parse_date(value, key, not_future=True)
        elif key == "id_number":
            _refuse_masked(value, key)
            out[key] = validation.normalize_id_number(value) if value else None
        elif key == "source":
            out[key] = parse_choice(value, key, SourceChannel)
        elif key == "assigned_to_id":
            if value and session.get(User, value) is None:
                raise ValidationError(key, "销售顾问不存在", "no such salesperson")
            out[key] = value or None
        elif key == "intent_level":
            out[key] = parse_choice(value, key, IntentLevel)
        elif key == "expected_purchase_date":
            out[key] = parse_date(value, key)
        elif key == "lifecycle_stage":
            out[key] = parse_choice(value, key, LifecycleStage, optional=False)
        elif key == "vip":
            out[key] = parse_bool(value, key)
        else:
            raise ValidationError(key, "不能修改此字段", "unknown or read-only field")
    # A resident ID number already says when the person was born: the two must agree.
    id_number, birthday = out.get("id_number"), out.get("birthday")
    if id_number and birthday and validation.id_number_birthday(id_number) != birthday:
        raise ValidationError(
            "birthday", "生日与身份证号不一致", "birthday does not match the ID number"
        )
    return out


# --- reading ---------------------------------------------------------------------------------


def _masked_dto(session: Session, customer: Customer) -> CustomerDTO:
    return masking.masked_customer(customer_dto(session, customer))


def get_customer(session: Session, actor: Actor, customer_id: str) -> CustomerDTO:
    """The customer with phones and vehicles, phones and ID number masked. Raises NotFoundError
    for unknown or deleted ids (and for another salesperson's lead when the store hides them)."""
    customer = load_customer(session, customer_id)
    leads.require_lead_access(session, actor, customer, write=False)
    return _masked_dto(session, customer)


def get_customer_record(session: Session, actor: Actor, customer_id: str) -> CustomerRecord:
    """The whole record: profile (phones and ID number masked), consents, level history,
    follow-ups and interactions."""
    customer = load_customer(session, customer_id)
    leads.require_lead_access(session, actor, customer, write=False)

    def live(model):
        return select(model).where(model.customer_id == customer_id, model.deleted.is_(False))

    consents = session.scalars(live(Consent).order_by(Consent.given_at.desc()))
    history = session.scalars(live(IntentChange).order_by(IntentChange.changed_at.desc()))
    follow_ups = session.scalars(live(FollowUp).order_by(FollowUp.due.desc()))
    interactions = session.scalars(live(Interaction).order_by(Interaction.occurred_at.desc()))
    merged_from = session.scalars(
        select(CustomerMerge.merged_id).where(
            CustomerMerge.survivor_id == customer_id, CustomerMerge.deleted.is_(False)
        )
    )
    return CustomerRecord(
        customer=_masked_dto(session, customer),
        consents=tuple(
            ConsentDTO(
                id=c.id,
                channel=c.channel,
                purpose=c.purpose,
                granted=c.granted,
                given_at=c.given_at,
                source=c.source,
                recorded_by_id=c.recorded_by_id,
            )
            for c in consents
        ),
        intent_history=tuple(intent_change_dto(h) for h in history),
        follow_ups=tuple(follow_up_dto(f, customer) for f in follow_ups),
        interactions=tuple(interaction_dto(i) for i in interactions),
        merged_from=tuple(merged_from),
    )


# --- duplicates ------------------------------------------------------------------------------


def _within_one_edit(a: str, b: str) -> bool:
    if abs(len(a) - len(b)) > 1:
        return False
    if len(a) == len(b):
        return sum(x != y for x, y in zip(a, b, strict=True)) <= 1
    shorter, longer = sorted((a, b), key=len)
    return any(longer[:i] + longer[i + 1 :] == shorter for i in range(len(longer)))


def _similar(a: str, b: str) -> bool:
    """Names a person would take for the same customer: 陈晓明/陈小明, 王芳/王芳芳, typos."""
    a, b = validation.search_text(a), validation.search_text(b)
    if a == b:
        return True
    if min(len(a), len(b)) >= 2 and (a in b or b in a):
        return True
    if min(len(a), len(b)) >= 3 and _within_one_edit(a, b):
        return True
    return SequenceMatcher(None, a, b).ratio() >= SIMILAR_NAME_RATIO


def find_duplicates(
    session: Session,
    actor: Actor,
    *,
    name: str | None = None,
    phones: Sequence[str] = (),
    id_number: str | None = None,
    vins: Sequence[str] = (),
    email: str | None = None,
    exclude_id: str | None = None,
) -> list[DuplicateCandidate]:
    """Customers on file that share a normalised phone, ID number, VIN or email.

    Arguments may be raw input; a value that does not normalise (a masked one included) is
    ignored here (the save reports it). Candidates whose name is also very similar rank first;
    each carries its primary phone, masked.
    """

    def quietly(fn, value):
        try:
            return fn(value)
        except ValidationError:
            return None

    phones = [p for p in (quietly(validation.normalize_phone, p) for p in phones) if p]
    vins = [v for v in (quietly(validation.normalize_vin, v) for v in vins if v) if v]
    id_number = quietly(validation.normalize_id_number, id_number) if id_number else None
    email = quietly(_email, email) if email else None

    reasons: dict[str, list[str]] = {}

    def note(customer_ids, reason: str) -> None:
        for cid in customer_ids:
            if cid != exclude_id and reason not in reasons.setdefault(cid, []):
                reasons[cid].append(reason)

    if phones:
        note(
            session.scalars(
                select(CustomerPhone.customer_id).where(
                    CustomerPhone.number.in_(phones), CustomerPhone.deleted.is_(False)
                )
            ),
            "phone",
        )
    if id_number:
        note(
            session.scalars(select(Customer.id).where(Customer.id_number == id_number)), "id_number"
        )
    if vins:
        note(
            session.scalars(
                select(CustomerVehicle.customer_id).where(
                    CustomerVehicle.vin.in_(vins), CustomerVehicle.deleted.is_(False)
                )
            ),
            "vin",
        )
    if email:
        note(session.scalars(select(Customer.id).where(Customer.email == email)), "email")
    if not reasons:
        return []

    candidates = []
    rows = session.scalars(
        select(Customer).where(
            Customer.id.in_(reasons),
            Customer.deleted.is_(False),
            Customer.merged_into_id.is_(None),
        )
    )
    for c in rows:
        why = reasons[c.id]
        if name and _similar(name, c.name):
            why.append("similar_name")
        c_phones = phone_rows(session, c.id)
        candidates.append(
            DuplicateCandidate(
                customer_id=c.id,
                name=c.name,
                phone=masking.mask_phone(c_phones[0].number) if c_phones else None,
                reasons=tuple(why),
            )
        )
    candidates.sort(key=lambda c: (-len(c.reasons), c.name, c.customer_id))
    return candidates


# --- writing ---------------------------------------------------------------------------------


def _replace_phones(session: Session, customer: Customer, numbers: list[str]) -> None:
    existing = {p.number: p for p in phone_rows(session, customer.id)}
    for number, row in existing.items():
        if number not in numbers:
            row.deleted = True
    for i, number in enumerate(numbers):
        row = existing.get(number)
        if row is None:
            row = CustomerPhone(customer_id=customer.id, number=number, label=PhoneLabel.MOBILE)
            session.add(row)
        row.is_primary = i == 0


def create_customer(
    session: Session, actor: Actor, draft: CustomerDraft, *, force: bool = False
) -> CustomerDTO:
    """Create a customer with phones and vehicles.

    Raises ValidationError (naming the field) for bad input and DuplicateCustomerError, carrying
    the candidates, when the phone, ID number, VIN or email is already on file, unless
    ``force`` is set because a person has looked at the candidates and decided otherwise.
    Nothing is written when it raises. A level of H/A/B/C schedules the first follow-up.
    """
    bind_actor(session, actor)
    values = {f.name: getattr(draft, f.name) for f in fields(draft) if f.name != "vehicles"}
    data = _normalise(session, values)
    if data["intent_level"] == IntentLevel.F:
        raise ValidationError(
            "intent_level", "新客户不能直接设为战败", "a new customer cannot start as lost (F)"
        )
    if not data["phones"] and data["kind"] == CustomerKind.PERSON and not draft.vehicles:
        raise ValidationError("phone", "请至少填写一个电话", "give at least one phone number")
    vehicles = [_vehicle_values(session, v, i) for i, v in enumerate(draft.vehicles)]
    if not force:
        candidates = find_duplicates(
            session,
            actor,
            name=data["name"],
            phones=data["phones"],
            id_number=data["id_number"],
            vins=[v["vin"] for v in vehicles if v["vin"]],
            email=data["email"],
        )
        if candidates:
            raise DuplicateCustomerError(candidates)
    phones = data.pop("phones")
    level = data.pop("intent_level")
    if data["id_number"] and not data["birthday"]:
        data["birthday"] = validation.id_number_birthday(data["id_number"])
    if data["id_number"] and not data["gender"]:
        data["gender"] = validation.id_number_gender(data["id_number"])
    customer = Customer(**data, created_by_id=actor.user_id)
    if customer.assigned_to_id is None and actor.role == "salesperson":
        customer.assigned_to_id = actor.user_id
    session.add(customer)
    session.flush()
    _replace_phones(session, customer, phones)
    for v in vehicles:
        session.add(CustomerVehicle(customer_id=customer.id, **v))
    if level:
        leads.change_level(session, actor, customer, level, reason=None)
    session.flush()
    return _masked_dto(session, customer)


def update_customer(
    session: Session,
    actor: Actor,
    customer_id: str,
    changes: Mapping[str, Any],
    *,
    force: bool = False,
) -> CustomerDTO:
    """Change some fields of a customer; returns it masked, like ``get_customer``.

    ``phones`` replaces the whole list (first = primary); an entry is a number as typed or a
    ``KeptPhone`` naming one of the customer's phones. A change of ``intent_level`` goes through
    the level rules (history, F needs ``reason``). Raises ValidationError (also for a masked
    phone or ID number given as a new value: a masked value never overwrites a real one),
    NotFoundError, or DuplicateCustomerError when a new phone, ID number or email belongs to
    another customer (unless ``force``); PermissionDeniedError for another salesperson's lead.
    """
    bind_actor(session, actor)
    customer = load_customer(session, customer_id)
    leads.require_lead_access(session, actor, customer, write=True)
    changes = dict(changes)
    reason = changes.pop("reason", None)
    kept = {p.id: p.number for p in phone_rows(session, customer.id)}
    data = _normalise(session, changes, kept)
    if not force:
        candidates = find_duplicates(
            session,
            actor,
            name=data.get("name", customer.name),
            phones=data.get("phones", ()),
            id_number=data.get("id_number"),
            email=data.get("email"),
            exclude_id=customer.id,
        )
        if candidates:
            raise DuplicateCustomerError(candidates)
    if "phones" in data:
        phones = data.pop("phones")
        if not phones and customer.kind == CustomerKind.PERSON:
            raise ValidationError("phone", "请至少保留一个电话", "keep at least one phone number")
        _replace_phones(session, customer, phones)
    level = data.pop("intent_level", customer.intent_level)
    for key, value in data.items():
        setattr(customer, key, value)
    if level != customer.intent_level:
        leads.change_level(session, actor, customer, level, reason=reason)
    session.flush()
    return _masked_dto(session, customer)


def delete_customer(session: Session, actor: Actor, customer_id: str) -> None:
    """Soft delete: the customer becomes a tombstone that syncs; open follow-ups are closed.

    Audited (action ``delete``).
    """
    bind_actor(session, actor)
    customer = load_customer(session, customer_id)
    leads.require_lead_access(session, actor, customer, write=True)
    customer.deleted = True
    for task in session.scalars(
        select(FollowUp).where(
            FollowUp.customer_id == customer_id,
            FollowUp.done.is_(False),
            FollowUp.deleted.is_(False),
        )
    ):
        task.deleted = True
    session.flush()
    from showroom.services import audit

    audit.record(session, actor, "delete", target_table="customer", target_id=customer_id)


def add_vehicle(
    session: Session, actor: Actor, customer_id: str, draft: VehicleDraft, *, force: bool = False
) -> VehicleDTO:
    """Add a vehicle to a customer. Raises DuplicateCustomerError if the VIN is on another."""
    bind_actor(session, actor)
    customer = load_customer(session, customer_id)
    leads.require_lead_access(session, actor, customer, write=True)
    values = _vehicle_values(session, draft, 0)
    if values["vin"]:
        for existing in vehicle_rows(session, customer.id):
            if existing.vin == values["vin"]:
                raise ValidationError("vin", "该客户已登记此车架号", "this VIN is already listed")
        if not force:
            candidates = find_duplicates(
                session, actor, vins=[values["vin"]], exclude_id=customer.id
            )
            if candidates:
                raise DuplicateCustomerError(candidates)
    vehicle = CustomerVehicle(customer_id=customer.id, **values)
    session.add(vehicle)
    if customer.lifecycle_stage in (LifecycleStage.PROSPECT, LifecycleStage.EVALUATING):
        customer.lifecycle_stage = LifecycleStage.OWNER
    session.flush()
    return vehicle_dto(vehicle)


# --- search ----------------------------------------------------------------------------------


def search_customers(
    session: Session, actor: Actor, query: str, limit: int = 20
) -> list[CustomerHit]:
    """Customers matching a fragment of a name, phone, plate or VIN.

    Ranked exact match, then prefix, then substring. A full or partial phone finds its
    customer, but the hit shows the phone masked (``phone_id`` names it for an audited reveal).
    Raises ValidationError("query") for a fragment shorter than two characters.
    """
    folded = search.fold_query(query or "")
    if len(folded) < search.MIN_QUERY_LENGTH:
        raise ValidationError(
            "query", "请至少输入两个字符", "type at least two characters to search"
        )
    limit = max(1, min(int(limit), 500))
    ranked = search.ranked_customer_ids(session.connection(), folded, limit)
    if not ranked:
        return []
    ids = [cid for cid, _ in ranked]
    customers = {c.id: c for c in session.scalars(select(Customer).where(Customer.id.in_(ids)))}
    phones: dict[str, list[CustomerPhone]] = {}
    for p in session.scalars(
        select(CustomerPhone)
        .where(CustomerPhone.customer_id.in_(ids), CustomerPhone.deleted.is_(False))
        .order_by(CustomerPhone.is_primary.desc(), CustomerPhone.number)
    ):
        phones.setdefault(p.customer_id, []).append(p)
    vehicles: dict[str, list[CustomerVehicle]] = {}
    for v in session.scalars(
        select(CustomerVehicle).where(
            CustomerVehicle.customer_id.in_(ids), CustomerVehicle.deleted.is_(False)
        )
    ):
        vehicles.setdefault(v.customer_id, []).append(v)

    hits = []
    visible = leads.lead_filter(session, actor)
    for cid, rank in ranked:
        c = customers.get(cid)
        if c is None or not visible(c.assigned_to_id):
            continue
        c_phones, c_vehicles = phones.get(cid, []), vehicles.get(cid, [])
        matched_on, phone, vehicle = _matched(folded, c, c_phones, c_vehicles)
        hits.append(
            CustomerHit(
                id=c.id,
                name=c.name,
                kind=c.kind,
                phone=masking.mask_phone(phone.number) if phone else None,
                plate=vehicle.plate if vehicle else None,
                vin=vehicle.vin if vehicle else None,
                intent_level=c.intent_level,
                assigned_to_id=c.assigned_to_id,
                match=rank,
                matched_on=matched_on,
                phone_id=phone.id if phone else None,
            )
        )
    return hits


def _matched(
    folded: str, c: Customer, phones: list[CustomerPhone], vehicles: list[CustomerVehicle]
):
    """Which field matched, and the phone and vehicle to show for this hit (the matching ones)."""
    phone = phones[0] if phones else None
    vehicle = vehicles[0] if vehicles else None
    for p in phones:
        if folded in validation.phone_search_key(p.number):
            return "phone", p, vehicle
    for v in vehicles:
        if v.plate and folded in validation.search_text(v.plate):
            return "plate", phone, v
        if v.vin and folded in validation.search_text(v.vin):
            return "vin", phone, v
    return "name", phone, vehicle
