"""PIPL requests for one customer: export everything held about them, or erase it.

Export gathers the customer's record with phones, vehicles, contacts, follow-ups, level history,
consents, test drives, quotes with their lines, merges and the audit entries about them, as
JSON-ready data (the PDF is rendered from the same data by
``showroom.documents.customer_export``). The export holds full values: it is the customer's own
data, handed to them. The one thing left out is the dealer's own business: a quote's dealer cost
(and so its margin) is the store's, not something held about the customer.

Erasure anonymises in place rather than deleting, so the store's numbers (how many leads, which
levels, which models sold, how many contacts) stay right. What goes and what stays:

* customer: name becomes "已删除客户"; contact name, e-mail, WeChat, gender, birthday, address,
  ID number and notes are cleared; kind, source, level, stage, VIP and the salesperson stay.
* phones: the numbers are blanked and the rows become tombstones.
* vehicles: VIN and plate are cleared; model, colour, purchase date and mileage stay.
* contacts, follow-ups, level history and test drives: free text is cleared (summaries,
  outcomes, reasons, notes); channels, times and levels stay. Open follow-ups are closed.
* quotes: notes and a manager's rejection reason are cleared, and so are the descriptions the
  salesperson typed on accessory and fee lines (colour and option lines keep the catalogue's
  words); numbers, dates, the trim, status and every amount stay, for the sales figures. The
  copy of what was printed (``issued_snapshot``) loses the same notes and descriptions.
* merge records: the snapshot of the absorbed record is replaced by the list of moved ids.
* sync conflicts about the customer's rows: the kept values are cleared, and a conflict whose
  choice was between values is closed (resolution "erased"): nothing is left to choose.
* consents stay: they record which contact was lawful, and hold nothing personal themselves.
* audit entries stay (they never hold revealed values).

Every change is an ordinary synced edit, so the erasure reaches the server and other laptops
with the next sync, and the customer drops out of the search index. What another laptop changed
or added before the erasure reached it (new notes, a new phone, a record merged in) comes back
with a pull: the sync erases it again (:func:`forget_after_sync`).
"""

from __future__ import annotations

import datetime as dt
import json
from dataclasses import dataclass
from typing import Any

from sqlalchemy import CompoundSelect, Select, and_, inspect, or_, select, union_all
from sqlalchemy.orm import Session

from showroom import permissions
from showroom.actor import Actor, bind_actor
from showroom.db.base import utcnow
from showroom.db.outbox import to_wire
from showroom.errors import ValidationError
from showroom.models import (
    AuditEntry,
    Consent,
    Customer,
    CustomerMerge,
    CustomerPhone,
    CustomerVehicle,
    FollowUp,
    IntentChange,
    Interaction,
    Quote,
    QuoteLine,
    SyncConflict,
    SyncOutbox,
    TestDrive,
    Trim,
)
from showroom.services import audit
from showroom.services.common import load_customer
from showroom.services.conflicts import ERASED, KIND_DELETE_EDIT, KIND_FIELD
from showroom.services.dealer import current_dealer, user_names
from showroom.services.dto import Changed
from showroom.services.quotes import CANCELLED, EXTRA_KINDS, erased_snapshot

ERASED_NAME = "已删除客户"
EXPORT_FORMAT = "showroom.customer_export/1"

# Customer columns cleared by an erasure (name is replaced, not cleared).
ERASED_CUSTOMER_FIELDS = (
    "contact_name", "email", "wechat_id", "gender", "birthday", "address", "id_number", "notes",
)  # fmt: skip
# Free text cleared on the customer's other rows, by model.
ERASED_TEXT_FIELDS: dict[type, tuple[str, ...]] = {
    Interaction: ("summary", "outcome"),
    FollowUp: ("purpose", "outcome"),
    IntentChange: ("reason", "decision_note"),
    TestDrive: ("notes",),
    CustomerVehicle: ("vin", "plate"),
    Quote: ("notes", "rejection_reason"),
}
# The erased value of those that are required; the others become NULL.
_TEXT_BLANK: dict[tuple[type, str], str] = {(Interaction, "summary"): ""}
# Conflicts an erasure closes: their choice was between the values it blanks.
_CLOSED_BY_ERASURE = (KIND_FIELD, KIND_DELETE_EDIT)
# A merge record's snapshot of the absorbed record, once erased.
ERASED_SNAPSHOT = json.dumps({"erased": True}, sort_keys=True)
# Columns that say nothing about the person and are left out of an export.
_INTERNAL = frozenset({"server_version", "updated_by_device", "deleted"})
# The store's own business, not data about the customer: never exported.
_DEALER_ONLY = frozenset({"dealer_cost"})


@dataclass(frozen=True)
class CustomerExport:
    """Everything held about one customer, JSON-ready (dates and times as ISO strings)."""

    customer_id: str
    exported_at: dt.datetime
    data: dict[str, Any]

    def to_json(self) -> bytes:
        return json.dumps(self.data, ensure_ascii=False, indent=2, sort_keys=False).encode()


@dataclass(frozen=True)
class ErasureResult:
    customer_id: str
    erased_at: dt.datetime
    # Rows changed, by table.
    changed: dict[str, int]

    @property
    def as_changed(self) -> Changed:
        return Changed("customer", (self.customer_id,), "updated")


def _row(obj) -> dict[str, Any]:
    return {
        attr.key: to_wire(getattr(obj, attr.key))
        for attr in inspect(obj).mapper.column_attrs
        if attr.key not in _INTERNAL and attr.key not in _DEALER_ONLY
    }


def _live_quote_lines(session: Session, quote_ids: list[str]) -> list[QuoteLine]:
    if not quote_ids:
        return []
    query = select(QuoteLine).where(QuoteLine.quote_id.in_(quote_ids), QuoteLine.deleted.is_(False))
    return list(session.scalars(query.order_by(QuoteLine.quote_id, QuoteLine.position)))


def _export_quotes(session: Session, quotes: list[Quote], today: dt.date) -> list[dict[str, Any]]:
    """Each quote as stored (without the dealer cost), with its vehicle named and its lines."""
    trims = {
        t.id: t
        for t in session.scalars(select(Trim).where(Trim.id.in_({q.trim_id for q in quotes})))
    }
    lines: dict[str, list[dict[str, Any]]] = {}
    for line in _live_quote_lines(session, [q.id for q in quotes]):
        lines.setdefault(line.quote_id, []).append(
            {**_row(line), "amount": to_wire(line.unit_price * line.quantity)}
        )
    out = []
    for quote in quotes:
        trim = trims.get(quote.trim_id)
        out.append(
            {
                **_row(quote),
                # What the customer was handed, as data rather than the stored text.
                "issued_snapshot": (
                    json.loads(quote.issued_snapshot) if quote.issued_snapshot else None
                ),
                "vehicle": (
                    {
                        "brand": trim.brand,
                        "model": trim.model,
                        "trim": trim.trim,
                        "model_year": trim.model_year,
                    }
                    if trim is not None
                    else None
                ),
                # "expired" is read from the date, as the Quotes tab shows it.
                "expired": quote.status != CANCELLED and quote.valid_until < today,
                "lines": lines.get(quote.id, []),
            }
        )
    return out


def _live(session: Session, model, customer_id: str, order) -> list:
    return list(
        session.scalars(
            select(model)
            .where(model.customer_id == customer_id, model.deleted.is_(False))
            .order_by(order, model.id)
        )
    )


def export_customer_data(session: Session, actor: Actor, customer_id: str) -> CustomerExport:
    """Everything held about one customer, for a PIPL access request. Audited (``export``).

    Raises PermissionDeniedError unless the actor may export personal data (managers and
    admins), NotFoundError for an unknown or deleted customer.
    """
    permissions.require(actor, "export_personal_data")
    customer = load_customer(session, customer_id)
    phones = _live(session, CustomerPhone, customer_id, CustomerPhone.is_primary.desc())
    vehicles = _live(session, CustomerVehicle, customer_id, CustomerVehicle.purchase_date)
    interactions = _live(session, Interaction, customer_id, Interaction.occurred_at)
    follow_ups = _live(session, FollowUp, customer_id, FollowUp.due)
    history = _live(session, IntentChange, customer_id, IntentChange.changed_at)
    consents = _live(session, Consent, customer_id, Consent.given_at)
    test_drives = _live(session, TestDrive, customer_id, TestDrive.starts_at)
    quotes = _live(session, Quote, customer_id, Quote.created_at)
    merges = list(
        session.scalars(
            select(CustomerMerge)
            .where(CustomerMerge.survivor_id == customer_id, CustomerMerge.deleted.is_(False))
            .order_by(CustomerMerge.merged_at)
        )
    )
    entries = list(
        session.scalars(
            select(AuditEntry)
            .where(AuditEntry.target_id == customer_id, AuditEntry.deleted.is_(False))
            .order_by(AuditEntry.at, AuditEntry.id)
        )
    )
    staff_ids = {customer.assigned_to_id, customer.created_by_id}
    staff_ids.update(i.user_id for i in interactions)
    staff_ids.update(f.owner_id for f in follow_ups)
    staff_ids.update(h.changed_by_id for h in history)
    staff_ids.update(c.recorded_by_id for c in consents)
    staff_ids.update(t.salesperson_id for t in test_drives)
    for q in quotes:
        staff_ids.update((q.salesperson_id, q.created_by_id, q.approved_by_id))
    dealer = current_dealer(session)
    now = utcnow()
    data = {
        "format": EXPORT_FORMAT,
        "exported_at": to_wire(now),
        "exported_by": {"id": actor.user_id, "name": actor.display_name, "role": str(actor.role)},
        "dealer": (
            {"name": dealer.name, "address": dealer.address, "phone": dealer.phone}
            if dealer
            else None
        ),
        "customer": _row(customer),
        "phones": [_row(p) for p in phones],
        "vehicles": [_row(v) for v in vehicles],
        "interactions": [_row(i) for i in interactions],
        "follow_ups": [_row(f) for f in follow_ups],
        "intent_history": [_row(h) for h in history],
        "consents": [_row(c) for c in consents],
        "test_drives": [_row(t) for t in test_drives],
        "quotes": _export_quotes(session, quotes, now.astimezone().date()),
        "merged_records": [
            {"merged_id": m.merged_id, "merged_at": to_wire(m.merged_at)} for m in merges
        ],
        "audit_entries": [
            {
                "at": to_wire(e.at),
                "action": e.action,
                "actor_name": e.actor_name,
                "actor_role": e.actor_role,
                "target_table": e.target_table,
            }
            for e in entries
        ],
        "staff": user_names(session, staff_ids),
    }
    audit.record(
        session,
        actor,
        "export",
        target_table="customer",
        target_id=customer_id,
        detail={"format": EXPORT_FORMAT},
    )
    return CustomerExport(customer_id=customer_id, exported_at=now, data=data)


def erase_customer(
    session: Session, actor: Actor, customer_id: str, *, confirm_name: str | None = None
) -> ErasureResult:
    """Anonymise one customer's personal data in place (PIPL erasure). Audited (``erase``).

    ``confirm_name``, when given, must be the customer's current name: a guard against erasing
    the wrong record from a stale screen. Erasing twice is refused. Raises
    PermissionDeniedError unless the actor may erase personal data (managers and admins),
    ValidationError("confirm_name") on a mismatch, ValidationError("customer") when already
    erased, NotFoundError for an unknown or deleted customer.
    """
    permissions.require(actor, "erase_personal_data")
    bind_actor(session, actor)
    customer = load_customer(session, customer_id)
    if customer.erased_at is not None:
        raise ValidationError(
            "customer", "该客户的个人信息已删除", "this customer's personal data was already erased"
        )
    if confirm_name is not None and confirm_name.strip() != customer.name:
        raise ValidationError(
            "confirm_name", "输入的姓名与客户不一致", "the name typed does not match the customer"
        )
    now = utcnow()
    # Records merged into this one are the same person: they are erased with it.
    people = _same_people(Customer.id == customer_id)
    changed = _anonymise(session, people, now)
    _blank_acknowledged_ops(session, _person_rows(people))
    audit.record(
        session,
        actor,
        "erase",
        target_table="customer",
        target_id=customer_id,
        detail={"changed": changed},
    )
    return ErasureResult(customer_id=customer_id, erased_at=now, changed=changed)


def _same_people(which) -> Select:
    """The ids of the customers ``which`` picks and of every record merged into them (the
    same person), at any depth."""
    people = select(Customer.id).where(which).cte("people", recursive=True)
    absorbed = select(Customer.id).join(people, Customer.merged_into_id == people.c.id)
    return select(people.union(absorbed).c.id)


def _filled(column, blank: str | None = None):
    """The column holds something other than its erased value."""
    return column.is_not(None) if blank is None else column != blank


def _anonymise(
    session: Session, people: Select, now: dt.datetime, *, deleted_rows: bool = True
) -> dict[str, int]:
    """Clear the personal data the rows of these customers hold, deleted rows too unless
    ``deleted_rows`` is false, and mark the customers erased; returns the rows changed, by
    table.

    Only rows still holding something are loaded and changed, so once done it changes
    nothing: the sync runs it again after each pull, for what other laptops added or changed
    before the erasure reached them.
    """
    changed: dict[str, int] = {}

    def touched(query: Select) -> list:
        """The rows the query finds, counted as changed."""
        model = query.column_descriptions[0]["entity"]
        if not deleted_rows:
            query = query.where(model.deleted.is_(False))
        rows = list(session.scalars(query))
        if rows:
            changed[model.__tablename__] = changed.get(model.__tablename__, 0) + len(rows)
        return rows

    for person in touched(
        select(Customer).where(
            Customer.id.in_(people),
            or_(
                Customer.erased_at.is_(None),
                Customer.name != ERASED_NAME,
                *(_filled(getattr(Customer, f)) for f in ERASED_CUSTOMER_FIELDS),
            ),
        )
    ):
        person.name = ERASED_NAME
        for field in ERASED_CUSTOMER_FIELDS:
            setattr(person, field, None)
        if person.erased_at is None:
            person.erased_at = now

    for phone in touched(
        select(CustomerPhone).where(
            CustomerPhone.customer_id.in_(people),
            or_(_filled(CustomerPhone.number, ""), CustomerPhone.deleted.is_(False)),
        )
    ):
        phone.number = ""
        phone.deleted = True

    erased_quotes: set[str] = set()
    for model, fields in ERASED_TEXT_FIELDS.items():
        blanks = {f: _TEXT_BLANK.get((model, f)) for f in fields}
        holding = [_filled(getattr(model, f), blank) for f, blank in blanks.items()]
        if model is FollowUp:
            # Open follow-ups are closed.
            holding.append(and_(FollowUp.done.is_(False), FollowUp.deleted.is_(False)))
        for row in touched(select(model).where(model.customer_id.in_(people), or_(*holding))):
            for field, blank in blanks.items():
                if getattr(row, field) != blank:
                    setattr(row, field, blank)
            if isinstance(row, FollowUp) and not row.done:
                row.deleted = True
            if isinstance(row, Quote):
                erased_quotes.add(row.id)

    # The copy of what was printed holds the same notes and descriptions. Whether it still
    # does is read from the text, so every printed quote of these customers is looked at (one
    # counts as changed only when its copy changes, and once).
    printed = select(Quote).where(Quote.customer_id.in_(people), Quote.issued_snapshot.is_not(None))
    if not deleted_rows:
        printed = printed.where(Quote.deleted.is_(False))
    with session.no_autoflush:  # one edit of a quote whose notes were cleared above
        for quote in session.scalars(printed):
            erased = erased_snapshot(quote.issued_snapshot)
            if quote.issued_snapshot != erased:
                quote.issued_snapshot = erased
                if quote.id not in erased_quotes:
                    changed["quote"] = changed.get("quote", 0) + 1

    # Accessory and fee lines are typed by the salesperson; colour and option lines carry the
    # catalogue's words. The description is required: an empty text keeps the line (and its
    # amount) valid.
    for line in touched(
        select(QuoteLine).where(
            QuoteLine.quote_id.in_(select(Quote.id).where(Quote.customer_id.in_(people))),
            QuoteLine.kind.in_(EXTRA_KINDS),
            _filled(QuoteLine.description, ""),
        )
    ):
        line.description = ""

    for record in touched(
        select(CustomerMerge).where(
            or_(CustomerMerge.survivor_id.in_(people), CustomerMerge.merged_id.in_(people)),
            CustomerMerge.snapshot != ERASED_SNAPSHOT,
        )
    ):
        record.snapshot = ERASED_SNAPSHOT

    blanked = _blank_conflicts(session, _person_rows(people, conflicts=False), now)
    if blanked:
        changed["sync_conflict"] = blanked
    session.flush()
    return changed


def _person_rows(people: Select, *, conflicts: bool = True) -> CompoundSelect:
    """The ids of these customers' rows in every synced table, and (``conflicts``) of the
    conflicts about them, whose ops carried the values a conflict held."""
    from showroom.services.merge import customer_owned_models

    rows = [
        select(Customer.id).where(Customer.id.in_(people)),
        *(select(m.id).where(m.customer_id.in_(people)) for m in customer_owned_models()),
        # Quote lines hang off a quote, not the customer.
        select(QuoteLine.id)
        .join(Quote, QuoteLine.quote_id == Quote.id)
        .where(Quote.customer_id.in_(people)),
        select(CustomerMerge.id).where(
            or_(CustomerMerge.survivor_id.in_(people), CustomerMerge.merged_id.in_(people))
        ),
    ]
    if not conflicts:
        return union_all(*rows)
    # Named once, so the statement gathers the rows' ids once for both uses.
    ids = union_all(*rows).cte("person_rows")
    return union_all(
        select(ids.c.id), select(SyncConflict.id).where(SyncConflict.row_id.in_(select(ids.c.id)))
    )


def _blank_conflicts(session: Session, rows: CompoundSelect, now: dt.datetime) -> int:
    """Blank the kept values of conflicts about these rows, and close those whose choice was
    between values (a field's, or a deleted record's); returns how many were changed.

    Once blanked, there is nothing left to choose between, and a choice would write the blank:
    "restore the overwritten value" would clear the field, "restore the record" would bring
    back an empty row. A double booking stays open: its choice cancels a booking, which still
    matters.
    """
    changed = 0
    for conflict in session.scalars(
        select(SyncConflict).where(
            SyncConflict.row_id.in_(rows),
            or_(
                SyncConflict.base_value.is_not(None),
                SyncConflict.theirs_value.is_not(None),
                # An edit that met a delete is kept here alone, and stays after a decision.
                SyncConflict.mine_value.is_not(None),
                and_(SyncConflict.status == "open", SyncConflict.kind.in_(_CLOSED_BY_ERASURE)),
            ),
        )
    ):
        conflict.base_value = conflict.theirs_value = conflict.mine_value = None
        if conflict.status == "open" and conflict.kind in _CLOSED_BY_ERASURE:
            conflict.status = "resolved"
            conflict.resolution = ERASED
            conflict.resolved_at = now
        changed += 1
    return changed


def forget_after_sync(session: Session, *, deleted_rows: bool = True) -> int:
    """Erase again what a sync brought of erased customers; returns how many rows that
    changed, which are edits to push.

    Another laptop may have changed or added to an erased customer before the erasure reached
    it: a new phone, new notes, a conflict the erasure met on the server holding both sides'
    values. The pull brings those: they are erased like the rest (:func:`_anonymise`), and the
    blanking syncs as any edit. The erasure's own ops, once acknowledged, are blanked too.

    ``deleted_rows`` false leaves deleted rows as they are: a server that keeps an edit of a
    deleted row as a conflict (an older one) would never take their blanking.
    """
    people = _same_people(Customer.erased_at.is_not(None))
    changed = _anonymise(session, people, utcnow(), deleted_rows=deleted_rows)
    _blank_acknowledged_ops(session, _person_rows(people))
    return sum(changed.values())


def any_erased(session: Session) -> bool:
    """Whether any customer was erased here (a read; most laptops have none)."""
    erased = select(Customer.id).where(Customer.erased_at.is_not(None)).limit(1)
    return session.scalar(erased) is not None


def _blank_acknowledged_ops(session: Session, rows: CompoundSelect) -> int:
    """Blank the values of acknowledged outbox ops about these rows; returns the count.

    The laptop keeps acknowledged ops (rejected ones feed the review page), and each holds the
    values it carried (a delete also the row as it was), so an erased customer's old name or
    phone would stay in them. Pending ops are left alone: the server still needs their base
    values to apply the erasure without recording the old values in a conflict, so the sync
    blanks the erasure's own ops once acknowledged (:func:`forget_after_sync`).
    """
    blanked = 0
    for op in session.scalars(
        select(SyncOutbox).where(SyncOutbox.acknowledged.is_(True), SyncOutbox.row_id.in_(rows))
    ):
        try:
            fields = json.loads(op.fields)
        except ValueError:
            fields = {}
        blank = json.dumps({name: {"new": None, "base": None} for name in fields}, sort_keys=True)
        if blank != op.fields or op.reason or op.held is not None:
            op.fields = blank
            op.reason = None
            op.held = None
            blanked += 1
    session.flush()
    return blanked
