"""The customer list: filtered, sorted and paged with keyset cursors, never with OFFSET.

A page is found by seeking an index to just after the last row of the previous page
(``WHERE (value, id) > (:last_value, :last_id) ORDER BY value, id LIMIT n``), so page 5,000
costs what page 1 costs, and a list of a million customers is never read as a whole. The
paging query returns only ids and sort values; the columns a row shows (primary phone, first
plate, salesperson, next follow-up) are then read for that page's ids in a few batched queries.

Sorts whose order is not the order of one indexed column are split into *segments*, each an
index range read in order: by intent level, every level is its own segment (H, A, B, C, O, F,
then not rated), read by name; by next follow-up, customers with an open task come first, read
from the follow-up index by due date, then those without, by id. Customers without a value
(no level, no open task) come last in both directions, as blanks do in a spreadsheet.

Names sort by Unicode code point (SQLite has no pinyin collation); for Chinese names that is
roughly radical-and-stroke order.

Rows carry the phone masked (``138****8000``, see ``showroom.masking``); a search by a full or
partial phone still finds its customer. ``phone_id`` names the phone shown, so a caller whose
role may see it can ask for it through the audited ``masking.reveal_personal_data``.
"""

from __future__ import annotations

import datetime as dt
import sys
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy import ColumnElement, and_, exists, func, not_, or_, select
from sqlalchemy.orm import Session

from showroom import masking
from showroom.actor import Actor
from showroom.errors import ValidationError
from showroom.models import Customer, CustomerPhone, CustomerVehicle, FollowUp, User
from showroom.services import leads
from showroom.services.customers import search_customers
from showroom.vocabulary import IntentLevel, LifecycleStage

__all__ = [
    "DEFAULT_PAGE_SIZE",
    "INTENT_ORDER",
    "MAX_PAGE_SIZE",
    "SORTS",
    "CustomerFilter",
    "CustomerPage",
    "CustomerRow",
    "PageCursor",
    "count_customers",
    "list_customers",
    "search_customer_rows",
]

SORTS = ("updated_at", "created_at", "name", "intent_level", "next_due")
DEFAULT_PAGE_SIZE = 200
MAX_PAGE_SIZE = 5_000
# Hottest leads first: the order a salesperson works through them.
INTENT_ORDER: tuple[str, ...] = tuple(
    level.value
    for level in (
        IntentLevel.H,
        IntentLevel.A,
        IntentLevel.B,
        IntentLevel.C,
        IntentLevel.O,
        IntentLevel.F,
    )
)


@dataclass(frozen=True)
class CustomerFilter:
    """What the list is narrowed to. The default shows every live customer.

    ``intent_levels`` keeps customers at any of the given levels (empty: any level, rated or
    not). ``assigned_to_id`` keeps one salesperson's customers, ``unassigned_only`` those with
    nobody; the two exclude each other. ``vip`` None means either. ``overdue_only`` keeps
    customers with an open follow-up due before today.
    """

    intent_levels: tuple[str, ...] = ()
    lifecycle_stage: str | None = None
    assigned_to_id: str | None = None
    unassigned_only: bool = False
    vip: bool | None = None
    overdue_only: bool = False

    @property
    def is_default(self) -> bool:
        return self == CustomerFilter()


# slots: a list scrolled to the end holds every row it showed, so each row stays small.
@dataclass(frozen=True, slots=True)
class CustomerRow:
    """One line of the customer list."""

    id: str
    name: str
    kind: str
    phone: str | None  # masked: the primary phone, or for a search hit the phone that matched
    plate: str | None  # the most recently bought vehicle's, or for a hit the plate that matched
    intent_level: str | None
    lifecycle_stage: str
    vip: bool
    assigned_to_id: str | None
    assigned_to_name: str | None
    next_due: dt.date | None  # the earliest open follow-up
    overdue: bool  # next_due is before today
    updated_at: dt.datetime
    phone_id: str | None = None  # the phone shown, for an audited reveal


@dataclass(frozen=True)
class PageCursor:
    """Where the next page starts: the sort key of the last row handed out.

    Opaque to callers: pass ``CustomerPage.next_cursor`` back as ``after``, with the same
    sort and direction.
    """

    sort: str
    descending: bool
    segment: int
    value: Any
    last_id: str


@dataclass(frozen=True)
class CustomerPage:
    rows: tuple[CustomerRow, ...]
    next_cursor: PageCursor | None  # None: this was the last page


# --- validation -------------------------------------------------------------------------------


def _checked_filter(session: Session, f: CustomerFilter) -> CustomerFilter:
    """The filter with its codes normalised; raises ValidationError naming the bad field."""
    if not isinstance(f, CustomerFilter):
        raise ValidationError("filter", "筛选条件无效", "not a customer filter")
    levels: list[str] = []
    for raw in f.intent_levels:
        code = str(raw or "").strip().upper()
        if code not in INTENT_ORDER:
            raise ValidationError(
                "intent_level",
                f"无效的意向级别“{raw}”，可选：{'、'.join(INTENT_ORDER)}",
                f"invalid intent level '{raw}', expected one of: {', '.join(INTENT_ORDER)}",
            )
        if code not in levels:
            levels.append(code)
    stage = f.lifecycle_stage
    if stage is not None and stage not in {s.value for s in LifecycleStage}:
        allowed = [s.value for s in LifecycleStage]
        raise ValidationError(
            "lifecycle_stage",
            f"无效的客户阶段“{stage}”，可选：{'、'.join(allowed)}",
            f"invalid lifecycle stage '{stage}', expected one of: {', '.join(allowed)}",
        )
    if f.assigned_to_id and f.unassigned_only:
        raise ValidationError(
            "assigned_to_id",
            "不能同时筛选某位销售顾问和未分配",
            "choose a salesperson or unassigned, not both",
        )
    if f.assigned_to_id and session.get(User, f.assigned_to_id) is None:
        raise ValidationError("assigned_to_id", "销售顾问不存在", "no such salesperson")
    if f.vip not in (None, True, False):
        raise ValidationError("vip", "VIP 筛选应为是、否或不限", "vip must be yes, no or either")
    return CustomerFilter(
        intent_levels=tuple(levels),
        lifecycle_stage=stage,
        assigned_to_id=f.assigned_to_id or None,
        unassigned_only=bool(f.unassigned_only),
        vip=f.vip,
        overdue_only=bool(f.overdue_only),
    )


def _checked_sort(sort: str) -> str:
    if sort not in SORTS:
        raise ValidationError(
            "sort",
            f"不能按“{sort}”排序，可选：{'、'.join(SORTS)}",
            f"cannot sort by '{sort}', expected one of: {', '.join(SORTS)}",
        )
    return sort


def _checked_limit(limit: int) -> int:
    try:
        n = int(limit)
    except (TypeError, ValueError):
        n = 0
    if not 1 <= n <= MAX_PAGE_SIZE:
        raise ValidationError(
            "limit", f"每页行数应为1到{MAX_PAGE_SIZE}", f"limit must be 1 to {MAX_PAGE_SIZE}"
        )
    return n


# --- the queries ------------------------------------------------------------------------------


def _open_follow_up(task) -> ColumnElement[bool]:
    """``task`` (a follow_up table or alias) is neither done nor deleted."""
    return and_(task.c.done.is_(False), task.c.deleted.is_(False))


def _conditions(c, f: CustomerFilter, today: dt.date, visible=None) -> list[ColumnElement[bool]]:
    """Live customers (not deleted, not merged away) that pass the filter and, when given, the
    ``visible`` condition (the leads the actor may see)."""
    where = [c.deleted.is_(False), c.merged_into_id.is_(None)]
    if visible is not None:
        where.append(visible)
    if f.intent_levels:
        where.append(c.intent_level.in_(f.intent_levels))
    if f.lifecycle_stage:
        where.append(c.lifecycle_stage == f.lifecycle_stage)
    if f.assigned_to_id:
        where.append(c.assigned_to_id == f.assigned_to_id)
    elif f.unassigned_only:
        where.append(c.assigned_to_id.is_(None))
    if f.vip is not None:
        where.append(c.vip.is_(f.vip))
    if f.overdue_only:
        task = FollowUp.__table__.alias("overdue_task")
        where.append(
            exists().where(task.c.customer_id == c.id, _open_follow_up(task), task.c.due < today)
        )
    return where


def _keyset(value, ident, after_value, after_id, descending: bool):
    """Rows strictly after (after_value, after_id) in (value, ident) order.

    Written as a range on ``value`` plus a tie-break, rather than as a row value or an OR of
    the two cases, so that SQLite seeks the index to the range instead of scanning from the
    start.
    """
    if value is None:
        return ident < after_id if descending else ident > after_id
    if descending:
        return and_(value <= after_value, or_(value < after_value, ident < after_id))
    return and_(value >= after_value, or_(value > after_value, ident > after_id))


@dataclass(frozen=True)
class _Segment:
    """One index range read in order: ``select(ident, value)`` with its where clause."""

    where: tuple[ColumnElement[bool], ...]
    ident: Any
    value: Any  # None: ordered by ident alone
    source: Any  # the FROM clause


def _segments(
    sort: str, descending: bool, f: CustomerFilter, today: dt.date, visible=None
) -> list[_Segment]:
    c = Customer.__table__.c
    live = tuple(_conditions(c, f, today, visible))
    if sort in ("updated_at", "created_at", "name"):
        return [_Segment(live, c.id, c[sort], Customer.__table__)]
    if sort == "intent_level":
        levels = [lvl for lvl in INTENT_ORDER if not f.intent_levels or lvl in f.intent_levels]
        if descending:
            levels.reverse()
        segments = [
            _Segment((*live, c.intent_level == lvl), c.id, c.name, Customer.__table__)
            for lvl in levels
        ]
        if not f.intent_levels:
            segments.append(
                _Segment((*live, c.intent_level.is_(None)), c.id, c.name, Customer.__table__)
            )
        return segments
    # next_due: first each customer's earliest open task, read from the follow-up index in due
    # order (a customer with two open tasks appears once: for the earliest, lowest id first).
    task = FollowUp.__table__.alias("task")
    other = FollowUp.__table__.alias("other_task")
    earliest = not_(
        exists().where(
            other.c.customer_id == task.c.customer_id,
            _open_follow_up(other),
            or_(other.c.due < task.c.due, and_(other.c.due == task.c.due, other.c.id < task.c.id)),
        )
    )
    with_task = _Segment(
        (_open_follow_up(task), earliest, *live),
        task.c.customer_id,
        task.c.due,
        task.join(Customer.__table__, c.id == task.c.customer_id),
    )
    if f.overdue_only:  # an overdue customer has an open task by definition
        return [with_task]
    any_task = FollowUp.__table__.alias("any_task")
    without_task = _Segment(
        (*live, not_(exists().where(any_task.c.customer_id == c.id, _open_follow_up(any_task)))),
        c.id,
        None,
        Customer.__table__,
    )
    return [with_task, without_task]


def _read_segment(
    session: Session,
    segment: _Segment,
    descending: bool,
    after: PageCursor | None,
    limit: int,
) -> list[tuple[str, Any]]:
    columns = [segment.ident] + ([segment.value] if segment.value is not None else [])
    query = select(*columns).select_from(segment.source).where(*segment.where)
    if after is not None:
        query = query.where(
            _keyset(segment.value, segment.ident, after.value, after.last_id, descending)
        )
    order = [col.desc() if descending else col.asc() for col in columns[::-1]]
    query = query.order_by(*order).limit(limit)
    return [
        (row[0], row[1] if segment.value is not None else None) for row in session.execute(query)
    ]


def list_customers(
    session: Session,
    actor: Actor,
    filter: CustomerFilter | None = None,
    sort: str = "updated_at",
    descending: bool = True,
    after: PageCursor | None = None,
    limit: int = DEFAULT_PAGE_SIZE,
    *,
    today: dt.date | None = None,
) -> CustomerPage:
    """One page of live customers that pass ``filter``, in ``sort`` order.

    ``sort`` is one of ``SORTS``; ties are broken by id, so the order is total and stable.
    Pass the returned ``next_cursor`` as ``after`` (same sort and direction) for the next page;
    paging to the end yields every matching customer exactly once. ``today`` (default: the
    local date) decides what is overdue. Raises ValidationError naming "sort", "limit",
    "after", "filter", "intent_level", "lifecycle_stage", "assigned_to_id" or "vip".
    """
    sort = _checked_sort(sort)
    limit = _checked_limit(limit)
    f = _checked_filter(session, filter or CustomerFilter())
    descending = bool(descending)
    if after is not None and (
        not isinstance(after, PageCursor) or after.sort != sort or after.descending != descending
    ):
        raise ValidationError(
            "after", "翻页位置与排序方式不符", "the cursor belongs to a different sort"
        )
    today = today or dt.date.today()
    # A salesperson does not see other salespeople's leads when the store hides them.
    visible = leads.hidden_leads_condition(session, actor, Customer.__table__.c.assigned_to_id)
    segments = _segments(sort, descending, f, today, visible)

    # One row more than asked for says whether another page follows.
    found: list[tuple[int, str, Any]] = []
    first = after.segment if after is not None else 0
    for index in range(first, len(segments)):
        wanted = limit + 1 - len(found)
        start = after if after is not None and index == after.segment else None
        for ident, value in _read_segment(session, segments[index], descending, start, wanted):
            found.append((index, ident, value))
        if len(found) > limit:
            break

    next_cursor = None
    if len(found) > limit:
        found = found[:limit]
        index, ident, value = found[-1]
        next_cursor = PageCursor(sort, descending, index, value, ident)
    rows = _rows(session, [ident for _, ident, _ in found], today)
    return CustomerPage(rows=tuple(rows), next_cursor=next_cursor)


def count_customers(
    session: Session,
    actor: Actor,
    filter: CustomerFilter | None = None,
    *,
    today: dt.date | None = None,
) -> int:
    """How many live customers pass ``filter``. Raises ValidationError like list_customers."""
    f = _checked_filter(session, filter or CustomerFilter())
    c = Customer.__table__.c
    visible = leads.hidden_leads_condition(session, actor, c.assigned_to_id)
    where = _conditions(c, f, today or dt.date.today(), visible)
    return session.execute(
        select(func.count()).select_from(Customer.__table__).where(*where)
    ).scalar_one()


def search_customer_rows(
    session: Session,
    actor: Actor,
    query: str,
    limit: int = 50,
    *,
    today: dt.date | None = None,
) -> list[CustomerRow]:
    """The best matches for a fragment of a name, phone, plate or VIN, as list rows.

    Ranked as ``customers.search_customers`` ranks them (exact, prefix, substring); the phone
    (masked) and plate shown are the ones that matched. Raises ValidationError("query") for
    fewer than two characters.
    """
    hits = search_customers(session, actor, query, limit)
    rows = {row.id: row for row in _rows(session, [h.id for h in hits], today or dt.date.today())}
    out = []
    for hit in hits:
        row = rows.get(hit.id)
        if row is None:
            continue
        out.append(
            CustomerRow(
                id=row.id,
                name=row.name,
                kind=row.kind,
                phone=hit.phone if hit.phone else row.phone,
                plate=hit.plate or row.plate,
                intent_level=row.intent_level,
                lifecycle_stage=row.lifecycle_stage,
                vip=row.vip,
                assigned_to_id=row.assigned_to_id,
                assigned_to_name=row.assigned_to_name,
                next_due=row.next_due,
                overdue=row.overdue,
                updated_at=row.updated_at,
                phone_id=hit.phone_id if hit.phone else row.phone_id,
            )
        )
    return out


# --- building the rows of a page --------------------------------------------------------------


def _intern(value: str | None) -> str | None:
    # Codes and salesperson ids repeat on every row; one shared string each keeps a long
    # scrolled list small.
    return sys.intern(value) if value is not None else None


def _rows(session: Session, ids: Sequence[str], today: dt.date) -> list[CustomerRow]:
    """CustomerRows for ``ids``, in that order, from five batched queries."""
    if not ids:
        return []
    c = Customer.__table__.c
    customers = {
        r.id: r
        for r in session.execute(
            select(
                c.id,
                c.name,
                c.kind,
                c.intent_level,
                c.lifecycle_stage,
                c.vip,
                c.assigned_to_id,
                c.updated_at,
            ).where(c.id.in_(ids))
        )
    }

    phones: dict[str, tuple[str, str]] = {}  # customer id -> (phone id, masked number)
    p = CustomerPhone.__table__.c
    for customer_id, phone_id, number in session.execute(
        select(p.customer_id, p.id, p.number)
        .where(p.customer_id.in_(ids), p.deleted.is_(False))
        .order_by(p.is_primary.desc(), p.number)
    ):
        if customer_id not in phones:
            phones[customer_id] = (phone_id, masking.mask_phone(number))

    plates: dict[str, str] = {}
    v = CustomerVehicle.__table__.c
    for customer_id, plate in session.execute(
        select(v.customer_id, v.plate)
        .where(v.customer_id.in_(ids), v.deleted.is_(False), v.plate.is_not(None))
        .order_by(v.purchase_date.desc(), v.id)
    ):
        plates.setdefault(customer_id, plate)

    t = FollowUp.__table__.c
    next_due: dict[str, dt.date] = dict(
        session.execute(
            select(t.customer_id, func.min(t.due))
            .where(t.customer_id.in_(ids), t.done.is_(False), t.deleted.is_(False))
            .group_by(t.customer_id)
        ).all()
    )

    staff_ids = {r.assigned_to_id for r in customers.values() if r.assigned_to_id}
    u = User.__table__.c
    staff: dict[str, str] = (
        {
            uid: _intern(name)
            for uid, name in session.execute(
                select(u.id, u.display_name).where(u.id.in_(staff_ids))
            )
        }
        if staff_ids
        else {}
    )

    rows = []
    for customer_id in ids:
        r = customers.get(customer_id)
        if r is None:
            continue
        due = next_due.get(customer_id)
        phone_id, phone = phones.get(customer_id, (None, None))
        rows.append(
            CustomerRow(
                id=r.id,
                name=r.name,
                kind=_intern(r.kind),
                phone=phone,
                plate=plates.get(customer_id),
                intent_level=_intern(r.intent_level),
                lifecycle_stage=_intern(r.lifecycle_stage),
                vip=bool(r.vip),
                assigned_to_id=_intern(r.assigned_to_id),
                assigned_to_name=staff.get(r.assigned_to_id) if r.assigned_to_id else None,
                next_due=due,
                overdue=due is not None and due < today,
                updated_at=r.updated_at,
                phone_id=phone_id,
            )
        )
    return rows
