"""Customer search on a large local database.

Steps, each reported as JSON lines on stdout (see bench/common.py):

1. Demo data: a fresh database (in a temporary directory, or at --db) is migrated with
   open_database and filled by showroom.demo.generate_demo_data: ``demo_data_seconds``,
   ``demo_data_peak_rss_mb``, ``rows`` per table, ``db_size_bytes`` and ``db_size_mb``.
   A --db that already holds exactly --customers customers is reused as it is.
2. Cold start: in a fresh Python process per run (cold for Python, not for the OS file cache),
   the time from just before open_database(path) (which checks the schema is at head) to the
   results of the first search: ``open_first_query_ms``, the median of --open-runs runs. The
   imports before it are ``import_ms``; the whole process, interpreter start to exit, is
   ``process_ms``.
3. Latency: a fixed mix of queries built from the data with --seed, --queries of each kind:
   2-character names that exist, 4-digit phone tails, plate fragments (3-4 characters), VIN
   fragments (6-8 characters from the middle or end) and strings that match nothing. Each
   query is one ``search_customers(session, actor, query, limit=20)`` call in its own
   ``db.session_scope(write=False)``, timed around both, as the search box does per keystroke.
   ``search_p50_ms``, ``search_p95_ms``, ``search_max_ms`` for ``kind`` "all" and per kind,
   and ``gc_full_collections`` (with each pause) during the timed queries: a full collection of
   the Python heap takes tens of ms and is what the maximum usually shows.
"""

from __future__ import annotations

import argparse
import gc
import json
import os
import random
import shutil
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from bench.common import emit, load_average, log, machine_info, median, percentile

HELP = "demo data generation, cold open + first search, and search latency"

PROJECT_ROOT = Path(__file__).resolve().parent.parent
KINDS = ("name", "phone_tail", "plate", "vin", "no_match")
WARMUP_QUERIES = 20
LIMIT = 20

# Runs in a new interpreter: times the imports, then open_database + the first search.
_CHILD = """
import sys, time
t0 = time.perf_counter()
from showroom.actor import Actor
from showroom.db.engine import open_database
from showroom.vocabulary import Role
try:
    from showroom.services.customers import search_customers
except ImportError:
    search_customers = None
    from showroom.search import fold_query, ranked_customer_ids
t1 = time.perf_counter()
db = open_database(sys.argv[1])
with db.session_scope(write=False) as session:
    if search_customers is not None:
        actor = Actor(user_id=None, display_name="bench", role=Role.MANAGER)
        hits = search_customers(session, actor, sys.argv[2], limit=20)
    else:
        hits = ranked_customer_ids(session.connection(), fold_query(sys.argv[2]), 20)
t2 = time.perf_counter()
db.dispose()
import json
print(json.dumps({"import_ms": (t1 - t0) * 1e3, "open_first_query_ms": (t2 - t1) * 1e3,
                  "hits": len(hits)}))
"""


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--customers", type=int, required=True, metavar="N", help="number of demo customers"
    )
    parser.add_argument("--seed", type=int, default=1, help="demo data and query mix seed")
    parser.add_argument(
        "--db",
        type=Path,
        metavar="PATH",
        help="database file to create, or to reuse if it holds N customers "
        "(default: a temporary file, deleted afterwards)",
    )
    parser.add_argument(
        "--queries", type=int, default=200, metavar="Q", help="queries of each kind (default 200)"
    )
    parser.add_argument(
        "--open-runs",
        type=int,
        default=5,
        metavar="R",
        help="fresh processes for the cold open + first query (default 5)",
    )


def run(args: argparse.Namespace) -> int:
    emit("machine", os.cpu_count(), "cores", **machine_info())
    tempdir = None
    if args.db is None:
        tempdir = Path(tempfile.mkdtemp(prefix="showroom-bench-"))
        path = tempdir / "bench.db"
    else:
        path = args.db
    try:
        if not _prepare(path, args.customers, args.seed):
            return 2
        emit("db_size_bytes", _db_size(path), "bytes", customers=args.customers)
        emit("db_size_mb", _db_size(path) / 2**20, "MiB", customers=args.customers)
        _cold_open(path, args.customers, args.open_runs)
        _latency(path, args.customers, args.seed, args.queries)
        loads = load_average()
        emit("load_average_end", loads[0] if loads else None, "load", load_average=loads)
        return 0
    finally:
        if tempdir is not None:
            shutil.rmtree(tempdir, ignore_errors=True)


# --- 1. demo data ------------------------------------------------------------------------------


def _prepare(path: Path, customers: int, seed: int) -> bool:
    """Make sure ``path`` holds ``customers`` demo customers; False (after saying why) if not."""
    import resource

    from showroom.db.engine import open_database
    from showroom.demo import CUSTOMER_TABLES, generate_demo_data

    existed = path.exists()
    db = open_database(path)
    try:
        with db.engine.connect() as conn:
            held = conn.exec_driver_sql("SELECT count(*) FROM customer").scalar_one()
        if existed and held == customers:
            log(f"reusing {path}: it holds {held} customers")
            emit("demo_data_reused", held, "customers", path=str(path))
        elif held:
            log(f"{path} holds {held} customers, not {customers}: use another --db")
            return False
        else:
            log(f"generating {customers} demo customers into {path}")
            step = max(1, customers // 20)
            marks = {"next": 0}

            def progress(done: int, total: int) -> None:
                if done >= marks["next"] or done == total:
                    log(f"  {done}/{total}")
                    marks["next"] = done + step

            summary = generate_demo_data(db, customers, seed=seed, progress=progress)
            peak_kib = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
            emit("demo_data_seconds", summary.seconds, "s", customers=customers, seed=seed)
            emit("demo_data_peak_rss_mb", peak_kib / 1024, "MiB", customers=customers)
        with db.engine.connect() as conn:
            for table in (
                *CUSTOMER_TABLES,
                "search_doc",
                "search_key",
            ):
                count = conn.exec_driver_sql(f"SELECT count(*) FROM {table}").scalar_one()
                emit("rows", count, "rows", table=table, customers=customers)
    finally:
        # Closing the last connection checkpoints the WAL into the main file.
        db.dispose()
    return True


def _db_size(path: Path) -> int:
    return sum(
        p.stat().st_size for p in (path, Path(f"{path}-wal"), Path(f"{path}-shm")) if p.exists()
    )


# --- 2. cold open + first query ----------------------------------------------------------------


def _cold_open(path: Path, customers: int, runs: int) -> None:
    import sqlite3

    with sqlite3.connect(path) as conn:
        (number,) = conn.execute(
            "SELECT number FROM customer_phone ORDER BY rowid LIMIT 1"
        ).fetchone()
    query = number[-4:]
    env = dict(os.environ)
    env["PYTHONPATH"] = os.pathsep.join(p for p in (str(PROJECT_ROOT), env.get("PYTHONPATH")) if p)
    results: list[dict[str, Any]] = []
    for _ in range(runs):
        started = time.perf_counter()
        done = subprocess.run(
            [sys.executable, "-c", _CHILD, str(path), query],
            cwd=PROJECT_ROOT,
            env=env,
            capture_output=True,
            text=True,
            check=False,
        )
        elapsed_ms = (time.perf_counter() - started) * 1e3
        if done.returncode:
            log(done.stderr)
            raise RuntimeError(f"cold-open child failed with status {done.returncode}")
        result = json.loads(done.stdout.strip().splitlines()[-1])
        result["process_ms"] = elapsed_ms
        results.append(result)
    for metric in ("open_first_query_ms", "import_ms", "process_ms"):
        values = [r[metric] for r in results]
        emit(
            metric,
            median(values),
            "ms",
            stat="median",
            runs=values,
            customers=customers,
            query=query,
        )


# --- 3. search latency -------------------------------------------------------------------------


def _search_impl() -> tuple[str, Callable[[Any, str], list]]:
    """(name, search(session, query)): the customer service, or the raw index if it is absent."""
    from showroom.actor import Actor
    from showroom.vocabulary import Role

    try:
        from showroom.services.customers import search_customers
    except ImportError:
        from showroom.search import fold_query, ranked_customer_ids

        def raw(session, query: str) -> list:
            return ranked_customer_ids(session.connection(), fold_query(query), LIMIT)

        return "search.ranked_customer_ids", raw

    actor = Actor(user_id=None, display_name="bench", role=Role.MANAGER)

    def service(session, query: str) -> list:
        return search_customers(session, actor, query, limit=LIMIT)

    return "services.customers.search_customers", service


def _sample(
    conn,
    rng: random.Random,
    table: str,
    column: str,
    want: int,
    accept: Callable[[str], bool] = bool,
) -> list[str]:
    """``want`` values of ``column`` from random rows of ``table`` (by rowid), in draw order."""
    top = conn.exec_driver_sql(f"SELECT max(rowid) FROM {table}").scalar() or 0
    values: list[str] = []
    for _ in range(want * 50):
        if len(values) == want or not top:
            break
        value = conn.exec_driver_sql(
            f"SELECT {column} FROM {table} WHERE rowid = ?", (rng.randrange(1, top + 1),)
        ).scalar()
        if value and accept(value):
            values.append(value)
    return values


def _no_match(rng: random.Random, want: int) -> list[str]:
    """Strings no value can contain: names are Chinese, phones digits, and plates and VINs
    never use the letters I and O (VINs not Q either)."""
    queries = ["zzqq", "9x9x"]
    forms = (
        lambda: f"o{rng.randrange(1000):03d}",
        lambda: f"{rng.randrange(100):02d}io",
        lambda: "zz" + "".join(rng.choice("ioq") for _ in range(2)),
        lambda: f"qo{rng.choice('abcdefghjk')}{rng.randrange(10)}",
        lambda: f"i{rng.randrange(10)}o{rng.randrange(10)}",
    )
    while len(queries) < want:
        queries.append(rng.choice(forms)())
    return queries[:want]


def build_queries(conn, seed: int, per_kind: int) -> list[tuple[str, str]]:
    """The query mix, (kind, query) in a shuffled order; the same data and seed give the same
    mix."""
    rng = random.Random(seed)
    names = _sample(
        conn, rng, "customer", "name", per_kind, lambda n: len(n) == 2 and not n.endswith("公司")
    )
    phones = [n[-4:] for n in _sample(conn, rng, "customer_phone", "number", per_kind)]
    plates = [
        p[1:4] if i % 2 == 0 else p[-4:]
        for i, p in enumerate(_sample(conn, rng, "customer_vehicle", "plate", per_kind))
    ]
    vins = []
    for vin in _sample(conn, rng, "customer_vehicle", "vin", per_kind):
        length = rng.randint(6, 8)
        start = rng.randint(6, 17 - length)
        vins.append(vin[start : start + length])
    mix = [
        *(("name", q) for q in names),
        *(("phone_tail", q) for q in phones),
        *(("plate", q) for q in plates),
        *(("vin", q) for q in vins),
        *(("no_match", q) for q in _no_match(rng, per_kind)),
    ]
    rng.shuffle(mix)
    return mix


def _latency(path: Path, customers: int, seed: int, per_kind: int) -> None:
    from showroom.db.engine import open_database

    db = open_database(path)
    try:
        with db.engine.connect() as conn:
            queries = build_queries(conn, seed, per_kind)
        impl, search = _search_impl()
        log(f"timing {len(queries)} queries through {impl}")
        for _, query in queries[:WARMUP_QUERIES]:
            with db.session_scope(write=False) as session:
                search(session, query)
        times: dict[str, list[float]] = {kind: [] for kind in KINDS}
        hits: dict[str, list[int]] = {kind: [] for kind in KINDS}
        all_hits: list[int] = []
        # Full collections of the interpreter's heap show up as latency outliers; count them
        # so a slow maximum can be told apart from a slow query.
        pauses: list[float] = []
        gc_started: list[float] = []

        def on_gc(phase: str, info: dict[str, int]) -> None:
            if info.get("generation") != 2:
                return
            if phase == "start":
                gc_started.append(time.perf_counter())
            elif gc_started:
                pauses.append((time.perf_counter() - gc_started.pop()) * 1e3)

        gc.callbacks.append(on_gc)
        try:
            for kind, query in queries:
                started = time.perf_counter()
                with db.session_scope(write=False) as session:
                    found = search(session, query)
                times[kind].append((time.perf_counter() - started) * 1e3)
                hits[kind].append(len(found))
                all_hits.append(len(found))
        finally:
            gc.callbacks.remove(on_gc)
    finally:
        db.dispose()
    emit(
        "gc_full_collections",
        len(pauses),
        "collections",
        customers=customers,
        pause_ms=pauses,
        note="generation-2 collections during the timed queries",
    )

    everything = [t for kind in KINDS for t in times[kind]]
    _emit_latency("all", everything, [h for kind in KINDS for h in hits[kind]], customers, impl)
    for kind in KINDS:
        if times[kind]:
            _emit_latency(kind, times[kind], hits[kind], customers, impl)
    # "9x9x" is required in the mix but can occur in a VIN (X is a legal VIN letter): report
    # such queries rather than pretend they missed.
    matched = sorted(
        {q for (kind, q), n in zip(queries, all_hits, strict=True) if kind == "no_match" and n}
    )
    emit(
        "no_match_queries_with_hits",
        len(matched),
        "queries",
        customers=customers,
        examples=matched[:10],
    )


def _emit_latency(
    kind: str, times: list[float], hits: list[int], customers: int, impl: str
) -> None:
    extra = {
        "kind": kind,
        "queries": len(times),
        "customers": customers,
        "mean_hits": sum(hits) / len(hits),
        "impl": impl,
    }
    emit("search_p50_ms", percentile(times, 50), "ms", **extra)
    emit("search_p95_ms", percentile(times, 95), "ms", **extra)
    emit("search_max_ms", max(times), "ms", **extra)
