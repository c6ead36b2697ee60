"""The FastAPI app: thin routes over auth, push, pull and meta. Errors are always
``{"error", "detail"}``; a request the server cannot read is a 4xx, never a 500."""

from __future__ import annotations

import contextlib
import dataclasses
import json
import logging
import zlib
from collections.abc import AsyncIterator, Callable
from functools import partial
from typing import Annotated, Any

import anyio.to_thread
import orjson
from fastapi import Depends, FastAPI, Header, Query, Request
from fastapi.exceptions import RequestValidationError
from fastapi.middleware.gzip import GZipMiddleware
from fastapi.responses import FileResponse, JSONResponse, Response
from sqlalchemy.exc import OperationalError
from starlette.background import BackgroundTask
from starlette.concurrency import run_in_threadpool
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.middleware.gzip import DEFAULT_EXCLUDED_CONTENT_TYPES

from showroom.ids import new_id
from sync import protocol
from sync.server import auth, bulk, notes, pull, push, snapshot
from sync.server.config import Settings
from sync.server.db import make_engine, utcnow
from sync.server.errors import ApiError, bad_request, too_large
from sync.server.records import history_value

log = logging.getLogger(__name__)

P = protocol.API_PREFIX
JSON_TYPE = "application/json"

_OP_SCHEMA = {
    "type": "object",
    "required": ["op_id", "table", "row_id", "op", "fields", "base_version"],
    "properties": {
        "op_id": {"type": "string", "maxLength": 36},
        "table": {"type": "string"},
        "row_id": {"type": "string", "maxLength": 36},
        "op": {"type": "string", "enum": list(protocol.OPS)},
        "fields": {
            "type": "object",
            "additionalProperties": {
                "type": "object",
                "required": ["new"],
                "properties": {"new": {}, "base": {}},
            },
        },
        "base_version": {"type": "integer", "minimum": 0},
        "created_at": {"type": "string", "description": "informational only"},
        "actor_id": {"type": ["string", "null"]},
        "held": {
            "type": "object",
            "description": "deletes: {field: value} of the row as the laptop held it when deleted",
        },
    },
}
_PUSH_SCHEMA = {
    "type": "object",
    "required": ["batch_id", "ops"],
    "properties": {
        "batch_id": {"type": "string", "maxLength": 36},
        "epoch": {"type": ["string", "null"]},
        "cursor": {"type": "integer", "minimum": 0},
        "ops": {"type": "array", "maxItems": protocol.MAX_BATCH_OPS, "items": _OP_SCHEMA},
    },
}
_BULK_SCHEMA = {
    "type": "object",
    "required": ["batch_id", "table", "columns", "rows"],
    "properties": {
        "batch_id": {"type": "string", "maxLength": 36},
        "epoch": {"type": ["string", "null"]},
        "cursor": {"type": "integer", "minimum": 0},
        "table": {"type": "string"},
        "columns": {"type": "array", "items": {"type": "string"}},
        "rows": {
            "type": "array",
            "maxItems": protocol.MAX_BULK_ROWS,
            "items": {"type": "array", "description": "[id, one value per column]"},
        },
    },
}
_ENROLL_SCHEMA = {
    "type": "object",
    "required": ["code", "device_name"],
    "properties": {
        "code": {"type": "string", "example": "ABCD-EFGH-JKMN"},
        "device_name": {"type": "string", "maxLength": 100},
        "device_id": {"type": "string", "maxLength": 36, "description": "the laptop's own id"},
    },
}


_ERROR_SCHEMA = {
    "type": "object",
    "required": ["error", "detail"],
    "properties": {"error": {"type": "string"}, "detail": {"type": "string"}},
}
_ERROR_TEXT = {
    400: "malformed body, parameter or header; the detail names it",
    401: "no, unknown or revoked device token; or a wrong, used or expired enrolment code",
    409: "the server's history changed (restored from a backup), or the device id is taken",
    410: "the cursor is behind purged deleted rows: re-sync from 0",
    404: "nothing to offer: no snapshot of this dealer that a laptop may start from",
    413: "body or batch too large",
    415: "unsupported Content-Encoding",
    422: "malformed parameter",
    426: "client schema too old",
    429: "too many failed enrolment attempts",
    503: "database unavailable; retry shortly",
}
_SEQ = {"type": "integer", "minimum": 0}
_TIME = {"type": "string"}
_ID = {"type": "string"}
_OPT_ID = {"type": ["string", "null"]}
_HISTORY = {
    "type": ["string", "null"],
    "description": "SEQ.ID: the dealer's last seq and its commit's id (sync.protocol)",
}


def _object(**properties: dict) -> dict:
    return {"type": "object", "required": list(properties), "properties": properties}


_ENROLLED_SCHEMA = _object(
    device_id=_ID, token=_ID, dealer_id=_ID, dealer_name=_ID, epoch=_ID, server_time=_TIME
)
_META_SCHEMA = _object(
    dealer_id=_ID,
    dealer_name=_ID,
    device_id=_ID,
    last_seq=_SEQ,
    epoch=_ID,
    epoch_base_seq=_SEQ,
    purged_through=_SEQ,
    history=_HISTORY,
    server_time=_TIME,
    min_schema={"type": "integer"},
    max_batch_ops={"type": "integer", "minimum": 1},
    max_bulk_rows={"type": "integer", "minimum": 0, "description": "0: no bulk path"},
    clears_deleted_rows={
        "type": "boolean",
        "description": (
            "an edit clearing values a laptop saw, or an erasure of a customer record,"
            " is applied to a deleted row"
        ),
    },
)
_PUSHED_SCHEMA = _object(
    batch_id=_ID,
    results={
        "type": "array",
        "items": _object(
            op_id=_ID,
            status={"type": "string", "enum": list(protocol.RESULTS)},
            version={"type": ["integer", "null"]},
            reason={"type": ["string", "null"]},
        ),
    },
    last_seq=_SEQ,
    history=_HISTORY,
    server_time=_TIME,
)
# A batch answered before the server kept history marks is returned to its retries as stored.
_PUSHED_SCHEMA["required"].remove("history")
_BULK_ANSWER_SCHEMA = {
    "type": "object",
    "required": ["batch_id", "table", "last_seq", "server_time"],
    "properties": {
        "batch_id": _ID,
        "table": _ID,
        "first_version": {"type": ["integer", "null"]},
        "rejected": {
            "type": "array",
            "items": _object(index={"type": "integer"}, reason={"type": "string"}),
        },
        "results": _PUSHED_SCHEMA["properties"]["results"],
        "last_seq": _SEQ,
        "history": _HISTORY,
        "server_time": _TIME,
    },
}
_PULLED_SCHEMA = _object(
    rows={
        "type": "array",
        "items": _object(
            table=_ID,
            id=_ID,
            version=_SEQ,
            deleted={"type": "boolean"},
            data={"type": "object"},
            updated_at=_TIME,
            updated_by_device=_OPT_ID,
        ),
    },
    next_since=_SEQ,
    has_more={"type": "boolean"},
    last_seq=_SEQ,
    history=_HISTORY,
    server_time=_TIME,
)
_CHECKSUM_SCHEMA = _object(
    through=_SEQ,
    tables={
        "type": "object",
        "additionalProperties": _object(
            count={"type": "integer", "minimum": 0}, hash={"type": "string"}
        ),
    },
)
_SNAPSHOT_SCHEMA = _object(
    seq={**_SEQ, "description": "every row up to this version is in the file"},
    epoch=_ID,
    schema={"type": "string", "description": "the laptop database's migration revision"},
    rows={"type": "integer", "minimum": 0},
    bytes={"type": "integer", "minimum": 0, "description": "of the compressed file"},
    sha256={"type": "string", "description": "of the compressed file"},
    built_at=_TIME,
    unpacked={"type": "integer", "minimum": 0, "description": "of the file unpacked (0: unknown)"},
    history=_HISTORY,
    server_time=_TIME,
)
_AUTHENTICATED = (400, 401, 422, 426, 503)


def _responses(ok: dict, *statuses: int) -> dict:
    """The documented answers of a route: its success and every error status it can give."""
    answers: dict = {200: {"description": "OK", "content": {JSON_TYPE: {"schema": ok}}}}
    for status in sorted(set(statuses)):
        answers[status] = {
            "description": _ERROR_TEXT[status],
            "content": {JSON_TYPE: {"schema": _ERROR_SCHEMA}},
        }
    return answers


class ErrorResponse(JSONResponse):
    """JSON in ASCII: a detail may quote a client's broken text, which must not break the
    answer itself."""

    def render(self, content: Any) -> bytes:
        return json.dumps(content).encode()


def _body_doc(schema: dict) -> dict:
    return {"requestBody": {"required": True, "content": {JSON_TYPE: {"schema": schema}}}}


async def read_body(request: Request, max_bytes: int) -> bytes:
    """The raw request body, never more than ``max_bytes`` read."""
    declared = request.headers.get("content-length")
    if declared is not None and declared.isdigit() and int(declared) > max_bytes:
        raise too_large(f"body: larger than {max_bytes} bytes")
    chunks = []
    size = 0
    async for chunk in request.stream():
        size += len(chunk)
        if size > max_bytes:
            raise too_large(f"body: larger than {max_bytes} bytes")
        chunks.append(chunk)
    return b"".join(chunks)


def decode_json(raw: bytes, content_encoding: str | None, max_bytes: int) -> Any:
    """A body as JSON, gzip undone without ever inflating more than ``max_bytes``.

    CPU work: callers run it off the event loop."""
    encoding = (content_encoding or "identity").strip().lower()
    if encoding == "gzip":
        inflater = zlib.decompressobj(16 + zlib.MAX_WBITS)
        try:
            raw = inflater.decompress(raw, max_bytes + 1)
        except zlib.error as exc:
            raise bad_request(f"body: not valid gzip ({exc})") from None
        if len(raw) > max_bytes or inflater.unconsumed_tail:
            raise too_large(f"body: larger than {max_bytes} bytes once decompressed")
        if not inflater.eof:
            raise bad_request("body: truncated gzip")
    elif encoding not in ("identity", ""):
        raise ApiError(415, protocol.ERROR_BAD_REQUEST, "Content-Encoding: only gzip is accepted")
    if not raw:
        raise bad_request("body: empty; expected a JSON object")
    try:
        # orjson reads a large body several times faster. What it refuses (a lone surrogate,
        # an integer beyond 64 bits, NaN) goes to the standard parser, so that such values
        # still reach the per-field checks and are answered as before.
        return orjson.loads(raw)
    except orjson.JSONDecodeError:
        pass
    try:
        return json.loads(raw)
    except (UnicodeDecodeError, ValueError) as exc:
        raise bad_request(f"body: not valid JSON ({exc})") from None
    except RecursionError:
        raise bad_request("body: JSON nested too deeply") from None


def check_schema(value: str | None, min_schema: int) -> int:
    header = protocol.SCHEMA_HEADER
    if value is None:
        raise bad_request(f"{header}: header missing; send the client's schema version")
    try:
        version = int(value)
    except ValueError:
        raise bad_request(f"{header}: expected a whole number, got {value!r}") from None
    if version < min_schema:
        raise ApiError(
            426,
            protocol.ERROR_UPGRADE_REQUIRED,
            f"{header}: schema {version} is too old; this server needs {min_schema} or newer",
            extra={"min_schema": min_schema},
        )
    return version


def history_marks(value: str | None) -> list[protocol.Mark]:
    """The marks of an ``X-Showroom-History`` header, newest first (400 naming the header)."""
    if not value:
        return []
    try:
        return protocol.parse_history(value)
    except ValueError as exc:
        raise bad_request(f"{protocol.HISTORY_HEADER}: {exc}") from None


def _newest_mark(value: str | None) -> protocol.Mark | None:
    """The newest mark of a history header, for the token check to look up. None when there is
    none, or the header is malformed: the route refuses that once the caller is known."""
    try:
        marks = protocol.parse_history(value or "")
    except ValueError:
        return None
    return marks[0] if marks else None


def judged_marks(who: auth.DeviceContext, value: str | None) -> list[protocol.Mark]:
    """The marks of a history header left to judge (400 naming the header when malformed):
    none when the newest was found in this server's history with the token."""
    marks = history_marks(value)
    if marks and marks[0] == who.held_mark:
        return []
    return marks


def current_device(
    request: Request,
    authorization: Annotated[str | None, Header()] = None,
    x_showroom_schema: Annotated[str | None, Header()] = None,
    x_showroom_history: Annotated[str | None, Header()] = None,
) -> auth.DeviceContext:
    """The calling device (401 unless its token is valid), once its schema is new enough."""
    who = auth.authenticate(
        request.app.state.engine, authorization, _newest_mark(x_showroom_history)
    )
    check_schema(x_showroom_schema, request.app.state.settings.min_schema)
    return who


Device = Annotated[auth.DeviceContext, Depends(current_device)]


@dataclasses.dataclass(frozen=True)
class Caller:
    """A request's credentials, checked by :meth:`device` on the worker thread that then does
    the request's work (one hop off the event loop instead of two)."""

    authorization: str | None
    schema: str | None
    history: str | None = None

    def device(self, engine, min_schema: int) -> auth.DeviceContext:
        who = auth.authenticate(engine, self.authorization, _newest_mark(self.history))
        check_schema(self.schema, min_schema)
        return who

    def marks(self, who: auth.DeviceContext) -> list[protocol.Mark]:
        return judged_marks(who, self.history)


async def caller(
    authorization: Annotated[str | None, Header()] = None,
    x_showroom_schema: Annotated[str | None, Header()] = None,
    x_showroom_history: Annotated[str | None, Header()] = None,
) -> Caller:
    return Caller(authorization, x_showroom_schema, x_showroom_history)


Credentials = Annotated[Caller, Depends(caller)]
Epoch = Annotated[str | None, Header(alias=protocol.EPOCH_HEADER)]
History = Annotated[str | None, Header(alias=protocol.HISTORY_HEADER)]


def create_app(settings: Settings, engine=None) -> FastAPI:
    """The app over ``engine`` (made from ``settings.db_url`` if not given; not migrated here)."""
    engine = engine if engine is not None else make_engine(settings.db_url)

    keeper = None
    if settings.snapshot_dir is not None and settings.snapshot_min_rows > 0:
        keeper = snapshot.SnapshotKeeper(
            engine,
            settings.snapshot_dir,
            settings.snapshot_min_rows,
            settings.snapshot_check_seconds,
        )

    @contextlib.asynccontextmanager
    async def lifespan(_app: FastAPI) -> AsyncIterator[None]:
        if settings.threads > 0:
            anyio.to_thread.current_default_thread_limiter().total_tokens = settings.threads
        if keeper is not None:
            keeper.start()
        try:
            yield
        finally:
            if keeper is not None:
                keeper.stop()
            try:
                notes.flush(engine)
            except Exception:  # the process ends anyway; the notes only hold a purge back
                log.exception("writing pull notes at shutdown failed")

    app = FastAPI(
        lifespan=lifespan,
        title="Showroom sync server",
        version=str(protocol.SCHEMA_VERSION),
        description="Central sync server for Showroom laptops. See sync/protocol.py.",
    )
    app.state.engine = engine
    app.state.settings = settings
    app.state.snapshot_keeper = keeper
    # Pull pages are large and repetitive JSON. The fastest level costs about a third of the
    # CPU of level 5 for some 20 % more bytes: the server's time is the scarcer of the two.
    # Snapshots are compressed already.
    app.add_middleware(
        GZipMiddleware,
        minimum_size=1000,
        compresslevel=1,
        exclude_content_types=(*DEFAULT_EXCLUDED_CONTENT_TYPES, protocol.SNAPSHOT_TYPE),
    )

    @app.exception_handler(ApiError)
    async def _api_error(_request: Request, exc: ApiError) -> JSONResponse:
        return ErrorResponse(exc.body(), status_code=exc.status, headers=exc.headers)

    @app.exception_handler(RequestValidationError)
    async def _invalid(_request: Request, exc: RequestValidationError) -> JSONResponse:
        problems = []
        for error in exc.errors():
            where = ".".join(str(part) for part in error.get("loc", ()) if part != "query")
            problems.append(f"{where}: {error.get('msg')}")
        detail = "; ".join(problems) or "invalid request"
        return ErrorResponse({"error": protocol.ERROR_BAD_REQUEST, "detail": detail}, 422)

    @app.exception_handler(StarletteHTTPException)
    async def _http(_request: Request, exc: StarletteHTTPException) -> JSONResponse:
        code = protocol.ERROR_NOT_FOUND if exc.status_code == 404 else protocol.ERROR_BAD_REQUEST
        return ErrorResponse(
            {"error": code, "detail": str(exc.detail)},
            status_code=exc.status_code,
            headers=getattr(exc, "headers", None),
        )

    @app.exception_handler(OperationalError)
    async def _database_unavailable(_request: Request, exc: OperationalError) -> JSONResponse:
        # A lost connection or a lock wait that ran out: nothing was committed, retrying is safe.
        log.warning("database unavailable: %s", exc.orig)
        body = {"error": "unavailable", "detail": "database unavailable; retry shortly"}
        return ErrorResponse(body, 503, headers={"Retry-After": "1"})

    @app.exception_handler(Exception)
    async def _unexpected(_request: Request, exc: Exception) -> JSONResponse:
        log.exception("unexpected error", exc_info=exc)
        return ErrorResponse({"error": "internal", "detail": "unexpected server error"}, 500)

    @app.post(
        f"{P}/enroll",
        openapi_extra=_body_doc(_ENROLL_SCHEMA),
        tags=["devices"],
        responses=_responses(_ENROLLED_SCHEMA, 400, 401, 409, 413, 415, 422, 426, 429, 503),
    )
    async def enroll(
        request: Request,
        x_showroom_schema: Annotated[str | None, Header()] = None,
    ) -> JSONResponse:
        """Trade a one-time enrolment code for a device token."""
        raw = await read_body(request, settings.max_body_bytes)
        encoding = request.headers.get("content-encoding")
        body = decode_json(raw, encoding, settings.max_body_bytes)
        code, device_name, device_id = auth.parse_enroll_body(body)
        schema = None
        if x_showroom_schema is not None:
            schema = check_schema(x_showroom_schema, settings.min_schema)
        address = request.client.host if request.client else "unknown"
        answer = await run_in_threadpool(
            auth.enroll,
            engine,
            code=code,
            device_name=device_name,
            device_id=device_id or new_id(),
            address=address[:64],
            schema_version=schema,
            max_failures=settings.enroll_max_failures,
            window_seconds=settings.enroll_window_seconds,
        )
        return JSONResponse(answer)

    @app.get(f"{P}/meta", tags=["sync"], responses=_responses(_META_SCHEMA, *_AUTHENTICATED))
    async def meta(credentials: Credentials, epoch: Epoch = None) -> dict:
        """The dealer's counter, epoch and purge state, and the server's limits. History marks
        that show a restore from an older backup start a new epoch first."""

        def work() -> dict:
            who = credentials.device(engine, settings.min_schema)
            return pull.meta(engine, who, settings, epoch, credentials.marks(who))

        return await run_in_threadpool(work)

    async def write_request(
        request: Request,
        work: Callable[[Any], str],
        after: Callable[[], None] | None = None,
    ) -> Response:
        """Read a write request's body, then decode it and do ``work`` on a worker thread;
        ``after`` runs once the answer is sent."""
        raw = await read_body(request, settings.max_body_bytes)
        encoding = request.headers.get("content-encoding")

        def run() -> str:
            return work(decode_json(raw, encoding, settings.max_body_bytes))

        background = BackgroundTask(after) if after is not None else None
        return Response(await run_in_threadpool(run), media_type=JSON_TYPE, background=background)

    @app.post(
        f"{P}/sync/push",
        openapi_extra=_body_doc(_PUSH_SCHEMA),
        tags=["sync"],
        responses=_responses(_PUSHED_SCHEMA, *_AUTHENTICATED, 409, 413, 415),
    )
    async def sync_push(
        request: Request, who: Device, epoch: Epoch = None, history: History = None
    ) -> Response:
        """Apply a batch of ops; one result per op, in order."""
        marks = judged_marks(who, history)

        def apply(body: Any) -> str:
            return push.push(
                engine,
                who,
                body,
                epoch_header=epoch,
                max_ops=settings.max_batch_ops,
                marks=marks,
            )

        return await write_request(request, apply)

    @app.post(
        f"{P}/sync/bulk",
        openapi_extra=_body_doc(_BULK_SCHEMA),
        tags=["sync"],
        responses=_responses(_BULK_ANSWER_SCHEMA, *_AUTHENTICATED, 409, 413, 415),
    )
    async def sync_bulk(
        request: Request, who: Device, epoch: Epoch = None, history: History = None
    ) -> Response:
        """A laptop's first upload: new rows of one table as rows of values. Rows not on the
        server yet are stored as they are; anything else is handled as insert ops would be."""
        marks = judged_marks(who, history)

        def store(body: Any) -> str:
            return bulk.bulk(
                engine,
                who,
                body,
                epoch_header=epoch,
                max_rows=settings.max_bulk_rows,
                marks=marks,
            )

        return await write_request(request, store, partial(bulk.refresh_statistics, engine))

    @app.get(
        f"{P}/sync/pull",
        tags=["sync"],
        responses=_responses(_PULLED_SCHEMA, *_AUTHENTICATED, 409, 410),
    )
    async def sync_pull(
        credentials: Credentials,
        epoch: Epoch = None,
        since: Annotated[int, Query()] = 0,
        limit: Annotated[int, Query()] = protocol.DEFAULT_PULL_LIMIT,
        skip_own: Annotated[bool, Query()] = False,
    ) -> Response:
        """Rows changed after ``since``, in version order, ``limit`` at most. With ``skip_own``
        the rows this device pushed and holds exactly as stored are left out (never ask for it
        in a full resync)."""

        def work() -> str:
            who = credentials.device(engine, settings.min_schema)
            marks = credentials.marks(who)
            return pull.pull(engine, who, since, limit, epoch, skip_own=skip_own, marks=marks)

        return Response(await run_in_threadpool(work), media_type=JSON_TYPE)

    @app.get(
        f"{P}/sync/checksum", tags=["sync"], responses=_responses(_CHECKSUM_SCHEMA, *_AUTHENTICATED)
    )
    async def sync_checksum(credentials: Credentials) -> dict:
        """Count and hash of every table's rows (tombstones included)."""

        def work() -> dict:
            return pull.checksum(engine, credentials.device(engine, settings.min_schema))

        return await run_in_threadpool(work)

    def offered(who: auth.DeviceContext) -> snapshot.Snapshot:
        state = who.dealer
        found = None
        if settings.snapshot_dir is not None:
            found = snapshot.current(settings.snapshot_dir, who.dealer_id)
        if found is None or not snapshot.servable(found, state.epoch, state.purged_through):
            raise ApiError(404, protocol.ERROR_NOT_FOUND, "snapshot: none to start from yet")
        return found

    @app.get(
        f"{P}/sync/snapshot",
        tags=["sync"],
        responses=_responses(_SNAPSHOT_SCHEMA, *_AUTHENTICATED, 404),
    )
    async def sync_snapshot(credentials: Credentials) -> dict:
        """The dealer's snapshot a fresh laptop may start from instead of pulling from 0: a
        laptop database with every row up to ``seq``, compressed (zstd). 404 when there is
        none: pull from 0."""

        def work() -> dict:
            who = credentials.device(engine, settings.min_schema)
            found = offered(who)
            return {
                **dataclasses.asdict(found),
                "history": history_value(who.dealer.head),
                "server_time": utcnow().isoformat(),
            }

        return await run_in_threadpool(work)

    @app.get(
        f"{P}/sync/snapshot/{{seq}}",
        tags=["sync"],
        responses={
            200: {"description": "the file", "content": {protocol.SNAPSHOT_TYPE: {}}},
            **{
                k: v
                for k, v in _responses({}, *_AUTHENTICATED, 404).items()
                if k != 200  # the file, above
            },
        },
    )
    async def sync_snapshot_file(credentials: Credentials, seq: int) -> FileResponse:
        """The file of the dealer's snapshot at ``seq`` (404 once it is no longer kept)."""

        def work():
            who = credentials.device(engine, settings.min_schema)
            path = None
            if settings.snapshot_dir is not None:
                path = snapshot.file_path(settings.snapshot_dir, who.dealer_id, seq)
            if path is None:
                raise ApiError(404, protocol.ERROR_NOT_FOUND, f"snapshot: {seq} is not kept")
            return path

        return FileResponse(await run_in_threadpool(work), media_type=protocol.SNAPSHOT_TYPE)

    return app


def create_app_from_env() -> FastAPI:
    """Factory for ``uvicorn --factory`` and multi-process serving (reads SHOWROOM_SERVER_DB)."""
    return create_app(Settings.from_env())
