"""Who may do what: one table of permissions per role, checked by the services.

Services call ``require(actor, permission)`` before acting; the UI may call ``can`` to hide or
disable a control, but the service check is the one that counts.

Decisions:

* ``reveal_personal_data`` (a full ID number or phone): managers and admins for every customer;
  a salesperson only for customers assigned to them (pass ``owner_id``). Receptionists / service
  advisors see masked values only.
* ``export_personal_data`` and ``erase_personal_data`` (PIPL requests): managers and admins.
* ``see_margins`` (quote cost and margin): everyone but the receptionist / service advisor.
* ``manage_users``: admins only. ``manage_settings`` (cadence, lead visibility, idle lock):
  managers and admins.
* The lead visibility rule (own, unassigned and others' leads) needs the store's setting, so it
  lives in ``showroom.services.leads`` (``lead_access``); ``lead_access_for`` here is its pure core.
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal, InvalidOperation

from showroom.actor import Actor
from showroom.errors import PermissionDeniedError, ValidationError
from showroom.vocabulary import Role

_MANAGERS = frozenset({Role.MANAGER, Role.ADMIN})


@dataclass(frozen=True)
class Permission:
    name: str
    roles: frozenset[Role]
    # What is refused, for the message: "查看完整证件号和电话" / "see full ID numbers and phones".
    what_zh: str
    what_en: str
    allowed_zh: str
    allowed_en: str


def _perm(name, roles, what_zh, what_en, allowed_zh, allowed_en) -> Permission:
    return Permission(name, frozenset(roles), what_zh, what_en, allowed_zh, allowed_en)


PERMISSIONS: dict[str, Permission] = {
    p.name: p
    for p in (
        _perm(
            "reveal_personal_data",
            _MANAGERS,
            "查看完整证件号码和电话",
            "reveal full ID numbers and phones",
            "经理、管理员或该客户的销售顾问",
            "a manager, an admin or the customer's own salesperson",
        ),
        _perm(
            "manage_users",
            {Role.ADMIN},
            "管理用户",
            "manage users",
            "管理员",
            "an admin",
        ),
        _perm(
            "approve_lost",
            _MANAGERS,
            "审批战败",
            "approve a lost (F) lead",
            "经理",
            "a manager",
        ),
        _perm(
            "approve_discount",
            _MANAGERS,
            "批准超过限额的折扣",
            "approve a discount above the limit",
            "经理",
            "a manager",
        ),
        _perm(
            "see_margins",
            {Role.SALESPERSON, Role.MANAGER, Role.ADMIN},
            "查看成本和毛利",
            "see costs and margins",
            "销售顾问、经理或管理员",
            "a salesperson, a manager or an admin",
        ),
        _perm(
            "read_audit",
            _MANAGERS,
            "查看审计日志",
            "read the audit trail",
            "经理",
            "a manager",
        ),
        _perm(
            "export_personal_data",
            _MANAGERS,
            "导出客户个人信息",
            "export a customer's personal data",
            "经理",
            "a manager",
        ),
        _perm(
            "erase_personal_data",
            _MANAGERS,
            "删除客户个人信息",
            "erase a customer's personal data",
            "经理",
            "a manager",
        ),
        _perm(
            "manage_settings",
            _MANAGERS,
            "修改门店设置",
            "change the store's settings",
            "经理",
            "a manager",
        ),
    )
}

_NOBODY = object()


def _permission(name: str) -> Permission:
    try:
        return PERMISSIONS[name]
    except KeyError:
        # A typo in a permission name is a programming error, not a refusal.
        raise ValueError(f"unknown permission: {name}") from None


def can(actor: Actor | None, permission: str, *, owner_id: object = _NOBODY) -> bool:
    """Whether ``actor`` holds ``permission``.

    ``owner_id`` is the user a customer is assigned to; with ``reveal_personal_data`` a
    salesperson may act on their own customers only.
    """
    perm = _permission(permission)
    if actor is None:
        return False
    role = Role(actor.role)
    if role in perm.roles:
        return True
    if permission == "reveal_personal_data" and role == Role.SALESPERSON:
        return owner_id is not _NOBODY and owner_id is not None and owner_id == actor.user_id
    return False


def denied(what_zh: str, what_en: str, allowed_zh: str = "", allowed_en: str = ""):
    """The typed refusal, naming what was refused (and who may do it)."""
    zh = f"没有权限：{what_zh}" + (f"（仅限{allowed_zh}）" if allowed_zh else "")
    en = f"not allowed to {what_en}" + (f" (only {allowed_en})" if allowed_en else "")
    return PermissionDeniedError(zh, en)


def require(actor: Actor | None, permission: str, *, owner_id: object = _NOBODY) -> None:
    """Raise PermissionDeniedError (naming what was refused) unless ``can`` allows it."""
    if not can(actor, permission, owner_id=owner_id):
        perm = _permission(permission)
        raise denied(perm.what_zh, perm.what_en, perm.allowed_zh, perm.allowed_en)


def _amount(value, field_name: str) -> Decimal:
    if isinstance(value, float):
        value = str(value)
    try:
        amount = Decimal(str(value).strip().rstrip("%"))
    except (InvalidOperation, ValueError):
        raise ValidationError(
            field_name, f"不是有效的数值：{value}", f"not a number: {value}"
        ) from None
    if not amount.is_finite() or amount < 0:
        raise ValidationError(field_name, "不能为负数", "must not be negative")
    return amount


def require_discount(actor: Actor | None, discount, threshold_setting) -> None:
    """A discount above the store's threshold needs a manager.

    ``discount`` and ``threshold_setting`` are in the same unit (CNY or percent, as the quote
    service decides): numbers, Decimals or numeric strings. A discount equal to the threshold is
    allowed to everyone. Raises ValidationError("discount") for a negative or non-numeric
    discount, PermissionDeniedError when a non-manager goes above the threshold.
    """
    amount = _amount(discount, "discount")
    if threshold_setting is None or threshold_setting == "":
        limit = None
    else:
        limit = _amount(threshold_setting, "discount_threshold")
    if limit is not None and amount <= limit:
        return
    if not can(actor, "approve_discount"):
        perm = PERMISSIONS["approve_discount"]
        raise denied(
            f"{perm.what_zh}（限额 {limit}，申请 {amount}）",
            f"{perm.what_en} (limit {limit}, asked {amount})",
            perm.allowed_zh,
            perm.allowed_en,
        )


# Lead visibility ---------------------------------------------------------------------------

LEAD_HIDDEN = "hidden"
LEAD_READ_ONLY = "read_only"
LEAD_VISIBILITY_CHOICES = (LEAD_HIDDEN, LEAD_READ_ONLY)


def sees_all_leads(actor: Actor | None) -> bool:
    """Everyone but a salesperson works on every lead (reception hands them out)."""
    return actor is not None and Role(actor.role) != Role.SALESPERSON


def lead_access_for(actor: Actor | None, assigned_to_id: str | None, visibility: str) -> str:
    """ "edit", "read" or "none" for a lead assigned to ``assigned_to_id``.

    A salesperson edits their own and unassigned leads; another salesperson's lead is read-only
    or hidden, as the store's ``lead_visibility`` setting says.
    """
    if actor is None:
        return "none"
    if sees_all_leads(actor) or assigned_to_id is None or assigned_to_id == actor.user_id:
        return "edit"
    return "none" if visibility == LEAD_HIDDEN else "read"
