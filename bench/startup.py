"""Desktop start-up, search-as-you-type and memory, on a demo database.

    python -m bench startup --customers 100000 [--db PATH] [--runs 5]

Measures, each in fresh processes so nothing is warm but the OS file cache:
- ``startup_window_shown_ms``: from starting the ``showroom`` process to its window being shown
  (the real entry point, run with ``--exit-when-shown``), median of ``--runs``;
- ``keystroke_to_results_ms``: from the last keystroke of a query typed into the customers
  search box to the result rows being painted, per query kind (p50, p95);
- ``rss_after_scrolling_mb``: resident memory after paging the whole customer list into the
  view and scrolling it to the end.

The database is an SQLCipher copy of the demo database under a key of its own, as the app's
real database always is (docs/security.md); the app finds the key in ``SHOWROOM_DB_KEY``.
``--plain`` measures the plain demo file instead, opened as the app opens its demo database.
"""

from __future__ import annotations

import argparse
import os
import shutil
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

from bench.common import emit, log, machine_info, median, percentile

HELP = "desktop start-up time, keystroke-to-results latency and RSS after scrolling"


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--customers", type=int, default=100_000)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--db", type=Path, help="reuse this demo database")
    parser.add_argument("--runs", type=int, default=5, help="start-up runs (median reported)")
    parser.add_argument("--queries", type=int, default=40, help="queries per kind")
    parser.add_argument("--plain", action="store_true", help="the plain file, not encrypted")
    parser.add_argument("--child", choices=["typing", "scroll"], help=argparse.SUPPRESS)


def run(args: argparse.Namespace) -> int:
    if args.child:
        return _child(args)
    from bench.search import _prepare

    emit("machine", os.cpu_count(), "cores", **machine_info())
    tempdir = Path(tempfile.mkdtemp(prefix="showroom-bench-"))
    path = args.db or tempdir / "bench.db"
    env = dict(os.environ, QT_QPA_PLATFORM="offscreen", SHOWROOM_DATA_DIR=str(tempdir))
    env["PYTHON_KEYRING_BACKEND"] = "keyring.backends.fail.Keyring"  # the key is given
    try:
        if not _prepare(path, args.customers, args.seed):
            return 2
        if not args.plain:
            path = _encrypted_copy(path, tempdir, env)
        _startup(path, env, args)
        for mode in ("typing", "scroll"):
            _run_child(mode, path, env, args)
        return 0
    finally:
        shutil.rmtree(tempdir, ignore_errors=True)


def _encrypted_copy(path: Path, tempdir: Path, env: dict) -> Path:
    """An SQLCipher copy of the demo database at ``path``, its key put in ``env`` (not timed)."""
    from showroom.db.crypto import ENV_KEY, encrypt_in_place, new_key

    copy = tempdir / "showroom.db"
    shutil.copy(path, copy)
    key = new_key()
    started = time.perf_counter()
    encrypt_in_place(copy, key)
    log(f"  encrypted a copy in {time.perf_counter() - started:.1f} s")
    env[ENV_KEY] = key.hex()
    return copy


def _startup(path: Path, env: dict, args) -> None:
    exe = shutil.which("showroom") or str(Path(sys.executable).with_name("showroom"))
    # The app switches a plain real database to an encrypted one, asking for an admin secret:
    # a plain file is opened as the demo database is, which stays plain.
    command = [exe, "--db", str(path), "--exit-when-shown", *(["--demo"] if args.plain else [])]
    times = []
    for _ in range(args.runs):
        started = time.perf_counter()
        child = subprocess.Popen(
            command, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True
        )
        # An app waiting on a dialog would never print: it is stopped after two minutes.
        watchdog = threading.Timer(120, child.kill)
        watchdog.start()
        line = child.stdout.readline()  # printed the moment the window is on screen
        watchdog.cancel()
        times.append((time.perf_counter() - started) * 1000)
        _, errors = child.communicate(timeout=120)
        if child.returncode != 0 or line.strip() != "shown":
            log(errors[-2000:])
            raise SystemExit("the app did not start")
    emit(
        "startup_window_shown_ms", median(times), "ms",
        customers=args.customers, runs=len(times), all=times,
    )  # fmt: skip


def _run_child(mode: str, path: Path, env: dict, args) -> None:
    command = [sys.executable, "-m", "bench", "startup", "--child", mode, "--db", str(path),
               "--customers", str(args.customers), "--queries", str(args.queries)]  # fmt: skip
    result = subprocess.run(command, env=env, capture_output=True, text=True, timeout=1800)
    if result.returncode != 0:
        log(result.stderr[-4000:])
        raise SystemExit(f"{mode} measurement failed")
    sys.stdout.write(result.stdout)
    sys.stdout.flush()


# --- inside the child process -------------------------------------------------------------------


def _child(args) -> int:
    from PySide6.QtCore import QSettings
    from PySide6.QtWidgets import QApplication

    from showroom.db.crypto import find_key
    from showroom.db.engine import open_database
    from ui.app import choose_actor
    from ui.context import AppContext, Navigator
    from ui.i18n import install_fonts, set_language
    from ui.main_window import MainWindow
    from ui.tasks import TaskRunner, install_session_guard

    app = QApplication(sys.argv[:1])
    QSettings.setDefaultFormat(QSettings.Format.IniFormat)
    QSettings.setPath(
        QSettings.Format.IniFormat, QSettings.Scope.UserScope, os.environ["SHOWROOM_DATA_DIR"]
    )
    install_fonts(app)
    language = set_language("zh_CN")
    database = open_database(args.db, find_key(args.db, use_keyring=False))
    install_session_guard(database)
    actor, store, _ = choose_actor(database)
    runner = TaskRunner(database)
    ctx = AppContext(runner, actor, Navigator(), args.db, store, language)
    window = MainWindow(ctx)
    window.resize(1280, 800)
    window.show()
    window.show_page("customers")
    page = window.pages["customers"]
    _wait(app, lambda: page.model.rowCount() > 0, 30)
    try:
        if args.child == "typing":
            _typing(app, page, database, args)
        else:
            _scroll(app, page, args)
    finally:
        window.close()
        runner.shutdown()
        database.dispose()
    return 0


def _wait(app, condition, timeout: float) -> bool:
    deadline = time.perf_counter() + timeout
    while time.perf_counter() < deadline:
        app.processEvents()
        if condition():
            return True
        time.sleep(0.0005)
    return False


def _queries(database, per_kind: int) -> list[tuple[str, str]]:
    from sqlalchemy import text

    from bench.search import build_queries

    with database.engine.connect() as conn:
        queries = build_queries(conn, seed=11, per_kind=per_kind)
    if not queries:
        raise SystemExit("no queries")
    # Sanity: the index is there, so a miss on an empty table is not mistaken for speed.
    with database.engine.connect() as conn:
        assert conn.execute(text("SELECT count(*) FROM search_key")).scalar_one() > 0
    return queries


def _typing(app, page, database, args) -> None:
    """Type each query key by key, as a person would, and time the last key to the painted rows."""
    from PySide6.QtCore import QEvent, Qt
    from PySide6.QtGui import QKeyEvent

    NO_MODIFIER = Qt.KeyboardModifier.NoModifier

    box = page.search
    loads = [0]
    page.model.loaded.connect(lambda: loads.__setitem__(0, loads[0] + 1))
    results: dict[str, list[float]] = {}
    for kind, query in _queries(database, args.queries):
        box.clear()
        _wait(app, lambda: not page.model.searching, 5)
        box.setFocus()
        for char in query[:-1]:
            app.sendEvent(box, QKeyEvent(QEvent.Type.KeyPress, 0, NO_MODIFIER, char))
            _wait(app, lambda: False, 0.08)  # a quick typist: about 80 ms between keys
        before = loads[0]
        started = time.perf_counter()
        app.sendEvent(box, QKeyEvent(QEvent.Type.KeyPress, 0, NO_MODIFIER, query[-1]))
        if not _wait(app, lambda b=before: loads[0] > b, 10):
            raise SystemExit(f"no results shown for {query!r}")
        page.table.viewport().repaint()  # the rows are on screen, not just in the model
        results.setdefault(kind, []).append((time.perf_counter() - started) * 1000)
    every = [t for times in results.values() for t in times]
    for kind, times in [("all", every), *sorted(results.items())]:
        emit("keystroke_to_results_p50_ms", median(times), "ms", kind=kind, queries=len(times),
             customers=args.customers)  # fmt: skip
        emit("keystroke_to_results_p95_ms", percentile(times, 95), "ms", kind=kind,
             queries=len(times), customers=args.customers)  # fmt: skip


def _rss_mb() -> float:
    with open("/proc/self/status") as status:
        for line in status:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
    return float("nan")


def _scroll(app, page, args) -> None:
    """Scroll the list to the very end, letting the view fetch page after page."""
    from PySide6.QtCore import QModelIndex

    model, table = page.model, page.table
    emit("rss_list_shown_mb", _rss_mb(), "MiB", customers=args.customers)
    started = time.perf_counter()
    scrollbar = table.verticalScrollBar()
    root = QModelIndex()
    while model.canFetchMore(root) or model.loading:
        before = model.rowCount()
        if not model.loading:
            # What the view does when the user drags to the bottom of what is loaded.
            model.fetchMore(root)
        _wait(app, lambda b=before: model.rowCount() > b or not model.loading, 30)
        scrollbar.setValue(scrollbar.maximum())
        app.processEvents()
    _wait(app, lambda: False, 0.2)
    emit("scroll_whole_list_s", time.perf_counter() - started, "s", rows=model.rowCount(),
         pages=model.pages_fetched, customers=args.customers)  # fmt: skip
    emit("rss_after_scrolling_mb", _rss_mb(), "MiB", rows=model.rowCount(),
         customers=args.customers)  # fmt: skip
