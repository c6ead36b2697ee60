"""What IT does from the command line: dealers, enrolment codes, devices."""

from __future__ import annotations

import datetime as dt

from sqlalchemy import Connection, Engine, insert, select, update

from showroom.ids import new_id
from sync.server import notes
from sync.server.auth import hash_secret, new_code, normalize_code
from sync.server.db import read_transaction, utcnow, write_transaction
from sync.server.models import dealer, device, enrollment_code
from sync.server.records import ensure_dealer_record, new_epoch


class AdminError(Exception):
    """Bad input or an unknown id; the message names the field."""


def create_dealer(engine: Engine, name: str) -> str:
    """A new dealer (store) with its own counter and history; returns its id."""
    name = name.strip()
    if not name or len(name) > 100:
        raise AdminError("name: expected 1 to 100 characters")
    dealer_id = new_id()
    now = utcnow()
    with write_transaction(engine) as conn:
        conn.execute(
            insert(dealer).values(
                id=dealer_id,
                name=name,
                created_at=now,
                last_seq=0,
                epoch=new_epoch(),
                epoch_base_seq=0,
                purged_through=0,
            )
        )
        ensure_dealer_record(conn, dealer_id, now)
    return dealer_id


def mark_restored(engine: Engine, dealer_id: str | None = None) -> list[dict]:
    """Start a new history after the database was restored from a backup.

    Every laptop still holds the old history id, so its next request is answered 409
    ``epoch_changed``: it uploads again the rows it holds beyond ``epoch_base_seq`` (what the
    backup lost) and downloads everything afresh, keeping its outbox. Run it once, right after
    the restore and before serving; laptops that come back later are still caught, whatever the
    others pushed meanwhile.
    """
    with write_transaction(engine) as conn:
        query = select(dealer.c.id, dealer.c.last_seq)
        if dealer_id is not None:
            query = query.where(dealer.c.id == dealer_id)
        rows = conn.execute(query).all()
        if dealer_id is not None and not rows:
            raise AdminError(f"dealer: no dealer with id {dealer_id!r}")
        answers = []
        for row in rows:
            epoch = new_epoch()
            conn.execute(
                update(dealer)
                .where(dealer.c.id == row.id)
                .values(epoch=epoch, epoch_base_seq=row.last_seq)
            )
            answers.append({"dealer_id": row.id, "epoch": epoch, "epoch_base_seq": row.last_seq})
    return answers


def require_dealer(conn: Connection, dealer_id: str) -> None:
    """Raises AdminError naming the dealer when there is no dealer ``dealer_id``."""
    if conn.execute(select(dealer.c.id).where(dealer.c.id == dealer_id)).first() is None:
        raise AdminError(f"dealer: no dealer with id {dealer_id!r}")


def create_enrollment_code(engine: Engine, dealer_id: str, ttl_hours: float = 24) -> dict:
    """A one-time code a laptop trades for a device token; only its hash is stored."""
    if not ttl_hours > 0:
        raise AdminError("ttl-hours: expected a number of hours > 0")
    code = new_code()
    now = utcnow()
    expires = now + dt.timedelta(hours=ttl_hours)
    with write_transaction(engine) as conn:
        require_dealer(conn, dealer_id)
        conn.execute(
            insert(enrollment_code).values(
                code_hash=hash_secret(normalize_code(code)),
                dealer_id=dealer_id,
                created_at=now,
                expires_at=expires,
            )
        )
    return {"code": code, "dealer_id": dealer_id, "expires_at": expires.isoformat()}


def revoke_device(engine: Engine, device_id: str) -> dict:
    """Revoke a device: its token stops working at once (401). Its data stays."""
    now = utcnow()
    with write_transaction(engine) as conn:
        found = conn.execute(
            select(device.c.id, device.c.revoked_at).where(device.c.id == device_id)
        ).first()
        if found is None:
            raise AdminError(f"device: no device with id {device_id!r}")
        revoked_at = found.revoked_at or now
        conn.execute(update(device).where(device.c.id == device_id).values(revoked_at=revoked_at))
    return {"device_id": device_id, "revoked_at": revoked_at.isoformat()}


def list_devices(engine: Engine, dealer_id: str | None = None) -> list[dict]:
    query = select(
        device.c.id,
        device.c.dealer_id,
        device.c.name,
        device.c.enrolled_at,
        device.c.revoked_at,
        device.c.last_seen_at,
        device.c.last_pulled_seq,
        device.c.schema_version,
    ).order_by(device.c.dealer_id, device.c.enrolled_at)
    if dealer_id is not None:
        query = query.where(device.c.dealer_id == dealer_id)
    notes.flush(engine)  # this process's routine pulls, not yet written
    with read_transaction(engine) as conn:
        rows = conn.execute(query).all()
    return [
        {
            "device_id": row.id,
            "dealer_id": row.dealer_id,
            "name": row.name,
            "enrolled_at": _iso(row.enrolled_at),
            "revoked_at": _iso(row.revoked_at),
            "last_seen_at": _iso(row.last_seen_at),
            "last_pulled_seq": row.last_pulled_seq,
            "schema_version": row.schema_version,
        }
        for row in rows
    ]


def list_dealers(engine: Engine) -> list[dict]:
    with read_transaction(engine) as conn:
        rows = conn.execute(
            select(dealer.c.id, dealer.c.name, dealer.c.last_seq).order_by(dealer.c.created_at)
        ).all()
    return [{"dealer_id": r.id, "name": r.name, "last_seq": r.last_seq} for r in rows]


def _iso(value: dt.datetime | None) -> str | None:
    return value.isoformat() if value is not None else None
