"""What every benchmark shares: one JSON line per measurement, statistics and machine facts.

Output contract: each measurement is one line of JSON on stdout,
``{"metric": ..., "value": ..., "unit": ..., **extra}``, flushed at once so a long run can be
followed (and parsed) while it goes. Progress and diagnostics go to stderr, never stdout.

Only the standard library is imported at the top, so a benchmark can time its own imports (the
demo helper imports the project when it is called).
"""

from __future__ import annotations

import contextlib
import json
import math
import os
import platform
import shutil
import sqlite3
import sys
import tempfile
import time
from collections.abc import Callable, Iterator, Sequence
from pathlib import Path
from typing import Any


def emit(metric: str, value: Any, unit: str, **extra: Any) -> dict[str, Any]:
    """Print one measurement as a JSON line on stdout (flushed) and return it.

    Floats are rounded to 3 decimals, which is below the noise of anything measured here.
    """
    record = {"metric": metric, "value": _rounded(value), "unit": unit}
    record.update({key: _rounded(v) for key, v in extra.items()})
    print(json.dumps(record, ensure_ascii=False, default=str), flush=True)
    return record


def _rounded(value: Any) -> Any:
    if isinstance(value, float):
        return round(value, 3)
    if isinstance(value, list | tuple):
        return [_rounded(v) for v in value]
    return value


def log(message: str) -> None:
    """A progress line on stderr (stdout is reserved for the JSON measurements)."""
    print(message, file=sys.stderr, flush=True)


def percentile(values: Sequence[float], p: float) -> float:
    """The ``p``-th percentile (0-100) by linear interpolation between closest ranks.

    Same definition as numpy's default ("linear"): p=50 is the median, p=100 the maximum.
    Raises ValueError for an empty sequence or ``p`` outside 0-100.
    """
    if not values:
        raise ValueError("percentile of no values")
    if not 0 <= p <= 100:
        raise ValueError(f"percentile must be within 0-100, got {p}")
    ordered = sorted(values)
    rank = (len(ordered) - 1) * p / 100
    low = math.floor(rank)
    high = min(low + 1, len(ordered) - 1)
    return ordered[low] + (ordered[high] - ordered[low]) * (rank - low)


def median(values: Sequence[float]) -> float:
    return percentile(values, 50)


def cpu_model() -> str:
    try:
        with open("/proc/cpuinfo", encoding="utf-8") as cpuinfo:
            for line in cpuinfo:
                if line.lower().startswith("model name"):
                    return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or platform.machine()


def memory_bytes() -> int | None:
    try:
        with open("/proc/meminfo", encoding="utf-8") as meminfo:
            for line in meminfo:
                if line.startswith("MemTotal:"):
                    return int(line.split()[1]) * 1024
    except OSError:
        pass
    return None


def load_average() -> tuple[float, float, float] | None:
    """1, 5 and 15 minute load averages (None where the OS has none): shows contention."""
    try:
        return os.getloadavg()
    except (AttributeError, OSError):
        return None


def machine_info() -> dict[str, Any]:
    """Facts that decide how a number should be read: CPU, cores, memory, Python, SQLite."""
    return {
        "cpu": cpu_model(),
        "cores": os.cpu_count(),
        "memory_bytes": memory_bytes(),
        "python": platform.python_version(),
        "implementation": platform.python_implementation(),
        "sqlite": sqlite3.sqlite_version,
        "platform": platform.platform(),
        "load_average": load_average(),
    }


def demo_database(path: Path, keep: Path | None, customers: int, seed: int) -> None:
    """Put a laptop database holding the demo dealership of ``customers`` customers at
    ``path``: a copy of ``keep`` when that exists, else generated (and, with ``keep``, kept
    there for later runs)."""
    from showroom.db.engine import open_database
    from showroom.demo import generate_demo_data

    if keep and keep.exists():
        shutil.copy(keep, path)
        return
    log(f"generating {customers:,} demo customers ...")
    db = open_database(path)
    started = time.perf_counter()
    generate_demo_data(db, customers, seed)
    db.dispose()  # the last connection closed: the WAL is checkpointed into the file
    log(f"  done in {time.perf_counter() - started:.1f} s")
    if keep:
        # Copied only once complete, so a stopped run leaves nothing behind.
        shutil.copy(path, keep)


def add_demo_arguments(parser: Any) -> None:
    """The options of a benchmark run on a copy of the demo (see :func:`demo_laptop`)."""
    parser.add_argument("--customers", type=int, default=100_000)
    parser.add_argument("--runs", type=int, default=7, help="calls per median")
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument(
        "--db", type=Path, help="demo database: reused (copied, not changed), made if missing"
    )


@contextlib.contextmanager
def demo_laptop(args: Any, prefix: str) -> Iterator[tuple[Any, list[str]]]:
    """An open laptop database on a temporary copy of the demo (``args.db``,
    ``args.customers``, ``args.seed``, as :func:`demo_database` takes them), and the ids of
    its live customers, in id order; the copy is removed afterwards."""
    from sqlalchemy import select

    from showroom.db.engine import open_database
    from showroom.models import Customer

    workdir = Path(tempfile.mkdtemp(prefix=prefix))
    try:
        path = workdir / "laptop.db"
        demo_database(path, args.db, args.customers, args.seed)
        db = open_database(path)
        try:
            with db.session_scope(write=False) as session:
                live = select(Customer.id).where(
                    Customer.merged_into_id.is_(None), Customer.deleted.is_(False)
                )
                ids = sorted(session.scalars(live))
            emit("customers", len(ids), "rows")
            yield db, ids
        finally:
            db.dispose()
    finally:
        shutil.rmtree(workdir, ignore_errors=True)


def timed_ms(work: Callable[[], Any]) -> tuple[float, Any]:
    """``work()``'s wall time in milliseconds, and what it returned."""
    started = time.perf_counter()
    result = work()
    return (time.perf_counter() - started) * 1e3, result
