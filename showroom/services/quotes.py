"""Quotes (报价单): price a trim with its colour, options and fees for a customer, get a large
discount approved, and print the quote for the customer.

Rules:

* Totals are computed here from the catalogue and the lines, never taken from the caller. The
  vehicle subtotal is the trim's list price plus the colour's surcharge plus the options; the
  discount comes off the vehicle subtotal only (never off fees); fees (accessories, insurance,
  registration, purchase tax, service fees) are added on top.
* A discount above the store's limit (setting ``discount_threshold``, CNY; default
  :data:`DEFAULT_DISCOUNT_THRESHOLD`) puts the quote in ``pending_approval``. Only a manager
  (``approve_discount``) approves it or rejects it with a reason; a manager's own quote above
  the limit is approved by them on saving. A quote waiting for approval, or refused and not
  changed, cannot be printed or saved for the customer. A change to the prices, the options or
  the discount of an approved quote asks again.
* Printing or saving the PDF (``render_for_print``) issues the quote and writes exactly one
  audit entry (action ``print``, target the customer, the quote in the detail). Approving or
  rejecting a discount writes one entry (action ``discount``). An issued or cancelled quote is
  not edited any more: make a new one.
* Margins: the dealer cost and the margin are in a quote DTO only for roles with
  ``see_margins``; :func:`quote_margin` raises PermissionDeniedError for the others. The
  margin is the vehicle's: (list price − discount) − dealer cost; options and fees are left out
  because the store keeps no cost for them. Nothing printed ever carries a cost or a margin.
* Lead visibility: reading needs the lead to be visible to the actor; creating, changing,
  cancelling and printing need write access to it (``showroom.services.leads``).
* After a sync: a quote changed on two laptops keeps both laptops' changes field by field, and
  the total no longer adds up from them; the sync computes it again (:func:`settle_quotes`),
  and a discount above the limit waits for approval again. An approval records a hash of what
  it covered (``approved_signature``), so one given while another laptop changed the prices or
  lines is asked again too.
* Printing keeps what the customer was handed (``issued_snapshot``). A change another laptop
  made offline can still reach an issued quote; such a quote reads ``changed_after_issue``, is
  not printed again under its number, and :func:`split_after_issue` puts it back as printed and
  keeps the change as a new quote.
* Numbers are ``Q<yyyymmdd>-<device code>-<nnnn>``: the device code is four characters derived
  from this laptop's device id, so numbers made offline on two laptops never collide (see
  :func:`device_code`); the sequence counts this laptop's quotes of that day.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import hashlib
import json
from collections.abc import Collection, Sequence
from dataclasses import dataclass
from decimal import ROUND_HALF_UP, Decimal
from types import SimpleNamespace

from sqlalchemy import BigInteger, func, select, type_coerce
from sqlalchemy.orm import Session

from showroom import permissions
from showroom.actor import Actor, bind_actor
from showroom.db.base import utcnow
from showroom.errors import ConflictError, NotFoundError, ValidationError
from showroom.models import (
    Customer,
    Quote,
    QuoteLine,
    SyncConflict,
    Trim,
    TrimColour,
    TrimOption,
    User,
)
from showroom.money import parse_money, to_money
from showroom.services import audit, leads
from showroom.services.common import load_customer, parse_date
from showroom.services.dto import Changed, PrintedQuote, QuoteDTO, QuoteLineDTO
from showroom.vocabulary import FuelType

DISCOUNT_THRESHOLD_SETTING = "discount_threshold"
DEFAULT_DISCOUNT_THRESHOLD = Decimal("3000.00")
VALID_DAYS = 7
MAX_VALID_DAYS = 90
MAX_NOTES = 2000
MAX_LINES = 30
MAX_QUANTITY = 99

DRAFT, PENDING, APPROVED, ISSUED, EXPIRED, CANCELLED = (
    "draft", "pending_approval", "approved", "issued", "expired", "cancelled",
)  # fmt: skip
STATUSES = (DRAFT, PENDING, APPROVED, ISSUED, EXPIRED, CANCELLED)

# Lines the caller writes (colour and option lines come from the catalogue).
EXTRA_KINDS = ("accessory", "insurance", "registration", "purchase_tax", "service_fee")
LINE_KINDS = ("colour", "option", *EXTRA_KINDS)
# What a line holds, as a copy of a print or a change kept as a new quote takes it.
LINE_FIELDS = ("kind", "code", "description", "quantity", "unit_price")
PURPOSES = ("print", "save")

_CROCKFORD = "0123456789ABCDEFGHJKMNPQRSTVWXYZ"
_BATCH = 500

# Fields the quote's own rules set (the total from the parts, the status and the approval by the
# approval and the print, what was printed by the print). A conflict on one of them offers no
# "write the other side back": the parts are changed instead, and the quote follows.
RULED_FIELDS = frozenset(
    {"total", "status", "approved_by_id", "approved_at", "approved_signature", "issued_at",
     "issued_snapshot"}
)  # fmt: skip
# Of those, the ones whose conflicts the sync closes (:func:`settle_quotes`): the total and the
# approval follow from the parts, wherever the two laptops' values came from.
SETTLED_FIELDS = ("total", "approved_by_id", "approved_at", "approved_signature")
# The resolution of such a conflict.
QUOTE_SETTLED = "quote_settled"


@dataclass(frozen=True)
class QuoteLineDraft:
    """An accessory or fee line as typed."""

    kind: str
    description: str
    unit_price: Decimal | str | int
    quantity: int | str = 1


@dataclass(frozen=True)
class QuoteDraft:
    """A quote as the salesperson fills it in; :func:`create_quote` checks every field."""

    trim_id: str
    colour: str | None = None
    option_codes: Sequence[str] = ()
    extras: Sequence[QuoteLineDraft] = ()
    discount: Decimal | str | int = "0"
    valid_until: dt.date | str | None = None  # default: today + VALID_DAYS
    notes: str | None = None
    salesperson_id: str | None = None  # default: the customer's salesperson, else the actor


# --- settings and pure helpers ---------------------------------------------------------------


def discount_threshold(session: Session) -> Decimal:
    """The largest discount (CNY) a salesperson gives without a manager's approval."""
    value = leads.read_setting(session, DISCOUNT_THRESHOLD_SETTING)
    if value is None:
        return DEFAULT_DISCOUNT_THRESHOLD
    try:
        return parse_money(str(value), DISCOUNT_THRESHOLD_SETTING)
    except ValidationError:  # a malformed value from elsewhere: the safe default
        return DEFAULT_DISCOUNT_THRESHOLD


def set_discount_threshold(session: Session, actor: Actor, amount) -> Decimal:
    """Set the store's discount limit (CNY). Managers only; raises ValidationError
    ("discount_threshold") for a negative or malformed amount."""
    from showroom.services.dealer import _put_setting

    permissions.require(actor, "manage_settings")
    value = parse_money(amount, DISCOUNT_THRESHOLD_SETTING)
    bind_actor(session, actor)
    _put_setting(session, DISCOUNT_THRESHOLD_SETTING, str(value))
    return value


def device_code(device_id: str | None) -> str:
    """Four Crockford base-32 characters from a hash of the device id (20 bits).

    Hashed rather than cut from the id: a UUIDv7 starts with its creation time, so two laptops
    set up the same day would share a prefix. Two of a store's laptops share a code with odds
    of about 1 in a million per pair; the number is then still told apart by its id.
    """
    digest = hashlib.sha256((device_id or "local").encode()).digest()
    bits = int.from_bytes(digest[:3], "big") >> 4
    return "".join(_CROCKFORD[(bits >> shift) & 31] for shift in (15, 10, 5, 0))


def quote_number(session: Session, day: dt.date) -> str:
    """The next number of this laptop for ``day``: ``Q20261122-7KQ3-0001``."""
    prefix = f"Q{day:%Y%m%d}-{device_code(session.info.get('device_id'))}-"
    last = session.scalar(select(func.max(Quote.number)).where(Quote.number.like(f"{prefix}%")))
    sequence = int(last.rsplit("-", 1)[1]) + 1 if last else 1
    return f"{prefix}{sequence:04d}"


def purchase_tax(price: Decimal, fuel: str, on: dt.date | None = None) -> Decimal:
    """Vehicle purchase tax (车辆购置税) on a VAT-inclusive ``price``: 10% of price / 1.13.

    New-energy vehicles (``ev``, ``phev``): exempt in 2024–2025 up to 30,000 CNY of tax, half
    in 2026–2027 with at most 15,000 CNY off, then full (财政部 税务总局 工业和信息化部公告
    2023年第10号).
    """
    on = on or dt.date.today()
    full = to_money(Decimal(price) / Decimal("1.13") * Decimal("0.10"))
    if fuel in (FuelType.ELECTRIC, FuelType.PLUG_IN_HYBRID):
        if dt.date(2024, 1, 1) <= on < dt.date(2026, 1, 1):
            return max(Decimal("0.00"), full - Decimal("30000"))
        if dt.date(2026, 1, 1) <= on < dt.date(2028, 1, 1):
            return to_money(full - min(full / 2, Decimal("15000")))
    return full


# --- reading ---------------------------------------------------------------------------------


def _load_quote(session: Session, quote_id: str) -> Quote:
    quote = session.get(Quote, quote_id)
    if quote is None or quote.deleted:
        raise NotFoundError("quote", quote_id)
    return quote


def _lines(session: Session, quote_ids: Sequence[str]) -> dict[str, list[QuoteLine]]:
    found: dict[str, list[QuoteLine]] = {qid: [] for qid in quote_ids}
    if not quote_ids:
        return found
    for line in session.scalars(
        select(QuoteLine)
        .where(QuoteLine.quote_id.in_(quote_ids), QuoteLine.deleted.is_(False))
        .order_by(QuoteLine.quote_id, QuoteLine.position, QuoteLine.id)
    ):
        found[line.quote_id].append(line)
    return found


def _effective_status(quote: Quote, today: dt.date) -> str:
    if quote.status != CANCELLED and quote.valid_until < today:
        return EXPIRED
    return quote.status


def _editable(quote: Quote) -> bool:
    """Neither in the customer's hands nor voided: the stored status, not the effective one
    (an issued quote past its date is still the customer's)."""
    return quote.status not in (ISSUED, CANCELLED)


def _needs_approval(quote: Quote, limit: Decimal) -> bool:
    return quote.discount > limit and quote.status not in (APPROVED, ISSUED)


def _changed_after_issue(quote: Quote, lines: Sequence, printed: dict | None) -> bool:
    """An issued quote that no longer holds what was printed (``printed``, its copy as
    :func:`_printed` reads it)."""
    return quote.status == ISSUED and printed is not None and printed != _held(quote, lines)


def _printed(quote: Quote) -> dict | None:
    """The quote's copy of what was printed; None for none, or for one that cannot be read
    (a quote printed before schema 5, or a value damaged elsewhere: it is then left alone)."""
    if not quote.issued_snapshot:
        return None
    try:
        printed = json.loads(quote.issued_snapshot)
        _restored(printed)
    except (ValueError, TypeError, KeyError, ArithmeticError):
        return None
    return printed


def _restored(printed: dict) -> tuple[dict, list[dict]]:
    """The quote's fields and its lines as printed, typed to be written back; raises KeyError,
    ValueError, TypeError or ArithmeticError for a copy that cannot be read."""
    fields = {
        "trim_id": printed["trim_id"],
        "colour": printed["colour"],
        "vehicle_price": Decimal(printed["vehicle_price"]),
        "discount": Decimal(printed["discount"]),
        "total": Decimal(printed["total"]),
        "valid_until": dt.date.fromisoformat(printed["valid_until"]),
        "notes": printed["notes"],
    }
    lines = [
        {
            **{key: x[key] for key in LINE_FIELDS},
            "quantity": int(x["quantity"]),
            "unit_price": Decimal(x["unit_price"]),
        }
        for x in printed["lines"]
    ]
    return fields, lines


def _to_dto(
    actor: Actor,
    quote: Quote,
    lines: list[QuoteLine],
    *,
    customer_name: str,
    names: dict[str, str],
    trim: Trim,
    limit: Decimal,
    today: dt.date,
) -> QuoteDTO:
    printed = _printed(quote)
    line_dtos = tuple(
        QuoteLineDTO(
            id=line.id,
            kind=line.kind,
            code=line.code,
            description=line.description,
            quantity=line.quantity,
            unit_price=line.unit_price,
            amount=to_money(line.unit_price * line.quantity),
        )
        for line in lines
    )
    cost = margin = rate = None
    if permissions.can(actor, "see_margins") and quote.dealer_cost is not None:
        cost = quote.dealer_cost
        net = quote.vehicle_price - quote.discount
        margin = to_money(net - cost)
        rate = (margin / net).quantize(Decimal("0.0001"), ROUND_HALF_UP) if net > 0 else None
    return QuoteDTO(
        id=quote.id,
        number=quote.number,
        customer_id=quote.customer_id,
        customer_name=customer_name,
        salesperson_id=quote.salesperson_id,
        salesperson_name=names.get(quote.salesperson_id or ""),
        trim_id=quote.trim_id,
        brand=trim.brand,
        model=trim.model,
        trim=trim.trim,
        model_year=trim.model_year,
        fuel=trim.fuel,
        colour=quote.colour,
        vehicle_price=quote.vehicle_price,
        lines=line_dtos,
        vehicle_subtotal=_vehicle_subtotal(quote.vehicle_price, lines),
        discount=quote.discount,
        fees_total=_amounts(lines, EXTRA_KINDS),
        total=quote.total,
        valid_until=quote.valid_until,
        status=_effective_status(quote, today),
        needs_approval=_needs_approval(quote, limit) and quote.status != CANCELLED,
        discount_limit=limit,
        approved_by_id=quote.approved_by_id,
        approved_by_name=names.get(quote.approved_by_id or ""),
        approved_at=quote.approved_at,
        rejection_reason=quote.rejection_reason,
        issued_at=quote.issued_at,
        editable=_editable(quote),
        changed_after_issue=_changed_after_issue(quote, lines, printed),
        issued_total=Decimal(printed["total"]) if printed is not None else None,
        notes=quote.notes,
        created_at=quote.created_at,
        updated_at=quote.updated_at,
        dealer_cost=cost,
        margin=margin,
        margin_rate=rate,
    )


def _dtos(session: Session, actor: Actor, quotes: list[Quote]) -> list[QuoteDTO]:
    if not quotes:
        return []
    from showroom.services.dealer import user_names

    lines = _lines(session, [q.id for q in quotes])
    names = user_names(
        session, {uid for q in quotes for uid in (q.salesperson_id, q.approved_by_id) if uid}
    )
    trims = {
        t.id: t
        for t in session.scalars(select(Trim).where(Trim.id.in_({q.trim_id for q in quotes})))
    }
    customers = dict(
        session.execute(
            select(Customer.id, Customer.name).where(
                Customer.id.in_({q.customer_id for q in quotes})
            )
        ).all()
    )
    limit = discount_threshold(session)
    today = dt.date.today()
    return [
        _to_dto(
            actor,
            q,
            lines[q.id],
            customer_name=customers.get(q.customer_id, ""),
            names=names,
            trim=trims[q.trim_id],
            limit=limit,
            today=today,
        )
        for q in quotes
    ]


def _readable_quote(session: Session, actor: Actor, quote_id: str, *, write: bool) -> Quote:
    quote = _load_quote(session, quote_id)
    leads.require_lead_access(
        session, actor, load_customer(session, quote.customer_id), write=write
    )
    return quote


def get_quote(session: Session, actor: Actor, quote_id: str) -> QuoteDTO:
    """One quote. Raises NotFoundError (also for a customer hidden from the actor)."""
    quote = _readable_quote(session, actor, quote_id, write=False)
    return _dtos(session, actor, [quote])[0]


def list_quotes(session: Session, actor: Actor, customer_id: str) -> list[QuoteDTO]:
    """The customer's quotes, newest first. Raises NotFoundError for an unknown or hidden
    customer."""
    customer = load_customer(session, customer_id)
    leads.require_lead_access(session, actor, customer, write=False)
    quotes = list(
        session.scalars(
            select(Quote)
            .where(Quote.customer_id == customer_id, Quote.deleted.is_(False))
            .order_by(Quote.created_at.desc(), Quote.id.desc())
        )
    )
    return _dtos(session, actor, quotes)


def quote_margin(session: Session, actor: Actor, quote_id: str) -> tuple[Decimal, Decimal]:
    """(dealer cost, margin) of one quote. Raises PermissionDeniedError for a role without
    ``see_margins`` (receptionists, service advisors), ValidationError("dealer_cost") when the
    store has not entered the trim's cost, NotFoundError."""
    permissions.require(actor, "see_margins")
    dto = get_quote(session, actor, quote_id)
    if dto.dealer_cost is None:
        raise ValidationError(
            "dealer_cost", "该车型未录入进货价，无法计算毛利", "the trim has no dealer cost"
        )
    return dto.dealer_cost, dto.margin


@dataclass(frozen=True)
class TrimChoice:
    """A catalogue trim with what a quote can add to it (for the editor)."""

    id: str
    brand: str
    model: str
    trim: str
    model_year: int
    fuel: str
    msrp: Decimal
    colours: tuple[tuple[str, Decimal], ...]  # (name, surcharge)
    options: tuple[tuple[str, str, Decimal], ...]  # (code, name, price)
    dealer_cost: Decimal | None = None  # only for roles with see_margins

    @property
    def label(self) -> str:
        return f"{self.brand} {self.model} {self.trim} ({self.model_year})"


def catalogue_choices(session: Session, actor: Actor) -> list[TrimChoice]:
    """Active trims with their colours and options, by brand, model and price."""
    trims = list(
        session.scalars(
            select(Trim)
            .where(Trim.active.is_(True), Trim.deleted.is_(False))
            .order_by(Trim.brand, Trim.model, Trim.msrp, Trim.trim)
        )
    )
    ids = [t.id for t in trims]
    colours: dict[str, list] = {i: [] for i in ids}
    for c in session.scalars(
        select(TrimColour)
        .where(TrimColour.trim_id.in_(ids), TrimColour.deleted.is_(False))
        .order_by(TrimColour.price, TrimColour.name)
    ):
        colours[c.trim_id].append((c.name, c.price))
    options: dict[str, list] = {i: [] for i in ids}
    for o in session.scalars(
        select(TrimOption)
        .where(TrimOption.trim_id.in_(ids), TrimOption.deleted.is_(False))
        .order_by(TrimOption.code)
    ):
        options[o.trim_id].append((o.code, o.name, o.price))
    margins = permissions.can(actor, "see_margins")
    return [
        TrimChoice(
            t.id, t.brand, t.model, t.trim, t.model_year, t.fuel, t.msrp,
            tuple(colours[t.id]), tuple(options[t.id]),
            t.dealer_cost if margins else None,
        )
        for t in trims
    ]  # fmt: skip


# --- writing ---------------------------------------------------------------------------------


@dataclass(frozen=True)
class _Priced:
    trim: Trim
    colour: str | None
    lines: list[dict]
    discount: Decimal
    total: Decimal
    valid_until: dt.date
    notes: str | None
    salesperson_id: str | None


def _text(value, field: str, limit: int, *, required: bool = False) -> str | None:
    text = " ".join(str(value or "").split()) if field != "notes" else str(value or "").strip()
    if not text:
        if required:
            raise ValidationError(field, "必填", "is required")
        return None
    if len(text) > limit:
        raise ValidationError(
            field, f"不能超过{limit}个字符", f"must be at most {limit} characters"
        )
    return text


def _extra_line(index: int, extra: QuoteLineDraft) -> dict:
    row = index + 1
    if extra.kind not in EXTRA_KINDS:
        raise ValidationError(
            "lines",
            f"第{row}行：无效的费用类型“{extra.kind}”",
            f"line {row}: invalid kind '{extra.kind}', expected one of: {', '.join(EXTRA_KINDS)}",
        )
    description = " ".join(str(extra.description or "").split())
    if not description:
        raise ValidationError("lines", f"第{row}行：请填写项目名称", f"line {row}: describe it")
    if len(description) > 200:
        raise ValidationError("lines", f"第{row}行：名称过长", f"line {row}: name too long")
    try:
        price = parse_money(extra.unit_price, "lines")
    except ValidationError as error:
        raise ValidationError(
            "lines", f"第{row}行：{error.message_zh}", f"line {row}: {error.message_en}"
        ) from None
    try:
        quantity = int(str(extra.quantity).strip())
    except ValueError:
        quantity = 0
    if not 1 <= quantity <= MAX_QUANTITY:
        raise ValidationError(
            "lines",
            f"第{row}行：数量应为1到{MAX_QUANTITY}",
            f"line {row}: quantity must be 1 to {MAX_QUANTITY}",
        )
    return {
        "kind": extra.kind,
        "code": None,
        "description": description,
        "quantity": quantity,
        "unit_price": price,
    }


def _price(session: Session, draft: QuoteDraft, customer: Customer, actor: Actor) -> _Priced:
    """Check every field of ``draft`` and compute the lines and the total from the catalogue."""
    trim = session.get(Trim, draft.trim_id) if draft.trim_id else None
    if trim is None or trim.deleted or not trim.active:
        raise ValidationError("trim_id", "请选择在售车型", "choose a trim from the catalogue")
    lines: list[dict] = []

    colours = {
        c.name: c
        for c in session.scalars(
            select(TrimColour).where(TrimColour.trim_id == trim.id, TrimColour.deleted.is_(False))
        )
    }
    colour = _text(draft.colour, "colour", 50)
    if colours and colour is None:
        raise ValidationError("colour", "请选择车身颜色", "choose a colour")
    if colour is not None and colour not in colours:
        raise ValidationError(
            "colour", f"该车型没有“{colour}”颜色", f"the trim has no colour '{colour}'"
        )
    if colour is not None and colours[colour].price:
        lines.append(
            {
                "kind": "colour",
                "code": colours[colour].code,
                "description": f"车身颜色：{colour}",
                "quantity": 1,
                "unit_price": colours[colour].price,
            }
        )

    options = {
        o.code: o
        for o in session.scalars(
            select(TrimOption).where(TrimOption.trim_id == trim.id, TrimOption.deleted.is_(False))
        )
    }
    codes = list(dict.fromkeys(c for c in draft.option_codes if c))
    unknown = [c for c in codes if c not in options]
    if unknown:
        raise ValidationError(
            "options",
            f"该车型没有选装包：{'、'.join(unknown)}",
            f"the trim has no option {', '.join(unknown)}",
        )
    for code in sorted(codes):
        option = options[code]
        lines.append(
            {
                "kind": "option",
                "code": code,
                "description": option.name,
                "quantity": 1,
                "unit_price": option.price,
            }
        )
    if len(draft.extras) > MAX_LINES:
        raise ValidationError("lines", f"最多{MAX_LINES}项费用", f"at most {MAX_LINES} lines")
    lines.extend(_extra_line(i, extra) for i, extra in enumerate(draft.extras))

    vehicle_subtotal = _vehicle_subtotal(trim.msrp, lines)
    discount = parse_money(draft.discount if draft.discount not in (None, "") else "0", "discount")
    if discount > vehicle_subtotal:
        raise ValidationError(
            "discount",
            f"优惠不能超过车价（{vehicle_subtotal:,.2f} 元）",
            f"the discount must not exceed the vehicle price ({vehicle_subtotal:,.2f})",
        )
    today = dt.date.today()
    valid_until = parse_date(draft.valid_until, "valid_until") or today + dt.timedelta(
        days=VALID_DAYS
    )
    if valid_until < today:
        raise ValidationError("valid_until", "有效期不能早于今天", "valid until must not be past")
    if valid_until > today + dt.timedelta(days=MAX_VALID_DAYS):
        raise ValidationError(
            "valid_until",
            f"有效期最长{MAX_VALID_DAYS}天",
            f"a quote is valid for at most {MAX_VALID_DAYS} days",
        )
    salesperson_id = draft.salesperson_id or customer.assigned_to_id
    if salesperson_id is None and actor.role == "salesperson":
        salesperson_id = actor.user_id
    if salesperson_id is not None:
        user = session.get(User, salesperson_id)
        if user is None or user.deleted:
            raise ValidationError("salesperson_id", "销售顾问不存在", "no such salesperson")
    return _Priced(
        trim=trim,
        colour=colour,
        lines=lines,
        discount=discount,
        total=_total(trim.msrp, discount, lines),
        valid_until=valid_until,
        notes=_text(draft.notes, "notes", MAX_NOTES),
        salesperson_id=salesperson_id,
    )


def _get(line, key):
    """A line's value, from a drafted line (a dict) or a stored one."""
    return line[key] if isinstance(line, dict) else getattr(line, key)


def _amounts(lines: Sequence, kinds: Sequence[str]) -> Decimal:
    """The sum of the amounts of ``lines`` of the given kinds."""
    amounts = (
        to_money(_get(x, "unit_price") * _get(x, "quantity"))
        for x in lines
        if _get(x, "kind") in kinds
    )
    return sum(amounts, Decimal("0.00"))


def _vehicle_subtotal(vehicle_price: Decimal, lines: Sequence) -> Decimal:
    """The list price plus the colour's surcharge and the options: what a discount comes off."""
    return to_money(vehicle_price + _amounts(lines, ("colour", "option")))


def _total(vehicle_price: Decimal, discount: Decimal, lines: Sequence) -> Decimal:
    """The vehicle subtotal less the discount, plus the fees."""
    return to_money(
        _vehicle_subtotal(vehicle_price, lines) - discount + _amounts(lines, EXTRA_KINDS)
    )


def _price_signature(quote, lines: Sequence) -> tuple:
    """What an approval covers: the prices, the lines and the discount."""
    return (
        quote.trim_id,
        to_money(quote.vehicle_price),
        to_money(quote.discount),
        tuple(
            (_get(x, "kind"), _get(x, "code"), _get(x, "description"), _get(x, "quantity"),
             to_money(_get(x, "unit_price")))
            for x in lines
        ),
    )  # fmt: skip


def _write_lines(session: Session, quote: Quote, lines: list[dict]) -> None:
    """Update the quote's lines in place (fewest synced edits), tombstoning what is left."""
    existing = _lines(session, [quote.id])[quote.id]
    for position, values in enumerate(lines):
        row = existing[position] if position < len(existing) else None
        if row is None:
            row = QuoteLine(quote_id=quote.id)
            session.add(row)
        for key, value in {**values, "position": position}.items():
            if getattr(row, key) != value:
                setattr(row, key, value)
    for row in existing[len(lines) :]:
        row.deleted = True


def _decide_status(session: Session, actor: Actor | None, quote: Quote, *, repriced: bool) -> None:
    """Draft, pending approval, or approved (a manager's own quote) after a save; without an
    actor (the sync), a discount above the limit waits for a manager."""
    limit = discount_threshold(session)
    if quote.discount <= limit:
        quote.status = DRAFT
        _clear_approval(quote)
        quote.rejection_reason = None
        return
    if quote.status == APPROVED and not repriced:
        return
    quote.rejection_reason = None
    if actor is not None and permissions.can(actor, "approve_discount"):
        _approve(session, actor, quote)
        _audit_discount(session, actor, quote, "approved", limit)
    else:
        quote.status = PENDING
        _clear_approval(quote)


def _approve(session: Session, actor: Actor, quote: Quote) -> None:
    """Approve the quote as it stands, recording what the approval covers."""
    quote.status = APPROVED
    quote.approved_by_id = actor.user_id
    quote.approved_at = utcnow()
    quote.approved_signature = _signature_hash(quote, _lines(session, [quote.id])[quote.id])


def _clear_approval(quote: Quote) -> None:
    quote.approved_by_id = quote.approved_at = quote.approved_signature = None


def _signature_hash(quote: Quote, lines: Sequence) -> str:
    return approval_signature(quote.trim_id, quote.vehicle_price, quote.discount, lines)


def approval_signature(
    trim_id: str, vehicle_price: Decimal, discount: Decimal, lines: Sequence
) -> str:
    """A hash of what an approval covers (the prices, the lines in order, the discount), the
    same on every laptop; ``lines`` are stored lines or dicts with their values."""
    signature = _price_signature(
        SimpleNamespace(trim_id=trim_id, vehicle_price=vehicle_price, discount=discount), lines
    )
    text = json.dumps(signature, default=str, ensure_ascii=False)
    return hashlib.sha256(text.encode()).hexdigest()


def _held(quote: Quote, lines: Sequence) -> dict:
    """What the quote holds now, in the form of its copy of what was printed."""
    return copy_of_print(
        trim_id=quote.trim_id,
        colour=quote.colour,
        vehicle_price=quote.vehicle_price,
        discount=quote.discount,
        total=quote.total,
        valid_until=quote.valid_until,
        notes=quote.notes,
        lines=lines,
    )


def copy_of_print(
    *,
    trim_id: str,
    colour: str | None,
    vehicle_price: Decimal,
    discount: Decimal,
    total: Decimal,
    valid_until: dt.date | str,
    notes: str | None,
    lines: Sequence,
) -> dict:
    """What a printed quote held: the vehicle, the prices, the total, the validity, the notes
    and the lines in order (``lines`` are stored lines or dicts with their values), in the form
    its stored copy takes (amounts as text). Never the dealer cost, which is not printed."""
    return {
        "trim_id": trim_id,
        "colour": colour,
        "vehicle_price": str(to_money(vehicle_price)),
        "discount": str(to_money(discount)),
        "total": str(to_money(total)),
        "valid_until": str(valid_until),
        "notes": notes,
        "lines": [
            {
                **{key: _get(x, key) for key in LINE_FIELDS},
                "quantity": int(_get(x, "quantity")),
                "unit_price": str(to_money(_get(x, "unit_price"))),
            }
            for x in lines
        ],
    }


def issued_snapshot(copy: dict) -> str:
    """A :func:`copy_of_print` as the quote stores it: JSON text, the same on every laptop."""
    return json.dumps(copy, ensure_ascii=False, sort_keys=True, separators=(",", ":"))


def erased_snapshot(snapshot: str) -> str:
    """``snapshot`` with what an erasure clears on the quote itself cleared too: the notes, and
    the descriptions typed on accessory and fee lines (``showroom.services.privacy``)."""
    held = json.loads(snapshot)
    held["notes"] = None
    for line in held["lines"]:
        if line["kind"] in EXTRA_KINDS:
            line["description"] = ""
    return issued_snapshot(held)


def _audit_discount(
    session: Session, actor: Actor, quote: Quote, decision: str, limit: Decimal
) -> None:
    # The manager's reason stays on the quote only: the audit trail is append-only, so free
    # text there could not be erased with the customer (PIPL).
    detail = {
        "quote_id": quote.id,
        "number": quote.number,
        "decision": decision,
        "discount": str(quote.discount),
        "limit": str(limit),
    }
    audit.record(
        session,
        actor,
        "discount",
        target_table="customer",
        target_id=quote.customer_id,
        detail=detail,
    )


def create_quote(session: Session, actor: Actor, customer_id: str, draft: QuoteDraft) -> QuoteDTO:
    """Make a quote for the customer; returns it with its number and computed total.

    Raises ValidationError naming the field (``trim_id``, ``colour``, ``options``, ``lines``,
    ``discount``, ``valid_until``, ``notes``, ``salesperson_id``), NotFoundError for an unknown
    or hidden customer, PermissionDeniedError for another salesperson's read-only lead.
    """
    bind_actor(session, actor)
    customer = load_customer(session, customer_id)
    leads.require_lead_access(session, actor, customer, write=True)
    priced = _price(session, draft, customer, actor)
    quote = _add_quote(
        session,
        actor,
        priced.lines,
        customer_id=customer.id,
        salesperson_id=priced.salesperson_id,
        trim_id=priced.trim.id,
        colour=priced.colour,
        vehicle_price=priced.trim.msrp,
        discount=priced.discount,
        total=priced.total,
        dealer_cost=priced.trim.dealer_cost,
        valid_until=priced.valid_until,
        notes=priced.notes,
    )
    session.flush()
    return get_quote(session, actor, quote.id)


def _add_quote(session: Session, actor: Actor, lines: list[dict], **values) -> Quote:
    """A new quote with this laptop's next number, made by ``actor``, with its lines written and
    its status decided."""
    quote = Quote(
        number=quote_number(session, dt.date.today()),
        status=DRAFT,
        created_at=utcnow(),
        created_by_id=actor.user_id,
        **values,
    )
    session.add(quote)
    session.flush()
    _write_lines(session, quote, lines)
    _decide_status(session, actor, quote, repriced=True)
    return quote


def update_quote(session: Session, actor: Actor, quote_id: str, draft: QuoteDraft) -> QuoteDTO:
    """Replace the quote's vehicle, lines, discount, validity and notes; the number stays.

    A changed price, line or discount above the limit asks for approval again. Raises as
    :func:`create_quote`, and ConflictError("status") for an issued or cancelled quote.
    """
    bind_actor(session, actor)
    quote = _readable_quote(session, actor, quote_id, write=True)
    if not _editable(quote):
        raise ConflictError(
            "报价单已交给客户或已作废，不能再修改；请新建报价",
            "the quote was issued or cancelled and cannot change; make a new one",
            field="status",
        )
    customer = load_customer(session, quote.customer_id)
    priced = _price(session, draft, customer, actor)
    before = _price_signature(quote, _lines(session, [quote.id])[quote.id])
    quote.salesperson_id = priced.salesperson_id
    quote.trim_id = priced.trim.id
    quote.colour = priced.colour
    quote.vehicle_price = priced.trim.msrp
    quote.discount = priced.discount
    quote.total = priced.total
    quote.dealer_cost = priced.trim.dealer_cost
    quote.valid_until = priced.valid_until
    quote.notes = priced.notes
    after = _price_signature(quote, priced.lines)
    _write_lines(session, quote, priced.lines)
    _decide_status(session, actor, quote, repriced=before != after)
    session.flush()
    return get_quote(session, actor, quote.id)


def _pending(session: Session, actor: Actor, quote_id: str) -> Quote:
    permissions.require(actor, "approve_discount")
    quote = _readable_quote(session, actor, quote_id, write=False)
    if quote.status != PENDING:
        raise ValidationError(
            "status", "该报价没有待审批的优惠", "no discount of this quote awaits approval"
        )
    if quote.valid_until < dt.date.today():
        raise ValidationError("valid_until", "报价已过期", "the quote has expired")
    return quote


def approve_discount(session: Session, actor: Actor, quote_id: str) -> QuoteDTO:
    """A manager approves the discount above the limit; the quote can then be printed.

    Audited (action ``discount``). Raises PermissionDeniedError unless a manager or admin,
    ValidationError("status") when nothing awaits approval.
    """
    bind_actor(session, actor)
    quote = _pending(session, actor, quote_id)
    _approve(session, actor, quote)
    quote.rejection_reason = None
    _audit_discount(session, actor, quote, "approved", discount_threshold(session))
    session.flush()
    return get_quote(session, actor, quote.id)


def reject_discount(session: Session, actor: Actor, quote_id: str, reason: str) -> QuoteDTO:
    """A manager refuses the discount, with a reason the salesperson reads. The quote returns
    to draft and stays unprintable until its discount is lowered or asked for again.

    Audited (action ``discount``). Raises PermissionDeniedError, ValidationError("reason") for
    no reason, ValidationError("status") when nothing awaits approval.
    """
    bind_actor(session, actor)
    quote = _pending(session, actor, quote_id)
    reason = _text(reason, "reason", 1000, required=True)
    quote.status = DRAFT
    _clear_approval(quote)
    quote.rejection_reason = reason
    _audit_discount(session, actor, quote, "rejected", discount_threshold(session))
    session.flush()
    return get_quote(session, actor, quote.id)


def cancel_quote(session: Session, actor: Actor, quote_id: str) -> QuoteDTO:
    """Void a quote (the customer declined, or it was replaced). Raises ValidationError
    ("status") when it is already cancelled."""
    bind_actor(session, actor)
    quote = _readable_quote(session, actor, quote_id, write=True)
    if quote.status == CANCELLED:
        raise ValidationError("status", "报价单已作废", "the quote is already cancelled")
    quote.status = CANCELLED
    session.flush()
    return get_quote(session, actor, quote.id)


def split_after_issue(session: Session, actor: Actor, quote_id: str) -> QuoteDTO:
    """Put an issued quote that another laptop changed after it was printed back to what the
    customer was handed, and keep that change as a new quote; returns the new quote.

    The new quote has this laptop's next number, the changed vehicle, prices, lines, discount,
    validity and notes, and starts as a draft (a discount above the limit waits for a manager,
    unless the actor is one). The issued quote stays issued under its number and can be printed
    again. One audit entry (action ``quote_split``). Raises ValidationError("status") for a
    quote that is not an issued one changed since printing, NotFoundError, and
    PermissionDeniedError for another salesperson's read-only lead.
    """
    bind_actor(session, actor)
    quote = _readable_quote(session, actor, quote_id, write=True)
    current = _lines(session, [quote.id])[quote.id]
    printed = _printed(quote)
    if not _changed_after_issue(quote, current, printed):
        raise ValidationError(
            "status",
            "该报价单打印后没有被改动，无需另存",
            "the quote has not changed since it was printed",
        )
    changed = [{key: getattr(x, key) for key in LINE_FIELDS} for x in current]
    copy = _add_quote(
        session,
        actor,
        changed,
        customer_id=quote.customer_id,
        salesperson_id=quote.salesperson_id,
        trim_id=quote.trim_id,
        colour=quote.colour,
        vehicle_price=quote.vehicle_price,
        discount=quote.discount,
        total=_total(quote.vehicle_price, quote.discount, changed),
        dealer_cost=quote.dealer_cost,
        valid_until=quote.valid_until,
        notes=quote.notes,
    )

    fields, lines = _restored(printed)
    if fields["trim_id"] != quote.trim_id:
        # The printed trim's cost is not kept with what was printed: the catalogue's, for the
        # margin (never printed).
        trim = session.get(Trim, fields["trim_id"])
        quote.dealer_cost = trim.dealer_cost if trim is not None else None
    for name, value in fields.items():
        if getattr(quote, name) != value:
            setattr(quote, name, value)
    _write_lines(session, quote, lines)
    audit.record(
        session,
        actor,
        "quote_split",
        target_table="customer",
        target_id=quote.customer_id,
        detail={
            "quote_id": quote.id,
            "number": quote.number,
            "new_quote_id": copy.id,
            "new_number": copy.number,
        },
    )
    session.flush()
    return get_quote(session, actor, copy.id)


# --- after a sync: one quote edited on two laptops ----------------------------------------------


def quotes_unsettled(session: Session, quote_ids: Collection[str] | None = None) -> list[str]:
    """The quotes :func:`settle_quotes` has work on: the live ones (of ``quote_ids``, or every
    one) whose total does not add up from their price, discount and lines, or whose approval
    covered other prices or lines than they hold now; and any with a conflict between two
    totals or two approvals still open.

    Each laptop computes a quote's total when it saves it, and approves what it sees. Two
    laptops that edit one quote offline (one the discount, the other a line, say) each send
    their own total; the server merges field by field, so the later total stands beside the
    other laptop's discount or lines, and adds up to neither. In the same way a manager's
    approval on one laptop can end up beside lines a salesperson changed on another.
    """
    found = set(_not_adding_up(session, quote_ids))
    found.update(_approvals_outgrown(session, quote_ids))
    found.update(session.scalars(_open_settled_conflicts().with_only_columns(SyncConflict.row_id)))
    return sorted(found)


def settle_quotes(session: Session, quote_ids: Collection[str] | None = None) -> int:
    """Put right each quote (of ``quote_ids``, or every one) that :func:`quotes_unsettled`
    finds, and close the conflicts between two totals or approvals of these quotes; returns how
    many edits that made (to push).

    A total that does not add up is computed again. Nobody has seen such a quote whole, so
    nobody approved it: a discount above the limit waits for a manager again, as it does when
    the approval covered other prices or lines (an issued or cancelled quote keeps its status).
    A conflict between two totals or approvals (:data:`SETTLED_FIELDS`) holds no choice, whether
    the quote needed putting right or not: the parts the laptops changed are in place, the
    total and the approval follow from them, and a conflict on a part (the discount, a line) is
    kept for a manager. Every laptop does this alike, the conflict's time included, so two
    laptops settling one quote at once agree.
    """
    settled = 0
    for quote_id in _not_adding_up(session, quote_ids):
        quote = session.get(Quote, quote_id)
        total = _total(quote.vehicle_price, quote.discount, _lines(session, [quote_id])[quote_id])
        if total == quote.total:  # the check and this computation agree: never so
            continue
        with session.no_autoflush:  # one edit of the quote, not one per query in between
            quote.total = total
            if quote.status in (DRAFT, PENDING, APPROVED):
                _decide_status(session, None, quote, repriced=True)
        settled += 1
    for quote_id in _approvals_outgrown(session, quote_ids):
        _decide_status(session, None, session.get(Quote, quote_id), repriced=True)
        settled += 1
    conflicts = _open_settled_conflicts().order_by(SyncConflict.id)
    for query in _scoped(conflicts, SyncConflict.row_id, quote_ids):
        for conflict in session.scalars(query):
            conflict.close_by_sync(QUOTE_SETTLED)
            settled += 1
    if settled:
        session.flush()
    return settled


def _approvals_outgrown(session: Session, quote_ids: Collection[str] | None) -> list[str]:
    """The approved live quotes (of ``quote_ids``, or all) whose prices, lines or discount are
    not what the approval covered. Few quotes stay approved for long (printing issues them),
    and one approved before schema 4 has no signature and is left alone."""
    approved = select(Quote).where(
        Quote.deleted.is_(False),
        Quote.status == APPROVED,
        Quote.approved_signature.is_not(None),
    )
    found: list[str] = []
    for query in _scoped(approved.order_by(Quote.id), Quote.id, quote_ids):
        batch = list(session.scalars(query))
        lines = _lines(session, [q.id for q in batch])
        found += [q.id for q in batch if _signature_hash(q, lines[q.id]) != q.approved_signature]
    return sorted(found)


def _not_adding_up(session: Session, quote_ids: Collection[str] | None) -> list[str]:
    """The live quotes (of ``quote_ids``, or all) whose stored total is not list price less
    discount plus the lines' amounts, compared in whole fen (as stored) by the database: a
    round that finds nothing reads no quote into Python."""

    def fen(column):
        return type_coerce(column, BigInteger)

    lines = (
        select(func.coalesce(func.sum(fen(QuoteLine.unit_price) * QuoteLine.quantity), 0))
        .where(
            QuoteLine.quote_id == Quote.id,
            QuoteLine.deleted.is_(False),
            QuoteLine.kind.in_(LINE_KINDS),
        )
        .scalar_subquery()
    )
    wrong = select(Quote.id).where(
        Quote.deleted.is_(False),
        fen(Quote.total) != fen(Quote.vehicle_price) - fen(Quote.discount) + lines,
    )
    found: list[str] = []
    for query in _scoped(wrong.order_by(Quote.id), Quote.id, quote_ids):
        found += session.scalars(query)
    return sorted(found)


def _open_settled_conflicts():
    return SyncConflict.open_about(Quote.__tablename__, SETTLED_FIELDS)


def _scoped(query, column, quote_ids: Collection[str] | None) -> list:
    """``query`` as is (``quote_ids`` None: every quote), or once per 500 of ``quote_ids``,
    each limited to those by ``column``."""
    if quote_ids is None:
        return [query]
    ids = sorted(quote_ids)
    return [query.where(column.in_(ids[i : i + _BATCH])) for i in range(0, len(ids), _BATCH)]


def quote_changed(result: QuoteDTO | PrintedQuote) -> Changed:
    """What a quote mutation (or a print, which issues it) changed, for ``data_changed``:
    ``Changed("quote", (customer_id, quote_id))``."""
    quote_id = result.quote_id if isinstance(result, PrintedQuote) else result.id
    return Changed("quote", (result.customer_id, quote_id), "updated")


# --- printing --------------------------------------------------------------------------------


def _refuse_unprintable(dto: QuoteDTO) -> None:
    if dto.changed_after_issue:
        raise ValidationError(
            "status",
            f"报价单 {dto.number} 打印后在另一台电脑上被修改，与客户手中的报价单不符；"
            "请先恢复打印版，改动将另存为新报价",
            f"quote {dto.number} was changed on another laptop after it was printed and no"
            " longer matches the customer's copy: keep it as printed first (the change becomes"
            " a new quote)",
        )
    if dto.status == CANCELLED:
        raise ValidationError(
            "status", "报价单已作废，不能打印", "a cancelled quote is not printed"
        )
    if dto.status == EXPIRED and not dto.editable:
        raise ValidationError(
            "valid_until",
            f"报价单 {dto.number} 已过有效期；客户手中的报价单不能改动，请复制为新报价",
            f"quote {dto.number} has expired; the customer's copy cannot change: copy it as a"
            " new quote",
        )
    if dto.status == EXPIRED:
        raise ValidationError(
            "valid_until",
            "报价已过有效期，请先修改有效期",
            "the quote has expired: extend it first",
        )
    if dto.needs_approval:
        raise ValidationError(
            "discount",
            f"优惠 {dto.discount:,.2f} 元超过限额 {dto.discount_limit:,.2f} 元，"
            "须经理批准后才能打印",
            f"the discount {dto.discount:,.2f} is above the limit {dto.discount_limit:,.2f}:"
            " a manager must approve it before it is printed",
        )


def _render(session: Session, dto: QuoteDTO, *, preview: bool) -> bytes:
    from showroom.documents.base import Letterhead
    from showroom.documents.quote import render_quote
    from showroom.masking import mask_phone
    from showroom.services.common import phone_rows
    from showroom.services.dealer import current_dealer

    # The document never sees a cost, whatever the actor may see on screen.
    printable = dataclasses.replace(dto, dealer_cost=None, margin=None, margin_rate=None)
    dealer = current_dealer(session)
    letterhead = Letterhead(
        name=dealer.name if dealer else "",
        address=dealer.address if dealer else None,
        phone=_dealer_phone(dealer.phone) if dealer else None,
    )
    phones = phone_rows(session, dto.customer_id)
    return render_quote(
        printable,
        letterhead,
        customer_phone=mask_phone(phones[0].number) if phones else "",
        preview=preview,
    )


def _dealer_phone(e164: str | None) -> str | None:
    if not e164:
        return None
    from showroom.validation import format_phone

    try:
        return format_phone(e164)
    except ValueError:
        return e164


def render_for_print(
    session: Session, actor: Actor, quote_id: str, purpose: str = "print"
) -> PrintedQuote:
    """The quote's PDF for the customer, to print or to save; the quote becomes issued.

    Writes exactly one audit entry (action ``print``, target the customer; the quote's id and
    number and the purpose in the detail) in the same transaction as the rendering, so a failed
    rendering leaves no entry. The phone is masked and no cost or margin is printed. A quote
    another laptop's change left unsettled is settled first (:func:`settle_quotes`).
    Raises ValidationError("purpose") for a purpose other than print/save,
    ValidationError("discount") while a discount above the limit is not approved,
    ValidationError("valid_until") for an expired quote, ValidationError("status") for a
    cancelled one, PermissionDeniedError for another salesperson's read-only lead.
    """
    if purpose not in PURPOSES:
        raise ValidationError(
            "purpose", f"无效的用途：{purpose}", f"purpose must be print or save, not {purpose}"
        )
    bind_actor(session, actor)
    quote = _readable_quote(session, actor, quote_id, write=True)
    # A pull may have brought another laptop's change that the sync has not put right yet (it
    # does so right after the pull): put it right here, as the sync would, so that what is
    # printed adds up and carries no approval that did not cover it.
    settle_quotes(session, [quote.id])
    dto = _dtos(session, actor, [quote])[0]
    _refuse_unprintable(dto)
    if quote.status != ISSUED:
        quote.status = ISSUED
        quote.issued_at = utcnow()
        quote.issued_snapshot = issued_snapshot(_held(quote, _lines(session, [quote.id])[quote.id]))
        session.flush()
        dto = _dtos(session, actor, [quote])[0]
    pdf = _render(session, dto, preview=False)
    audit.record(
        session,
        actor,
        "print",
        target_table="customer",
        target_id=quote.customer_id,
        detail={
            "document": "quote",
            "quote_id": quote.id,
            "number": quote.number,
            "purpose": purpose,
        },
    )
    return PrintedQuote(quote.id, quote.number, quote.customer_id, dto.customer_name, purpose, pdf)


def render_preview(session: Session, actor: Actor, quote_id: str) -> PrintedQuote:
    """The quote's PDF marked "预览 / 非正式报价" on every page, for the screen only.

    Not audited and not issued: the mark keeps a preview from being handed over as a quote.
    Raises NotFoundError for a quote the actor may not see.
    """
    quote = _readable_quote(session, actor, quote_id, write=False)
    dto = _dtos(session, actor, [quote])[0]
    pdf = _render(session, dto, preview=True)
    return PrintedQuote(
        quote.id, quote.number, quote.customer_id, dto.customer_name, "preview", pdf
    )
