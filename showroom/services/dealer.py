"""The store on this laptop, its staff and its settings."""

from __future__ import annotations

import json
from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.orm import Session

from showroom.actor import Actor, bind_actor
from showroom.errors import ConflictError, NotFoundError, PermissionDeniedError, ValidationError
from showroom.models import Dealer, DealerSetting, User
from showroom.services.common import parse_choice
from showroom.services.leads import CADENCE_SETTING, cadence_days
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
    """Add a staff member. Only a manager or admin may. Raises ValidationError, ConflictError."""
    if not actor.is_manager:
        raise PermissionDeniedError("只有经理或管理员可以添加用户", "only a manager can add users")
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
    if not actor.is_manager:
        raise PermissionDeniedError("只有经理可以修改跟进周期", "only a manager can set cadence")
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
