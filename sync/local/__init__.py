"""The laptop's side of sync that needs no network: state keys, outbox batches, pulled pages.

Everything here works on the local SQLite database through SQLAlchemy Core, so that the
100,000-customer initial upload and download stay bulk operations, and so that it can be tested
without a server. :mod:`sync.client` drives these functions over HTTP.

Contracts kept here (DESIGN.md, "Sync contract"):

* A pulled page and the cursor that follows it are written in one transaction.
* Pulled rows never make outbox ops. Pending (unacknowledged) ops are re-applied on top of
  pulled rows, so the user keeps seeing their unsynced edits.
* A batch id is stored on the ops before they are sent, so a retry is the same batch.
* A rejected op stays in the outbox with its reason.
* Full resync: rows that the server has not sent again are marked by a negative
  ``server_version`` until it does; the marks survive a crash, so a resync resumes instead of
  restarting, and what is still marked at the end was purged on the server.

The modules: :mod:`.store` (state, tables, value converters), :mod:`.outbox` (batches and
answers), :mod:`.pull` (pulled pages), :mod:`.resync` (full resync, checksums),
:mod:`.searchkeys` (search index upkeep), :mod:`.upload` (the initial upload, streamed from
the tables) and :mod:`.enrolment`.
"""

from showroom.db.outbox import from_wire, to_wire
from sync.local.enrolment import EnrolmentChanges, adopt_enrolment, system_user_id
from sync.local.outbox import (
    Batch,
    PushOutcome,
    assign_batch,
    next_batch,
    pending_ops,
    record_results,
    requeue_lost_rows,
)
from sync.local.pull import PageResult, apply_pull_page, begin_bulk_download, end_bulk_download
from sync.local.resync import (
    finish_full_resync,
    full_resync_pending,
    local_checksums,
    start_full_resync,
)
from sync.local.searchkeys import rebuild_search_if_needed
from sync.local.snapshot import (
    SnapshotRefused,
    discard_snapshot_file,
    import_snapshot,
    schema_revision,
    snapshot_file,
    snapshot_wanted,
)
from sync.local.store import (
    BULK_DOWNLOAD_KEY,
    DEALER_TABLE,
    DEVICE_KEY,
    FULL_RESYNC_KEY,
    HISTORY_KEY,
    PURGED_KEY,
    REINDEX_LIMIT,
    SEARCH_REBUILD_KEY,
    SYSTEM_USERNAME,
    LocalSyncError,
    content_columns,
    cursor_of,
    get_state,
    pending_count,
    read_state,
    set_state,
    stored_value,
    synced_tables,
    utc_text,
    wire_value,
    write_state,
)
from sync.local.upload import (
    INITIAL_POSITION_KEY,
    INITIAL_ROWS_KEY,
    INITIAL_UPLOAD_KEY,
    BulkBatch,
    InitialBatch,
    begin_initial_upload,
    finish_initial_upload,
    initial_upload_pending,
    initial_upload_remaining,
    initial_upload_waiting,
    next_bulk_batch,
    next_initial_batch,
    record_bulk_results,
    record_initial_results,
    upload_op_id,
    write_upload_versions,
)

__all__ = [
    "BULK_DOWNLOAD_KEY",
    "DEALER_TABLE",
    "DEVICE_KEY",
    "FULL_RESYNC_KEY",
    "HISTORY_KEY",
    "INITIAL_POSITION_KEY",
    "INITIAL_ROWS_KEY",
    "INITIAL_UPLOAD_KEY",
    "PURGED_KEY",
    "REINDEX_LIMIT",
    "SEARCH_REBUILD_KEY",
    "SYSTEM_USERNAME",
    "Batch",
    "BulkBatch",
    "EnrolmentChanges",
    "InitialBatch",
    "LocalSyncError",
    "PageResult",
    "PushOutcome",
    "SnapshotRefused",
    "adopt_enrolment",
    "apply_pull_page",
    "assign_batch",
    "begin_bulk_download",
    "begin_initial_upload",
    "content_columns",
    "cursor_of",
    "discard_snapshot_file",
    "end_bulk_download",
    "finish_full_resync",
    "finish_initial_upload",
    "from_wire",
    "full_resync_pending",
    "get_state",
    "import_snapshot",
    "initial_upload_pending",
    "initial_upload_remaining",
    "initial_upload_waiting",
    "local_checksums",
    "next_batch",
    "next_bulk_batch",
    "next_initial_batch",
    "pending_count",
    "pending_ops",
    "read_state",
    "rebuild_search_if_needed",
    "record_bulk_results",
    "record_initial_results",
    "record_results",
    "requeue_lost_rows",
    "schema_revision",
    "set_state",
    "snapshot_file",
    "snapshot_wanted",
    "start_full_resync",
    "stored_value",
    "synced_tables",
    "system_user_id",
    "to_wire",
    "upload_op_id",
    "utc_text",
    "wire_value",
    "write_state",
    "write_upload_versions",
]
