"""The audit trail: append an entry for a sensitive action, and let a manager read the trail.

Entries are only ever added. No service updates or deletes an ``audit_log`` row; they sync like
any other row, so the server and every laptop end up holding the whole store's trail. An entry
names the actor as they were at that moment (name and role), the device, the target and a JSON
``detail``, which never holds a revealed value itself.
"""

from __future__ import annotations

import datetime as dt
import json
from dataclasses import dataclass
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from showroom.actor import Actor
from showroom.db.base import utcnow
from showroom.errors import ValidationError
from showroom.models import AuditEntry

# What an entry may record. Other slices call record() with these.
ACTIONS = frozenset(
    {
        "reveal_id_number",
        "reveal_phone",
        "print",
        "export",
        "merge",
        # the sync finishing merges that other laptops' work crossed (no one's action)
        "merge_settle",
        "delete",
        "consent",
        "role",
        "erase",
        "user",
        "login_failed",
        "lockout",
        "discount",
        # an issued quote put back as printed, another laptop's change kept as a new quote
        "quote_split",
        "password",
    }
)

MAX_PAGE = 500


@dataclass(frozen=True)
class AuditRecord:
    id: str
    at: dt.datetime
    actor_id: str | None
    actor_name: str
    actor_role: str
    action: str
    target_table: str | None
    target_id: str | None
    detail: dict[str, Any]
    device_id: str | None


def record(
    session: Session,
    actor: Actor | None,
    action: str,
    *,
    target_table: str | None = None,
    target_id: str | None = None,
    detail: dict | None = None,
) -> None:
    """Append one audit entry for ``action`` by ``actor`` in the caller's transaction.

    The time is the laptop's UTC clock when the action happened (not the server's arrival time,
    so an entry made offline keeps its real moment). The entry is a synced row: it reaches the
    server with the next push. ``actor`` None is the sync itself, acting for no one: the entry
    names no person (no id, name or role). Raises ValidationError for an action not in
    :data:`ACTIONS`.
    """
    if action not in ACTIONS:
        raise ValidationError(
            "action", f"未知的审计操作：{action}", f"unknown audit action: {action}"
        )
    session.add(
        AuditEntry(
            at=utcnow(),
            actor_id=actor.user_id if actor else None,
            actor_name=(actor.display_name or "")[:50] if actor else "",
            actor_role=str(actor.role) if actor else "",
            action=action,
            target_table=target_table,
            target_id=target_id,
            detail=json.dumps(detail, ensure_ascii=False, sort_keys=True, default=str)
            if detail
            else None,
            device_id=session.info.get("device_id"),
        )
    )


def _require_read_audit(actor: Actor) -> None:
    from showroom import permissions

    permissions.require(actor, "read_audit")


def list_audit(
    session: Session,
    actor: Actor,
    *,
    target_id: str | None = None,
    actor_id: str | None = None,
    action: str | None = None,
    limit: int = 100,
    before: tuple[dt.datetime, str] | dt.datetime | None = None,
) -> list[AuditRecord]:
    """The newest entries first, optionally for one target, one actor or one action.

    ``before`` pages on: pass the ``(at, id)`` of the last entry of the previous page (a bare
    time is accepted too). Raises PermissionDeniedError unless the actor may read the audit
    trail (managers and admins), ValidationError for a bad ``limit`` or ``action``.
    """
    _require_read_audit(actor)
    if not isinstance(limit, int) or isinstance(limit, bool) or not 1 <= limit <= MAX_PAGE:
        raise ValidationError(
            "limit", f"每页条数须在 1 到 {MAX_PAGE} 之间", f"limit must be 1 to {MAX_PAGE}"
        )
    if action is not None and action not in ACTIONS:
        raise ValidationError(
            "action", f"未知的审计操作：{action}", f"unknown audit action: {action}"
        )
    query = select(AuditEntry).where(AuditEntry.deleted.is_(False))
    if target_id is not None:
        query = query.where(AuditEntry.target_id == target_id)
    if actor_id is not None:
        query = query.where(AuditEntry.actor_id == actor_id)
    if action is not None:
        query = query.where(AuditEntry.action == action)
    if before is not None:
        if isinstance(before, dt.datetime):
            query = query.where(AuditEntry.at < before)
        else:
            at, entry_id = before
            query = query.where(
                (AuditEntry.at < at) | ((AuditEntry.at == at) & (AuditEntry.id < entry_id))
            )
    query = query.order_by(AuditEntry.at.desc(), AuditEntry.id.desc()).limit(limit)
    return [_to_record(entry) for entry in session.scalars(query)]


def _to_record(entry: AuditEntry) -> AuditRecord:
    try:
        detail = json.loads(entry.detail) if entry.detail else {}
    except ValueError:
        detail = {"raw": entry.detail}
    if not isinstance(detail, dict):
        detail = {"value": detail}
    return AuditRecord(
        id=entry.id,
        at=entry.at,
        actor_id=entry.actor_id,
        actor_name=entry.actor_name,
        actor_role=entry.actor_role,
        action=entry.action,
        target_table=entry.target_table,
        target_id=entry.target_id,
        detail=detail,
        device_id=entry.device_id,
    )
