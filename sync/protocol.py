"""The sync wire format, shared by the laptop client and the central server.

Everything is JSON (gzip accepted and sent both ways), under ``/v1``. Every call but enrolment
carries ``Authorization: Bearer <device token>`` and ``X-Showroom-Schema: <SCHEMA_VERSION>``.

``POST /v1/enroll``  ``{"code", "device_name"}`` ->
    ``{"device_id", "token", "dealer_id", "dealer_name", "server_time"}``.
    401 for a wrong, used or expired code (one message for all three); 429 with ``Retry-After``
    after too many attempts from one address.

``GET /v1/meta`` -> ``{"dealer_id", "dealer_name", "device_id", "last_seq", "epoch",
    "epoch_base_seq", "purged_through", "server_time", "min_schema", "max_batch_ops",
    "max_bulk_rows", "clears_deleted_rows"}``. ``max_bulk_rows`` 0 (or absent, on an older
    server): no bulk path. ``clears_deleted_rows`` true: an edit of a deleted row that only
    clears values (to null or "") whose base is the stored value is applied to it rather than
    kept as a conflict, and so is an erasure of a deleted customer record (``erased_at`` set,
    the name replaced, personal fields cleared), whatever the record holds, so an erasure
    reaches deleted rows; a mark over another erasure's mark the laptop had not seen is also
    recorded as a field conflict, as on a live row (absent on an older server).

``POST /v1/sync/push``  ``{"batch_id", "epoch", "cursor", "ops": [op, ...]}`` where op is
    ``{"op_id", "table", "row_id", "op": "insert"|"update"|"delete",
    "fields": {name: {"new": v, "base": v}}, "base_version", "created_at", "actor_id"}``,
    and on a delete ``"held": {name: v}``, the row's other fields as the laptop held them
    (a difference from the stored row makes the delete a ``delete_edit`` conflict)
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

``GET /v1/sync/snapshot`` -> ``{"seq", "epoch", "schema", "rows", "bytes", "sha256",
    "built_at", "history", "server_time"}``: the dealer's snapshot, which a fresh laptop (one
    that pulled nothing yet) may start from instead of pulling from 0 (see
    :mod:`sync.server.snapshot`); 404 when there is none it could start from.
    ``GET /v1/sync/snapshot/{seq}`` -> the file (``SNAPSHOT_TYPE``, ``bytes`` long, its sha256
    ``sha256``): a laptop database of migration revision ``schema`` holding every row up to
    ``seq`` of ``epoch``, with its search index. The laptop copies it in and pulls from ``seq``.

History marks (restore detection without the operator). Every server commit that hands out
versions gets a random id; meta, push, bulk and pull answers carry ``"history": "SEQ.ID"``, the
dealer's last seq and the id of the commit that reached it (null before the first such commit).
A laptop keeps a thinned list of the marks it was given (:func:`thin_history`) and sends them
back in ``X-Showroom-History: SEQ.ID,SEQ.ID,...`` (newest first): the whole list with meta, its
newest mark with push, bulk and pull. A mark the server no longer has (another commit holds
that seq, or the seq is beyond its counter) means it was restored from an older backup: it
starts a new epoch and answers 409 ``epoch_changed``. ``epoch_base_seq`` is then the newest of
the given marks it does have below the oldest it does not, else the previous epoch's base, so
every laptop re-sends at least what was lost. Marks older than the server's kept history are not
judged.

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
# 4: the quote's approved_signature (what a discount's approval covered).
# 5: the quote's issued_snapshot (what the printed quote held).
SCHEMA_VERSION = 5
SCHEMA_HEADER = "X-Showroom-Schema"
EPOCH_HEADER = "X-Showroom-Epoch"
HISTORY_HEADER = "X-Showroom-History"
# Marks a laptop keeps (and sends with meta): the newest few, then one per doubling of the
# distance from the newest, so an old restore point is still covered.
HISTORY_NEWEST = 8
MAX_HISTORY_MARKS = 48
_COMMIT_ID_LENGTH = 16  # hex digits

MAX_BATCH_OPS = 500
# Rows per initial-upload batch on the bulk path (POST /sync/bulk), when meta offers it.
MAX_BULK_ROWS = 10_000
MAX_PULL_LIMIT = 5000
DEFAULT_PULL_LIMIT = 1000
# A dealer's snapshot (GET /v1/sync/snapshot/{seq}): a laptop database, zstd-compressed.
SNAPSHOT_TYPE = "application/zstd"
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


# --- history marks ---------------------------------------------------------------------------

Mark = tuple[int, str]  # (seq, commit id)


def format_mark(mark: Mark) -> str:
    return f"{mark[0]}.{mark[1]}"


def format_history(marks: Iterable[Mark]) -> str:
    return ",".join(format_mark(mark) for mark in marks)


def parse_mark(text: str) -> Mark:
    """``"SEQ.ID"`` as (seq, id); ValueError saying what is wrong."""
    seq, dot, commit = text.strip().partition(".")
    if not dot or not seq.isascii() or not seq.isdigit() or len(seq) > 19:
        raise ValueError(f"expected SEQ.ID, got {text.strip()[:40]!r}")
    commit = commit.lower()
    if len(commit) != _COMMIT_ID_LENGTH or any(ch not in "0123456789abcdef" for ch in commit):
        raise ValueError(f"expected a {_COMMIT_ID_LENGTH}-digit hex commit id in {text[:40]!r}")
    return int(seq), commit


def parse_history(text: str) -> list[Mark]:
    """A history header as marks, newest first; ValueError for a malformed one."""
    parts = [part for part in text.split(",") if part.strip()]
    if len(parts) > MAX_HISTORY_MARKS:
        raise ValueError(f"at most {MAX_HISTORY_MARKS} marks, got {len(parts)}")
    return sorted((parse_mark(part) for part in parts), reverse=True)


def thin_history(marks: Iterable[Mark], new: Mark | None = None) -> list[Mark]:
    """The marks worth keeping once ``new`` is added, newest first.

    The newest :data:`HISTORY_NEWEST` stay; of the older ones, one per power-of-two distance
    from the newest (the newest in each band). A mark at a seq already held is replaced: the
    newer answer speaks for the server's present history.
    """
    by_seq = {seq: commit for seq, commit in marks}
    if new is not None:
        by_seq[new[0]] = new[1]
    ordered = sorted(by_seq.items(), reverse=True)
    kept = ordered[:HISTORY_NEWEST]
    if len(ordered) > HISTORY_NEWEST:
        newest = ordered[0][0]
        bands: set[int] = set()
        for seq, commit in ordered[HISTORY_NEWEST:]:
            band = (newest - seq).bit_length()
            if band not in bands:
                bands.add(band)
                kept.append((seq, commit))
    return kept[:MAX_HISTORY_MARKS]
