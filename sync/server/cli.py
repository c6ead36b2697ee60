"""``showroom-server``: run the central sync server and administer it. Output is JSON lines.

Exit status: 0 success, 2 bad input (one line on stderr naming the field), 1 anything else.
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import os
import socket
import sys
from collections.abc import Sequence

EXIT_BAD_INPUT = 2


class _Parser(argparse.ArgumentParser):
    """argparse, but bad arguments exit 2 with one line instead of the whole usage text."""

    def error(self, message: str) -> None:  # type: ignore[override]
        self.exit(EXIT_BAD_INPUT, f"error: {message}\n")


def emit(obj) -> None:
    print(json.dumps(obj, ensure_ascii=False, sort_keys=True), flush=True)


def build_parser() -> argparse.ArgumentParser:
    parser = _Parser(prog="showroom-server", description="Showroom central sync server")
    db_help = (
        "database URL or SQLite file "
        "(default: $SHOWROOM_SERVER_DB, else server.db in the data directory)"
    )
    snapshots_help = (
        "folder of the dealers' snapshots for fresh laptops, or 'off' (default:"
        " $SHOWROOM_SERVER_SNAPSHOTS, else 'snapshots' beside an SQLite file or in the data"
        " directory)"
    )
    common = _Parser(add_help=False)
    common.add_argument("--db", default=None, help=db_help)
    sub = parser.add_subparsers(dest="command", required=True, parser_class=_Parser)

    serve = sub.add_parser("serve", parents=[common], help="migrate, then serve HTTP")
    serve.add_argument("--host", default="127.0.0.1")
    serve.add_argument("--port", type=int, default=8765)
    serve.add_argument("--workers", type=int, default=1, help="server processes (PostgreSQL)")
    serve.add_argument(
        "--forwarded-allow-ips",
        default=None,
        help="reverse proxies trusted for X-Forwarded-For (the address enrolment limits use)",
    )
    serve.add_argument("--log-level", default="warning")
    serve.add_argument("--snapshots", default=None, help=snapshots_help)
    sub.add_parser("migrate", parents=[common], help="bring the server's tables to the newest")
    dealer = sub.add_parser("create-dealer", parents=[common], help="add a dealer; prints its id")
    dealer.add_argument("name")
    sub.add_parser("dealers", parents=[common], help="list dealers")
    code = sub.add_parser("enroll-code", parents=[common], help="print a one-time enrolment code")
    code.add_argument("--dealer", required=True, help="dealer id")
    code.add_argument("--ttl-hours", type=float, default=24.0)
    revoke = sub.add_parser("revoke-device", parents=[common], help="revoke a device's token")
    revoke.add_argument("device_id")
    devices = sub.add_parser("devices", parents=[common], help="list enrolled devices")
    devices.add_argument("--dealer", default=None, help="only this dealer's devices")
    restored = sub.add_parser(
        "restored",
        parents=[common],
        help="after restoring a backup: start a new history so every laptop re-sends what it lost",
    )
    restored.add_argument("--dealer", default=None, help="only this dealer (default: all)")
    snap = sub.add_parser(
        "snapshot", parents=[common], help="build a dealer's snapshot for fresh laptops now"
    )
    snap.add_argument("--dealer", required=True, help="dealer id")
    snap.add_argument("--snapshots", default=None, help=snapshots_help)
    purge = sub.add_parser("purge", parents=[common], help="purge old tombstones")
    purge.add_argument("--retention-days", type=float, default=30.0)
    return parser


def _engine(args, *, migrate: bool = True):
    from sync.server.config import Settings, snapshot_dir_from
    from sync.server.db import make_engine
    from sync.server.db import migrate as run_migrations

    settings = Settings.from_env(args.db)
    chosen = getattr(args, "snapshots", None)
    if chosen is not None:
        settings = dataclasses.replace(settings, snapshot_dir=snapshot_dir_from(chosen))
    engine = make_engine(settings.db_url)
    if migrate:
        run_migrations(engine)
    return settings, engine


def _serve(args) -> int:
    import uvicorn

    from sync.server.app import create_app
    from sync.server.config import DB_ENV, SNAPSHOTS_ENV

    if not 0 < args.port < 65536:
        raise ValueError("port: expected 1 to 65535")
    if args.workers < 1:
        raise ValueError("workers: expected 1 or more")
    settings, engine = _engine(args)
    options = {"host": args.host, "port": args.port, "log_level": args.log_level}
    if args.forwarded_allow_ips:
        options.update(proxy_headers=True, forwarded_allow_ips=args.forwarded_allow_ips)
    emit({"serving": f"http://{args.host}:{args.port}", "db": _safe_url(settings.db_url)})
    if args.workers > 1:
        from uvicorn.supervisors import Multiprocess

        engine.dispose()
        os.environ[DB_ENV] = settings.db_url
        os.environ[SNAPSHOTS_ENV] = str(settings.snapshot_dir or "off")
        config = uvicorn.Config(
            "sync.server.app:create_app_from_env", factory=True, workers=args.workers, **options
        )
        sock = config.bind_socket()
        # Without this the workers' answers wait on delayed ACKs (about 40 ms per request):
        # sockets they accept inherit TCP_NODELAY from the shared listening socket.
        sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        Multiprocess(config, sockets=[sock]).run()
    else:
        uvicorn.run(create_app(settings, engine), **options)
    return 0


def _snapshot(settings, engine, dealer_id: str) -> dict:
    import time

    from sync.server import snapshot
    from sync.server.admin import AdminError, require_dealer

    if settings.snapshot_dir is None:
        raise ValueError("snapshots: off; give a folder with --snapshots")
    with engine.connect() as conn:
        require_dealer(conn, dealer_id)
    started = time.perf_counter()
    made = snapshot.build(engine, settings.snapshot_dir, dealer_id)
    if made is None:
        raise AdminError("dealer: another build of this dealer's snapshot is under way")
    return {**dataclasses.asdict(made), "seconds": round(time.perf_counter() - started, 3)}


def _safe_url(url: str) -> str:
    from sqlalchemy.engine import make_url

    return make_url(url).render_as_string(hide_password=True)


def run(args) -> int:
    from sync.server import admin, purge

    if args.command == "serve":
        return _serve(args)
    settings, engine = _engine(args)
    try:
        if args.command == "migrate":
            from sync.server.db import current_revision

            emit({"db": _safe_url(settings.db_url), "revision": current_revision(engine)})
        elif args.command == "create-dealer":
            emit({"dealer_id": admin.create_dealer(engine, args.name), "name": args.name})
        elif args.command == "dealers":
            for row in admin.list_dealers(engine):
                emit(row)
        elif args.command == "enroll-code":
            emit(admin.create_enrollment_code(engine, args.dealer, args.ttl_hours))
        elif args.command == "revoke-device":
            emit(admin.revoke_device(engine, args.device_id))
        elif args.command == "devices":
            for row in admin.list_devices(engine, args.dealer):
                emit(row)
        elif args.command == "restored":
            for row in admin.mark_restored(engine, args.dealer):
                emit(row)
        elif args.command == "snapshot":
            emit(_snapshot(settings, engine, args.dealer))
        elif args.command == "purge":
            for row in purge.purge(engine, args.retention_days):
                emit(row)
    finally:
        engine.dispose()
    return 0


def main(argv: Sequence[str] | None = None) -> int:
    from sqlalchemy.exc import ArgumentError, OperationalError

    from sync.server.admin import AdminError

    args = build_parser().parse_args(argv)
    try:
        return run(args)
    except (AdminError, ValueError, ArgumentError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return EXIT_BAD_INPUT
    except OperationalError as exc:
        print(f"error: db: cannot open the database ({exc.orig})", file=sys.stderr)
        return 1


if __name__ == "__main__":
    sys.exit(main())
