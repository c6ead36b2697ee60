"""What merged customers cost a laptop's sync.

Each sync round that pushed or pulled asks whether a merge needs settling
(``merge.merges_unsettled``, a read): rows another laptop added to a record merged away, a
chain of merges, a pair merged both ways. Most rounds find nothing, and every round pays for
looking. Steps, each reported as JSON lines on stdout (see bench/common.py):

1. Demo data: --customers demo customers (reused from --db when given and present), copied
   into a temporary directory; --merged pairs of them, picked with --seed, are merged one by
   one with ``merge_customers``: ``merge_ms`` (median and maximum, each in its own transaction).
2. A round that finds nothing, the median of --runs calls of ``merges_unsettled`` in a read
   transaction: ``unsettled_pulled_ms`` after a pull that brought rows of --pulled customers
   (the sync's usual case: they are looked at, and a tenth of them are merged away), and
   ``unsettled_all_ms`` looking at every merged record (after a first download).
3. A round after a pull that brought another laptop's additions to --changed merged-away
   records (a phone and a follow-up each): ``settle_changed_ms``, the median of --runs, each on
   fresh additions, of the check and ``settle_after_sync`` in a write transaction;
   ``rows_changed`` is what one such call moved.
4. The same rounds also ask whether a conflict decided on two laptops left anything for the
   sync to close (``conflicts.decisions_unsettled``, a read). With --conflicts resolved
   conflicts stored (years of a store's conflicts) and a handful open:
   ``decisions_unsettled_ms``, the median of --runs calls in a read transaction.
5. And whether a quote changed on two laptops needs putting right (``quotes.quotes_unsettled``,
   a read: a total that does not add up, an approval that covered other lines), on the demo's
   quotes, none of which needs it: ``quotes_unsettled_pulled_ms`` after a pull that brought
   --pulled quotes, and ``quotes_unsettled_all_ms`` looking at every quote (after a first
   download); medians of --runs calls, each in a read transaction.
"""

from __future__ import annotations

import argparse
import datetime as dt
import os
import random

from bench.common import add_demo_arguments, demo_laptop, emit, machine_info, median, timed_ms

HELP = "what the sync's settling checks cost each round (merges, decisions, quote totals)"


def add_arguments(parser: argparse.ArgumentParser) -> None:
    add_demo_arguments(parser)
    parser.add_argument("--merged", type=int, default=1000, help="pairs of customers merged")
    parser.add_argument("--changed", type=int, default=5, help="merged records a pull adds to")
    parser.add_argument("--pulled", type=int, default=50, help="customers a quiet pull brings")
    parser.add_argument(
        "--conflicts", type=int, default=20000, help="resolved conflicts the laptop holds"
    )


def run(args: argparse.Namespace) -> int:
    from sqlalchemy import func, select

    from showroom.db.outbox import CAPTURE
    from showroom.models import CustomerPhone, FollowUp, Quote
    from showroom.services import conflicts, dealer, merge, quotes

    emit("machine", os.cpu_count(), "cores", **machine_info())
    with demo_laptop(args, "bench-merges-") as (db, ids):
        picked = random.Random(args.seed).sample(ids, min(2 * args.merged, len(ids) // 2 * 2))
        pairs = list(zip(picked[::2], picked[1::2], strict=True))

        def merged(survivor: str, absorbed: str) -> None:
            with db.session_scope() as session:
                merge.merge_customers(session, dealer.system_actor(session), survivor, absorbed)

        merge_ms = [timed_ms(lambda pair=pair: merged(*pair))[0] for pair in pairs]
        emit("merge_ms", median(merge_ms), "ms", max=max(merge_ms), merged=len(pairs))

        def check(around=None) -> bool:
            with db.session_scope(write=False) as session:
                return merge.merges_unsettled(session, around=around)

        def settle(around) -> int:
            if not check(around):
                return 0
            with db.session_scope() as session:
                return merge.settle_after_sync(session)

        absorbed_ids = [absorbed for _survivor, absorbed in pairs]
        rng = random.Random(args.seed + 1)
        retired = min(len(absorbed_ids), args.pulled // 10)
        pulled = set(rng.sample(absorbed_ids, retired) + rng.sample(ids, args.pulled - retired))
        for name, around in (("unsettled_pulled_ms", pulled), ("unsettled_all_ms", None)):
            idle = [timed_ms(lambda around=around: check(around)) for _ in range(args.runs)]
            assert not any(found for _ms, found in idle), "a round with nothing to do found work"
            emit(name, median([ms for ms, _ in idle]), "ms", merged=len(pairs), pulled=len(pulled))

        owner = None
        changed_runs = []
        for _ in range(args.runs):
            with db.session_scope() as session:
                session.info[CAPTURE] = False  # as a pull writes rows
                owner = owner or dealer.system_actor(session).user_id
                changed = rng.sample(absorbed_ids, min(args.changed, len(absorbed_ids)))
                for absorbed in changed:
                    number = f"+86139{rng.randrange(10**8):08d}"
                    session.add(CustomerPhone(customer_id=absorbed, number=number))
                    due = dt.date.today()
                    session.add(FollowUp(customer_id=absorbed, owner_id=owner, due=due))
            changed_runs.append(timed_ms(lambda changed=changed: settle(pulled | set(changed))))
        emit(
            "settle_changed_ms",
            median([ms for ms, _ in changed_runs]),
            "ms",
            changed=args.changed,
            rows_changed=changed_runs[0][1],
        )
        with db.session_scope(write=False) as session:
            stranded = session.scalar(
                select(func.count())
                .select_from(CustomerPhone)
                .where(
                    CustomerPhone.customer_id.in_(absorbed_ids), CustomerPhone.deleted.is_(False)
                )
            )
        assert stranded == 0, f"{stranded} phones left on merged-away records"

        store_conflicts(db, ids, args.conflicts, random.Random(args.seed + 2))

        def decisions() -> bool:
            with db.session_scope(write=False) as session:
                return conflicts.decisions_unsettled(session)

        idle = [timed_ms(decisions) for _ in range(args.runs)]
        assert not any(found for _ms, found in idle), "a round with nothing to close found work"
        emit(
            "decisions_unsettled_ms",
            median([ms for ms, _ in idle]),
            "ms",
            conflicts=args.conflicts,
        )

        with db.session_scope(write=False) as session:
            quote_ids = sorted(session.scalars(select(Quote.id).where(Quote.deleted.is_(False))))
        pulled_quotes = set(rng.sample(quote_ids, min(args.pulled, len(quote_ids))))

        def totals(around) -> list[str]:
            with db.session_scope(write=False) as session:
                return quotes.quotes_unsettled(session, around)

        for name, around in (
            ("quotes_unsettled_pulled_ms", pulled_quotes),
            ("quotes_unsettled_all_ms", None),
        ):
            idle = [timed_ms(lambda around=around: totals(around)) for _ in range(args.runs)]
            assert not any(found for _ms, found in idle), "a quote of the demo needs settling"
            emit(
                name, median([ms for ms, _ in idle]), "ms",
                quotes=len(quote_ids), pulled=len(pulled_quotes) if around else len(quote_ids),
            )  # fmt: skip
    return 0


def store_conflicts(db, ids: list[str], count: int, rng: random.Random) -> None:
    """``count`` resolved field conflicts about the customers, a twentieth of them about a
    conflict's decision, and five open ones about customers, stored as a pull stores them."""
    from showroom.db.outbox import CAPTURE
    from showroom.ids import new_id
    from showroom.models import SyncConflict

    detected = dt.datetime(2026, 1, 1, tzinfo=dt.UTC)
    with db.session_scope() as session:
        session.info[CAPTURE] = False
        previous = None
        for i in range(count + 5):
            resolved = i < count
            about = previous if resolved and previous and i % 20 == 0 else None
            previous = new_id()
            session.add(
                SyncConflict(
                    id=previous,
                    kind="field",
                    table_name="sync_conflict" if about else "customer",
                    row_id=about or rng.choice(ids),
                    field="resolved_at" if about else "address",
                    theirs_value='"a"',
                    mine_value='"b"',
                    detected_at=detected + dt.timedelta(minutes=i),
                    status="resolved" if resolved else "open",
                    resolution=("decision_settled" if about else "kept") if resolved else None,
                )
            )
