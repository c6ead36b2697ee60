"""What erased customers (PIPL) cost a laptop's sync.

Each sync round that pushed or pulled runs ``privacy.forget_after_sync`` once any customer was
erased on the laptop: it erases again what the pull brought of erased customers. Most rounds
find nothing, and every round pays for looking. Steps, each reported as JSON lines on stdout
(see bench/common.py):

1. Demo data: --customers demo customers (reused from --db when given and present), copied
   into a temporary directory; --erased of them, picked with --seed, are erased one by one
   with ``erase_customer``: ``erase_ms`` (median and maximum, each in its own transaction).
2. The check a laptop with no erased customer makes instead (``any_erased``, a read):
   ``any_erased_ms``, the median of --runs.
3. A round that finds nothing: ``forget_idle_ms``, the median of --runs calls of
   ``forget_after_sync`` in a write transaction, as the sync makes them.
4. A round after a pull that brought another laptop's edits of --changed erased customers (a
   new phone and new notes each): ``forget_changed_ms``, the median of --runs, each on fresh
   edits; ``rows_changed`` is what one such call erased again.
"""

from __future__ import annotations

import argparse
import os
import random
import shutil
import tempfile
import time
from pathlib import Path

from bench.common import demo_database, emit, machine_info, median

HELP = "what erased customers cost each sync round (forget_after_sync)"


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--customers", type=int, default=100_000)
    parser.add_argument("--erased", type=int, default=200, help="customers erased")
    parser.add_argument("--changed", type=int, default=5, help="erased customers a pull changes")
    parser.add_argument("--runs", type=int, default=7)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument(
        "--db", type=Path, help="demo database: reused (copied, not changed), made if missing"
    )


def run(args: argparse.Namespace) -> int:
    from sqlalchemy import func, select

    from showroom.db.engine import open_database
    from showroom.models import Customer, CustomerPhone
    from showroom.services import dealer, privacy

    emit("machine", os.cpu_count(), "cores", **machine_info())
    workdir = Path(tempfile.mkdtemp(prefix="bench-erasure-"))
    try:
        path = workdir / "laptop.db"
        demo_database(path, args.db, args.customers, args.seed)
        db = open_database(path)
        with db.session_scope(write=False) as session:
            ids = sorted(
                session.scalars(select(Customer.id).where(Customer.merged_into_id.is_(None)))
            )
            emit("customers", len(ids), "rows")
        picked = random.Random(args.seed).sample(ids, min(args.erased, len(ids)))

        erase_ms = []
        for customer_id in picked:
            started = time.perf_counter()
            with db.session_scope() as session:
                privacy.erase_customer(session, dealer.system_actor(session), customer_id)
            erase_ms.append((time.perf_counter() - started) * 1e3)
        emit("erase_ms", median(erase_ms), "ms", max=max(erase_ms), erased=len(picked))

        def timed(work) -> tuple[float, object]:
            started = time.perf_counter()
            result = work()
            return (time.perf_counter() - started) * 1e3, result

        def check() -> bool:
            with db.session_scope(write=False) as session:
                return privacy.any_erased(session)

        def forget() -> int:
            with db.session_scope() as session:
                return privacy.forget_after_sync(session)

        any_ms = [timed(check)[0] for _ in range(args.runs)]
        emit("any_erased_ms", median(any_ms), "ms", runs=args.runs)
        idle = [timed(forget) for _ in range(args.runs)]
        assert all(changed == 0 for _ms, changed in idle), "an idle round changed rows"
        emit("forget_idle_ms", median([ms for ms, _ in idle]), "ms", erased=len(picked))

        rng = random.Random(args.seed + 1)
        changed_runs = []
        for _ in range(args.runs):
            with db.session_scope() as session:
                for customer_id in rng.sample(picked, min(args.changed, len(picked))):
                    number = f"+86139{rng.randrange(10**8):08d}"
                    session.add(CustomerPhone(customer_id=customer_id, number=number))
                    session.get(Customer, customer_id).notes = "另一台电脑的备注"
            changed_runs.append(timed(forget))
        emit(
            "forget_changed_ms",
            median([ms for ms, _ in changed_runs]),
            "ms",
            changed=args.changed,
            rows_changed=changed_runs[0][1],
        )
        with db.session_scope(write=False) as session:
            live = session.scalar(
                select(func.count())
                .select_from(CustomerPhone)
                .where(CustomerPhone.customer_id.in_(picked), CustomerPhone.deleted.is_(False))
            )
        assert live == 0, f"{live} phones of erased customers left live"
        db.dispose()
    finally:
        shutil.rmtree(workdir, ignore_errors=True)
    return 0
