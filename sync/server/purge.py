"""Tombstone purge: deleted rows go once every active device has pulled past them and the
retention period is over. A device further behind gets 410 and re-syncs fully."""

from __future__ import annotations

import datetime as dt

from sqlalchemy import Engine, and_, delete, func, not_, or_, select, update

from sync import protocol
from sync.server import notes
from sync.server.db import utcnow, write_transaction
from sync.server.models import applied_op, dealer, device, history, push_batch, record
from sync.server.records import json_text, load_dealer

DEFAULT_RETENTION_DAYS = 30


def purge(
    engine: Engine, retention_days: float = DEFAULT_RETENTION_DAYS, now: dt.datetime | None = None
) -> list[dict]:
    """Purge old tombstones of every dealer; one summary per dealer.

    A tombstone goes when it is older than the retention, and its version is at or below what
    every active device (not revoked, seen within the retention) has pulled. Open conflicts are
    never purged. Batch and op ledgers and history marks older than the retention go too.
    """
    if retention_days < 0:
        raise ValueError("retention-days: expected a number of days >= 0")
    now = now or utcnow()
    notes.flush(engine)  # what this process's routine pulls reached: no purge holds back for it
    cutoff = now - dt.timedelta(days=retention_days)
    with write_transaction(engine) as conn:
        dealer_ids = conn.execute(select(dealer.c.id).order_by(dealer.c.id)).scalars().all()
    summaries = []
    for dealer_id in dealer_ids:
        with write_transaction(engine) as conn:
            state = load_dealer(conn, dealer_id, lock=True)
            pulled = conn.execute(
                select(func.min(device.c.last_pulled_seq)).where(
                    device.c.dealer_id == dealer_id,
                    device.c.revoked_at.is_(None),
                    device.c.last_seen_at >= cutoff,
                )
            ).scalar()
            bound = state.last_seq if pulled is None else pulled
            open_conflict = and_(
                record.c.table_name == protocol.CONFLICT_TABLE,
                json_text(conn, "status") == "open",
            )
            doomed = and_(
                record.c.dealer_id == dealer_id,
                record.c.deleted.is_(True),
                record.c.updated_at < cutoff,
                record.c.version <= bound,
                or_(record.c.table_name != protocol.CONFLICT_TABLE, not_(open_conflict)),
            )
            count, highest = conn.execute(
                select(func.count(), func.max(record.c.version)).where(doomed)
            ).one()
            if count:
                conn.execute(delete(record).where(doomed))
                conn.execute(
                    update(dealer)
                    .where(dealer.c.id == dealer_id)
                    .values(purged_through=max(state.purged_through, highest))
                )
            conn.execute(
                delete(push_batch).where(
                    push_batch.c.dealer_id == dealer_id, push_batch.c.created_at < cutoff
                )
            )
            conn.execute(
                delete(applied_op).where(
                    applied_op.c.dealer_id == dealer_id, applied_op.c.created_at < cutoff
                )
            )
            # Marks older than this are no longer judged (docs/sync-faults.md says what that
            # leaves to the operator); the newest commit's stays, so a restore is still noticed.
            conn.execute(
                delete(history).where(
                    history.c.dealer_id == dealer_id,
                    history.c.at < cutoff,
                    history.c.seq < state.last_seq,
                )
            )
        summaries.append(
            {
                "dealer_id": dealer_id,
                "purged": count,
                "purged_through": max(state.purged_through, highest or 0),
                "bound": bound,
            }
        )
    return summaries
