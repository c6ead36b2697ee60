"""Signing in: argon2id hashes, wrong passwords, lockout and its end, first-run setup, admins."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pytest
from argon2 import PasswordHasher
from sqlalchemy import select

from showroom.actor import Actor
from showroom.errors import ConflictError, PermissionDeniedError, ValidationError
from showroom.models import AuditEntry, SyncOutbox, User
from showroom.services import auth, dealer
from showroom.vocabulary import Role

PASSWORD = "correct horse 9"


@pytest.fixture
def admin(db) -> Actor:
    with db.session_scope() as session:
        return auth.create_first_admin(session, "boss", "周建国", PASSWORD)


@pytest.fixture
def seller(db, admin):
    with db.session_scope() as session:
        return auth.add_user(session, admin, "lina", "李娜", Role.SALESPERSON, "lina-secret-1")


def _login(db, username, password, **kw):
    with db.session_scope() as session:
        return auth.login(session, username, password, **kw)


def _actions(db) -> list[str]:
    with db.session_scope(write=False) as session:
        return list(session.scalars(select(AuditEntry.action).order_by(AuditEntry.at)))


def test_first_run_needs_setup_and_then_no_longer(db):
    with db.session_scope() as session:
        assert auth.needs_setup(session)
        # The command-line system account exists but does not count as someone who can sign in.
        dealer.system_actor(session)
        assert auth.needs_setup(session)
    with db.session_scope() as session:
        actor = auth.create_first_admin(session, "Boss", "周建国", PASSWORD)
    assert actor.role == Role.ADMIN
    with db.session_scope() as session:
        assert not auth.needs_setup(session)
        with pytest.raises(PermissionDeniedError):
            auth.create_first_admin(session, "second", "某人", PASSWORD)
    assert _login(db, "boss", PASSWORD).user_id == actor.user_id


def test_setup_refuses_a_weak_password_naming_the_field(db):
    with db.session_scope() as session:
        with pytest.raises(ValidationError) as short:
            auth.create_first_admin(session, "boss", "周建国", "short")
        with pytest.raises(ValidationError) as same:
            auth.create_first_admin(session, "bossbossboss", "周建国", "BossBossBoss")
    assert short.value.field == "password" and "8" in short.value.message_en
    assert same.value.field == "password" and "user name" in same.value.message_en


def test_only_an_argon2id_hash_is_stored(db, admin):
    with db.session_scope(write=False) as session:
        stored = session.scalar(select(User.password_hash).where(User.username == "boss"))
    assert stored.startswith("$argon2id$")
    assert PASSWORD not in stored
    assert PasswordHasher().verify(stored, PASSWORD)
    path = Path(db.engine.url.database)
    for file in (path, path.with_name(path.name + "-wal")):
        if file.exists():
            assert PASSWORD.encode() not in file.read_bytes()


def test_wrong_password_and_unknown_user_get_the_same_message(db, seller):
    with pytest.raises(auth.AuthenticationError) as wrong:
        _login(db, "lina", "not-her-password")
    with pytest.raises(auth.AuthenticationError) as unknown:
        _login(db, "nobody", "whatever-password")
    assert wrong.value.message_zh == unknown.value.message_zh == "用户名或密码不正确"
    assert _actions(db).count("login_failed") == 2


def test_lockout_after_five_failures_then_unlock_after_the_time(db, seller):
    start = dt.datetime(2026, 3, 1, 9, 0, tzinfo=dt.UTC)
    for _ in range(auth.MAX_FAILURES - 1):
        with pytest.raises(auth.AuthenticationError) as error:
            _login(db, "lina", "wrong-password", now=start)
        assert not isinstance(error.value, auth.AccountLockedError)
    with pytest.raises(auth.AccountLockedError) as locked:
        _login(db, "lina", "wrong-password", now=start)
    assert locked.value.minutes == auth.LOCKOUT_MINUTES
    assert f"{auth.LOCKOUT_MINUTES}分钟" in locked.value.message_zh
    # Even the right password is refused while locked, saying how long is left.
    with pytest.raises(auth.AccountLockedError) as still:
        _login(db, "lina", "lina-secret-1", now=start + dt.timedelta(minutes=10))
    assert still.value.minutes == auth.LOCKOUT_MINUTES - 10
    later = start + dt.timedelta(minutes=auth.LOCKOUT_MINUTES, seconds=1)
    assert _login(db, "lina", "lina-secret-1", now=later).display_name == "李娜"
    with db.session_scope(write=False) as session:
        user = session.scalar(select(User).where(User.username == "lina"))
        assert user.failed_logins == 0 and user.locked_until is None
    assert _actions(db).count("lockout") == 1


def test_a_good_login_resets_the_failure_count(db, seller):
    for _ in range(auth.MAX_FAILURES - 1):
        with pytest.raises(auth.AuthenticationError):
            _login(db, "lina", "wrong-password")
    _login(db, "lina", "lina-secret-1")
    with pytest.raises(auth.AuthenticationError) as error:
        _login(db, "lina", "wrong-password")
    assert not isinstance(error.value, auth.AccountLockedError)


def test_system_and_deactivated_accounts_cannot_sign_in(db, admin, seller):
    with db.session_scope() as session:
        dealer.system_actor(session)
        auth.set_active(session, admin, seller.id, False)
    with pytest.raises(auth.AuthenticationError):
        _login(db, "system", "")
    with pytest.raises(auth.AuthenticationError):
        _login(db, "lina", "lina-secret-1")


def test_old_parameters_are_rehashed_on_sign_in(db, admin):
    weak = PasswordHasher(time_cost=1, memory_cost=8192, parallelism=1).hash(PASSWORD)
    with db.session_scope() as session:
        session.scalar(select(User).where(User.username == "boss")).password_hash = weak
    _login(db, "boss", PASSWORD)
    with db.session_scope(write=False) as session:
        stored = session.scalar(select(User.password_hash).where(User.username == "boss"))
    assert stored != weak and not PasswordHasher().check_needs_rehash(stored)


def test_user_changes_own_password_knowing_the_old_one(db, admin, seller):
    lina = _login(db, "lina", "lina-secret-1")
    with db.session_scope() as session:
        with pytest.raises(auth.AuthenticationError):
            auth.set_password(session, lina, "guess-guess", "new-secret-22")
        with pytest.raises(ValidationError):
            auth.set_password(session, lina, "lina-secret-1", "lina")
        auth.set_password(session, lina, "lina-secret-1", "new-secret-22")
    assert _login(db, "lina", "new-secret-22").user_id == lina.user_id


def test_changing_own_password_leaves_one_audit_entry_without_the_password(db, admin, seller):
    lina = _login(db, "lina", "lina-secret-1")
    before = dt.datetime.now(dt.UTC)
    with db.session_scope() as session:
        auth.set_password(session, lina, "lina-secret-1", "new-secret-22")
    with db.session_scope(write=False) as session:
        entries = session.scalars(select(AuditEntry).where(AuditEntry.action == "password")).all()
        queued = set(
            session.scalars(select(SyncOutbox.row_id).where(SyncOutbox.table_name == "audit_log"))
        )
    assert len(entries) == 1
    (entry,) = entries
    assert (entry.actor_id, entry.actor_name, entry.target_table, entry.target_id) == (
        lina.user_id, "李娜", "app_user", lina.user_id,
    )  # fmt: skip
    at = entry.at if entry.at.tzinfo else entry.at.replace(tzinfo=dt.UTC)
    assert before - dt.timedelta(seconds=1) <= at <= dt.datetime.now(dt.UTC)
    assert "secret" not in (entry.detail or "")
    assert entry.id in queued  # it syncs like every entry
    # A refused change (a new password that breaks the rules) is no change and leaves no entry.
    with pytest.raises(ValidationError), db.session_scope() as session:
        auth.set_password(session, lina, "new-secret-22", "lina")
    assert _actions(db).count("password") == 1


def test_wrong_current_password_counts_toward_the_lockout(db, admin, seller):
    lina = _login(db, "lina", "lina-secret-1")
    start = dt.datetime(2026, 3, 1, 9, 0, tzinfo=dt.UTC)
    # Each wrong guess is kept although the caller's transaction rolls back on the error.
    for _ in range(auth.MAX_FAILURES - 1):
        with pytest.raises(auth.AuthenticationError) as error, db.session_scope() as session:
            auth.set_password(session, lina, "guess-guess", "new-secret-22", now=start)
        assert not isinstance(error.value, auth.AccountLockedError)
    with db.session_scope(write=False) as session:
        user = session.get(User, lina.user_id)
        assert user.failed_logins == auth.MAX_FAILURES - 1 and user.locked_until is None
    with pytest.raises(auth.AccountLockedError) as locked, db.session_scope() as session:
        auth.set_password(session, lina, "guess-guess", "new-secret-22", now=start)
    assert locked.value.minutes == auth.LOCKOUT_MINUTES
    # Locked: the sign-in screen refuses even the right password, and so does another change.
    with pytest.raises(auth.AccountLockedError):
        _login(db, "lina", "lina-secret-1", now=start + dt.timedelta(minutes=5))
    with pytest.raises(auth.AccountLockedError), db.session_scope() as session:
        auth.set_password(
            session, lina, "lina-secret-1", "new-secret-22", now=start + dt.timedelta(minutes=5)
        )
    actions = _actions(db)
    assert actions.count("login_failed") == auth.MAX_FAILURES and actions.count("lockout") == 1
    assert "password" not in actions
    # After the lockout time the right password works again, and the password is unchanged.
    later = start + dt.timedelta(minutes=auth.LOCKOUT_MINUTES, seconds=1)
    assert _login(db, "lina", "lina-secret-1", now=later).user_id == lina.user_id


def test_wrong_guesses_at_sign_in_and_at_password_change_add_up(db, admin, seller):
    lina = _login(db, "lina", "lina-secret-1")
    for _ in range(auth.MAX_FAILURES - 1):
        with pytest.raises(auth.AuthenticationError):
            _login(db, "lina", "wrong-password")
    with pytest.raises(auth.AccountLockedError), db.session_scope() as session:
        auth.set_password(session, lina, "guess-guess", "new-secret-22")
    with pytest.raises(auth.AccountLockedError):
        _login(db, "lina", "lina-secret-1")


def test_a_right_current_password_clears_earlier_failures(db, admin, seller):
    lina = _login(db, "lina", "lina-secret-1")
    for _ in range(auth.MAX_FAILURES - 1):
        with pytest.raises(auth.AuthenticationError), db.session_scope() as session:
            auth.set_password(session, lina, "guess-guess", "new-secret-22")
    with db.session_scope() as session:
        auth.set_password(session, lina, "lina-secret-1", "new-secret-22")
    with pytest.raises(auth.AuthenticationError) as error:
        _login(db, "lina", "wrong-password")
    assert not isinstance(error.value, auth.AccountLockedError)


def test_admin_resets_a_password_and_lifts_the_lockout(db, admin, seller):
    for _ in range(auth.MAX_FAILURES):
        with pytest.raises(auth.AuthenticationError):
            _login(db, "lina", "wrong-password")
    with db.session_scope() as session:
        auth.reset_password(session, admin, seller.id, "fresh-start-1")
    assert _login(db, "lina", "fresh-start-1").display_name == "李娜"


@pytest.mark.parametrize("role", [Role.SALESPERSON, Role.SERVICE_ADVISOR, Role.MANAGER])
def test_only_an_admin_manages_users(db, admin, seller, role):
    with db.session_scope() as session:
        other = auth.add_user(session, admin, f"u_{role}", "某人", role, "password-123")
    someone = Actor(other.id, "某人", role)
    with db.session_scope() as session:
        for call in (
            lambda: auth.add_user(session, someone, "x1", "某", Role.ADMIN, "password-123"),
            lambda: auth.set_role(session, someone, seller.id, Role.MANAGER),
            lambda: auth.reset_password(session, someone, seller.id, "password-456"),
            lambda: auth.set_active(session, someone, seller.id, False),
            lambda: auth.list_accounts(session, someone),
            lambda: dealer.create_user(session, someone, "x2", "某", Role.ADMIN),
        ):
            with pytest.raises(PermissionDeniedError) as refused:
                call()
            assert "管理用户" in refused.value.message_zh


def test_role_changes_and_user_changes_are_audited_and_sync(db, admin, seller):
    with db.session_scope() as session:
        auth.set_role(session, admin, seller.id, Role.MANAGER)
        auth.set_active(session, admin, seller.id, False)
    with db.session_scope(write=False) as session:
        entries = list(session.scalars(select(AuditEntry).order_by(AuditEntry.at)))
        queued = set(
            session.scalars(select(SyncOutbox.row_id).where(SyncOutbox.table_name == "audit_log"))
        )
    role_entry = [e for e in entries if e.action == "role"]
    assert len(role_entry) == 1
    assert role_entry[0].actor_id == admin.user_id and role_entry[0].target_id == seller.id
    assert '"after": "manager"' in role_entry[0].detail
    assert [e.detail for e in entries if e.action == "user"][-1] == '{"change": "deactivated"}'
    # Each entry is a synced row: it waits in the outbox for the next push.
    assert {e.id for e in entries} <= queued


def test_an_admin_cannot_lock_themself_out(db, admin):
    with db.session_scope() as session:
        with pytest.raises(ValidationError) as demote:
            auth.set_role(session, admin, admin.user_id, Role.MANAGER)
        with pytest.raises(ValidationError) as off:
            auth.set_active(session, admin, admin.user_id, False)
    assert demote.value.field == "role" and off.value.field == "active"


def test_taken_user_name_and_bad_role_name_the_field(db, admin, seller):
    with db.session_scope() as session:
        with pytest.raises(ConflictError) as taken:
            auth.add_user(session, admin, "LINA", "李娜", Role.SALESPERSON, "password-123")
        with pytest.raises(ValidationError) as role:
            auth.add_user(session, admin, "new1", "某", "boss", "password-123")
    assert taken.value.field == "username" and role.value.field == "role"


def test_demo_logins_work_on_the_demo_staff(db):
    with db.session_scope() as session:
        admin = dealer.system_actor(session)
        for username, role in auth.DEMO_LOGINS:
            dealer.create_user(session, admin, username, username, role)
        assert sorted(auth.enable_demo_logins(session)) == sorted(u for u, _ in auth.DEMO_LOGINS)
    for username, role in auth.DEMO_LOGINS:
        assert _login(db, username, auth.DEMO_PASSWORD).role == role


# --- the command line ------------------------------------------------------------------------


def _cli(capsys, monkeypatch, path, *argv, stdin: str = ""):
    import io
    import json

    from showroom.cli import main

    monkeypatch.setattr("sys.stdin", io.StringIO(stdin))
    code = main(["--db", str(path), *argv])
    out, err = capsys.readouterr()
    return code, [json.loads(line) for line in out.splitlines() if line.strip()], err


def test_cli_manages_users_and_they_can_sign_in(db, capsys, monkeypatch):
    path = Path(db.engine.url.database)
    monkeypatch.setenv("NEW_PW", "from-the-env-1")
    code, (added,), _ = _cli(
        capsys, monkeypatch, path, "users", "add", "--username", "lina", "--name", "李娜",
        "--role", "salesperson", "--password-env", "NEW_PW",
    )  # fmt: skip
    assert code == 0 and added["role"] == "salesperson" and "password_hash" not in added
    assert _login(db, "lina", "from-the-env-1").display_name == "李娜"

    code, (changed,), _ = _cli(
        capsys, monkeypatch, path, "users", "set-role", "--username", "lina", "--role", "manager"
    )
    assert code == 0 and changed["role"] == "manager"
    code, _, _ = _cli(
        capsys, monkeypatch, path, "users", "reset-password", "--username", "lina",
        stdin="typed-on-stdin-2\n",
    )  # fmt: skip
    assert code == 0 and _login(db, "lina", "typed-on-stdin-2").role == Role.MANAGER
    code, _, _ = _cli(capsys, monkeypatch, path, "users", "deactivate", "--username", "lina")
    assert code == 0
    with pytest.raises(auth.AuthenticationError):
        _login(db, "lina", "typed-on-stdin-2")
    code, listed, _ = _cli(capsys, monkeypatch, path, "users", "list")
    assert [(a["username"], a["active"]) for a in listed] == [("lina", False)]


def test_cli_refuses_bad_input_and_non_admins_naming_the_problem(db, capsys, monkeypatch):
    path = Path(db.engine.url.database)
    code, _, err = _cli(
        capsys, monkeypatch, path, "users", "add", "--username", "lina", "--name", "李娜",
        "--role", "salesperson", stdin="short\n",
    )  # fmt: skip
    assert code == 2 and "password" in err
    _cli(
        capsys, monkeypatch, path, "users", "add", "--username", "lina", "--name", "李娜",
        "--role", "salesperson", stdin="long-enough-1\n",
    )  # fmt: skip
    code, _, err = _cli(
        capsys, monkeypatch, path, "--as", "lina", "users", "set-role", "--username", "lina",
        "--role", "admin",
    )  # fmt: skip
    assert code != 0 and "管理用户" in err
    code, _, err = _cli(
        capsys, monkeypatch, path, "users", "set-role", "--username", "ghost", "--role", "admin"
    )
    assert code != 0 and "ghost" in err
