"""Where this laptop stands with the central server: enrolled or not, last sync, what waits.

Pure reads of ``local_state``, ``sync_outbox`` and ``sync_conflict``; the sync client writes
them. The status bar shows this, so it must stay cheap: three counts over indexed columns.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from showroom.models import LocalState, SyncConflict, SyncOutbox
from showroom.models.local import SyncKeys

# The outbox result a rejected op keeps until a manager dismisses it (``conflicts``).
REJECTED = "rejected"


@dataclass(frozen=True)
class SyncStatusDTO:
    enrolled: bool
    server_url: str | None
    dealer_name: str | None
    last_attempt_at: dt.datetime | None
    last_success_at: dt.datetime | None
    last_error: str | None
    # None until a first attempt says whether the server could be reached.
    online: bool | None
    pending_changes: int
    open_conflicts: int
    rejected_changes: int
    # Server clock minus this laptop's clock, in seconds; reported, never used for ordering.
    clock_skew_seconds: float | None


def _moment(text: str | None) -> dt.datetime | None:
    if not text:
        return None
    try:
        moment = dt.datetime.fromisoformat(text)
    except ValueError:
        return None  # a damaged value reads as "never" rather than breaking the status bar
    return moment if moment.tzinfo else moment.replace(tzinfo=dt.UTC)


def _number(text: str | None) -> float | None:
    if text is None or text.strip() == "":
        return None
    try:
        return float(text)
    except ValueError:
        return None


# Rows made before the first sync that the initial upload has still to send (the sync client
# streams them from their tables rather than through the outbox, and keeps this count).
INITIAL_UPLOAD_ROWS = "sync.initial_upload.rows"


def sync_status(session: Session) -> SyncStatusDTO:
    """The sync facts the status bar and the conflict page show. Reads only; raises nothing."""
    keys = (
        SyncKeys.SERVER_URL,
        SyncKeys.TOKEN,
        SyncKeys.DEALER_NAME,
        SyncKeys.LAST_ATTEMPT_AT,
        SyncKeys.LAST_SUCCESS_AT,
        SyncKeys.LAST_ERROR,
        SyncKeys.ONLINE,
        SyncKeys.CLOCK_SKEW_SECONDS,
        INITIAL_UPLOAD_ROWS,
    )
    rows = session.execute(select(LocalState.key, LocalState.value).where(LocalState.key.in_(keys)))
    state = {key: value for key, value in rows}
    pending = session.scalar(
        select(func.count()).select_from(SyncOutbox).where(SyncOutbox.acknowledged.is_(False))
    )
    rejected = session.scalar(
        select(func.count())
        .select_from(SyncOutbox)
        .where(SyncOutbox.acknowledged.is_(True), SyncOutbox.result == REJECTED)
    )
    conflicts = session.scalar(
        select(func.count())
        .select_from(SyncConflict)
        .where(SyncConflict.status == "open", SyncConflict.deleted.is_(False))
    )
    online_text = state.get(SyncKeys.ONLINE)
    return SyncStatusDTO(
        enrolled=bool(state.get(SyncKeys.TOKEN)) and bool(state.get(SyncKeys.SERVER_URL)),
        server_url=state.get(SyncKeys.SERVER_URL) or None,
        dealer_name=state.get(SyncKeys.DEALER_NAME) or None,
        last_attempt_at=_moment(state.get(SyncKeys.LAST_ATTEMPT_AT)),
        last_success_at=_moment(state.get(SyncKeys.LAST_SUCCESS_AT)),
        last_error=state.get(SyncKeys.LAST_ERROR) or None,
        online=None if online_text in (None, "") else online_text == "1",
        pending_changes=int(pending or 0) + int(_number(state.get(INITIAL_UPLOAD_ROWS)) or 0),
        open_conflicts=int(conflicts or 0),
        rejected_changes=int(rejected or 0),
        clock_skew_seconds=_number(state.get(SyncKeys.CLOCK_SKEW_SECONDS)),
    )
