"""Conflict review: what the server could not apply cleanly, and a manager's choice about it.

The server records a conflict row (``SyncConflict``) for one field edited on two laptops from
the same base, for an edit that met a delete, and for a demo car booked twice; every laptop
pulls these rows. A manager's choice is written through the ORM like any edit, so the outbox
carries it to the server and the other laptops: the target row's change and the conflict's own
``status``/``resolution``.

Two managers deciding one conflict on two laptops leave conflicts about the conflict row: the
later decision stands, the one about the decision itself is listed for a manager to look at,
and the sync closes the ones about who decided and when (:func:`settle_decisions`).

Ops the server rejected stay in the local outbox with the server's reason (``list_rejected``)
until a manager dismisses them.
"""

from __future__ import annotations

import datetime as dt
import json
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from showroom.actor import Actor, bind_actor
from showroom.db.base import Base, SyncMixin, utcnow
from showroom.db.outbox import SYNC_COLUMNS, from_wire, to_wire
from showroom.errors import ConflictError, NotFoundError, PermissionDeniedError, ValidationError
from showroom.models import Customer, Quote, QuoteLine, SyncConflict, SyncOutbox, TestDrive, User
from showroom.services.common import join_notes
from showroom.services.quotes import RULED_FIELDS, settle_quotes
from showroom.services.sync_status import REJECTED

KIND_FIELD = "field"
KIND_DELETE_EDIT = "delete_edit"
KIND_DOUBLE_BOOKING = "double_booking"

# What a manager may choose for each kind of conflict, and the resolution each choice records.
CHOICES: dict[str, tuple[str, ...]] = {
    KIND_FIELD: ("keep", "revert"),
    KIND_DELETE_EDIT: ("keep", "restore"),
    KIND_DOUBLE_BOOKING: ("keep", "cancel_other", "cancel_this"),
}
# For an edit that met a merge (the record was merged into another): the edit goes onto the
# customer kept by the merge, rather than restoring a duplicate or keeping it deleted.
APPLY_TO_MERGED = "apply_to_merged"
RESOLUTIONS = {
    "keep": "kept",
    "revert": "reverted",
    "restore": "restored",
    APPLY_TO_MERGED: "applied_to_merged",
    "cancel_other": "cancelled_other",
    "cancel_this": "cancelled_this",
}
# An erasure closes the conflicts about the customer's rows: their values are gone, so there is
# nothing left to choose between (showroom.services.privacy).
ERASED = "erased"
# The sync closes the conflicts left by a pair merged both ways on two laptops, once the
# customer kept holds what each of them kept (showroom.services.merge).
MERGED = "merged"
# Two managers who decide one conflict on two laptops, each before the other's decision reached
# them, leave conflicts about the conflict row itself: the later decision stands (the server
# applies it as any later edit), and the earlier one is kept in a conflict. Where the two chose
# differently, the conflict on ``resolution`` is shown as a conflict of its own kind, for a
# manager to look at; the ones on who decided and when say nothing more, and the sync closes
# them alike on every laptop (:func:`settle_decisions`).
KIND_DECIDED_TWICE = "decided_twice"
DECISION_BOOKKEEPING = ("status", "resolved_by_id", "resolved_at")
SETTLED_DECISION = "decision_settled"
STATUSES = ("open", "resolved", "all")
# The outbox result of a rejected op a manager has read and set aside.
DISMISSED = "dismissed"
CANCELLED = "cancelled"

TABLE_LABELS: dict[str, tuple[str, str]] = {
    "customer": ("客户", "Customer"),
    "customer_phone": ("客户电话", "Customer phone"),
    "customer_vehicle": ("客户车辆", "Customer vehicle"),
    "customer_merge": ("客户合并", "Customer merge"),
    "intent_change": ("意向级别变更", "Intent level change"),
    "follow_up": ("跟进任务", "Follow-up"),
    "interaction": ("接触记录", "Interaction"),
    "consent": ("授权", "Consent"),
    "test_drive": ("试驾", "Test drive"),
    "app_user": ("用户", "User"),
    "dealer": ("门店", "Store"),
    "dealer_setting": ("门店设置", "Store setting"),
    "sync_conflict": ("同步冲突", "Sync conflict"),
    "quote": ("报价单", "Quote"),
    "quote_line": ("报价单明细", "Quote line"),
}

FIELD_LABELS: dict[str, tuple[str, str]] = {
    "name": ("姓名", "Name"),
    "kind": ("类型", "Type"),
    "contact_name": ("联系人", "Contact person"),
    "email": ("电子邮箱", "Email"),
    "wechat_id": ("微信号", "WeChat ID"),
    "gender": ("性别", "Gender"),
    "birthday": ("生日", "Birthday"),
    "address": ("地址", "Address"),
    "id_number": ("身份证号", "ID number"),
    "source": ("来源", "Source"),
    "assigned_to_id": ("销售顾问", "Salesperson"),
    "intent_level": ("意向级别", "Intent level"),
    "lost_approval": ("战败审批", "Lost approval"),
    "expected_purchase_date": ("预计购车日期", "Expected purchase"),
    "lifecycle_stage": ("客户阶段", "Lifecycle stage"),
    "vip": ("VIP", "VIP"),
    "notes": ("备注", "Notes"),
    "number": ("电话号码", "Phone number"),
    "label": ("电话类型", "Phone type"),
    "is_primary": ("主要电话", "Primary phone"),
    "vin": ("车架号", "VIN"),
    "plate": ("车牌", "Plate"),
    "model_name": ("车型", "Model"),
    "colour": ("颜色", "Colour"),
    "purchase_date": ("购车日期", "Purchase date"),
    "mileage_km": ("里程（公里）", "Mileage (km)"),
    "due": ("到期日", "Due"),
    "purpose": ("目的", "Purpose"),
    "done": ("已完成", "Done"),
    "outcome": ("结果", "Outcome"),
    "owner_id": ("负责人", "Owner"),
    "summary": ("内容", "Summary"),
    "channel": ("渠道", "Channel"),
    "demo_car": ("试驾车", "Demo car"),
    "starts_at": ("开始时间", "Starts"),
    "ends_at": ("结束时间", "Ends"),
    "status": ("状态", "Status"),
    "salesperson_id": ("销售顾问", "Salesperson"),
    "deleted": ("已删除", "Deleted"),
    "display_name": ("显示名", "Display name"),
    "role": ("角色", "Role"),
    "phone": ("电话", "Phone"),
    "resolution": ("处理方式", "Decision"),
    "discount": ("优惠", "Discount"),
    "total": ("合计", "Total"),
    "vehicle_price": ("车价", "Vehicle price"),
    "valid_until": ("有效期至", "Valid until"),
    "unit_price": ("单价", "Unit price"),
    "quantity": ("数量", "Quantity"),
    "description": ("项目", "Item"),
    "approved_by_id": ("审批人", "Approved by"),
    "approved_at": ("审批时间", "Approved at"),
    "approved_signature": ("审批范围", "What the approval covered"),
    "rejection_reason": ("驳回原因", "Rejection reason"),
    "issued_at": ("出具时间", "Issued at"),
    "issued_snapshot": ("打印内容", "What was printed"),
    "resolved_by_id": ("处理人", "Decided by"),
    "resolved_at": ("处理时间", "Decided at"),
}

# Columns whose values are staff ids: shown as the person's name.
PERSON_FIELDS = frozenset(
    {
        "assigned_to_id",
        "owner_id",
        "salesperson_id",
        "user_id",
        "changed_by_id",
        "created_by_id",
        "resolved_by_id",
        "approved_by_id",
    }
)


def _pick(labels: tuple[str, str] | None, fallback: str, language: str) -> str:
    if labels is None:
        return fallback
    return labels[1] if language.startswith("en") else labels[0]


def table_label(table: str, language: str = "zh_CN") -> str:
    return _pick(TABLE_LABELS.get(table), table, language)


def field_label(name: str | None, language: str = "zh_CN") -> str:
    return "" if not name else _pick(FIELD_LABELS.get(name), name, language)


@dataclass(frozen=True)
class BookingDTO:
    id: str
    customer_name: str
    demo_car: str
    starts_at: dt.datetime
    ends_at: dt.datetime
    status: str
    salesperson_name: str | None
    deleted: bool


@dataclass(frozen=True)
class ConflictDTO:
    id: str
    kind: str
    table_name: str
    row_id: str
    # What the record is, in the dealership's words ("陈晓明", "陈晓明 · 粤B·12345").
    record_label: str
    # The customer the record belongs to, for "open customer"; None for other records.
    customer_id: str | None
    field: str | None
    # Values decoded from their JSON form, as on the wire (dates as ISO text).
    base: Any
    theirs: Any  # arrived first and was overwritten (or the edit that met a delete)
    mine: Any  # arrived later and is in place now
    theirs_device: str | None
    mine_device: str | None
    theirs_is_this_device: bool
    mine_is_this_device: bool
    theirs_by: str | None  # the person's name where known
    mine_by: str | None
    detected_at: dt.datetime
    status: str
    resolution: str | None
    resolved_by: str | None
    resolved_at: dt.datetime | None
    # The target record is deleted now (after a delete met an edit, until restored).
    record_deleted: bool
    # For a double booking: the booking ``row_id`` names and the one it overlaps.
    booking: BookingDTO | None = None
    other_booking: BookingDTO | None = None
    # For delete_edit: the field values a restore brings back, and which side made them
    # ("mine" when the edit arrived after the delete, "theirs" when the delete came later).
    kept_edit: dict[str, Any] = field(default_factory=dict)
    kept_edit_side: str = "mine"
    # Choices still open to a manager (empty once resolved).
    choices: tuple[str, ...] = ()
    # For a customer record merged into another: the name of the customer kept by the merge.
    merged_into_label: str | None = None
    # Names for staff ids among the values (assigned salesperson and the like).
    people: dict[str, str] = field(default_factory=dict)
    # For a field conflict: the record's value of the field now (wire form), which later edits
    # or a manager's choice may have changed since the conflict was recorded.
    current: Any = None
    # For a conflict decided twice (kind ``decided_twice``): the conflict that was decided.
    decided: ConflictDTO | None = None

    def table_label(self, language: str = "zh_CN") -> str:
        return table_label(self.table_name, language)

    def field_label(self, language: str = "zh_CN") -> str:
        return field_label(self.field, language)


@dataclass(frozen=True)
class RejectedChangeDTO:
    seq: int
    op_id: str
    table_name: str
    row_id: str
    record_label: str
    customer_id: str | None
    op: str  # insert / update / delete
    fields: dict[str, Any]  # field -> the value the edit tried to write
    reason: str
    created_at: dt.datetime
    made_by: str | None

    def table_label(self, language: str = "zh_CN") -> str:
        return table_label(self.table_name, language)


# --- reading ---------------------------------------------------------------------------------


def list_conflicts(
    session: Session, actor: Actor, status: str = "open", *, limit: int = 500
) -> list[ConflictDTO]:
    """Conflicts with ``status`` "open", "resolved" or "all", newest first.

    Anyone may read them; only a manager may resolve them. Raises ValidationError("status").
    """
    if status not in STATUSES:
        raise ValidationError(
            "status",
            f"无效的状态“{status}”，可选：{'、'.join(STATUSES)}",
            f"invalid status '{status}', expected one of: {', '.join(STATUSES)}",
        )
    query = select(SyncConflict).where(SyncConflict.deleted.is_(False))
    if status != "all":
        query = query.where(SyncConflict.status == status)
    query = query.order_by(SyncConflict.detected_at.desc(), SyncConflict.id).limit(limit)
    rows = list(session.scalars(query))
    names = _names_for(session, rows)
    return [_conflict_dto(session, row, names) for row in rows]


def get_conflict(session: Session, conflict_id: str) -> ConflictDTO:
    """One conflict. Raises NotFoundError."""
    row = _load_conflict(session, conflict_id)
    return _conflict_dto(session, row, _names_for(session, [row]))


def list_rejected(session: Session, *, limit: int = 500) -> list[RejectedChangeDTO]:
    """Local changes the server refused, with its reason, newest first (dismissed ones not)."""
    ops = list(
        session.scalars(
            select(SyncOutbox)
            .where(SyncOutbox.acknowledged.is_(True), SyncOutbox.result == REJECTED)
            .order_by(SyncOutbox.seq.desc())
            .limit(limit)
        )
    )
    names = _user_names(session, {op.actor_id for op in ops})
    result = []
    for op in ops:
        label, customer_id = record_label(session, op.table_name, op.row_id)
        result.append(
            RejectedChangeDTO(
                seq=op.seq,
                op_id=op.op_id,
                table_name=op.table_name,
                row_id=op.row_id,
                record_label=label,
                customer_id=customer_id,
                op=op.op,
                fields=_op_fields(op.fields),
                reason=op.reason or "",
                created_at=op.created_at,
                made_by=names.get(op.actor_id or ""),
            )
        )
    return result


def record_label(session: Session, table: str, row_id: str) -> tuple[str, str | None]:
    """(label, customer id) of a synced record, for people rather than machines.

    A record not on this laptop (yet) is named by its table and the start of its id.
    """
    model = model_for_table(table)
    row = session.get(model, row_id) if model is not None else None
    if row is None:
        return f"{table_label(table)} {row_id[:8]}", None
    if isinstance(row, Customer):
        return row.name, row.id
    if isinstance(row, User):
        return row.display_name, None
    customer_id = getattr(row, "customer_id", None)
    customer = session.get(Customer, customer_id) if customer_id else None
    detail = next(
        (
            str(value)
            for value in (
                getattr(row, "demo_car", None),
                getattr(row, "number", None),
                getattr(row, "plate", None),
                getattr(row, "vin", None),
                getattr(row, "purpose", None),
                getattr(row, "summary", None),
            )
            if value
        ),
        None,
    )
    parts = [customer.name if customer else table_label(table), detail]
    return " · ".join(p for p in parts if p), customer_id


# --- choosing --------------------------------------------------------------------------------


def resolve_conflict(session: Session, actor: Actor, conflict_id: str, choice: str) -> ConflictDTO:
    """Apply a manager's ``choice`` to a conflict and mark it resolved; returns it afterwards.

    - ``keep``: the value (or deletion, or both bookings) in place stays;
    - ``revert`` (field): the overwritten value ("theirs") is written back to the record;
    - ``restore`` (delete_edit): the deleted record comes back with the kept edit applied
      (a customer merged away comes back as a record of its own, beside the survivor);
    - ``apply_to_merged`` (delete_edit, offered when the record was merged into a customer
      still on file): the kept edit is written to that customer instead, its notes' new lines
      added to theirs; the retired record stays retired;
    - ``cancel_other`` / ``cancel_this`` (double_booking): that test drive is cancelled.

    A conflict decided on two laptops (kind ``decided_twice`` in the listing) offers ``keep``
    alone: both decisions' changes are in place already, and the manager marks it reviewed.

    Every change goes through the ORM, so it syncs like any edit. Raises PermissionDeniedError
    (not a manager), NotFoundError (conflict or record), ValidationError("choice") for a choice
    the conflict does not offer, ConflictError("conflict") when it is already resolved.
    """
    if not actor.is_manager:
        raise PermissionDeniedError(
            "只有经理或管理员可以处理同步冲突", "only a manager can resolve sync conflicts"
        )
    conflict = _load_conflict(session, conflict_id)
    survivor = merged_into(session, conflict)
    allowed = _choices(conflict, survivor)
    if choice not in allowed:
        raise ValidationError(
            "choice",
            f"无效的处理方式“{choice}”，可选：{'、'.join(allowed)}",
            f"invalid choice '{choice}', expected one of: {', '.join(allowed)}",
        )
    if conflict.status != "open":
        raise ConflictError(
            "这个冲突已经处理过了", "this conflict has already been resolved", field="conflict"
        )
    bind_actor(session, actor)

    if choice == "revert":
        row = _load_target(session, conflict.table_name, conflict.row_id)
        if row.deleted:
            raise ConflictError(
                "记录已被删除，无法恢复原值", "the record has been deleted", field="choice"
            )
        _write_fields(row, {conflict.field or "": _decode(conflict.theirs_value)})
    elif choice == "restore":
        row = _load_target(session, conflict.table_name, conflict.row_id)
        row.deleted = False
        columns = type(row).__mapper__.columns
        _write_fields(row, {k: v for k, v in kept_edit(conflict).items() if k in columns})
        if isinstance(row, Customer):
            # A record merged away comes back as a customer of its own, or no list shows it.
            row.merged_into_id = None
    elif choice == APPLY_TO_MERGED and survivor is not None:  # offered only then (_choices)
        _apply_to(survivor, _edit_for_merged(conflict))
    elif choice in ("cancel_other", "cancel_this"):
        booking_id = conflict.other_row_id if choice == "cancel_other" else conflict.row_id
        booking = session.get(TestDrive, booking_id) if booking_id else None
        if booking is None:
            raise NotFoundError("test_drive", booking_id)
        booking.status = CANCELLED
    if choice in ("revert", "restore"):
        _retotal(session, conflict)

    conflict.status = "resolved"
    conflict.resolution = RESOLUTIONS[choice]
    conflict.resolved_by_id = actor.user_id
    conflict.resolved_at = utcnow()
    session.flush()
    return _conflict_dto(session, conflict, _names_for(session, [conflict]))


def _retotal(session: Session, conflict: SyncConflict) -> None:
    """A discount, a price or a line written back (or a line restored) changes its quote's
    total: compute it again, as the sync does."""
    if conflict.table_name == Quote.__tablename__:
        settle_quotes(session, [conflict.row_id])
    elif conflict.table_name == QuoteLine.__tablename__:
        line = session.get(QuoteLine, conflict.row_id)
        if line is not None:
            settle_quotes(session, [line.quote_id])


def merged_into(session: Session, conflict: SyncConflict) -> Customer | None:
    """The live customer a conflict's customer record was merged into, at the end of a chain of
    merges; None when the record is no customer, was not merged, or the chain ends on a record
    deleted outright (or one this laptop lacks)."""
    if conflict.table_name != Customer.__tablename__:
        return None
    row = session.get(Customer, conflict.row_id)
    seen: set[str] = set()
    while row is not None and row.merged_into_id and row.id not in seen:
        seen.add(row.id)
        row = session.get(Customer, row.merged_into_id)
    return row if seen and row is not None and not row.deleted else None


# A retired record's own facts, which are not an edit to carry to the customer it went into.
_NOT_CARRIED = frozenset({"merged_into_id", "created_at", "created_by_id", "erased_at"})


def _edit_for_merged(conflict: SyncConflict) -> dict[str, Any]:
    """The kept edit as the customer kept by the merge takes it: only the fields someone
    changed. A delete that arrived after an edit and sent nothing to compare with keeps the
    whole record, which is not an edit to write over another customer: nothing then."""
    edit, side = _kept_edit_and_side(conflict)
    if side == "theirs" and not conflict.field:
        held = _decode(conflict.base_value)
        if not isinstance(held, dict):
            return {}
        edit = {k: v for k, v in edit.items() if k in held and held[k] != v}
    return {k: v for k, v in edit.items() if k not in _NOT_CARRIED}


def _apply_to(survivor: Customer, edit: dict[str, Any]) -> None:
    """Write a kept edit to the customer kept by a merge. Notes are joined, not replaced: the
    survivor's own lines, and the retired record's that the merge added, stay."""
    edit = {k: v for k, v in edit.items() if k in Customer.__mapper__.columns}
    notes = edit.pop("notes", None)
    _write_fields(survivor, edit)
    joined = join_notes(survivor.notes, notes if isinstance(notes, str) else None)
    if joined != survivor.notes:
        survivor.notes = joined


def _choices(conflict: SyncConflict, survivor: Customer | None) -> tuple[str, ...]:
    """What a manager may choose for a conflict of its kind and record; ``survivor`` is what
    :func:`merged_into` found for it."""
    if _decided_twice(conflict):
        # Either decision's changes are in place already; writing the earlier one back into the
        # conflict row would not bring them back. The manager looks and marks it reviewed.
        return ("keep",)
    if conflict.table_name == Quote.__tablename__ and conflict.field in RULED_FIELDS:
        # Writing back one laptop's total or approval would not match the quote's parts.
        return ("keep",)
    choices = CHOICES.get(conflict.kind, ("keep",))
    if conflict.kind == KIND_DELETE_EDIT and survivor is not None and _edit_for_merged(conflict):
        choices = (*choices, APPLY_TO_MERGED)
    return choices


def decisions_unsettled(session: Session) -> bool:
    """Whether :func:`settle_decisions` has anything to close (a read; usually it has not)."""
    return (
        session.scalar(_bookkeeping_open().with_only_columns(SyncConflict.id).limit(1)) is not None
    )


def settle_decisions(session: Session) -> int:
    """Close the open conflicts that two decisions of one conflict left about who decided it and
    when; returns how many (edits to push).

    Two managers may decide one conflict on two laptops, each before the other's decision
    reached them. The later decision stands; the earlier one's time and person are kept in
    these conflicts, and there is nothing in them to choose. A difference in the decision itself
    (``resolution``) stays open as a conflict decided twice. Every laptop closes them alike,
    the time included (the time the server recorded them), so two laptops closing them at once
    agree and leave no further conflict.
    """
    closed = 0
    for conflict in session.scalars(_bookkeeping_open().order_by(SyncConflict.id)):
        conflict.close_by_sync(SETTLED_DECISION)
        closed += 1
    if closed:
        session.flush()
    return closed


def _bookkeeping_open():
    return SyncConflict.open_about(SyncConflict.__tablename__, DECISION_BOOKKEEPING)


def _decided_twice(conflict: SyncConflict) -> bool:
    """Whether ``conflict`` is about another conflict's decision (made on two laptops)."""
    return conflict.table_name == SyncConflict.__tablename__


def dismiss_rejected(session: Session, actor: Actor, seq: int) -> int:
    """Set aside a rejected change once a manager has read it; returns its ``seq``.

    The op stays in the outbox (marked dismissed) for the record. Raises PermissionDeniedError,
    NotFoundError.
    """
    if not actor.is_manager:
        raise PermissionDeniedError(
            "只有经理或管理员可以处理被拒绝的修改", "only a manager can dismiss rejected changes"
        )
    op = session.get(SyncOutbox, seq)
    if op is None or not op.acknowledged or op.result != REJECTED:
        raise NotFoundError("rejected_change", seq)
    op.result = DISMISSED
    session.flush()
    return seq


# --- internals -------------------------------------------------------------------------------


def model_for_table(table: str) -> type[SyncMixin] | None:
    for mapper in Base.registry.mappers:
        cls = mapper.class_
        if getattr(cls, "__tablename__", None) == table and issubclass(cls, SyncMixin):
            return cls
    return None


def _load_conflict(session: Session, conflict_id: str) -> SyncConflict:
    conflict = session.get(SyncConflict, conflict_id) if conflict_id else None
    if conflict is None or conflict.deleted:
        raise NotFoundError("conflict", conflict_id)
    return conflict


def _load_target(session: Session, table: str, row_id: str) -> SyncMixin:
    model = model_for_table(table)
    row = session.get(model, row_id) if model is not None else None
    if row is None:
        raise NotFoundError(table, row_id)
    return row


def _write_fields(row: SyncMixin, values: dict[str, Any]) -> None:
    """Set content columns from their wire values; a value that does not fit names its field."""
    columns = type(row).__mapper__.columns
    for name, value in values.items():
        column = columns.get(name)
        if column is None or name in SYNC_COLUMNS or name == "deleted":
            raise ValidationError(
                "field",
                f"记录没有可恢复的字段“{name}”",
                f"the record has no field '{name}' that can be restored",
            )
        try:
            setattr(row, name, from_wire(column, value))
        except (TypeError, ValueError) as error:
            raise ValidationError(
                name,
                f"保存的值无法写回{field_label(name)}：{error}",
                f"the kept value does not fit {field_label(name, 'en')}: {error}",
            ) from None


def kept_edit(conflict: SyncConflict) -> dict[str, Any]:
    """The field values a ``restore`` writes back, for a delete that met an edit.

    The server keeps the edit that arrived after the delete in ``mine_value``; for a delete that
    arrived after an edit, ``mine_value`` is the delete (with what else it set: a merge's
    delete names the record it went into) and ``theirs_value`` holds what the record held
    before it. Either is an object of field -> value (or field -> {"new", "base"},
    as an op carries them). With ``field`` set, ``theirs_value`` is that one field's value.

    A delete from a laptop that sends the row as it held it leaves that in ``base_value``; the
    kept edit is then the fields that differ from it, the edit the deleting laptop had not
    seen. The other fields are the deleted record's already.
    """
    return _kept_edit_and_side(conflict)[0]


def _kept_edit_and_side(conflict: SyncConflict) -> tuple[dict[str, Any], str]:
    """(the kept edit, "mine" or "theirs": which side made it); see ``kept_edit``."""
    if conflict.field:
        value = _decode(conflict.theirs_value)
        return ({} if conflict.field == "deleted" else {conflict.field: value}), "theirs"
    for side, text in (("mine", conflict.mine_value), ("theirs", conflict.theirs_value)):
        value = _decode(text)
        if side == "mine" and _is_delete(value):
            continue  # what a delete carries beside it (where a merge put the record) is no edit
        edit = _content_fields(value)
        if edit:
            if side == "theirs":
                edit = _unseen(edit, _decode(conflict.base_value))
            return edit, side
    return {}, "theirs"


def _is_delete(value: Any) -> bool:
    """Whether an op's fields (as the server keeps them) delete the row."""
    if not isinstance(value, dict):
        return False
    deleted = value.get("deleted")
    return (deleted.get("new") if isinstance(deleted, dict) else deleted) is True


def _unseen(record: dict[str, Any], held: Any) -> dict[str, Any]:
    """The fields of ``record`` whose values differ from what the deleting laptop ``held``;
    all of ``record`` when it sent nothing to compare with (or nothing differs)."""
    if not isinstance(held, dict):
        return record
    unseen = {name: v for name, v in record.items() if name in held and held[name] != v}
    return unseen or record


def _content_fields(value: Any) -> dict[str, Any]:
    if not isinstance(value, dict):
        return {}
    fields = {}
    for name, new in value.items():
        if name in SYNC_COLUMNS or name == "deleted":
            continue
        fields[name] = new["new"] if isinstance(new, dict) and "new" in new else new
    return fields


def _decode(text: str | None) -> Any:
    if text is None:
        return None
    try:
        return json.loads(text)
    except (TypeError, ValueError):
        return text  # shown as it was stored rather than hidden


def _op_fields(text: str) -> dict[str, Any]:
    fields = _decode(text)
    if not isinstance(fields, dict):
        return {}
    return {
        name: value.get("new") if isinstance(value, dict) else value
        for name, value in fields.items()
    }


def _user_names(session: Session, ids) -> dict[str, str]:
    ids = {i for i in ids if i}
    if not ids:
        return {}
    rows = session.execute(select(User.id, User.display_name).where(User.id.in_(ids)))
    return {uid: name for uid, name in rows}


def _names_for(session: Session, conflicts: list[SyncConflict]) -> dict[str, str]:
    ids: set[str] = set()
    for c in conflicts:
        ids.update({c.theirs_actor, c.mine_actor, c.resolved_by_id})
        if c.field in PERSON_FIELDS:
            for value in (c.base_value, c.theirs_value, c.mine_value):
                decoded = _decode(value)
                if isinstance(decoded, str):
                    ids.add(decoded)
    return _user_names(session, ids)


def _booking(session: Session, booking_id: str | None, names: dict[str, str]) -> BookingDTO | None:
    booking = session.get(TestDrive, booking_id) if booking_id else None
    if booking is None:
        return None
    customer = session.get(Customer, booking.customer_id)
    salesperson = None
    if booking.salesperson_id:
        salesperson = names.get(booking.salesperson_id) or _user_names(
            session, {booking.salesperson_id}
        ).get(booking.salesperson_id)
    return BookingDTO(
        id=booking.id,
        customer_name=customer.name if customer else "",
        demo_car=booking.demo_car,
        starts_at=booking.starts_at,
        ends_at=booking.ends_at,
        status=booking.status,
        salesperson_name=salesperson,
        deleted=booking.deleted,
    )


def _conflict_dto(
    session: Session, c: SyncConflict, names: dict[str, str], *, depth: int = 0
) -> ConflictDTO:
    this_device = session.info.get("device_id")
    label, customer_id = record_label(session, c.table_name, c.row_id)
    model = model_for_table(c.table_name)
    target = session.get(model, c.row_id) if model is not None else None
    double = c.kind == KIND_DOUBLE_BOOKING
    kept, kept_side = _kept_edit_and_side(c)
    survivor = merged_into(session, c) if c.kind == KIND_DELETE_EDIT else None  # walked once
    decided = None
    if _decided_twice(c) and isinstance(target, SyncConflict) and depth < 3:
        # Named as the conflict that was decided: its record, and the person it belongs to.
        decided = _conflict_dto(
            session, target, {**names, **_names_for(session, [target])}, depth=depth + 1
        )
        label, customer_id = decided.record_label, decided.customer_id
    current = None
    if c.kind == KIND_FIELD and target is not None and c.field in type(target).__mapper__.columns:
        current = to_wire(getattr(target, c.field))
    return ConflictDTO(
        id=c.id,
        kind=KIND_DECIDED_TWICE if _decided_twice(c) else c.kind,
        table_name=c.table_name,
        row_id=c.row_id,
        record_label=label,
        # A record merged away opens as the customer it went into: the person is there now.
        customer_id=survivor.id if survivor is not None else customer_id,
        field=c.field,
        base=_decode(c.base_value),
        theirs=_decode(c.theirs_value),
        mine=_decode(c.mine_value),
        theirs_device=c.theirs_device,
        mine_device=c.mine_device,
        theirs_is_this_device=bool(this_device) and c.theirs_device == this_device,
        mine_is_this_device=bool(this_device) and c.mine_device == this_device,
        theirs_by=names.get(c.theirs_actor or ""),
        mine_by=names.get(c.mine_actor or ""),
        detected_at=c.detected_at,
        status=c.status,
        resolution=c.resolution,
        resolved_by=names.get(c.resolved_by_id or ""),
        resolved_at=c.resolved_at,
        record_deleted=bool(target is not None and target.deleted),
        booking=_booking(session, c.row_id, names) if double else None,
        other_booking=_booking(session, c.other_row_id, names) if double else None,
        kept_edit=kept if c.kind == KIND_DELETE_EDIT else {},
        kept_edit_side=kept_side,
        choices=_choices(c, survivor) if c.status == "open" else (),
        merged_into_label=survivor.name if survivor is not None else None,
        people=names,
        current=current,
        decided=decided,
    )
