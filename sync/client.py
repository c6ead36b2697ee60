"""The laptop's sync client: enrolment, and push-then-pull cycles against the central server.

One :meth:`SyncClient.sync` call is one cycle (DESIGN.md, "Sync contract"):

1. ``GET /v1/meta``: the server's epoch (a restore from a backup shows as a new epoch, found by
   the server itself or from the history marks this laptop sends), how far tombstones are
   purged, and its clock.
2. Push every pending batch (at most ``max_batch_ops`` ops each), then pull pages until
   ``has_more`` is false; repeat until a round pushes and pulls nothing.
3. Compare per-table checksums with the server's; on a mismatch re-sync fully, once.

HTTP is ``requests``, with a connect/read timeout, and retries with exponential backoff and
full jitter on connection errors, timeouts, 5xx and 429 (``Retry-After`` is honoured). Other
4xx answers are not retried; they raise a :class:`SyncError` whose messages the UI can show.
Everything that reached the database stays there when a cycle stops half-way: the outbox, the
batch ids and each pulled page with its cursor are committed as the cycle goes.
"""

from __future__ import annotations

import collections
import contextlib
import datetime as dt
import gzip
import json
import logging
import os
import random
import threading
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

import orjson

from showroom.db.base import utcnow
from showroom.db.engine import Database
from showroom.errors import ShowroomError
from showroom.models.local import SyncKeys
from sync import local, protocol

if TYPE_CHECKING:
    import requests

log = logging.getLogger(__name__)

Progress = Callable[[str, int, "int | None"], None]
MAX_ROUNDS = 8  # push/pull rounds per cycle; another device keeps the server busy otherwise
# Customers a round's pulls may name before the merge check looks at every merged record.
PULLED_PEOPLE_LIMIT = 5_000
# Routine cycles compare checksums at most this often (a full comparison reads every row on
# both sides); initial syncs, full resyncs and recoveries always compare.
VERIFY_INTERVAL = dt.timedelta(hours=4)
LAST_VERIFIED_KEY = "sync.last_verified_at"  # ISO UTC of the last checksum comparison
# The cursor at which the sync last looked at everything pulled before it (merges, quotes): a
# cycle that starts there has nothing unlooked-at, one that does not was cut short.
SETTLED_KEY = "sync.settled_through"
RETRY_AFTER_CAP = 300.0  # seconds; a Retry-After beyond this is taken as this
DOWNLOAD_CHUNK = 1 << 20  # bytes read at a time from a snapshot download


# --- errors ----------------------------------------------------------------------------------


class SyncError(ShowroomError):
    """Sync could not finish. What was done before the error stays done."""

    code = "sync"


class CertificateUntrusted(SyncError):
    """The server's TLS certificate did not verify: never retried, never ignored."""

    code = "sync_certificate"

    def __init__(self, detail: str) -> None:
        super().__init__(
            "同步服务器的证书无法验证，已停止连接。请联系IT：如使用自有证书，"
            f"请用 {CA_BUNDLE_ENV} 指定其CA证书（{detail}）",
            "the sync server's certificate did not verify, so nothing was sent. Ask IT: for a "
            f"certificate of your own CA, name its bundle in {CA_BUNDLE_ENV} ({detail})",
        )


class ServerUnreachable(SyncError):
    """No answer from the server after every retry (offline, server down, timeouts)."""

    code = "sync_unreachable"

    def __init__(self, detail: str) -> None:
        super().__init__(
            f"无法连接同步服务器，请检查网络后重试（{detail}）",
            f"cannot reach the sync server; check the network and try again ({detail})",
        )


class NotEnrolled(SyncError):
    """This laptop has no device token: it must be enrolled first."""

    code = "sync_not_enrolled"

    def __init__(self) -> None:
        super().__init__(
            "本机尚未登记到同步服务器，请先用登记码登记",
            "this laptop is not enrolled with a sync server; enrol it with a code first",
        )


class TokenRevoked(NotEnrolled):
    """The server refused the device token (revoked, or the server does not know it)."""

    code = "sync_token_revoked"

    def __init__(self, detail: str = "") -> None:
        ShowroomError.__init__(
            self,
            "服务器拒绝了本机的同步凭证（可能已被吊销），请重新登记",
            f"the server refused this laptop's sync token (revoked?); enrol it again. {detail}",
        )


class EnrolmentRefused(SyncError):
    code = "sync_enrol_refused"

    def __init__(self, detail: str) -> None:
        super().__init__(
            "登记码无效、已使用或已过期",
            f"the enrolment code is wrong, used or expired ({detail})",
            field="code",
        )


class UpgradeRequired(SyncError):
    """The server needs a newer app (426). The outbox is kept for after the upgrade."""

    code = "sync_upgrade_required"

    def __init__(self, detail: str = "") -> None:
        super().__init__(
            "服务器要求升级本软件后才能同步；未同步的修改已保留",
            f"the server needs a newer version of this app to sync; unsynced changes are kept"
            f"{f' ({detail})' if detail else ''}",
        )


class ServerRefused(SyncError):
    """A 4xx answer other than the ones above, or an answer that breaks the protocol."""

    code = "sync_refused"

    def __init__(self, status: int | None, detail: str) -> None:
        self.status = status
        where = f"HTTP {status}: " if status else ""
        super().__init__(f"同步服务器拒绝了请求：{where}{detail}", f"{where}{detail}")


class _Retry(Exception):
    """This attempt failed in a way worth another (429, 5xx, an answer cut short)."""

    def __init__(self, problem: str, wait: float | None = None) -> None:
        super().__init__(problem)
        self.problem = problem
        self.wait = wait


class _Answer(Exception):
    """A non-2xx answer the cycle handles itself (409 epoch changed, 410 resync)."""

    def __init__(self, status: int, body: Mapping[str, Any]) -> None:
        super().__init__(status)
        self.status = status
        self.body = body


# --- results ---------------------------------------------------------------------------------


@dataclass(frozen=True)
class EnrollResult:
    device_id: str
    device_name: str
    dealer_id: str
    dealer_name: str
    dealer_rekeyed: bool
    ops_queued: int


@dataclass(frozen=True)
class SyncSummary:
    pushed: int  # ops sent and answered
    pulled: int  # rows written from pulled pages
    conflicts: int  # ops the server answered "conflict" in this cycle
    rejected: int  # ops the server rejected in this cycle (kept in the outbox)
    seconds: float
    clock_skew_seconds: float | None  # server clock minus this laptop's; never used for order
    checksum_ok: bool | None  # None: not compared (cancelled, or changes still pending)
    cycles: int  # push/pull rounds
    full_resync: bool = False
    cancelled: bool = False


# --- HTTP ------------------------------------------------------------------------------------


# A PEM file of the CA certificates to trust for the sync server, instead of the system's.
CA_BUNDLE_ENV = "SHOWROOM_CA_BUNDLE"


def _new_session() -> requests.Session:
    import requests

    session = requests.Session()
    session.headers["User-Agent"] = f"showroom-sync/{protocol.SCHEMA_VERSION}"
    return session


def _tls_verify(http: requests.Session) -> bool | str:
    """What verifies the server's certificate: the store's CA bundle if one is named, else the
    session's setting (the system's trust store by default). Passed with every request, because
    requests lets REQUESTS_CA_BUNDLE override a session's own bundle."""
    from showroom.errors import ValidationError

    bundle = os.environ.get(CA_BUNDLE_ENV, "").strip()
    if not bundle:
        return http.verify
    if not os.path.isfile(bundle):
        raise ValidationError(
            "ca_bundle",
            f"{CA_BUNDLE_ENV} 指定的CA证书文件不存在：{bundle}",
            f"the CA bundle named by {CA_BUNDLE_ENV} does not exist: {bundle}",
        )
    return bundle


def _detail(response: requests.Response) -> tuple[str, dict]:
    try:
        body = response.json()
    except ValueError:
        body = {}
    if not isinstance(body, dict):
        body = {}
    detail = body.get("detail") or body.get("error") or response.reason or ""
    return str(detail)[:200], body


def _private_file(target: Path):
    """``target`` made anew for writing, readable by this user only; never through a link (a
    memory folder is shared by every user). Raises SnapshotRefused when it cannot be made."""
    flags = os.O_WRONLY | os.O_CREAT | os.O_EXCL | getattr(os, "O_NOFOLLOW", 0)
    try:
        target.unlink(missing_ok=True)
        return open(os.open(target, flags, 0o600), "wb")
    except OSError as error:
        raise local.SnapshotRefused("snapshot", f"cannot make {target}: {error}") from error


def _write(out, data: bytes, target: Path) -> None:
    try:
        out.write(data)
    except OSError as error:
        raise local.SnapshotRefused("snapshot", f"cannot write {target}: {error}") from error


def _retry_after(response: requests.Response) -> float | None:
    value = response.headers.get("Retry-After")
    if not value:
        return None
    try:
        return min(max(float(value), 0.0), RETRY_AFTER_CAP)
    except ValueError:
        pass
    try:
        from email.utils import parsedate_to_datetime

        moment = parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    return min(max((moment - utcnow()).total_seconds(), 0.0), RETRY_AFTER_CAP)


class _Body(bytes):
    """A request body already JSON-encoded and gzipped (see :func:`encode_body`)."""


def encode_body(body: Any) -> _Body:
    """JSON, gzipped: done ahead, off the thread that waits for answers, for large uploads."""
    raw = json.dumps(body, ensure_ascii=False, separators=(",", ":")).encode()
    return _Body(gzip.compress(raw, compresslevel=5))


# Bulk upload batches sent before the answer to the first of them is written.
BULK_IN_FLIGHT = 2


def encode_text(text: str) -> _Body:
    """A body already JSON text, gzipped at the fastest level: a first upload's bulk batches
    are large and made one after another, so compression time matters more than bytes."""
    return _Body(gzip.compress(text.encode(), compresslevel=1))


def _read_answer(content: bytes) -> Any:
    """JSON from an answer's body: orjson, several times faster than the standard parser on a
    large page; the standard parser for anything orjson refuses. Raises ValueError."""
    try:
        return orjson.loads(content)
    except orjson.JSONDecodeError:
        return json.loads(content)


class _Http:
    """Requests with timeouts, gzip bodies, auth headers and retries with backoff."""

    def __init__(
        self,
        base_url: str,
        *,
        http: requests.Session | None,
        timeout: tuple[float, float],
        retries: int,
        backoff_base: float,
        backoff_cap: float,
        sleep: Callable[[float], None],
        rng: random.Random,
        clock: Callable[[], float],
    ) -> None:
        self.base_url = base_url.rstrip("/")
        self.http = http or _new_session()
        self.tls_verify = _tls_verify(self.http)
        self.timeout = timeout
        self.retries = retries
        self.backoff_base = backoff_base
        self.backoff_cap = backoff_cap
        self.sleep = sleep
        self.rng = rng
        self.clock = clock
        self.token: str | None = None
        self.epoch: str | None = None
        # The server's history marks this laptop keeps (sync.protocol, "History marks"), newest
        # first. Answers arrive on several threads at once during an upload, hence the lock.
        self.history: list[protocol.Mark] = []
        self.history_changed = False
        self._history_lock = threading.Lock()
        self.clock_skew: float | None = None
        self.reached = False  # did any request get an HTTP answer

    def backoff(self, attempt: int) -> float:
        """Full jitter: uniform between 0 and min(cap, base * 2**attempt)."""
        return self.rng.uniform(0, min(self.backoff_cap, self.backoff_base * 2**attempt))

    def call(
        self,
        method: str,
        path: str,
        *,
        body: Any = None,
        params: Mapping[str, Any] | None = None,
        handled: tuple[int, ...] = (),
    ) -> dict:
        headers = self.headers(path)
        data = None
        if body is not None:
            data = body if isinstance(body, _Body) else encode_body(body)
            headers["Content-Type"] = "application/json"
            headers["Content-Encoding"] = "gzip"
        url = self.base_url + protocol.API_PREFIX + path

        def once() -> dict:
            started = self.clock()
            response = self.http.request(
                method,
                url,
                data=data,
                params=params,
                headers=headers,
                timeout=self.timeout,
                verify=self.tls_verify,
            )
            self.reached = True
            finished = self.clock()
            status = response.status_code
            if not 200 <= status < 300:
                self._refuse(response, handled)
            try:
                answer = _read_answer(response.content)
            except ValueError:
                # A body cut short in transit: the request itself may be retried.
                raise _Retry("unreadable answer") from None
            if not isinstance(answer, dict):
                raise ServerRefused(status, "the answer is not a JSON object")
            self._note_clock(answer, started, finished)
            self._note_history(answer)
            return answer

        return self._retrying(method, path, once)

    def _retrying(
        self,
        method: str,
        path: str,
        once: Callable[[], Any],
        cut: tuple[type[Exception], ...] = (),
    ) -> Any:
        """``once()``, tried again after connection errors (and ``cut``), timeouts, 429 and
        5xx (:class:`_Retry`), with backoff, up to ``retries`` times; then ServerUnreachable.
        An untrusted certificate is never retried."""
        import requests

        last_problem = ""
        for attempt in range(self.retries + 1):
            wait = None
            try:
                return once()
            except requests.exceptions.SSLError as error:
                raise CertificateUntrusted(type(error).__name__) from error
            except (requests.ConnectionError, requests.Timeout, *cut) as error:
                last_problem = type(error).__name__
                log.info("sync %s %s: %s (attempt %d)", method, path, error, attempt + 1)
            except _Retry as retry:
                last_problem, wait = retry.problem, retry.wait
            if attempt == self.retries:
                break
            self.sleep(wait if wait is not None else self.backoff(attempt))
        raise ServerUnreachable(last_problem or "no answer")

    def headers(self, path: str) -> dict[str, str]:
        headers = {
            protocol.SCHEMA_HEADER: str(protocol.SCHEMA_VERSION),
            "Accept": "application/json",
            "Accept-Encoding": "gzip",
        }
        if self.token:
            headers["Authorization"] = f"Bearer {self.token}"
        if self.epoch:
            headers[protocol.EPOCH_HEADER] = self.epoch
        if self.token and self.history:
            # Meta judges every mark; the other calls only need to show nothing was lost
            # since the newest.
            marks = self.history if path == "/meta" else self.history[:1]
            headers[protocol.HISTORY_HEADER] = protocol.format_history(marks)
        return headers

    def download(
        self,
        path: str,
        target: Path,
        *,
        size: int,
        sha256: str,
        progress: Callable[[int], None],
        stop: Callable[[], bool],
        unpacked: int = 0,
    ) -> bool:
        """Fetch a snapshot (zstd) into ``target``, decompressed as it arrives. False, with
        ``target`` left to the caller to remove, when the server no longer keeps it, when what
        arrived is not ``size`` bytes with digest ``sha256``, when it unpacks to more than
        ``unpacked`` bytes (if given), or when ``stop()`` became true. ``target`` is made anew,
        readable by this user only, and never through a link. Connection errors, 5xx and 429
        are retried as :meth:`call` does, and so is a download cut off part way. Raises
        SnapshotRefused when ``target`` cannot be made or written (a full disk, say)."""
        import hashlib

        import requests
        import zstandard

        headers = {
            **self.headers(path),
            "Accept": protocol.SNAPSHOT_TYPE,
            "Accept-Encoding": "identity",
        }
        url = self.base_url + protocol.API_PREFIX + path

        def once() -> bool:
            with self.http.get(
                url, headers=headers, timeout=self.timeout, verify=self.tls_verify, stream=True
            ) as response:
                self.reached = True
                if response.status_code == 404:
                    return False
                if not 200 <= response.status_code < 300:
                    self._refuse(response, ())
                digest = hashlib.sha256()
                received = written = 0
                inflate = zstandard.ZstdDecompressor().decompressobj()
                with _private_file(target) as out:
                    for chunk in response.iter_content(DOWNLOAD_CHUNK):
                        if stop():
                            return False
                        digest.update(chunk)
                        received += len(chunk)
                        if received > size:
                            break
                        data = inflate.decompress(chunk)
                        written += len(data)
                        if unpacked and written > unpacked:
                            log.warning(
                                "snapshot %s: unpacks to more than %d bytes", path, unpacked
                            )
                            return False
                        _write(out, data, target)
                        progress(received)
            if received != size or digest.hexdigest() != sha256:
                log.warning("snapshot %s: %d bytes, not as described", path, received)
                return False
            return True

        try:
            return self._retrying(
                "GET", path, once, cut=(requests.exceptions.ChunkedEncodingError,)
            )
        except zstandard.ZstdError as error:
            log.warning("snapshot %s: not valid zstd (%s)", path, error)
            return False

    def _refuse(self, response: requests.Response, handled: tuple[int, ...]) -> None:
        """Raise for a non-2xx answer: _Retry for 429 and 5xx, _Answer for a ``handled``
        status, else the error the cycle reports."""
        status = response.status_code
        if status == 429 or status >= 500:
            wait = _retry_after(response) if status in (429, 503) else None
            raise _Retry(f"HTTP {status}", wait)
        detail, body = _detail(response)
        if status in handled:
            raise _Answer(status, body)
        if status == 426:
            raise UpgradeRequired(detail)
        if status == 401:
            raise TokenRevoked(detail) if self.token else EnrolmentRefused(detail)
        raise ServerRefused(status, detail)

    def set_history(self, marks: list[protocol.Mark]) -> None:
        with self._history_lock:
            self.history = marks
            self.history_changed = False

    def take_history(self) -> str | None:
        """The marks as stored text if they changed since the last call, else None."""
        with self._history_lock:
            if not self.history_changed:
                return None
            self.history_changed = False
            return protocol.format_history(self.history)

    def forget_history_after(self, seq: int) -> None:
        """Drop marks past ``seq`` (the base of a new epoch: the server no longer has them)."""
        with self._history_lock:
            kept = [mark for mark in self.history if mark[0] <= seq]
            if kept != self.history:
                self.history = kept
                self.history_changed = True

    def _note_history(self, answer: Mapping[str, Any]) -> None:
        text = answer.get("history")
        if not isinstance(text, str):
            return
        try:
            mark = protocol.parse_mark(text)
        except ValueError:
            log.warning("ignoring a malformed history mark from the server: %.40r", text)
            return
        with self._history_lock:
            if mark in self.history:
                return
            self.history = protocol.thin_history(self.history, mark)
            self.history_changed = True

    def _note_clock(self, answer: Mapping[str, Any], started: float, finished: float) -> None:
        text = answer.get("server_time")
        if not isinstance(text, str):
            return
        try:
            server = dt.datetime.fromisoformat(text)
        except ValueError:
            return
        if server.tzinfo is None:
            server = server.replace(tzinfo=dt.UTC)
        self.clock_skew = round(server.timestamp() - (started + finished) / 2, 3)


# --- enrolment -------------------------------------------------------------------------------


def enroll(
    db: Database,
    server_url: str,
    code: str,
    device_name: str | None = None,
    *,
    http: requests.Session | None = None,
    timeout: tuple[float, float] = (5, 30),
    retries: int = 2,
    sleep: Callable[[float], None] | None = None,
) -> EnrollResult:
    """Enrol this laptop with a one-time code and make its database the dealer's.

    Stores the server URL, the device token and the dealer; re-keys the local dealer and the
    system account to the ids every laptop of the store shares, and queues the initial upload
    of a laptop that never synced. Raises ValidationError naming ``server`` or ``code`` for
    malformed input, EnrolmentRefused (field ``code``) for a wrong, used or expired code,
    ServerUnreachable, or ServerRefused.
    """
    import socket

    from showroom.errors import ValidationError

    url = (server_url or "").strip()
    if not url.startswith(("http://", "https://")) or len(url) < 10:
        raise ValidationError(
            "server", "服务器地址应以 http:// 或 https:// 开头", "must start with http(s)://"
        )
    code = (code or "").strip()
    if not code or len(code) > 64:
        raise ValidationError("code", "请输入登记码", "enter the enrolment code")
    name = (device_name or socket.gethostname() or "laptop").strip()[:100]
    client = _Http(
        url,
        http=http,
        timeout=timeout,
        retries=retries,
        backoff_base=0.5,
        backoff_cap=30.0,
        sleep=sleep or time.sleep,
        rng=random.Random(),
        clock=time.time,
    )
    answer = client.call(
        "POST", "/enroll", body={"code": code, "device_name": name, "device_id": db.device_id}
    )
    try:
        device_id = str(answer["device_id"])
        token = str(answer["token"])
        dealer_id = str(answer["dealer_id"])
        dealer_name = str(answer.get("dealer_name") or "")
    except KeyError as missing:
        raise ServerRefused(None, f"enrolment answer lacks {missing}") from None
    try:
        changes = local.adopt_enrolment(
            db,
            server_url=url.rstrip("/"),
            token=token,
            device_id=device_id,
            dealer_id=dealer_id,
            dealer_name=dealer_name,
        )
    except local.LocalSyncError as error:
        raise ServerRefused(None, str(error)) from error
    if client.clock_skew is not None:
        local.set_state(db, {SyncKeys.CLOCK_SKEW_SECONDS: str(client.clock_skew)})
    return EnrollResult(
        device_id, name, dealer_id, dealer_name, changes.dealer_rekeyed, changes.ops_queued
    )


# --- the cycle -------------------------------------------------------------------------------


def _never_cancelled() -> bool:
    return False


def _table_of(position: str | None) -> str | None:
    """The table of an initial-upload scan position ("<table> <id>")."""
    return position.split(" ", 1)[0] if position else None


def _stored_history(text: str | None) -> list[protocol.Mark]:
    """The marks kept in the local state; a damaged value only costs the restore check they
    allow, so it is logged and dropped."""
    if not text:
        return []
    try:
        return protocol.thin_history(protocol.parse_history(text))
    except ValueError as error:
        log.warning("dropping damaged history marks (%s)", error)
        return []


class SyncClient:
    """Syncs one enrolled local database with its server. Not thread-safe: one cycle at a time."""

    def __init__(
        self,
        db: Database,
        *,
        http: requests.Session | None = None,
        timeout: tuple[float, float] = (5, 30),
        retries: int = 5,
        backoff_base: float = 0.5,
        backoff_cap: float = 30.0,
        sleep: Callable[[float], None] | None = None,
        rng: random.Random | None = None,
        clock: Callable[[], float] = time.time,
        pull_limit: int | None = None,
        verify: bool | None = None,
        snapshots: bool = True,
    ) -> None:
        """``pull_limit``: rows per pulled page; by default pages start at
        :data:`protocol.DEFAULT_PULL_LIMIT` and grow to :data:`protocol.MAX_PULL_LIMIT` in a
        long download. ``verify``: True compares checksums after every cycle, False never; None (the
        default) after an initial sync, a full resync or a recovery, and otherwise once every
        :data:`VERIFY_INTERVAL`. ``snapshots``: a fresh laptop may start from the server's
        snapshot of its dealer (False: it always pulls from 0)."""
        self.db = db
        self.pull_limit = pull_limit
        self.verify = verify
        self.snapshots = snapshots
        self._http_args = dict(
            http=http,
            timeout=timeout,
            retries=retries,
            backoff_base=backoff_base,
            backoff_cap=backoff_cap,
            sleep=sleep or time.sleep,
            rng=rng or random.Random(),
            clock=clock,
        )
        self._http: _Http | None = None

    # The HTTP side is made on first use, from the URL stored at enrolment.
    def _connect(self) -> _Http:
        state = local.get_state(
            self.db, SyncKeys.SERVER_URL, SyncKeys.TOKEN, SyncKeys.EPOCH, local.HISTORY_KEY
        )
        if not state[SyncKeys.SERVER_URL] or not state[SyncKeys.TOKEN]:
            raise NotEnrolled()
        if self._http is None or self._http.base_url != state[SyncKeys.SERVER_URL].rstrip("/"):
            self._http = _Http(state[SyncKeys.SERVER_URL], **self._http_args)
        self._http.token = state[SyncKeys.TOKEN]
        self._http.epoch = state[SyncKeys.EPOCH]
        self._http.set_history(_stored_history(state[local.HISTORY_KEY]))
        self._http.reached = False
        return self._http

    def sync(
        self, progress: Progress | None = None, cancel: Callable[[], bool] | None = None
    ) -> SyncSummary:
        """One full cycle; see the module docstring. Raises a SyncError subclass on failure.

        ``progress(stage, done, total)`` is called with stage ``"push"`` (ops answered of the
        ops pending) and ``"pull"`` (sequence numbers applied of those to fetch). ``cancel()``
        is asked between batches and pages; True stops the cycle cleanly.
        """
        started = time.perf_counter()
        local.set_state(self.db, {SyncKeys.LAST_ATTEMPT_AT: utcnow().isoformat()})
        http = None
        try:
            http = self._connect()
            run = _Cycle(self, http, progress or (lambda *_: None), cancel or _never_cancelled)
            # A first sync, a full resync or an initial upload cut short goes through whole
            # tables: on an encrypted file, with a page cache large enough to decrypt each page
            # once.
            bulk = local.cursor_of(self.db) == 0 or local.initial_upload_pending(self.db)
            with self.db.bulk_cache() if bulk else contextlib.nullcontext():
                summary = run.run(started)
        except SyncError as error:
            self._record_failure(http, error)
            raise
        except local.LocalSyncError as error:
            failure = ServerRefused(None, str(error))
            self._record_failure(http, failure)
            raise failure from error
        except _Answer as answer:
            failure = ServerRefused(answer.status, str(answer.body.get("detail") or ""))
            self._record_failure(http, failure)
            raise failure from None
        state = {
            SyncKeys.LAST_SUCCESS_AT: utcnow().isoformat(),
            SyncKeys.LAST_ERROR: "",
            SyncKeys.ONLINE: "1",
        }
        if summary.clock_skew_seconds is not None:
            state[SyncKeys.CLOCK_SKEW_SECONDS] = str(summary.clock_skew_seconds)
        local.set_state(self.db, state)
        return summary

    def _record_failure(self, http: _Http | None, error: SyncError) -> None:
        state = {SyncKeys.LAST_ERROR: error.describe("en")[:300]}
        if http is not None:
            state[SyncKeys.ONLINE] = "1" if http.reached else "0"
            if http.clock_skew is not None:
                state[SyncKeys.CLOCK_SKEW_SECONDS] = str(http.clock_skew)
        local.set_state(self.db, state)


class _Cycle:
    def __init__(self, client: SyncClient, http: _Http, progress: Progress, cancel) -> None:
        self.db = client.db
        self.client = client
        self.http = http
        self.progress = progress
        self.cancel = cancel
        self.pushed = self.pulled = self.conflicts = self.rejected = 0
        self.cancelled = False
        self.full_resync = False
        self.recovered = False
        self.max_batch_ops = protocol.MAX_BATCH_OPS
        self.max_bulk_rows = 0  # 0: the server has no bulk path; the upload goes as ops
        # Whether the server applies an edit that clears a deleted row's values (an older one
        # keeps it as a conflict, so the laptop leaves deleted rows alone).
        self.clears_deleted_rows = False
        self.skip_own = False
        # The customers whose rows were pulled since the last merge check (None: every record
        # merged away is looked at). A cycle starts with None unless the last check was made
        # at the cursor it starts from (SETTLED_KEY): one cut short after writing a page never
        # checked what that page brought.
        self.pulled_people: set[str] | None = None
        # Likewise the quotes whose rows or lines were pulled, for the check of their totals.
        self.pulled_quotes: set[str] | None = None
        self.settled_through: str | None = None

    def run(self, started: float) -> SyncSummary:
        # Versions of an initial upload cut short, before anything reads or sends them.
        local.write_upload_versions(self.db)
        local.discard_snapshot_file(self.db)  # of a first download that was killed
        cursor = local.cursor_of(self.db)
        initial = cursor == 0
        self.settled_through = local.get_state(self.db, SETTLED_KEY)[SETTLED_KEY]
        if not initial and self.settled_through == str(cursor):
            self.pulled_people, self.pulled_quotes = set(), set()
        meta = self.meta()
        if initial and not local.full_resync_pending(self.db):
            # A first sync: rows made before enrolment (or a demo) become the initial upload.
            local.begin_initial_upload(self.db)
        rounds = 0
        while rounds < MAX_ROUNDS and not self.cancelled:
            rounds += 1
            try:
                if rounds == 1 and initial and local.initial_upload_pending(self.db):
                    # Caught up first, the upload's own answers can move the cursor past it.
                    self.pull_all(meta)
                self.push_all()
                self.pull_all(meta)
            except _Answer as answer:
                self.handle(answer)
                meta = self.meta()
                continue
            # Every cycle settles at least once: one cut short after writing a page did not.
            if (rounds == 1 or self.pushed or self.pulled) and self.settle():
                continue  # what the pull brought was settled here: edits to push
            # Pulled rows need no answer; only edits made meanwhile call for another round.
            if not local.pending_count(self.db) and not local.initial_upload_pending(self.db):
                break
        local.rebuild_search_if_needed(self.db)
        checksum_ok = None
        if not self.cancelled and self.should_verify(initial):
            checksum_ok = self.verify(meta)
            if checksum_ok is not None:
                local.set_state(self.db, {LAST_VERIFIED_KEY: utcnow().isoformat()})
        return SyncSummary(
            pushed=self.pushed,
            pulled=self.pulled,
            conflicts=self.conflicts,
            rejected=self.rejected,
            seconds=round(time.perf_counter() - started, 3),
            clock_skew_seconds=self.http.clock_skew,
            checksum_ok=checksum_ok,
            cycles=rounds,
            full_resync=self.full_resync,
            cancelled=self.cancelled,
        )

    def settle(self) -> bool:
        """Finish on this laptop what the sync brought half done; True when that made edits.

        Each pass reads first, and the write lock is taken only when one has work, which is
        rare:

        * merges another laptop's work crossed: rows it added to a record merged away here
          (or there) move to the survivor (:func:`showroom.services.merge.settle_after_sync`);
        * erased customers: what other laptops changed or added before the erasure reached
          them (a conflict holding both sides' values, a new phone) is erased like the rest;
          once an erasure is acknowledged, the outbox forgets the values its ops carried
          (:func:`showroom.services.privacy.forget_after_sync`). This runs after the merges,
          so rows moved onto an erased customer are erased too;
        * a conflict decided on two laptops: the conflicts about who decided it and when are
          closed (:func:`showroom.services.conflicts.settle_decisions`);
        * a quote edited on two laptops, whose total no longer adds up from the parts each
          laptop changed, or whose approval covered other lines: the total is computed again,
          and a discount above the limit waits for a manager again
          (:func:`showroom.services.quotes.settle_quotes`).
        """
        from showroom.services.conflicts import decisions_unsettled, settle_decisions
        from showroom.services.merge import merges_unsettled, settle_after_sync
        from showroom.services.privacy import any_erased, forget_after_sync
        from showroom.services.quotes import quotes_unsettled, settle_quotes

        cursor = str(local.cursor_of(self.db))
        with self.db.session_scope(write=False) as session:
            merges = merges_unsettled(session, around=self.pulled_people)
            erased = any_erased(session)
            decisions = decisions_unsettled(session)
            quotes = quotes_unsettled(session, self.pulled_quotes)
        changed = 0
        if merges or erased or decisions or quotes:
            with self.db.session_scope() as session:
                if merges:
                    changed += settle_after_sync(session)
                if erased:
                    changed += forget_after_sync(session, deleted_rows=self.clears_deleted_rows)
                if decisions:
                    changed += settle_decisions(session)
                if quotes:
                    changed += settle_quotes(session, quotes)
        # Looked at: the next check needs only what is pulled next, in this cycle or the next.
        self.pulled_people, self.pulled_quotes = set(), set()
        if self.settled_through != cursor:
            local.set_state(self.db, {SETTLED_KEY: cursor})
            self.settled_through = cursor
        return changed > 0

    def should_verify(self, initial: bool) -> bool:
        if self.client.verify is not None:
            return self.client.verify
        if initial or self.full_resync or self.recovered:
            return True
        last = local.get_state(self.db, LAST_VERIFIED_KEY)[LAST_VERIFIED_KEY]
        try:
            when = dt.datetime.fromisoformat(last) if last else None
        except ValueError:
            when = None
        if when is None or when.tzinfo is None:
            return True
        # A clock set back (or forward) by hours makes the age meaningless: verify then too.
        return not dt.timedelta(0) <= utcnow() - when < VERIFY_INTERVAL

    # --- meta, epochs and resyncs ---

    def meta(self) -> dict:
        meta = self.http.call("GET", "/meta")
        self.save_history()
        epoch = meta.get("epoch")
        if not isinstance(epoch, str) or not epoch:
            raise ServerRefused(None, "meta: no epoch")
        limit = meta.get("max_batch_ops")
        if isinstance(limit, int) and not isinstance(limit, bool) and limit > 0:
            self.max_batch_ops = min(limit, protocol.MAX_BATCH_OPS)
        bulk = meta.get("max_bulk_rows")
        if isinstance(bulk, int) and not isinstance(bulk, bool) and bulk > 0:
            self.max_bulk_rows = min(bulk, protocol.MAX_BULK_ROWS)
        self.clears_deleted_rows = meta.get("clears_deleted_rows") is True
        stored = self.http.epoch
        if stored is None:
            self.store_epoch(epoch)
        elif stored != epoch:
            self.recover(epoch, meta.get("epoch_base_seq"))
        purged = meta.get("purged_through")
        if isinstance(purged, int) and not isinstance(purged, bool):
            local.set_state(self.db, {local.PURGED_KEY: str(purged)})
        cursor = local.cursor_of(self.db)
        if isinstance(purged, int) and 0 < cursor < purged and not self.full_resync:
            log.info("cursor %d is behind purged tombstones (%d): full resync", cursor, purged)
            self.resync()
        return meta

    def store_epoch(self, epoch: str) -> None:
        local.set_state(self.db, {SyncKeys.EPOCH: epoch})
        self.http.epoch = epoch

    def recover(self, epoch: str, base: Any) -> None:
        """The server was restored from a backup: send again what it lost, then pull it all."""
        if self.recovered:
            raise ServerRefused(409, "the server's history changed twice during one sync")
        if isinstance(base, bool) or not isinstance(base, int) or base < 0:
            raise ServerRefused(409, "epoch_changed without a valid epoch_base_seq")
        self.recovered = True
        # Marks past the base name commits the server no longer has: kept, they would read as
        # a second restore.
        self.http.forget_history_after(base)
        self.save_history()
        queued = local.requeue_lost_rows(self.db, base)
        log.warning(
            "server restored (epoch %s, base %d): %d rows queued again", epoch, base, queued
        )
        self.store_epoch(epoch)
        self.resync()

    def save_history(self) -> None:
        """Store the marks the answers so far brought. Called before their data is written: a
        mark stored without its data is harmless, data stored without its mark is not (a restore
        that loses that data would go unseen)."""
        text = self.http.take_history()
        if text is not None:
            local.set_state(self.db, {local.HISTORY_KEY: text})

    def resync(self) -> None:
        if self.full_resync:
            raise ServerRefused(410, "the server asked for a second full resync in one sync")
        self.full_resync = True
        local.start_full_resync(self.db)

    def handle(self, answer: _Answer) -> None:
        if answer.status == 409 and answer.body.get("error") == protocol.ERROR_EPOCH_CHANGED:
            epoch = answer.body.get("epoch")
            if not isinstance(epoch, str) or not epoch:
                raise ServerRefused(409, "epoch_changed without the new epoch")
            self.recover(epoch, answer.body.get("epoch_base_seq"))
        elif answer.status == 410:
            self.resync()
        else:
            raise ServerRefused(answer.status, str(answer.body.get("detail") or answer.status))

    # --- push and pull ---

    def push_all(self) -> int:
        """The initial upload first (parents before children), then the outbox in order."""
        total = local.pending_count(self.db) + local.initial_upload_waiting(self.db)
        self.push_done, self.push_total = 0, total
        cursor = local.cursor_of(self.db)
        if local.initial_upload_pending(self.db):
            self.push_initial(cursor)
        while not self.stop():
            batch = local.next_batch(self.db, self.max_batch_ops)
            if batch is None:
                break
            answer = self.send(batch.batch_id, batch.ops, cursor)
            self.save_history()
            self.note(local.record_results(self.db, batch, answer), len(batch.ops))
        return self.push_done

    def push_initial(self, cursor: int) -> None:
        """Stream the initial upload, reading each batch while the one before is in flight.

        On a server with the bulk path, batches are rows of one table at a time
        (``POST /sync/bulk``, made by SQLite); otherwise insert ops (``POST /sync/push``).
        """
        from concurrent.futures import ThreadPoolExecutor

        bulk = self.max_bulk_rows > 0
        limit = self.max_bulk_rows if bulk else self.max_batch_ops

        def read(after: str | None) -> tuple[Any, _Body | None]:
            if bulk:
                batch = local.next_bulk_batch(self.db, limit, after=after)
                if batch is None:
                    return None, None
                return batch, encode_text(batch.body(self.http.epoch, cursor))
            batch = local.next_initial_batch(self.db, limit, after=after)
            if batch is None:
                return None, None
            return batch, encode_body(self.body(batch.batch_id, batch.ops, cursor))

        path = "/sync/bulk" if bulk else "/sync/push"
        record = local.record_bulk_results if bulk else local.record_initial_results
        # Bulk batches are answered independently: while one answer is written here, the
        # next batch is on its way and being stored by the server.
        depth = BULK_IN_FLIGHT if bulk else 1

        def send(body: _Body) -> dict:
            return self.http.call("POST", path, body=body, handled=(409, 410))

        after = local.get_state(self.db, local.INITIAL_POSITION_KEY)[local.INITIAL_POSITION_KEY]
        sending = _table_of(after)
        in_flight: collections.deque = collections.deque()
        with (
            ThreadPoolExecutor(1, thread_name_prefix="sync-upload-read") as reader,
            ThreadPoolExecutor(depth, thread_name_prefix="sync-upload-send") as sender,
        ):
            ahead = reader.submit(read, None)
            try:
                while True:
                    while ahead is not None and len(in_flight) < depth and not self.stop():
                        batch, body = ahead.result()
                        if batch is None:
                            ahead = None
                            break
                        in_flight.append((batch, sender.submit(send, body)))
                        ahead = reader.submit(read, batch.after)
                    if not in_flight:
                        break
                    batch, answered = in_flight.popleft()
                    answer = answered.result()
                    self.save_history()
                    outcome = record(self.db, batch, answer)
                    self.note(outcome, len(batch.ids) if bulk else len(batch.ops))
                    after = batch.after
                    if _table_of(after) != sending:
                        # The tables before this one are answered: their versions are
                        # written while this one's batches are on their way.
                        sending = _table_of(after)
                        local.write_upload_versions(self.db, keep=sending)
            except BaseException:
                for _, answered in in_flight:
                    answered.cancel()
                if ahead is not None:
                    ahead.cancel()
                raise
        if ahead is None:
            local.finish_initial_upload(self.db, after)

    def body(self, batch_id: str, ops: list[dict], cursor: int) -> dict:
        return {"batch_id": batch_id, "epoch": self.http.epoch, "cursor": cursor, "ops": ops}

    def send(self, batch_id: str, ops: list[dict], cursor: int) -> dict:
        body = self.body(batch_id, ops, cursor)
        return self.http.call("POST", "/sync/push", body=body, handled=(409, 410))

    def note(self, outcome: local.PushOutcome, sent: int) -> None:
        self.push_done += sent
        self.pushed += sent
        self.conflicts += outcome.conflicts
        self.rejected += outcome.rejected
        for op_id, reason in outcome.rejected_reasons.items():
            log.warning("op %s rejected by the server: %s", op_id, reason)
        self.progress("push", self.push_done, max(self.push_total, self.push_done))

    def pull_all(self, meta: Mapping[str, Any]) -> int:
        """Pull pages until ``has_more`` is false, fetching each page while the one before it
        is written. A first download into empty tables defers the indexes to its end."""
        from concurrent.futures import ThreadPoolExecutor

        since = start = local.cursor_of(self.db)
        last = meta.get("last_seq") if isinstance(meta.get("last_seq"), int) else None
        if since == 0:
            # A whole download: every merged record and every quote is looked at.
            self.pulled_people = self.pulled_quotes = None
            since = start = self.from_snapshot()
        if since == 0:
            local.begin_bulk_download(self.db)
        # Rows this laptop pushed and the server stored exactly as sent need not come back;
        # a full resync must see every row again, its own included.
        self.skip_own = not local.full_resync_pending(self.db)
        written = pages = 0
        with ThreadPoolExecutor(1, thread_name_prefix="sync-pull") as fetcher:
            ahead = fetcher.submit(self.fetch, since, 0) if not self.stop() else None
            while ahead is not None:
                page = ahead.result()
                ahead = None
                if since != start and self.stop():
                    break  # a page fetched ahead is dropped; the cursor stays before it
                following = page.get("next_since")
                if (
                    page.get("has_more") is True
                    and type(following) is int
                    and following > since
                    and not self.stop()
                ):
                    pages += 1
                    ahead = fetcher.submit(self.fetch, following, pages)
                try:
                    self.save_history()
                    result = local.apply_pull_page(self.db, page, since=since)
                except BaseException:
                    if ahead is not None:
                        ahead.cancel()
                    raise
                if result.has_more and result.next_since == since:
                    raise ServerRefused(None, "pull: has_more without progress")
                written += result.rows
                self.pulled += result.rows
                self.note_pulled(page)
                since = result.next_since
                if isinstance(page.get("last_seq"), int):
                    last = page["last_seq"]
                self.progress(
                    "pull", since - start, max(last - start, since - start) if last else None
                )
                if not result.has_more:
                    local.finish_full_resync(self.db)
                    local.end_bulk_download(self.db)
                    break
        return written

    def note_pulled(self, page: Mapping[str, Any]) -> None:
        """Remember the customers whose rows a written page brought (a customer's own row, or
        a row that points at one, ``customer_id``), and the quotes (a quote, or a line of one)."""
        people, quotes = self.pulled_people, self.pulled_quotes
        if people is None or quotes is None:
            return
        rows = page["rows"]  # checked when the page was written
        if len(people) + len(quotes) + len(rows) > PULLED_PEOPLE_LIMIT:
            self.pulled_people = self.pulled_quotes = None
            return
        for row in rows:
            table, data = row["table"], row["data"]
            if table == "customer":
                people.add(row["id"])
            elif isinstance(customer := data.get("customer_id"), str):
                people.add(customer)
            if table == "quote":
                quotes.add(row["id"])
            elif table == "quote_line" and isinstance(quote := data.get("quote_id"), str):
                quotes.add(quote)

    def from_snapshot(self) -> int:
        """Start a fresh laptop from its dealer's snapshot, when the server offers one this
        laptop can take; the cursor it reached (0: none taken, pages follow from 0)."""
        if not self.client.snapshots or self.stop() or not local.snapshot_wanted(self.db):
            return 0
        try:
            offer = self.http.call("GET", "/sync/snapshot", handled=(404,))
        except _Answer:
            return 0  # none yet (or a server without snapshots)
        seq, size, digest = offer.get("seq"), offer.get("bytes"), offer.get("sha256")
        if not (
            type(seq) is int
            and seq > 0
            and type(size) is int
            and size > 0
            and isinstance(digest, str)
            and len(digest) == 64
        ):
            log.warning("ignoring a malformed snapshot offer: %.200r", offer)
            return 0
        if offer.get("epoch") != self.http.epoch:
            return 0
        if offer.get("schema") != local.schema_revision(self.db):
            log.info("snapshot of schema %r not taken: not this laptop's", offer.get("schema"))
            return 0
        unpacked = offer.get("unpacked")
        if type(unpacked) is not int or unpacked < 0:
            unpacked = 0  # not told (an older server): a plain laptop does not need it
        try:
            target = local.snapshot_file(self.db, unpacked)
            taken = self.http.download(
                f"/sync/snapshot/{seq}",
                target,
                size=size,
                sha256=digest,
                unpacked=unpacked,
                # As the pages count: sequence numbers (bytes would outgrow a progress bar).
                progress=lambda done: self.progress("pull", seq * done // size, seq),
                stop=self.stop,
            )
            if not taken or self.stop():
                return 0
            self.save_history()
            self.progress("pull", seq, None)  # copying in: a busy bar, a few seconds
            rows = local.import_snapshot(self.db, target, seq=seq)
        except local.SnapshotRefused as error:
            log.warning("snapshot not taken: %s", error)
            return 0
        finally:
            local.discard_snapshot_file(self.db)
        log.info("started from the server's snapshot: %d rows through %d", rows, seq)
        self.pulled += rows
        return seq

    def fetch(self, since: int, page: int) -> dict:
        """Page number ``page`` of this pull. Pages start small, so that a routine cycle and
        the first progress stay quick, and double from the fourth on up to the largest the
        server gives, which a long download spends most of its time in."""
        limit = self.client.pull_limit or min(
            protocol.MAX_PULL_LIMIT, protocol.DEFAULT_PULL_LIMIT * 2 ** max(0, page - 2)
        )
        params: dict[str, Any] = {"since": since, "limit": limit}
        if self.skip_own:
            params["skip_own"] = "true"
        return self.http.call("GET", "/sync/pull", params=params, handled=(409, 410))

    def stop(self) -> bool:
        if not self.cancelled and self.cancel():
            self.cancelled = True
        return self.cancelled

    # --- checksum ---

    def verify(self, meta: Mapping[str, Any]) -> bool | None:
        if local.pending_count(self.db) or local.initial_upload_pending(self.db):
            return None  # unsent edits: the two sides cannot agree yet
        from concurrent.futures import ThreadPoolExecutor

        # The laptop's sums are worked out while the server works out its own; they are used
        # if the server's cover exactly the rows this laptop held meanwhile.
        cursor = local.cursor_of(self.db)
        with ThreadPoolExecutor(1, thread_name_prefix="sync-checksum") as pool:
            mine = pool.submit(local.local_checksums, self.db)
            server = self.checksum()
            early = mine.result()
        if server is None:
            return None
        unchanged = local.cursor_of(self.db) == cursor and not local.pending_count(self.db)
        mismatched = self.compare(server, early if unchanged else None)
        if not mismatched:
            return True
        log.error("checksum mismatch in %s: full resync", ", ".join(sorted(mismatched)))
        if not self.full_resync:
            self.resync()
            try:
                self.pull_all(meta)
                local.rebuild_search_if_needed(self.db)
                after = self.checksum()
            except _Answer as answer:
                log.error("full resync after a checksum mismatch stopped: HTTP %s", answer.status)
                return False
            if after is not None and not self.compare(after):
                log.info("checksums agree after the full resync")
        return False

    def checksum(self) -> dict | None:
        """The server's checksum once it covers exactly what this laptop has pulled."""
        for _ in range(3):
            answer = self.http.call("GET", "/sync/checksum")
            through, tables = answer.get("through"), answer.get("tables")
            if not isinstance(through, int) or not isinstance(tables, dict):
                raise ServerRefused(None, "checksum: malformed answer")
            cursor = local.cursor_of(self.db)
            if through == cursor:
                return tables
            if through < cursor:
                return None
            # Others pushed meanwhile: catch up, then ask again.
            self.pull_all({"last_seq": through})
        return None

    def compare(
        self, server: Mapping[str, Any], mine: Mapping[str, Any] | None = None
    ) -> list[str]:
        if mine is None:
            mine = local.local_checksums(self.db, [t for t in server if t in local.synced_tables()])
        mine = {name: sums for name, sums in mine.items() if name in server}
        return [name for name, sums in mine.items() if server.get(name) != sums]
