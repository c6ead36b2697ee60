"""The sync wire format, shared by the laptop client and the central server.

Everything is JSON (gzip accepted and sent both ways), under ``/v1``. Every call but enrolment
carries ``Authorization: Bearer <device token>`` and ``X-Showroom-Schema: <SCHEMA_VERSION>``.

``POST /v1/enroll``  ``{"code", "device_name"}`` ->
    ``{"device_id", "token", "dealer_id", "dealer_name", "server_time"}``.
    401 for a wrong, used or expired code (one message for all three); 429 with ``Retry-After``
    after too many attempts from one address.

``GET /v1/meta`` -> ``{"dealer_id", "dealer_name", "device_id", "last_seq", "epoch",
    "epoch_base_seq", "purged_through", "server_time", "min_schema", "max_batch_ops",
    "max_bulk_rows"}``. ``max_bulk_rows`` 0 (or absent, on an older server): no bulk path.

``POST /v1/sync/push``  ``{"batch_id", "epoch", "cursor", "ops": [op, ...]}`` where op is
    ``{"op_id", "table", "row_id", "op": "insert"|"update"|"delete",
    "fields": {name: {"new": v, "base": v}}, "base_version", "created_at", "actor_id"}``
    -> ``{"batch_id", "results": [{"op_id", "status", "version", "reason"}], "last_seq",
    "server_time"}``. One result per op, in order. ``status`` is one of ``RESULT_*``;
    ``version`` is the row's server_seq after the op (None when rejected); ``reason`` explains
    a rejection. A retried ``batch_id`` returns the stored answer; an ``op_id`` seen before
    answers ``duplicate``.

``POST /v1/sync/bulk``  ``{"batch_id", "epoch", "cursor", "table", "columns": [name, ...],
    "rows": [[id, value, ...], ...]}``: a laptop's first upload, rows of one table as values
    in ``columns`` order. -> ``{"batch_id", "table", "last_seq", "server_time"}`` with either
    ``"first_version"`` and ``"rejected": [{"index", "reason"}]`` (every other row was stored
    and took the next version from ``first_version`` on, in row order) or ``"results"``: one
    push result per row, whose ``op_id`` is :func:`upload_op_id`. See
    :mod:`sync.server.bulk`.

``GET /v1/sync/pull?since=N&limit=M`` -> ``{"rows": [row, ...], "next_since", "has_more",
    "last_seq", "server_time"}`` where row is ``{"table", "id", "version", "deleted", "data",
    "updated_at", "updated_by_device"}``; ``data`` holds the content columns (no sync columns).
    Rows come in ``version`` order; each row appears once, in its latest state.
    Optional ``&skip_own=true``: rows this enrolment inserted and the server stored exactly as
    sent (canonical values, every column, not changed since) are left out, ``next_since`` still
    moving past them. Never in a full resync.

``GET /v1/sync/checksum`` -> ``{"through": last_seq, "tables": {table: {"count", "hash"}}}``
    over every row (tombstones included), computed with :func:`table_checksum`.

Errors are ``{"error": <code>, "detail": <text>}`` with the status codes below. A request the
server cannot parse, or one that is too large, is a 4xx, never a 500.
"""

from __future__ import annotations

import hashlib
import json
import uuid
from collections.abc import Iterable, Mapping
from typing import Any

API_PREFIX = "/v1"

# The version of the synced tables' shape. Raise it when a synced column is added; the server
# answers 426 to a client below its minimum, and the client keeps its outbox until upgraded.
# 3: quotes and quote lines, and the trim's dealer cost.
SCHEMA_VERSION = 3
SCHEMA_HEADER = "X-Showroom-Schema"
EPOCH_HEADER = "X-Showroom-Epoch"

MAX_BATCH_OPS = 500
# Rows per initial-upload batch on the bulk path (POST /sync/bulk), when meta offers it.
MAX_BULK_ROWS = 10_000
MAX_PULL_LIMIT = 5000
DEFAULT_PULL_LIMIT = 1000
# Largest request body the server reads, after gzip is undone.
MAX_BODY_BYTES = 8 * 1024 * 1024

OP_INSERT = "insert"
OP_UPDATE = "update"
OP_DELETE = "delete"
OPS = (OP_INSERT, OP_UPDATE, OP_DELETE)

RESULT_APPLIED = "applied"
RESULT_MERGED = "merged"
RESULT_CONFLICT = "conflict"
RESULT_DUPLICATE = "duplicate"
RESULT_REJECTED = "rejected"
RESULTS = (RESULT_APPLIED, RESULT_MERGED, RESULT_CONFLICT, RESULT_DUPLICATE, RESULT_REJECTED)

# Error codes in {"error": ...}
ERROR_UNAUTHORIZED = "unauthorized"  # 401: no, unknown or revoked token; bad enrolment code
ERROR_FORBIDDEN = "forbidden"  # 403
ERROR_NOT_FOUND = "not_found"  # 404
ERROR_BAD_REQUEST = "bad_request"  # 400 / 422: malformed body or parameters
ERROR_TOO_LARGE = "too_large"  # 413
ERROR_RATE_LIMITED = "rate_limited"  # 429
ERROR_UPGRADE_REQUIRED = "upgrade_required"  # 426: client schema below the server's minimum
ERROR_EPOCH_CHANGED = "epoch_changed"  # 409: the server was restored from a backup
ERROR_RESYNC_REQUIRED = "resync_required"  # 410: cursor is behind purged tombstones

# The table the server writes conflict rows into; clients pull it like any other.
CONFLICT_TABLE = "sync_conflict"


# Namespace of the op ids of a laptop's initial upload (see upload_op_id).
_UPLOAD_IDS = uuid.UUID("5f0c8a52-3d1e-4d8b-9a57-0e6b2f9c4a11")


def upload_op_id(device_id: str, table: str, row_id: str) -> str:
    """The op id of a row's initial upload: the same every time its laptop sends it, so the
    server can tell a row sent again by either upload path."""
    return str(uuid.uuid5(_UPLOAD_IDS, f"{device_id}/{table}/{row_id}"))


def canonical_json(value: Any) -> str:
    return json.dumps(value, ensure_ascii=False, sort_keys=True, separators=(",", ":"))


def row_digest(row_id: str, version: int, deleted: bool, data: Mapping[str, Any]) -> bytes:
    """The digest of one row's synced state, identical on both sides when the rows agree."""
    text = canonical_json([row_id, int(version), bool(deleted), dict(data)])
    return hashlib.sha256(text.encode()).digest()


def table_checksum(rows: Iterable[tuple[str, int, bool, Mapping[str, Any]]]) -> dict[str, Any]:
    """``{"count", "hash"}`` for one table: rows are (id, version, deleted, data) in any order.

    Digests are combined by XOR, so the order rows are read in does not matter and either side
    can stream them.
    """
    return checksum_of_texts(
        canonical_json([row_id, int(version), bool(deleted), dict(data)])
        for row_id, version, deleted, data in rows
    )


def checksum_of_texts(texts: Iterable[str]) -> dict[str, Any]:
    """:func:`table_checksum` over rows given as their digest texts (the canonical JSON of
    ``[id, version, deleted, data]``), for callers that assemble those texts in SQL."""
    count = 0
    acc = 0
    sha256 = hashlib.sha256
    for text in texts:
        count += 1
        acc ^= int.from_bytes(sha256(text.encode()).digest(), "big")
    return {"count": count, "hash": f"{acc:064x}"}
