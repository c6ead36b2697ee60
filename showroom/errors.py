"""Typed errors raised by the domain core.

The core never shows text to a user itself. Each error carries a machine-readable ``code``, the
``field`` it concerns (when there is one) and a message in Chinese and in English, so that the
command line can print it and the UI can show it next to the right widget.
"""

from __future__ import annotations


class ShowroomError(Exception):
    """Base class of every error the core raises on purpose."""

    code = "error"

    def __init__(self, message_zh: str, message_en: str, *, field: str | None = None) -> None:
        self.field = field
        self.message_zh = message_zh
        self.message_en = message_en
        super().__init__(self.describe("en"))

    def message(self, language: str = "zh_CN") -> str:
        return self.message_en if language.startswith("en") else self.message_zh

    def describe(self, language: str = "zh_CN") -> str:
        """One line naming the field (if any) and what is wrong."""
        text = self.message(language)
        return f"{self.field}: {text}" if self.field else text


class ValidationError(ShowroomError):
    """Input is malformed or breaks a rule; ``field`` names the offending input."""

    code = "validation"

    def __init__(self, field: str, message_zh: str, message_en: str) -> None:
        super().__init__(message_zh, message_en, field=field)


class NotFoundError(ShowroomError):
    code = "not_found"

    def __init__(self, entity: str, key: object) -> None:
        self.entity = entity
        self.key = key
        super().__init__(
            f"找不到{_ENTITY_ZH.get(entity, entity)}：{key}", f"{entity} not found: {key}"
        )


class ConflictError(ShowroomError):
    """The change clashes with the current state (for example a duplicate customer)."""

    code = "conflict"


class PermissionDeniedError(ShowroomError):
    code = "permission"


_ENTITY_ZH = {
    "customer": "客户",
    "user": "用户",
    "vehicle": "车辆",
    "follow_up": "跟进任务",
    "interaction": "接触记录",
    "trim": "车型配置",
    "dealer": "门店",
    "conflict": "同步冲突",
    "rejected_change": "被拒绝的修改",
    "test_drive": "试驾",
}


class DatabaseKeyError(ShowroomError):
    """The encrypted local database cannot be opened with what was given (see subclasses)."""

    code = "db_key"


class WrongKeyError(DatabaseKeyError):
    """The key, key file or admin secret given does not open this database."""

    code = "db_wrong_key"

    def __init__(self, field: str = "key") -> None:
        super().__init__(
            "密钥不正确，无法打开加密的数据库（或文件已损坏、不是数据库）",
            "the key does not open this database (or the file is damaged or not a database)",
            field=field,
        )


class KeyUnavailableError(DatabaseKeyError):
    """The database is encrypted and no key was found (keyring, key file, env, admin secret)."""

    code = "db_key_missing"

    def __init__(self, path: object) -> None:
        super().__init__(
            f"数据库 {path} 已加密（或不是数据库），找不到它的密钥（钥匙串、密钥文件、"
            "SHOWROOM_DB_KEY 或管理员密码）。"
            "已同步的数据仍在服务器上：重新登记这台电脑即可重新下载。",
            f"the database {path} is encrypted (or is not a database) and no key was found"
            " (keyring, key file, SHOWROOM_DB_KEY or admin secret). What was synced is safe on"
            " the server: enrol this computer again to download it.",
            field="key",
        )
