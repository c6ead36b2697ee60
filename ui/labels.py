"""Translated names for the stored vocabulary codes (levels, stages, channels, roles)."""

from __future__ import annotations

from PySide6.QtCore import QCoreApplication


def _t(text: str) -> str:
    return QCoreApplication.translate("Vocabulary", text)


def intent_level(code: str | None) -> str:
    names = {
        "H": _t("H · buys within 7 days"),
        "A": _t("A · buys within 15 days"),
        "B": _t("B · buys within 30 days"),
        "C": _t("C · not now"),
        "O": _t("O · ordered"),
        "F": _t("F · lost"),
    }
    return names.get(code or "", _t("Not rated"))


def lifecycle_stage(code: str | None) -> str:
    return {
        "prospect": _t("Prospect"),
        "evaluating": _t("Evaluating"),
        "customer": _t("Customer"),
        "owner": _t("Owner in service"),
        "lapsed": _t("Lapsed"),
        "lost": _t("Lost"),
    }.get(code or "", code or "")


def source(code: str | None) -> str:
    return {
        "walk_in": _t("Walk-in"),
        "phone": _t("Phone"),
        "web": _t("Web"),
        "referral": _t("Referral"),
        "event": _t("Event"),
    }.get(code or "", code or "")


def channel(code: str | None) -> str:
    return {
        "visit": _t("Visit"),
        "phone": _t("Phone call"),
        "sms": _t("SMS"),
        "wechat": _t("WeChat"),
        "email": _t("Email"),
        "other": _t("Other"),
    }.get(code or "", code or "")


def direction(code: str | None) -> str:
    return {"inbound": _t("Inbound"), "outbound": _t("Outbound")}.get(code or "", code or "")


def gender(code: str | None) -> str:
    return {"male": _t("Male"), "female": _t("Female")}.get(code or "", "")


def kind(code: str | None) -> str:
    return {"person": _t("Person"), "company": _t("Company")}.get(code or "", code or "")


def role(code: str | None) -> str:
    return {
        "salesperson": _t("Salesperson"),
        "service_advisor": _t("Service advisor"),
        "manager": _t("Manager"),
        "admin": _t("Administrator"),
    }.get(code or "", code or "")


def lost_approval(code: str | None) -> str:
    return {
        "pending": _t("awaiting approval"),
        "approved": _t("approved"),
        "rejected": _t("rejected"),
    }.get(code or "", "")
