"""Signing in and managing staff accounts: argon2id passwords, lockout, first-run setup.

Passwords are stored only as argon2id hashes (argon2-cffi's encoded form, which carries its own
salt and parameters); a hash made with older parameters is replaced on the next good sign-in.
After ``MAX_FAILURES`` wrong passwords in a row the account is locked for ``LOCKOUT_MINUTES``.
An unknown user name costs the same hashing work as a known one, and gets the same message, so
the sign-in screen does not tell which names exist. A wrong current password when changing
one's own password counts as a failed sign-in too, so it cannot be used to guess around the
lockout.

Failed sign-ins, lockouts, own password changes, role changes and user changes go to the audit
trail. The ``system`` account (command-line jobs) never has a password and cannot sign in.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import json
import math
from dataclasses import dataclass

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError, VerifyMismatchError
from sqlalchemy import select
from sqlalchemy.orm import Session

from showroom.actor import Actor, bind_actor
from showroom.db.base import utcnow
from showroom.errors import NotFoundError, ShowroomError, ValidationError
from showroom.models import LocalState, User
from showroom.models.local import SyncKeys
from showroom.permissions import require
from showroom.services import dealer
from showroom.vocabulary import Role

MAX_FAILURES = 5
LOCKOUT_MINUTES = 15
MIN_PASSWORD_LENGTH = 8
MAX_PASSWORD_LENGTH = 256

# argon2-cffi's defaults are argon2id (RFC 9106 "low memory" profile).
_hasher = PasswordHasher()
# Verified against when the user name is unknown, so both paths cost one argon2 verification.
_DUMMY_HASH = _hasher.hash("showroom-no-such-user")


class AuthenticationError(ShowroomError):
    """Wrong user name or password (deliberately not saying which)."""

    code = "auth"

    def __init__(self) -> None:
        super().__init__("用户名或密码不正确", "wrong user name or password", field="password")


class AccountLockedError(AuthenticationError):
    """Too many wrong passwords: the account is locked until ``until`` (UTC)."""

    code = "locked"

    def __init__(self, until: dt.datetime, now: dt.datetime) -> None:
        self.until = until
        self.minutes = max(1, math.ceil((until - now).total_seconds() / 60))
        ShowroomError.__init__(
            self,
            f"密码错误次数过多，账户已锁定，请{self.minutes}分钟后再试",
            f"too many wrong passwords: the account is locked, try again in {self.minutes} min",
            field="password",
        )


@dataclass(frozen=True)
class AccountDTO:
    id: str
    username: str
    display_name: str
    role: str
    active: bool
    has_password: bool
    locked_until: dt.datetime | None


def _account(u: User) -> AccountDTO:
    return AccountDTO(
        u.id,
        u.username,
        u.display_name,
        u.role,
        u.active,
        u.password_hash is not None,
        u.locked_until,
    )


def _actor(u: User) -> Actor:
    return Actor(user_id=u.id, display_name=u.display_name, role=Role(u.role))


def _audit(session: Session, actor: Actor, action: str, user: User | None, **detail) -> None:
    from showroom.services import audit

    audit.record(
        session,
        actor,
        action,
        target_table="app_user",
        target_id=user.id if user is not None else None,
        detail=detail or None,
    )


def check_password_rules(username: str, password: str) -> None:
    """Raise ValidationError("password") unless the password is acceptable."""
    if not isinstance(password, str) or len(password) < MIN_PASSWORD_LENGTH:
        raise ValidationError(
            "password",
            f"密码至少需要{MIN_PASSWORD_LENGTH}个字符",
            f"the password needs at least {MIN_PASSWORD_LENGTH} characters",
        )
    if len(password) > MAX_PASSWORD_LENGTH:
        raise ValidationError("password", "密码过长", "the password is too long")
    if password.strip().lower() == (username or "").strip().lower():
        raise ValidationError(
            "password", "密码不能与用户名相同", "the password must not be the user name"
        )


def hash_password(password: str) -> str:
    return _hasher.hash(password)


def _find(session: Session, username: str) -> User | None:
    name = (username or "").strip().lower()
    if not name:
        return None
    return session.scalar(select(User).where(User.username == name, User.deleted.is_(False)))


def _load_user(session: Session, user_id: str) -> User:
    user = session.get(User, user_id)
    if user is None or user.deleted or user.system_account:
        raise NotFoundError("user", user_id)
    return user


def _as_utc(value: dt.datetime | None) -> dt.datetime | None:
    if value is not None and value.tzinfo is None:
        return value.replace(tzinfo=dt.UTC)
    return value


def _refuse_while_locked(session: Session, user: User, now: dt.datetime) -> None:
    locked_until = _as_utc(user.locked_until)
    if locked_until is not None and locked_until > now:
        session.rollback()
        raise AccountLockedError(locked_until, now)


def _failed_attempt(
    session: Session, user: User, actor: Actor, now: dt.datetime, **detail
) -> AuthenticationError:
    """Count one wrong password for ``user`` and commit it; returns the error to raise.

    The ``MAX_FAILURES``-th failure in a row locks the account for ``LOCKOUT_MINUTES``. The
    count and the audit entries (``login_failed``, ``lockout``) are committed here so that they
    survive the caller's rollback when the error propagates.
    """
    bind_actor(session, actor)
    user.failed_logins = (user.failed_logins or 0) + 1
    _audit(session, actor, "login_failed", user, **detail)
    error: AuthenticationError = AuthenticationError()
    if user.failed_logins >= MAX_FAILURES:
        user.locked_until = now + dt.timedelta(minutes=LOCKOUT_MINUTES)
        user.failed_logins = 0
        _audit(session, dealer.system_actor(session), "lockout", user, minutes=LOCKOUT_MINUTES)
        error = AccountLockedError(user.locked_until, now)
    session.commit()
    return error


def login(
    session: Session, username: str, password: str, *, now: dt.datetime | None = None
) -> Actor:
    """Check a user name and password; returns the user as an Actor.

    Raises AuthenticationError for a wrong, unknown, inactive or system account, and
    AccountLockedError (saying for how long) while the account is locked. Failures are committed
    before raising, so the failure count and the audit entries survive the caller's rollback.
    """
    now = now or utcnow()
    user = _find(session, username)
    usable = (
        user is not None
        and user.active
        and not user.system_account
        and user.password_hash is not None
    )
    if not usable:
        # Spend the same work as a real check; the dummy never matches a typed password.
        with contextlib.suppress(VerificationError):
            _hasher.verify(_DUMMY_HASH, password or "")
        _audit(session, dealer.system_actor(session), "login_failed", user, username=username)
        session.commit()
        raise AuthenticationError()

    _refuse_while_locked(session, user, now)
    try:
        _hasher.verify(user.password_hash, password or "")
    except (VerifyMismatchError, VerificationError, InvalidHashError):
        system = dealer.system_actor(session)
        raise _failed_attempt(session, user, system, now, username=user.username) from None

    actor = _actor(user)
    _forget_moved(session, user.username)
    if user.failed_logins or user.locked_until is not None:
        bind_actor(session, actor)
        user.failed_logins = 0
        user.locked_until = None
    if _hasher.check_needs_rehash(user.password_hash):
        bind_actor(session, actor)
        user.password_hash = hash_password(password)
    session.flush()
    return actor


def moved_usernames(session: Session) -> dict[str, str]:
    """``{old: new}``: accounts made on this laptop that were renamed when it joined its store,
    because the store already had a user of that name; each stays listed until its user signs
    in under the new name. Only active people are listed."""
    noted = _moved(session)
    if not noted:
        return {}
    usable = set(
        session.scalars(
            select(User.username).where(
                User.username.in_(list(noted.values())),
                User.deleted.is_(False),
                User.active.is_(True),
                User.system_account.is_(False),
            )
        )
    )
    return {old: new for old, new in noted.items() if new in usable}


def _moved(session: Session) -> dict[str, str]:
    row = session.get(LocalState, SyncKeys.MOVED_USERNAMES)
    try:
        noted = json.loads(row.value) if row is not None else {}
    except ValueError:
        return {}
    if not isinstance(noted, dict):
        return {}
    return {str(old): str(new) for old, new in noted.items()}


def _forget_moved(session: Session, username: str) -> None:
    """The user ``username`` signed in: their rename need not be told any more."""
    noted = _moved(session)
    kept = {old: new for old, new in noted.items() if new != username}
    if kept != noted:
        session.get(LocalState, SyncKeys.MOVED_USERNAMES).value = json.dumps(kept)


def verify_password(session: Session, actor: Actor, password: str) -> Actor:
    """Unlock an idle-locked window: ``login`` for the user already working in it."""
    user = _load_user(session, actor.user_id) if actor.user_id else None
    if user is None:
        raise AuthenticationError()
    return login(session, user.username, password)


def needs_setup(session: Session) -> bool:
    """True on first run: no person can sign in yet (no active user with a password)."""
    return (
        session.scalar(
            select(User.id).where(
                User.deleted.is_(False),
                User.active.is_(True),
                User.system_account.is_(False),
                User.password_hash.is_not(None),
            )
        )
        is None
    )


def create_first_admin(session: Session, username: str, display_name: str, password: str) -> Actor:
    """First run: create the admin with the password they chose (there is no default).

    Raises PermissionDeniedError once anyone can sign in (setup is over), ValidationError for a
    bad user name, name or password, ConflictError for a taken user name.
    """
    from showroom.permissions import denied

    if not needs_setup(session):
        raise denied("再次创建首个管理员", "create the first admin again")
    check_password_rules(username, password)
    system = dealer.system_actor(session)
    created = dealer.create_user(session, system, username, display_name, Role.ADMIN)
    user = session.get(User, created.id)
    user.password_hash = hash_password(password)
    user.password_changed_at = utcnow()
    _audit(session, system, "user", user, change="created", role=Role.ADMIN.value)
    session.flush()
    return _actor(user)


def add_user(
    session: Session,
    actor: Actor,
    username: str,
    display_name: str,
    role: str,
    password: str,
) -> AccountDTO:
    """An admin adds a staff member with a first password. Raises PermissionDeniedError,
    ValidationError (naming the field), ConflictError for a taken user name."""
    require(actor, "manage_users")
    check_password_rules(username, password)
    created = dealer.create_user(session, actor, username, display_name, role)
    user = session.get(User, created.id)
    user.password_hash = hash_password(password)
    user.password_changed_at = utcnow()
    _audit(session, actor, "user", user, change="created", role=user.role)
    session.flush()
    return _account(user)


def set_password(
    session: Session,
    actor: Actor,
    old_password: str,
    new_password: str,
    *,
    now: dt.datetime | None = None,
) -> None:
    """A user changes their own password, proving the current one.

    A wrong current password counts as a failed sign-in, with the same lockout (the
    ``MAX_FAILURES``-th in a row locks the account for ``LOCKOUT_MINUTES``); the count and its
    audit entries are committed before raising. A successful change clears the count and leaves
    one audit entry (action ``password``, the user as actor and target, no password in it).
    Raises AuthenticationError for a wrong current password, AccountLockedError while the account
    is locked (even with the right one), ValidationError("password") for a new password that
    breaks the rules.
    """
    now = now or utcnow()
    user = _load_user(session, actor.user_id or "")
    _refuse_while_locked(session, user, now)
    try:
        _hasher.verify(user.password_hash or _DUMMY_HASH, old_password or "")
    except (VerificationError, InvalidHashError):
        raise _failed_attempt(
            session, user, actor, now, username=user.username, during="password_change"
        ) from None
    check_password_rules(user.username, new_password)
    bind_actor(session, actor)
    user.password_hash = hash_password(new_password)
    user.password_changed_at = now
    user.failed_logins = 0
    _audit(session, actor, "password", user)
    session.flush()


def reset_password(session: Session, actor: Actor, user_id: str, new_password: str) -> None:
    """An admin sets a new password for someone (and lifts a lockout)."""
    require(actor, "manage_users")
    user = _load_user(session, user_id)
    check_password_rules(user.username, new_password)
    bind_actor(session, actor)
    user.password_hash = hash_password(new_password)
    user.password_changed_at = utcnow()
    user.failed_logins = 0
    user.locked_until = None
    _audit(session, actor, "user", user, change="password_reset")
    session.flush()


def set_role(session: Session, actor: Actor, user_id: str, role: str) -> AccountDTO:
    """An admin changes someone's role. An admin cannot demote themself (so one always remains)."""
    from showroom.services.common import parse_choice

    require(actor, "manage_users")
    role = parse_choice(role, "role", Role, optional=False)
    user = _load_user(session, user_id)
    if user.id == actor.user_id and role != Role.ADMIN:
        raise ValidationError(
            "role", "不能取消自己的管理员角色", "you cannot remove your own admin role"
        )
    if user.role != role:
        bind_actor(session, actor)
        _audit(session, actor, "role", user, before=user.role, after=role)
        user.role = role
        session.flush()
    return _account(user)


def set_active(session: Session, actor: Actor, user_id: str, active: bool) -> AccountDTO:
    """An admin deactivates (or reactivates) an account. Deactivated users cannot sign in;
    their records keep their name."""
    require(actor, "manage_users")
    user = _load_user(session, user_id)
    if user.id == actor.user_id and not active:
        raise ValidationError(
            "active", "不能停用自己的账户", "you cannot deactivate your own account"
        )
    if user.active != bool(active):
        bind_actor(session, actor)
        user.active = bool(active)
        _audit(session, actor, "user", user, change="activated" if active else "deactivated")
        session.flush()
    return _account(user)


def list_accounts(session: Session, actor: Actor) -> list[AccountDTO]:
    """Every person's account, active or not, for the admin page."""
    require(actor, "manage_users")
    rows = session.scalars(
        select(User)
        .where(User.deleted.is_(False), User.system_account.is_(False))
        .order_by(User.active.desc(), User.username)
    )
    return [_account(u) for u in rows]


def sign_in_names(session: Session) -> list[str]:
    """User names that can sign in, for the login dialog's completer on a shared laptop."""
    return list(
        session.scalars(
            select(User.username)
            .where(
                User.deleted.is_(False),
                User.active.is_(True),
                User.system_account.is_(False),
                User.password_hash.is_not(None),
            )
            .order_by(User.username)
        )
    )


# The demo database's sign-ins, shown on the login dialog in demo mode only (never set on a
# real database): (user name, role).
DEMO_PASSWORD = "showroom-demo"
DEMO_LOGINS: tuple[tuple[str, str], ...] = (
    ("admin", Role.ADMIN),
    ("manager01", Role.MANAGER),
    ("sales01", Role.SALESPERSON),
    ("service01", Role.SERVICE_ADVISOR),
)


def enable_demo_logins(session: Session) -> list[str]:
    """Give the demo staff in ``DEMO_LOGINS`` the demo password, if they have none yet.

    Only the app's ``--demo`` mode calls this, on the demo database. Returns the user names set.
    """
    done = []
    for username, _role in DEMO_LOGINS:
        user = _find(session, username)
        if user is not None and user.password_hash is None and not user.system_account:
            user.password_hash = hash_password(DEMO_PASSWORD)
            user.password_changed_at = utcnow()
            done.append(username)
    session.flush()
    return done
