"""Merging two records of the same customer into one, losing nothing."""

from __future__ import annotations

import json
from dataclasses import dataclass

from sqlalchemy import inspect, select
from sqlalchemy.orm import Session

from showroom import masking
from showroom.actor import Actor, bind_actor
from showroom.db.base import Base, SyncMixin
from showroom.db.outbox import to_wire
from showroom.errors import ValidationError
from showroom.models import CustomerMerge, CustomerPhone, CustomerVehicle
from showroom.services import audit, leads
from showroom.services.common import customer_dto, load_customer
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


def merge_customers(
    session: Session, actor: Actor, survivor_id: str, merged_id: str
) -> MergeResult:
    """Move everything of ``merged_id`` onto ``survivor_id`` and retire the absorbed record.

    Every related row moves to the survivor. A phone or VIN the survivor already has is not
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
    survivor_phones = set(
        session.scalars(
            select(CustomerPhone.number).where(
                CustomerPhone.customer_id == survivor.id, CustomerPhone.deleted.is_(False)
            )
        )
    )
    survivor_vins = set(
        session.scalars(
            select(CustomerVehicle.vin).where(
                CustomerVehicle.customer_id == survivor.id,
                CustomerVehicle.deleted.is_(False),
                CustomerVehicle.vin.is_not(None),
            )
        )
    )
    moved: dict[str, int] = {}
    for model in customer_owned_models():
        rows = session.scalars(select(model).where(model.customer_id == absorbed.id)).all()
        table = model.__tablename__
        for row in rows:
            duplicate = not row.deleted and (
                (isinstance(row, CustomerPhone) and row.number in survivor_phones)
                or (isinstance(row, CustomerVehicle) and row.vin and row.vin in survivor_vins)
            )
            if duplicate:
                snapshot["dropped_duplicates"].setdefault(table, []).append(_snapshot(row))
                row.deleted = True
            if isinstance(row, CustomerPhone):
                row.is_primary = row.is_primary and not survivor_phones
            row.customer_id = survivor.id
            snapshot["rows"].setdefault(table, []).append(row.id)
        moved[table] = len(rows)

    for key in FILLABLE:
        if getattr(survivor, key) is None and getattr(absorbed, key) is not None:
            setattr(survivor, key, getattr(absorbed, key))
    if absorbed.notes and absorbed.notes != survivor.notes:
        survivor.notes = "\n".join(n for n in (survivor.notes, absorbed.notes) if n)
    survivor.vip = survivor.vip or absorbed.vip

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
