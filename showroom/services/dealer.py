"""The store on this laptop, its staff and its settings."""

from __future__ import annotations

import json
from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.orm import Session

from showroom.actor import Actor, bind_actor
from showroom.errors import ConflictError, NotFoundError, ValidationError
from showroom.models import Dealer, DealerSetting, User
from showroom.permissions import LEAD_VISIBILITY_CHOICES, require
from showroom.services.common import parse_choice
from showroom.services.leads import (
    CADENCE_SETTING,
    IDLE_LOCK_SETTING,
    LEAD_VISIBILITY_SETTING,
    cadence_days,
    read_setting,
)
from showroom.validation import normalize_name
from showroom.vocabulary import IntentLevel, Role

SYSTEM_USERNAME = "system"


@dataclass(frozen=True)
class UserDTO:
    id: str
    username: str
    display_name: str
    role: str
    active: bool


@dataclass(frozen=True)
class DealerDTO:
    id: str
    name: str
    code: str | None
    address: str | None
    phone: str | None


def _user_dto(u: User) -> UserDTO:
    return UserDTO(u.id, u.username, u.display_name, u.role, u.active)


def current_dealer(session: Session) -> DealerDTO | None:
    dealer = session.scalar(select(Dealer).where(Dealer.deleted.is_(False)).order_by(Dealer.id))
    if dealer is None:
        return None
    return DealerDTO(dealer.id, dealer.name, dealer.code, dealer.address, dealer.phone)


def ensure_dealer(session: Session, name: str = "本店") -> DealerDTO:
    """The store this database belongs to, created on first use."""
    found = current_dealer(session)
    if found is not None:
        return found
    session.add(Dealer(name=normalize_name(name, "dealer")))
    session.flush()
    return current_dealer(session)


def system_actor(session: Session) -> Actor:
    """The account command-line jobs act as: a manager-level user flagged as a system account."""
    user = session.scalar(select(User).where(User.username == SYSTEM_USERNAME))
    if user is None:
        dealer = ensure_dealer(session)
        user = User(
            dealer_id=dealer.id,
            username=SYSTEM_USERNAME,
            display_name="系统",
            role=Role.ADMIN,
            system_account=True,
        )
        session.add(user)
        session.flush()
    return Actor(user_id=user.id, display_name=user.display_name, role=Role(user.role))


def actor_for(session: Session, username: str) -> Actor:
    """The active user ``username`` as an actor. Raises NotFoundError."""
    user = session.scalar(select(User).where(User.username == username, User.deleted.is_(False)))
    if user is None or not user.active:
        raise NotFoundError("user", username)
    return Actor(user_id=user.id, display_name=user.display_name, role=Role(user.role))


def create_user(
    session: Session, actor: Actor, username: str, display_name: str, role: str
) -> UserDTO:
    """Add a staff member (no password yet: ``auth.add_user`` gives one). Only an admin may.

    Raises PermissionDeniedError, ValidationError, ConflictError."""
    require(actor, "manage_users")
    bind_actor(session, actor)
    username = (username or "").strip().lower()
    if not username or not username.replace("_", "").replace(".", "").isalnum():
        raise ValidationError("username", "用户名只能包含字母和数字", "letters and digits only")
    if len(username) > 50:
        raise ValidationError("username", "用户名过长", "username is too long")
    if session.scalar(select(User.id).where(User.username == username)):
        raise ConflictError("用户名已存在", "username is taken", field="username")
    role = parse_choice(role, "role", Role, optional=False)
    user = User(
        dealer_id=ensure_dealer(session).id,
        username=username,
        display_name=normalize_name(display_name, "display_name", max_length=50),
        role=role,
    )
    session.add(user)
    session.flush()
    return _user_dto(user)


def list_users(session: Session, actor: Actor, *, role: str | None = None) -> list[UserDTO]:
    """Active staff, people only (no system accounts), by name."""
    query = select(User).where(
        User.deleted.is_(False), User.active.is_(True), User.system_account.is_(False)
    )
    if role:
        query = query.where(User.role == role)
    return [_user_dto(u) for u in session.scalars(query.order_by(User.display_name))]


def user_names(session: Session, user_ids) -> dict[str, str]:
    """Display names for these user ids, including staff who have left (for old records)."""
    ids = {i for i in user_ids if i}
    if not ids:
        return {}
    return {
        uid: name
        for uid, name in session.execute(select(User.id, User.display_name).where(User.id.in_(ids)))
    }


def set_cadence(session: Session, actor: Actor, days: dict[str, int]) -> dict[IntentLevel, int]:
    """Set follow-up days per level (for example {"H": 1, "A": 3}). Managers only."""
    require(actor, "manage_settings")
    bind_actor(session, actor)
    clean: dict[str, int] = {}
    for level, value in days.items():
        if level not in {"H", "A", "B", "C"}:
            raise ValidationError("cadence", f"级别{level}没有跟进周期", f"no cadence for {level}")
        try:
            n = int(value)
        except (TypeError, ValueError):
            n = 0
        if not 1 <= n <= 365:
            raise ValidationError(f"cadence.{level}", "天数应为1到365", "days must be 1 to 365")
        clean[level] = n
    dealer = ensure_dealer(session)
    setting = session.scalar(select(DealerSetting).where(DealerSetting.key == CADENCE_SETTING))
    current = json.loads(setting.value) if setting else {}
    current.update(clean)
    value = json.dumps(current, sort_keys=True)
    if setting is None:
        session.add(DealerSetting(dealer_id=dealer.id, key=CADENCE_SETTING, value=value))
    else:
        setting.value = value
    session.flush()
    return cadence_days(session)


def _put_setting(session: Session, key: str, value) -> None:
    dealer = ensure_dealer(session)
    setting = session.scalar(
        select(DealerSetting).where(DealerSetting.key == key, DealerSetting.deleted.is_(False))
    )
    encoded = json.dumps(value)
    if setting is None:
        session.add(DealerSetting(dealer_id=dealer.id, key=key, value=encoded))
    else:
        setting.value = encoded
    session.flush()


def set_lead_visibility(session: Session, actor: Actor, visibility: str) -> str:
    """How a salesperson sees another salesperson's leads: "hidden" or "read_only". Managers
    only. Raises ValidationError("lead_visibility") for another value."""
    require(actor, "manage_settings")
    if visibility not in LEAD_VISIBILITY_CHOICES:
        raise ValidationError(
            "lead_visibility",
            f"无效的取值“{visibility}”，可选：{'、'.join(LEAD_VISIBILITY_CHOICES)}",
            f"invalid value '{visibility}', expected one of: {', '.join(LEAD_VISIBILITY_CHOICES)}",
        )
    bind_actor(session, actor)
    _put_setting(session, LEAD_VISIBILITY_SETTING, visibility)
    return visibility


DEFAULT_IDLE_LOCK_MINUTES = 10


def idle_lock_minutes(session: Session) -> int:
    """Minutes without input before the window locks (the store's setting, default 10)."""
    value = read_setting(session, IDLE_LOCK_SETTING)
    try:
        minutes = int(value)
    except (TypeError, ValueError):
        return DEFAULT_IDLE_LOCK_MINUTES
    return minutes if 1 <= minutes <= 240 else DEFAULT_IDLE_LOCK_MINUTES


def set_idle_lock_minutes(session: Session, actor: Actor, minutes) -> int:
    """Managers only; 1 to 240 minutes. Raises ValidationError("idle_lock_minutes")."""
    require(actor, "manage_settings")
    try:
        n = int(minutes)
    except (TypeError, ValueError):
        n = 0
    if not 1 <= n <= 240:
        raise ValidationError(
            "idle_lock_minutes", "锁屏时间应为1到240分钟", "idle lock must be 1 to 240 minutes"
        )
    bind_actor(session, actor)
    _put_setting(session, IDLE_LOCK_SETTING, n)
    return n


def user_id_for(session: Session, username: str) -> str:
    """The id of the person ``username`` (active or not). Raises NotFoundError("user")."""
    name = (username or "").strip().lower()
    user_id = session.scalar(
        select(User.id).where(
            User.username == name, User.deleted.is_(False), User.system_account.is_(False)
        )
    )
    if user_id is None:
        raise NotFoundError("user", username)
    return user_id
