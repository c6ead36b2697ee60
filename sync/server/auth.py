"""Device tokens, enrolment codes and enrolment itself (rate-limited per address)."""

from __future__ import annotations

import dataclasses
import datetime as dt
import hashlib
import math
import secrets

from sqlalchemy import Engine, and_, delete, func, insert, literal, select, update

from sync import protocol
from sync.protocol import Mark
from sync.server.db import read_transaction, single_read, utcnow, write_transaction
from sync.server.errors import ERROR_DEVICE_TAKEN, ApiError, bad_request, unauthorized
from sync.server.models import dealer, device, enroll_attempt, enrollment_code, history
from sync.server.records import DealerState, ensure_dealer_record, load_dealer
from sync.server.schema import check_text

# No 0/O, 1/I/L: codes are read aloud and typed by hand.
CODE_ALPHABET = "ABCDEFGHJKMNPQRSTUVWXYZ23456789"
CODE_LENGTH = 12
BAD_CODE = "unknown, used or expired enrolment code"


def hash_secret(secret: str) -> str:
    return hashlib.sha256(secret.encode()).hexdigest()


def new_token() -> str:
    return secrets.token_urlsafe(32)


def new_code() -> str:
    """A one-time code such as ``ABCD-EFGH-JKMN``."""
    raw = "".join(secrets.choice(CODE_ALPHABET) for _ in range(CODE_LENGTH))
    return "-".join(raw[i : i + 4] for i in range(0, CODE_LENGTH, 4))


def normalize_code(code: str) -> str:
    """Codes are accepted in any case, with or without dashes and spaces."""
    return "".join(ch for ch in code.upper() if ch not in "- ")


@dataclasses.dataclass(frozen=True)
class DeviceContext:
    """The enrolled device a request comes from; every query is scoped to its dealer."""

    id: str
    dealer_id: str
    name: str
    last_pulled_seq: int
    last_seen_at: dt.datetime | None
    schema_version: int | None
    # The dealer's counter row as read with the token (pushes re-read it under the lock).
    dealer: DealerState
    # This enrolment of the device (a new token, a new key): see :func:`enrolment_key`.
    enrolment: str = ""
    # In a pull that started from 0 and has not reached the end (models.device.full_pull).
    full_pull: bool = False
    # The newest history mark the request sent, when it is in this server's history (looked
    # up with the token, so the usual case needs no query of its own): see records.history_base.
    held_mark: Mark | None = None


def enrolment_key(token_hash: str) -> str:
    """A short key for one enrolment, from its token's hash. A laptop enrolled again (say after
    a reinstall, with an empty database) gets a new key, so rows it wrote before are sent again.
    """
    return token_hash[:16]


def authenticate(
    engine: Engine, authorization: str | None, newest: Mark | None = None
) -> DeviceContext:
    """The device holding the bearer token; 401 for a missing, unknown or revoked token.
    ``newest``: the request's newest history mark, looked up in the same query."""
    if not authorization:
        raise unauthorized("missing Authorization: Bearer <device token>")
    scheme, _, token = authorization.partition(" ")
    token = token.strip()
    if scheme.lower() != "bearer" or not token:
        raise unauthorized("Authorization must be 'Bearer <device token>'")
    token_hash = hash_secret(token)
    held = literal(None).label("commit_id") if newest is None else history.c.commit_id
    with single_read(engine) as conn:
        query = (
            select(
                device.c.id,
                device.c.dealer_id,
                device.c.name,
                device.c.last_pulled_seq,
                device.c.last_seen_at,
                device.c.schema_version,
                device.c.revoked_at,
                device.c.full_pull,
                dealer.c.name,
                dealer.c.last_seq,
                dealer.c.epoch,
                dealer.c.epoch_base_seq,
                dealer.c.purged_through,
                dealer.c.last_commit,
                held,
            )
            .join(dealer, dealer.c.id == device.c.dealer_id)
            .where(device.c.token_hash == token_hash)
        )
        if newest is not None:
            query = query.outerjoin(
                history,
                and_(history.c.dealer_id == device.c.dealer_id, history.c.seq == newest[0]),
            )
        row = conn.execute(query).first()
    if row is None:
        raise unauthorized("unknown device token")
    if row.revoked_at is not None:
        raise unauthorized("this device has been revoked; enrol it again")
    return DeviceContext(
        *row[:6],
        DealerState(row.dealer_id, *row[8:14]),
        enrolment=enrolment_key(token_hash),
        full_pull=bool(row.full_pull),
        held_mark=newest if newest and row.commit_id == newest[1] else None,
    )


def _retry_after(engine: Engine, address: str, now: dt.datetime, max_failures: int, window: int):
    since = now - dt.timedelta(seconds=window)
    with read_transaction(engine) as conn:
        failures = conn.execute(
            select(func.count(), func.min(enroll_attempt.c.at)).where(
                enroll_attempt.c.address == address,
                enroll_attempt.c.ok.is_(False),
                enroll_attempt.c.at > since,
            )
        ).one()
    count, oldest = failures
    if count < max_failures:
        return None
    return max(1, math.ceil((oldest + dt.timedelta(seconds=window) - now).total_seconds()))


def enroll(
    engine: Engine,
    *,
    code: str,
    device_name: str,
    device_id: str,
    address: str,
    schema_version: int | None = None,
    max_failures: int = 10,
    window_seconds: int = 15 * 60,
) -> dict:
    """Exchange a one-time code for a device token.

    401 for a wrong, used or expired code (one message for all), 429 after ``max_failures``
    failed attempts from ``address`` within the window, 409 when ``device_id`` is enrolled under
    another dealer. Enrolling an id again for the same dealer (after a revoke, or a reinstall)
    issues a fresh token and makes the old one useless.
    """
    now = utcnow()
    wait = _retry_after(engine, address, now, max_failures, window_seconds)
    if wait is not None:
        raise ApiError(
            429,
            protocol.ERROR_RATE_LIMITED,
            f"too many failed enrolment attempts; retry in {wait} s",
            headers={"Retry-After": str(wait)},
        )
    token = new_token()
    failure: ApiError | None = None
    with write_transaction(engine) as conn:
        found = conn.execute(
            select(
                enrollment_code.c.code_hash,
                enrollment_code.c.dealer_id,
                enrollment_code.c.expires_at,
                enrollment_code.c.used_at,
            ).where(enrollment_code.c.code_hash == hash_secret(normalize_code(code)))
        ).first()
        if found is None or found.used_at is not None or found.expires_at <= now:
            failure = unauthorized(BAD_CODE)
        else:
            existing = conn.execute(
                select(device.c.dealer_id).where(device.c.id == device_id)
            ).first()
            if existing is not None and existing.dealer_id != found.dealer_id:
                failure = ApiError(
                    409, ERROR_DEVICE_TAKEN, "device_id is enrolled with another dealer"
                )
        conn.execute(
            insert(enroll_attempt).values(
                address=address, at=now, ok=failure is None or failure.status == 409
            )
        )
        # Old attempts no longer count; keep the table small.
        conn.execute(delete(enroll_attempt).where(enroll_attempt.c.at < now - dt.timedelta(days=1)))
        if failure is None:
            values = {
                "name": device_name,
                "token_hash": hash_secret(token),
                "enrolled_at": now,
                "revoked_at": None,
                "last_seen_at": now,
                "schema_version": schema_version,
            }
            if existing is None:
                conn.execute(
                    insert(device).values(id=device_id, dealer_id=found.dealer_id, **values)
                )
            else:
                conn.execute(update(device).where(device.c.id == device_id).values(**values))
            conn.execute(
                update(enrollment_code)
                .where(enrollment_code.c.code_hash == found.code_hash)
                .values(used_at=now, used_by_device=device_id)
            )
            ensure_dealer_record(conn, found.dealer_id, now)
            state = load_dealer(conn, found.dealer_id)
    if failure is not None:
        raise failure
    return {
        "device_id": device_id,
        "token": token,
        "dealer_id": state.id,
        "dealer_name": state.name,
        "epoch": state.epoch,
        "server_time": now.isoformat(),
    }


def parse_enroll_body(body: object) -> tuple[str, str, str | None]:
    """(code, device_name, device_id) from an enrolment request, or 400 naming the field."""
    if not isinstance(body, dict):
        raise bad_request("body: expected a JSON object")
    code = body.get("code")
    if not isinstance(code, str) or not code.strip() or len(code) > 64 or not code.isascii():
        raise bad_request("code: expected the enrolment code as text")
    name = body.get("device_name")
    if not isinstance(name, str) or not name.strip() or len(name) > 100:
        raise bad_request("device_name: expected a name of 1 to 100 characters")
    try:
        check_text(name)
    except ValueError as exc:
        raise bad_request(f"device_name: {exc}") from None
    device_id = body.get("device_id")
    if device_id is not None and (
        not isinstance(device_id, str)
        or not device_id.strip()
        or len(device_id) > 36
        or not device_id.isascii()
    ):
        raise bad_request("device_id: expected an id of at most 36 characters")
    return code, name.strip(), device_id


def dealer_exists(engine: Engine, dealer_id: str) -> bool:
    with read_transaction(engine) as conn:
        return conn.execute(select(dealer.c.id).where(dealer.c.id == dealer_id)).first() is not None
