"""``showroom-admin``: the command line for IT and scripts. Output is JSON lines.

Exit status: 0 success, 2 bad input (one line on stderr naming the field), 3 duplicate
candidates found (printed as JSON lines; repeat with ``--force`` to add anyway), 4 not found,
5 the sync server could not be reached after every retry (nothing is lost: unsynced changes
stay queued), 6 the sync server refused (not enrolled, token revoked, app too old for the
server, or a bad answer), 7 the encrypted database could not be opened (no key found, or the
key does not open it), 8 the acting user's role may not do that, 1 anything unexpected.

Phones and ID numbers are printed masked (``138****8000``, ``110101********1234``), as the
services hand them out. ``customers get/search/list --reveal`` prints them in full through the
audited reveal (``showroom.masking``): one audit entry per value shown, naming the customer,
with the account the command acts as (``--as USERNAME``, else the system account) as the actor.

Encrypted databases: the key comes from ``--key-file PATH`` (or env ``SHOWROOM_DB_KEY_FILE``),
a file kept outside the data directory holding the key as 64 hex characters; else from env
``SHOWROOM_DB_KEY`` (64 hex characters); else, with ``--admin-secret-env NAME``, from the
wrapped-key file beside the database, unwrapped with the admin secret held in env ``NAME``;
else from the OS keyring. A plain database needs none of them. ``encrypt`` switches a plain
database to an encrypted one in place (or creates a new encrypted one); ``set-admin-secret``
wraps the key with a new admin secret. See docs/security.md.

Sync: ``enroll --server URL --code CODE [--name NAME]`` enrols this database with the central
server; ``sync`` runs one full cycle and prints one JSON summary line.
"""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Sequence
from pathlib import Path

from showroom.errors import (
    DatabaseKeyError,
    NotFoundError,
    PermissionDeniedError,
    ShowroomError,
    ValidationError,
)

EXIT_BAD_INPUT = 2
EXIT_DUPLICATE = 3
EXIT_NOT_FOUND = 4
EXIT_UNREACHABLE = 5
EXIT_SYNC_REFUSED = 6
EXIT_KEY = 7
EXIT_DENIED = 8


class _Parser(argparse.ArgumentParser):
    """argparse, but bad arguments exit 2 with one line instead of the whole usage text."""

    def error(self, message: str) -> None:  # type: ignore[override]
        self.exit(EXIT_BAD_INPUT, f"error: {message}\n")


def emit(obj) -> None:
    from showroom.services.dto import to_json_dict

    print(json.dumps(to_json_dict(obj), ensure_ascii=False, sort_keys=True), flush=True)


def build_parser() -> argparse.ArgumentParser:
    from showroom.paths import default_db_path

    parser = _Parser(prog="showroom-admin", description="Showroom command line (JSON lines out)")
    parser.add_argument(
        "--db", type=Path, default=None, help=f"database file (default: {default_db_path()})"
    )
    parser.add_argument("--lang", default="zh_CN", help="language of error messages (zh_CN, en)")
    parser.add_argument(
        "--as", dest="username", default=None, help="act as this user (default: system account)"
    )
    parser.add_argument(
        "--key-file",
        type=Path,
        default=None,
        help="file holding the database key (64 hex characters), kept outside the data"
        " directory; env SHOWROOM_DB_KEY_FILE does the same, env SHOWROOM_DB_KEY gives the key",
    )
    parser.add_argument(
        "--admin-secret-env",
        metavar="NAME",
        default=None,
        help="unwrap the database key with the admin secret held in environment variable NAME",
    )
    parser.add_argument(
        "--no-keyring", action="store_true", help="do not look in the OS keyring for the key"
    )
    sub = parser.add_subparsers(dest="command", required=True, parser_class=_Parser)

    init = sub.add_parser("init", help="create the database, or migrate it to the latest schema")
    init.add_argument("--dealer", default=None, help="store name, for a new database")
    sub.add_parser("check", help="integrity check and migration state")
    encrypt = sub.add_parser(
        "encrypt",
        help="switch a plain database to an encrypted one in place (or create a new one);"
        " the key is kept in the OS keyring, wrapped by --admin-secret-env, or in a key file",
    )
    rewrap = sub.add_parser(
        "set-admin-secret",
        help="wrap the key of an encrypted database with a new admin secret (the key itself,"
        " from the usual places, must open it)",
    )
    rewrap.add_argument(
        "--new-secret-env",
        metavar="NAME",
        required=True,
        help="environment variable holding the new admin secret (at least 10 characters)",
    )
    encrypt.add_argument(
        "--write-key-file",
        type=Path,
        default=None,
        help="also write the new key to this file (outside the data directory, mode 600)",
    )

    demo = sub.add_parser("demo-data", help="generate a deterministic demo dealership")
    demo.add_argument("--customers", type=int, required=True)
    demo.add_argument("--seed", type=int, default=1)

    customers = sub.add_parser("customers", help="customer records").add_subparsers(
        dest="action", required=True, parser_class=_Parser
    )
    add = customers.add_parser("add", help="add a customer; prints the id or the duplicates")
    add.add_argument("--name", required=True)
    add.add_argument("--phone", action="append", default=[], help="repeat for several")
    add.add_argument("--kind", default="person", choices=["person", "company"])
    add.add_argument("--email")
    add.add_argument("--wechat-id")
    add.add_argument("--gender")
    add.add_argument("--birthday", help="YYYY-MM-DD")
    add.add_argument("--address")
    add.add_argument("--id-number")
    add.add_argument("--source")
    add.add_argument("--level", help="intent level H/A/B/C/O")
    add.add_argument("--vin")
    add.add_argument("--plate")
    add.add_argument("--model", help="vehicle model, for a vehicle outside the catalogue")
    add.add_argument("--notes")
    add.add_argument("--force", action="store_true", help="add even if duplicates are found")

    reveal_help = (
        "print phones and ID numbers in full instead of masked; each value shown leaves an"
        " audit entry (managers and admins, or a salesperson for their own customers)"
    )
    get = customers.add_parser("get", help="the whole record of one customer")
    get.add_argument("id")
    get.add_argument("--reveal", action="store_true", help=reveal_help)
    find = customers.add_parser("search", help="instant search by name, phone, plate or VIN")
    find.add_argument("text")
    find.add_argument("--limit", type=int, default=20)
    find.add_argument("--reveal", action="store_true", help=reveal_help)
    listing = customers.add_parser(
        "list", help="the customer list, most recently changed first (one JSON line a customer)"
    )
    listing.add_argument("--limit", type=int, default=50, help="at most this many (1 to 5000)")
    listing.add_argument(
        "--sort",
        default="updated_at",
        help="updated_at, created_at, name, intent_level or next_due",
    )
    listing.add_argument("--ascending", action="store_true", help="oldest / A→Z first")
    listing.add_argument("--reveal", action="store_true", help=reveal_help)
    change = customers.add_parser(
        "set", help="change fields of a customer: FIELD=VALUE ... (an empty VALUE clears it)"
    )
    change.add_argument("id")
    change.add_argument(
        "assignments",
        nargs="+",
        metavar="FIELD=VALUE",
        help="for example address=深圳市南山区 intent_level=A phones=13812345678,13912345678",
    )
    change.add_argument("--force", action="store_true", help="change even if duplicates are found")
    merge = customers.add_parser("merge", help="merge MERGED into SURVIVOR")
    merge.add_argument("survivor")
    merge.add_argument("merged")

    _user_commands(sub)

    enroll = sub.add_parser("enroll", help="enrol this database with the central sync server")
    enroll.add_argument("--server", required=True, help="server URL, e.g. http://10.0.0.5:8765")
    enroll.add_argument("--code", required=True, help="the one-time enrolment code")
    enroll.add_argument("--name", default=None, help="this laptop's name (default: host name)")
    sub.add_parser("sync", help="one full sync cycle with the server; prints a JSON summary")

    follow = sub.add_parser("follow-ups", help="follow-up tasks").add_subparsers(
        dest="action", required=True, parser_class=_Parser
    )
    due = follow.add_parser("due", help="open tasks due today or overdue for a user")
    due.add_argument("--user", required=True, help="username")
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    try:
        return _run(args)
    except ValidationError as error:
        print(f"error: {error.describe(args.lang)}", file=sys.stderr)
        return EXIT_BAD_INPUT
    except NotFoundError as error:
        print(f"error: {error.describe(args.lang)}", file=sys.stderr)
        return EXIT_NOT_FOUND
    except DatabaseKeyError as error:
        print(f"error: {error.describe(args.lang)}", file=sys.stderr)
        return EXIT_KEY
    except PermissionDeniedError as error:
        print(f"error: {error.describe(args.lang)}", file=sys.stderr)
        return EXIT_DENIED
    except ShowroomError as error:
        if error.code.startswith("sync"):
            # sync.client's errors; imported lazily, so they are recognised by their code.
            print(f"error: {error.describe(args.lang)}", file=sys.stderr)
            if error.code == "sync_unreachable":
                return EXIT_UNREACHABLE
            return EXIT_BAD_INPUT if error.field else EXIT_SYNC_REFUSED
        print(f"error: {error.describe(args.lang)}", file=sys.stderr)
        return EXIT_BAD_INPUT


def _run(args: argparse.Namespace) -> int:
    from showroom.db.engine import open_database
    from showroom.paths import default_db_path
    from showroom.services import dealer

    path = args.db or default_db_path()
    if args.command == "encrypt":
        return _encrypt(path, args)
    key = database_key(path, args)
    if args.command == "set-admin-secret":
        return _set_admin_secret(path, key, args)
    if args.command == "check":
        return _check(path, key)
    if args.command == "demo-data" and not 1 <= args.customers <= 2_000_000:
        raise ValidationError("customers", "客户数应为1到2000000", "must be 1 to 2,000,000")

    db = open_database(path, key)
    try:
        if args.command == "demo-data":
            # Before anything else is written: the demo brings its own store and staff.
            return _demo(db, args)
        with db.session_scope() as session:
            if args.command == "init" and args.dealer:
                dealer.ensure_dealer(session, args.dealer)
            actor = (
                dealer.actor_for(session, args.username)
                if args.username
                else dealer.system_actor(session)
            )
        if args.command == "init":
            from showroom.db.migrate import current_revision

            emit({"db": str(path), "revision": current_revision(db.engine)})
            return 0
        if args.command == "customers":
            return _customers(db, actor, args)
        if args.command == "users":
            return _users(db, actor, args)
        if args.command == "enroll":
            return _enroll(db, args)
        if args.command == "sync":
            return _sync(db)
        if args.command == "follow-ups":
            from showroom.services.follow_ups import due_follow_ups

            with db.session_scope(write=False) as session:
                owner = dealer.actor_for(session, args.user)
                for task in due_follow_ups(session, actor, owner.user_id):
                    emit(task)
            return 0
    finally:
        db.dispose()
    return 1


def _user_commands(sub) -> None:
    users = sub.add_parser("users", help="staff accounts (admins only)").add_subparsers(
        dest="action", required=True, parser_class=_Parser
    )
    users.add_parser("list", help="every account, active or not")
    password_help = (
        "the password is read from the environment variable named by --password-env, else from"
        " the first line of standard input (never from the command line)"
    )
    add = users.add_parser("add", help="add a user; " + password_help)
    add.add_argument("--username", dest="user", required=True)
    add.add_argument("--name", required=True, help="display name")
    add.add_argument("--role", required=True, help="salesperson, service_advisor, manager, admin")
    add.add_argument("--password-env", metavar="NAME")
    role = users.add_parser("set-role", help="change a user's role")
    role.add_argument("--username", dest="user", required=True)
    role.add_argument("--role", required=True)
    reset = users.add_parser("reset-password", help="set a new password; " + password_help)
    reset.add_argument("--username", dest="user", required=True)
    reset.add_argument("--password-env", metavar="NAME")
    for name, text in (("deactivate", "stop a user signing in"), ("activate", "let them again")):
        users.add_parser(name, help=text).add_argument("--username", dest="user", required=True)


def _password(args) -> str:
    import os

    if args.password_env:
        value = os.environ.get(args.password_env)
        if value is None:
            raise ValidationError(
                "password-env",
                f"环境变量{args.password_env}未设置",
                f"environment variable {args.password_env} is not set",
            )
        return value
    return sys.stdin.readline().rstrip("\r\n")


def _users(db, actor, args) -> int:
    from showroom.services import auth, dealer

    with db.session_scope() as session:
        if args.action == "list":
            for account in auth.list_accounts(session, actor):
                emit(account)
            return 0
        if args.action == "add":
            emit(auth.add_user(session, actor, args.user, args.name, args.role, _password(args)))
            return 0
        # --username is stored as args.user: args.username is the global --as.
        user_id = dealer.user_id_for(session, args.user)
        if args.action == "set-role":
            emit(auth.set_role(session, actor, user_id, args.role))
        elif args.action == "reset-password":
            auth.reset_password(session, actor, user_id, _password(args))
            emit({"username": args.user, "password_reset": True})
        else:
            emit(auth.set_active(session, actor, user_id, args.action == "activate"))
    return 0


def _demo(db, args) -> int:
    from showroom.demo import generate_demo_data

    def progress(done: int, total: int) -> None:
        emit({"progress": done, "total": total})

    summary = generate_demo_data(db, args.customers, seed=args.seed, progress=progress)
    emit(summary)
    return 0


def _customers(db, actor, args) -> int:
    from showroom.services import customers, merge

    if args.action == "add":
        vehicles = []
        if args.vin or args.plate:
            vehicles.append(
                customers.VehicleDraft(vin=args.vin, plate=args.plate, model_name=args.model)
            )
        draft = customers.CustomerDraft(
            name=args.name, phones=args.phone, kind=args.kind, email=args.email,
            wechat_id=args.wechat_id, gender=args.gender, birthday=args.birthday,
            address=args.address, id_number=args.id_number, source=args.source,
            intent_level=args.level, notes=args.notes, vehicles=vehicles,
        )  # fmt: skip
        try:
            with db.session_scope() as session:
                created = customers.create_customer(session, actor, draft, force=args.force)
        except customers.DuplicateCustomerError as duplicate:
            for candidate in duplicate.candidates:
                emit({"duplicate": candidate})
            print(f"error: {duplicate.describe(args.lang)}", file=sys.stderr)
            return EXIT_DUPLICATE
        emit({"id": created.id})
        return 0
    if args.action in ("get", "search", "list"):
        # A reveal is written to the audit trail: what it shows is printed only once that
        # entry is committed.
        with db.session_scope(write=args.reveal) as session:
            found = _read_customers(session, actor, args)
        for item in found:
            emit(item)
        return 0
    if args.action == "set":
        changes = _assignments(args.assignments)
        try:
            with db.session_scope() as session:
                updated = customers.update_customer(
                    session, actor, args.id, changes, force=args.force
                )
        except customers.DuplicateCustomerError as duplicate:
            for candidate in duplicate.candidates:
                emit({"duplicate": candidate})
            print(f"error: {duplicate.describe(args.lang)}", file=sys.stderr)
            return EXIT_DUPLICATE
        emit(updated)
        return 0
    if args.action == "merge":
        with db.session_scope() as session:
            result = merge.merge_customers(session, actor, args.survivor, args.merged)
        emit({"survivor": result.survivor.id, "merged": result.merged_id, "moved": result.moved})
        return 0
    return 1


def _read_customers(session, actor, args) -> list:
    """What ``customers get/search/list`` print: masked, or in full (audited) with --reveal."""
    from showroom import masking
    from showroom.services import customers
    from showroom.services.customer_list import list_customers

    if args.action == "get":
        record = customers.get_customer_record(session, actor, args.id)
        return [masking.revealed_record(session, actor, record) if args.reveal else record]
    if args.action == "search":
        if not 1 <= args.limit <= 500:
            raise ValidationError("limit", "数量应为1到500", "must be 1 to 500")
        rows = customers.search_customers(session, actor, args.text, args.limit)
    else:
        rows = list_customers(
            session, actor, sort=args.sort, descending=not args.ascending, limit=args.limit
        ).rows
    return masking.revealed_phones(session, actor, rows) if args.reveal else list(rows)


def _assignments(items: Sequence[str]) -> dict[str, object]:
    """``FIELD=VALUE`` words as a changes mapping; ``phones`` takes a comma-separated list."""
    changes: dict[str, object] = {}
    for item in items:
        name, sep, value = item.partition("=")
        name = name.strip().replace("-", "_")
        if not sep or not name:
            raise ValidationError(
                item or "FIELD", "应写作 字段=值", "expected FIELD=VALUE (an empty VALUE clears it)"
            )
        if name in changes:
            raise ValidationError(name, "字段重复", "given more than once")
        if name == "phones":
            changes[name] = [p.strip() for p in value.split(",") if p.strip()]
        else:
            changes[name] = value.strip() or None
    return changes


def _enroll(db, args) -> int:
    from sync import client

    result = client.enroll(db, args.server, args.code, device_name=args.name)
    emit(
        {
            "dealer": {"id": result.dealer_id, "name": result.dealer_name},
            "device": {"id": result.device_id, "name": result.device_name},
            "initial_upload_ops": result.ops_queued,
        }
    )
    return 0


def _sync(db) -> int:
    from sync import client

    summary = client.SyncClient(db).sync()
    emit(
        {
            "pushed": summary.pushed,
            "pulled": summary.pulled,
            "conflicts": summary.conflicts,
            "rejected": summary.rejected,
            "seconds": summary.seconds,
            "clock_skew_seconds": summary.clock_skew_seconds,
            "checksum_ok": summary.checksum_ok,
        }
    )
    return 0


def _admin_secret(args, option: str = "admin_secret_env") -> str | None:
    import os

    name = getattr(args, option)
    if name is None:
        return None
    secret = os.environ.get(name)
    if not secret:
        raise ValidationError(
            option.replace("_", "-"),
            f"环境变量 {name} 未设置",
            f"environment variable {name} is not set",
        )
    return secret


def _set_admin_secret(path: Path, key: bytes | None, args) -> int:
    """Replace the wrapped-key file with one under a new admin secret, once the key is proven."""
    from showroom.db import crypto
    from showroom.db.engine import open_database

    if key is None or crypto.file_state(path) != "encrypted":
        raise ValidationError("db", f"数据库未加密：{path}", f"{path} is not encrypted")
    secret = _admin_secret(args, "new_secret_env")
    crypto.check_admin_secret(secret, "new-secret-env")
    open_database(path, key, migrate=False).dispose()  # never wrap a key that does not open it
    target = crypto.save_wrapped_key(path, key, secret)
    emit({"db": str(path), "wrapped_key_file": str(target)})
    return 0


def _explicit_key(path: Path, args) -> bytes | None:
    """A key named on the command line or in the environment (never the keyring)."""
    from showroom.db import crypto

    return crypto.find_key(path, key_file=args.key_file, use_keyring=False)


def database_key(path: Path, args) -> bytes | None:
    """The key to open ``path`` with: None for a plain database (or a new one, unless a key
    was given explicitly); ``KeyUnavailableError`` for an encrypted one without a key."""
    from showroom.db import crypto
    from showroom.errors import KeyUnavailableError

    state = crypto.file_state(path)
    if state != "encrypted":
        return _explicit_key(path, args) if state in ("missing", "empty") else None
    key = crypto.find_key(
        path,
        key_file=args.key_file,
        admin_secret=_admin_secret(args),
        use_keyring=not args.no_keyring,
    )
    if key is None:
        raise KeyUnavailableError(path)
    return key


def _encrypt(path: Path, args) -> int:
    """Encrypt ``path`` under a key that is kept somewhere first, then report where."""
    from showroom.db import crypto
    from showroom.db.engine import open_database

    crypto.recover_interrupted_encryption(path)
    state = crypto.file_state(path)
    if state == "encrypted":
        raise ValidationError("db", f"数据库已经加密：{path}", f"{path} is already encrypted")
    key = _explicit_key(path, args)
    kept = ["key file or environment"] if key is not None else []
    key = key or crypto.new_key()
    secret = _admin_secret(args)
    if args.write_key_file is not None:
        if args.write_key_file.resolve().parent == path.resolve().parent:
            raise ValidationError(
                "write-key-file",
                "密钥文件不能放在数据库所在的目录里",
                "the key file must be kept outside the database's directory",
            )
        crypto.write_key_file(args.write_key_file, key)
        kept.append(f"key file {args.write_key_file}")
    if secret is not None:
        crypto.save_wrapped_key(path, key, secret)
        kept.append(f"wrapped by the admin secret in {crypto.wrapped_key_path(path)}")
    if not args.no_keyring and crypto.store_key_in_keyring(path, key):
        kept.append("OS keyring")
    if not kept:
        raise ValidationError(
            "admin-secret-env",
            "这台电脑没有可用的钥匙串：请用 --admin-secret-env 或 --write-key-file 保存密钥",
            "no OS keyring works here: keep the key with --admin-secret-env or --write-key-file",
        )
    if state == "plain":
        report = crypto.encrypt_in_place(path, key)
        rows, tables = report.rows, report.tables
    else:
        open_database(path, key).dispose()
        rows = tables = 0
    emit({"db": str(path), "encrypted": True, "tables": tables, "rows": rows, "key_kept": kept})
    return 0


def _check(path: Path, key: bytes | None = None) -> int:
    """Report integrity and migration state without changing the file."""
    from sqlalchemy import text

    from showroom.db.engine import make_engine
    from showroom.db.migrate import current_revision, head_revision

    if not path.exists():
        raise ValidationError("db", f"数据库文件不存在：{path}", f"no database at {path}")
    engine = make_engine(path, key)
    try:
        with engine.connect() as conn:
            integrity = [r[0] for r in conn.exec_driver_sql("PRAGMA integrity_check")]
            fk_errors = conn.exec_driver_sql("PRAGMA foreign_key_check").fetchall()
            revision = current_revision(engine)
            report = {
                "db": str(path),
                "integrity": integrity[0] if integrity == ["ok"] else integrity,
                "foreign_key_errors": len(fk_errors),
                "revision": revision,
                "head": head_revision(),
                "up_to_date": revision == head_revision(),
            }
            if revision is not None:
                counts = conn.execute(
                    text(
                        "SELECT (SELECT count(*) FROM customer WHERE NOT deleted),"
                        " (SELECT count(*) FROM search_doc),"
                        " (SELECT count(*) FROM sync_outbox WHERE NOT acknowledged)"
                    )
                ).one()
                report.update(
                    customers=counts[0],
                    search_index_docs=counts[1],
                    search_index_ok=counts[0] == counts[1],
                    pending_sync_ops=counts[2],
                )
    finally:
        engine.dispose()
    emit(report)
    healthy = (
        report["integrity"] == "ok"
        and not report["foreign_key_errors"]
        and report["up_to_date"]
        and report.get("search_index_ok", True)
    )
    return 0 if healthy else 1


if __name__ == "__main__":
    sys.exit(main())
