"""Merging two records of the same customer into one, losing nothing."""

from __future__ import annotations

import functools
import json
from collections.abc import Collection
from dataclasses import dataclass

from sqlalchemy import Select, bindparam, inspect, or_, select
from sqlalchemy.orm import Session, aliased

from showroom import masking
from showroom.actor import Actor, bind_actor
from showroom.db.base import Base, SyncMixin
from showroom.db.outbox import to_wire
from showroom.errors import ValidationError
from showroom.models import (
    Customer,
    CustomerMerge,
    CustomerPhone,
    CustomerVehicle,
    SyncConflict,
)
from showroom.services import audit, conflicts, leads
from showroom.services.common import customer_dto, join_notes, load_customer
from showroom.services.customers import CustomerDraft, create_customer, update_customer
from showroom.services.dto import CustomerDTO

# Profile fields the survivor takes from the absorbed record when its own are empty.
FILLABLE = (
    "contact_name", "email", "wechat_id", "gender", "birthday", "address", "id_number",
    "source", "assigned_to_id", "intent_level", "expected_purchase_date",
)  # fmt: skip


@dataclass(frozen=True)
class MergeResult:
    survivor: CustomerDTO  # phones and ID number masked
    merged_id: str
    # Rows moved to the survivor, by table.
    moved: dict[str, int]
    merge_id: str


def customer_owned_models() -> list[type[SyncMixin]]:
    """Every synced model with a ``customer_id`` pointing at a customer.

    Found from the mappings rather than listed, so a table added later (test drives, quotes...)
    moves in a merge without anyone remembering to add it here.
    """
    models = []
    for mapper in Base.registry.mappers:
        cls = mapper.class_
        column = mapper.columns.get("customer_id")
        if not issubclass(cls, SyncMixin) or column is None:
            continue
        if any(fk.column.table.name == "customer" for fk in column.foreign_keys):
            models.append(cls)
    return sorted(models, key=lambda m: m.__tablename__)


def _snapshot(obj) -> dict:
    return {attr.key: to_wire(getattr(obj, attr.key)) for attr in inspect(obj).mapper.column_attrs}


def _held_by(session: Session, customer_id: str) -> tuple[set[str], set[str]]:
    """The live phone numbers and VINs of a customer, which rows moved to it must not double."""
    phones = set(
        session.scalars(
            select(CustomerPhone.number).where(
                CustomerPhone.customer_id == customer_id, CustomerPhone.deleted.is_(False)
            )
        )
    )
    vins = set(
        session.scalars(
            select(CustomerVehicle.vin).where(
                CustomerVehicle.customer_id == customer_id,
                CustomerVehicle.deleted.is_(False),
                CustomerVehicle.vin.is_not(None),
            )
        )
    )
    return phones, vins


def _duplicate(row, phones: set[str], vins: set[str]) -> bool:
    """A live phone or vehicle the survivor already holds (same number, same VIN)."""
    return not row.deleted and (
        (isinstance(row, CustomerPhone) and row.number in phones)
        or (isinstance(row, CustomerVehicle) and bool(row.vin) and row.vin in vins)
    )


def _move(row, survivor_id: str, survivor_has_phones: bool) -> None:
    """Put a row on the survivor; a phone stays primary only if the survivor had none."""
    if isinstance(row, CustomerPhone):
        row.is_primary = row.is_primary and not survivor_has_phones
    row.customer_id = survivor_id


def _fill(survivor: Customer, absorbed: Customer) -> None:
    """Empty profile fields of the survivor take the absorbed record's; the absorbed notes'
    lines the survivor's lack are added to them (a pair merged both ways joins them twice)."""
    for key in FILLABLE:
        if getattr(survivor, key) is None and getattr(absorbed, key) is not None:
            setattr(survivor, key, getattr(absorbed, key))
    notes = join_notes(survivor.notes, absorbed.notes)
    if notes != survivor.notes:
        survivor.notes = notes
    survivor.vip = survivor.vip or absorbed.vip


def merge_customers(
    session: Session, actor: Actor, survivor_id: str, merged_id: str
) -> MergeResult:
    """Move everything of ``merged_id`` onto ``survivor_id`` and retire the absorbed record.

    Every live related row moves to the survivor. A phone or VIN the survivor already has is not
    doubled: the absorbed copy becomes a tombstone, and the merge record keeps a snapshot of the
    absorbed customer and of every row, so the merge can be read back in full. Empty profile
    fields of the survivor are filled from the absorbed record and notes are joined.
    Audited (action ``merge``, target the survivor, the absorbed id in the detail).
    Raises ValidationError("merged_id") for merging a customer into itself, NotFoundError for
    unknown, deleted or already merged customers.
    """
    bind_actor(session, actor)
    if survivor_id == merged_id:
        raise ValidationError("merged_id", "不能与自己合并", "cannot merge a customer into itself")
    survivor = load_customer(session, survivor_id)
    absorbed = load_customer(session, merged_id)
    for customer in (survivor, absorbed):
        leads.require_lead_access(session, actor, customer, write=True)
    if survivor.merged_into_id or absorbed.merged_into_id:
        raise ValidationError("merged_id", "客户已被合并", "customer was already merged")

    snapshot: dict = {"customer": _snapshot(absorbed), "rows": {}, "dropped_duplicates": {}}
    phones, vins = _held_by(session, survivor.id)
    had_phones = bool(phones)
    moved: dict[str, int] = {}
    for model in customer_owned_models():
        # Deleted rows stay where they are: a tombstone is not changed once deleted (the server
        # would keep the edit as a conflict, and the laptops would differ from it).
        rows = session.scalars(
            select(model).where(model.customer_id == absorbed.id, model.deleted.is_(False))
        ).all()
        table = model.__tablename__
        for row in rows:
            if _duplicate(row, phones, vins):
                snapshot["dropped_duplicates"].setdefault(table, []).append(_snapshot(row))
                row.deleted = True
            _move(row, survivor.id, had_phones)
            snapshot["rows"].setdefault(table, []).append(row.id)
        moved[table] = len(rows)
    _fill(survivor, absorbed)

    absorbed.merged_into_id = survivor.id
    absorbed.deleted = True
    record = CustomerMerge(
        survivor_id=survivor.id,
        merged_id=absorbed.id,
        merged_by_id=actor.user_id,
        snapshot=json.dumps(snapshot, ensure_ascii=False, sort_keys=True),
    )
    session.add(record)
    session.flush()
    audit.record(
        session,
        actor,
        "merge",
        target_table="customer",
        target_id=survivor.id,
        detail={"merged_id": absorbed.id, "merge_id": record.id, "moved": moved},
    )
    return MergeResult(
        survivor=masking.masked_customer(customer_dto(session, survivor)),
        merged_id=absorbed.id,
        moved=moved,
        merge_id=record.id,
    )


def create_and_merge(
    session: Session, actor: Actor, draft: CustomerDraft, survivor_id: str
) -> MergeResult:
    """Save what was typed as a record and fold it into ``survivor_id``, in one transaction.

    Used when a new customer turns out to be one already on file: nothing typed is lost, and
    the merge record shows where it came from.
    """
    created = create_customer(session, actor, draft, force=True)
    return merge_customers(session, actor, survivor_id, created.id)


def update_and_merge(
    session: Session, actor: Actor, customer_id: str, changes, survivor_id: str
) -> MergeResult:
    """Apply a form's changes to ``customer_id``, then fold it into ``survivor_id``."""
    if changes:
        update_customer(session, actor, customer_id, changes, force=True)
    return merge_customers(session, actor, survivor_id, customer_id)


# --- merges that crossed other laptops' work, settled after each sync round ------------------


# Customers merged away: deleted, with the record they went into.
_RETIRED = (Customer.merged_into_id.is_not(None), Customer.deleted.is_(True))
_TARGET = aliased(Customer)
# Each record merged away, the record it went into, and whether that one is deleted (None when
# this laptop does not hold it). Built once: an alias made per call is compiled per call.
_RETIRED_WITH_TARGETS = (
    select(Customer.id, Customer.merged_into_id, _TARGET.deleted)
    .outerjoin(_TARGET, _TARGET.id == Customer.merged_into_id)
    .where(*_RETIRED)
)


def _chains(session: Session) -> tuple[list[list[str]], dict[str, str]]:
    """The cycles of records merged into each other, and for every other retired record the
    live record at the end of its chain of merges (none for a chain that ends on a record
    deleted outright, or one this laptop does not hold).

    A cycle comes of two laptops merging the same pair each the other way round while apart;
    its records are given in id order, and the first of them is the survivor.
    """
    into: dict[str, str] = {}
    live: set[str] = set()
    for customer_id, merged_into, target_deleted in session.execute(_RETIRED_WITH_TARGETS):
        into[customer_id] = merged_into
        if target_deleted is False:
            live.add(merged_into)
    cycles: list[list[str]] = []
    ends: dict[str, str] = {}
    for start in sorted(into):
        path: list[str] = []
        node = start
        while node in into and node not in ends and node not in path:
            path.append(node)
            node = into[node]
        if node in ends:
            end = ends[node]
        elif node in path:
            cycle = sorted(path[path.index(node) :])
            cycles.append(cycle)
            end = cycle[0]
            live.add(end)
        else:
            end = node
        ends.update(dict.fromkeys(path, end))
    for cycle in cycles:
        del ends[cycle[0]]
    return cycles, {retired: end for retired, end in ends.items() if end in live}


def _stranded(model) -> Select:
    """Live rows of ``model`` on retired records."""
    return select(model).where(
        model.customer_id.in_(select(Customer.id).where(*_RETIRED)), model.deleted.is_(False)
    )


def merges_unsettled(session: Session, around: Collection[str] | None = None) -> bool:
    """Whether :func:`settle_after_sync` has anything to do (a read; usually it has not).

    ``around`` names the customers whose rows a pull brought (their own row, or rows that
    point at them): only a pull strands a row, so only their rows are looked at. None looks at
    every record merged away, as after a first download.
    """
    if around is not None and not around:
        return False
    cycles, ends = _chains(session)
    if cycles:
        return True
    holders = set(ends) if around is None else set(ends).intersection(around)
    for chunk in _chunks(sorted(holders)):
        if session.scalar(_any_live_row(), {"holders": chunk}):
            return True
    return False


@functools.cache
def _any_live_row() -> Select:
    """Whether any customer-owned table holds a live row of the customers ``holders`` (an
    expanding parameter): one statement, built once."""
    holders = bindparam("holders", expanding=True)
    return select(
        or_(
            *(
                select(model.id)
                .where(model.customer_id.in_(holders), model.deleted.is_(False))
                .exists()
                for model in customer_owned_models()
            )
        )
    )


def _chunks(ids: list[str], size: int = 500) -> list[list[str]]:
    return [ids[i : i + size] for i in range(0, len(ids), size)]


def _close_moot_conflicts(session: Session, keep: Customer, cycle: list[str]) -> int:
    """Close the open delete_edit conflicts about the records of a settled cycle whose kept
    edit the survivor ``keep`` already holds; returns how many.

    A manager would find nothing to choose in them: "keep" changes nothing, and "restore"
    would bring back a duplicate. A conflict holding anything else (someone's edit of a
    retired record, say) stays open. Every laptop closes them alike, the time included (the
    time the server recorded the conflict), so two laptops settling at once agree.
    """
    closed = 0
    for conflict in session.scalars(
        select(SyncConflict)
        .where(
            SyncConflict.table_name == Customer.__tablename__,
            SyncConflict.row_id.in_(cycle),
            SyncConflict.kind == conflicts.KIND_DELETE_EDIT,
            SyncConflict.status == "open",
            SyncConflict.deleted.is_(False),
        )
        .order_by(SyncConflict.id)
    ):
        edit = conflicts.kept_edit(conflict)
        if all(_holds(keep, name, value) for name, value in edit.items()):
            conflict.close_by_sync(conflicts.MERGED)
            closed += 1
    return closed


def _holds(keep: Customer, name: str, value) -> bool:
    """Whether the survivor holds a kept edit's field (a wire value): the same value, or for
    notes each of its lines. Where the record was merged into needs nothing: the cycle is
    undone."""
    if name == "merged_into_id":
        return True
    if name == "notes" and isinstance(value, str):
        return join_notes(keep.notes, value) == keep.notes
    return name in Customer.__mapper__.columns and to_wire(getattr(keep, name)) == value


@dataclass
class _Survivor:
    phones: set[str]
    vins: set[str]
    has_phones: bool


def _note_settled(detail: dict, row, survivor: _Survivor) -> None:
    """Count a stranded row into its survivor's audit detail, before it is moved."""
    if row.customer_id not in detail.setdefault("from_ids", []):
        detail["from_ids"].append(row.customer_id)
    kind = "duplicates" if _duplicate(row, survivor.phones, survivor.vins) else "moved"
    counts = detail.setdefault(kind, {})
    counts[row.__tablename__] = counts.get(row.__tablename__, 0) + 1


def _audit_settled(session: Session, survivor_id: str, detail: dict) -> None:
    """One entry per survivor for what settling did to it (no one's action: the sync's)."""
    audit.record(
        session, None, "merge_settle", target_table="customer", target_id=survivor_id,
        detail=detail,
    )  # fmt: skip


def settle_after_sync(session: Session) -> int:
    """Finish the merges that other laptops' work crossed; returns how many rows that changed,
    which are edits to push.

    A merge made on one laptop reaches the others with a sync; what they did meanwhile does
    not know of it, and would hang on a record no list shows:

    * rows they added to the absorbed record (a phone, a follow-up, a test drive, a quote)
      move to the survivor as the merge moves rows: a phone or VIN it already has becomes a
      tombstone;
    * a record merged into one that was itself merged elsewhere: its rows go on to the last
      record of the chain;
    * two laptops that merged the same pair each the other way round leave each record merged
      into the other: the one with the smaller id comes back as the survivor, with the other's
      profile fields filled in, as a merge fills them. Every laptop picks the same one, so
      their edits agree. The two conflicts the merges met on the server (each merge's fill met
      the other's delete) are closed when the survivor holds what they kept.

    Rows on a record deleted outright (not merged) stay where they are. Every change is an
    ordinary synced edit; run again, it finds nothing. The audit trail gets an entry for each
    survivor (action ``merge_settle``): the records its rows came from, how many moved and how
    many were duplicates, and the record it was kept over when merged both ways.
    """
    cycles, ends = _chains(session)
    changed = 0
    # What each survivor's audit entry says.
    settled: dict[str, dict] = {}
    for cycle in cycles:
        keep = session.get(Customer, cycle[0])
        keep.deleted = False
        keep.merged_into_id = None
        for other_id in cycle[1:]:
            _fill(keep, session.get(Customer, other_id))
        changed += 1 + _close_moot_conflicts(session, keep, cycle)
        settled[keep.id] = {"kept_over_ids": cycle[1:]}
    if cycles:
        session.flush()
    survivors: dict[str, _Survivor] = {}
    for model in customer_owned_models():
        for row in session.scalars(_stranded(model).order_by(model.id)).all():
            end = ends.get(row.customer_id)
            if end is None:
                continue  # the chain ends on a record deleted outright: the rows stay
            survivor = survivors.get(end)
            if survivor is None:
                phones, vins = _held_by(session, end)
                survivor = survivors[end] = _Survivor(phones, vins, bool(phones))
            _note_settled(settled.setdefault(end, {}), row, survivor)
            if _duplicate(row, survivor.phones, survivor.vins):
                row.deleted = True
            elif isinstance(row, CustomerPhone):
                survivor.phones.add(row.number)
            elif isinstance(row, CustomerVehicle) and row.vin:
                survivor.vins.add(row.vin)
            _move(row, end, survivor.has_phones)
            if isinstance(row, CustomerPhone) and not row.deleted:
                survivor.has_phones = True
            changed += 1
    for survivor_id, detail in sorted(settled.items()):
        _audit_settled(session, survivor_id, detail)
    session.flush()
    return changed
