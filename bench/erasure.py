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

from bench.common import add_demo_arguments, demo_laptop, emit, machine_info, median, timed_ms

HELP = "what erased customers cost each sync round (forget_after_sync)"


def add_arguments(parser: argparse.ArgumentParser) -> None:
    add_demo_arguments(parser)
    parser.add_argument("--erased", type=int, default=200, help="customers erased")
    parser.add_argument("--changed", type=int, default=5, help="erased customers a pull changes")


def run(args: argparse.Namespace) -> int:
    from sqlalchemy import func, select

    from showroom.models import Customer, CustomerPhone
    from showroom.services import dealer, privacy

    emit("machine", os.cpu_count(), "cores", **machine_info())
    with demo_laptop(args, "bench-erasure-") as (db, ids):
        picked = random.Random(args.seed).sample(ids, min(args.erased, len(ids)))

        def erase(customer_id: str) -> None:
            with db.session_scope() as session:
                privacy.erase_customer(session, dealer.system_actor(session), customer_id)

        erase_ms = [timed_ms(lambda c=customer_id: erase(c))[0] for customer_id in picked]
        emit("erase_ms", median(erase_ms), "ms", max=max(erase_ms), erased=len(picked))

        def check() -> bool:
            with db.session_scope(write=False) as session:
                return privacy.any_erased(session)

        def forget() -> int:
            with db.session_scope() as session:
                return privacy.forget_after_sync(session)

        any_ms = [timed_ms(check)[0] for _ in range(args.runs)]
        emit("any_erased_ms", median(any_ms), "ms", runs=args.runs)
        idle = [timed_ms(forget) for _ in range(args.runs)]
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
            changed_runs.append(timed_ms(forget))
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
    return 0
