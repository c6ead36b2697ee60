"""The PostgreSQL floor of an initial upload: the server's database alone storing the rows.

    python -m bench pgfloor [--rows 1164875] [--data-bytes 290] [--pg URL] [--repeat 3]

A fresh database gets the server's tables (``showroom-server migrate``), then PostgreSQL
writes ``--rows`` rows into the ``record`` table with one ``INSERT ... SELECT`` from
``generate_series``: no Python, no HTTP, no JSON, no laptop. Every real upload does this much
and more (it also sends, checks and answers), so ``pgfloor_insert_s`` is a lower bound for
``initial_upload_s`` of ``bench sync`` on the same machine. The default is the row count of
``bench sync --customers 100000``. Ids are time-ordered like the app's (UUIDv7), so the
primary key is appended to, as in a real upload.

Measures ``pgfloor_insert_s`` (median of ``--repeat``, table emptied between runs).
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import time

from bench.common import emit, log, machine_info, median

HELP = "pgfloor: how long PostgreSQL alone takes to store an upload's rows (a lower bound)"

DEFAULT_ROWS = 1_164_875  # bench sync --customers 100000


def add_arguments(parser: argparse.ArgumentParser) -> None:
    from bench.sync import DEFAULT_PG

    parser.add_argument("--rows", type=int, default=DEFAULT_ROWS)
    parser.add_argument(
        "--data-bytes", type=int, default=290, help="JSON text per row (bench sync: 291 on average)"
    )
    parser.add_argument("--pg", default=os.environ.get("SHOWROOM_TEST_PG_URL", DEFAULT_PG))
    parser.add_argument("--repeat", type=int, default=3)


_DATA_FRAME = '{"x":""}'  # each row's JSON: this, its value padded to --data-bytes

# One dealer, ten tables, ids that grow with the row number (as UUIDv7 ids made in one run).
_INSERT = """
INSERT INTO record (dealer_id, table_name, row_id, version, deleted, data, updated_at,
                    updated_by_device, updated_by_actor, clean_for)
SELECT %(dealer)s, 'table_' || (g %% 10),
       lpad(to_hex(g), 8, '0') || '-019a-7e4b-8c20-c64723a5ab01', g, false,
       %(data)s, now(), %(dealer)s, NULL, 'bench'
FROM generate_series(1, %(rows)s) AS g
"""


def run(args: argparse.Namespace) -> int:
    import psycopg

    from bench.sync import drop_pg_database, new_pg_database

    if args.rows < 1 or args.repeat < 1:
        raise SystemExit("rows and repeat: expected whole numbers >= 1")
    if args.data_bytes < len(_DATA_FRAME):
        raise SystemExit(f"data-bytes: expected at least {len(_DATA_FRAME)}")
    emit("machine", os.cpu_count(), "cores", **machine_info())
    name, url = new_pg_database(args.pg)
    try:
        subprocess.run(
            [sys.executable, "-m", "sync.server.cli", "migrate", "--db", url],
            check=True, capture_output=True,
        )  # fmt: skip
        dealer = "019a0000-0000-7000-8000-000000000001"
        data = _DATA_FRAME.replace('""', '"' + "x" * (args.data_bytes - len(_DATA_FRAME)) + '"')
        params = {"dealer": dealer, "data": data, "rows": args.rows}
        times = []
        with psycopg.connect(url.replace("postgresql+psycopg://", "postgresql://")) as conn:
            for attempt in range(args.repeat):
                conn.execute("TRUNCATE record")
                conn.commit()
                conn.execute("CHECKPOINT")  # each run starts without the last one's dirty pages
                started = time.perf_counter()
                conn.execute(_INSERT, params)
                conn.commit()
                times.append(time.perf_counter() - started)
                log(f"run {attempt + 1}: {times[-1]:.1f} s")
        emit("pgfloor_insert_s", median(times), "s", runs=times, rows=args.rows,
             data_bytes=args.data_bytes, target_upload_s=10)  # fmt: skip
        return 0
    finally:
        drop_pg_database(args.pg, name)
