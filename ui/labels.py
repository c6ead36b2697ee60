"""Translated names for the stored vocabulary codes (levels, stages, channels, roles)."""

from __future__ import annotations

from ui.i18n import tr


def intent_level(code: str | None) -> str:
    names = {
        "H": tr("H · buys within 7 days"),
        "A": tr("A · buys within 15 days"),
        "B": tr("B · buys within 30 days"),
        "C": tr("C · not now"),
        "O": tr("O · ordered"),
        "F": tr("F · lost"),
    }
    return names.get(code or "", tr("Not rated"))


def lifecycle_stage(code: str | None) -> str:
    return {
        "prospect": tr("Prospect"),
        "evaluating": tr("Evaluating"),
        "customer": tr("Customer"),
        "owner": tr("Owner in service"),
        "lapsed": tr("Lapsed"),
        "lost": tr("Lost"),
    }.get(code or "", code or "")


def source(code: str | None) -> str:
    return {
        "walk_in": tr("Walk-in"),
        "phone": tr("Phone"),
        "web": tr("Web"),
        "referral": tr("Referral"),
        "event": tr("Event"),
    }.get(code or "", code or "")


def channel(code: str | None) -> str:
    return {
        "visit": tr("Visit"),
        "phone": tr("Phone call"),
        "sms": tr("SMS"),
        "wechat": tr("WeChat"),
        "email": tr("Email"),
        "other": tr("Other"),
    }.get(code or "", code or "")


def direction(code: str | None) -> str:
    return {"inbound": tr("Inbound"), "outbound": tr("Outbound")}.get(code or "", code or "")


def gender(code: str | None) -> str:
    return {"male": tr("Male"), "female": tr("Female")}.get(code or "", "")


def kind(code: str | None) -> str:
    return {"person": tr("Person"), "company": tr("Company")}.get(code or "", code or "")


def role(code: str | None) -> str:
    return {
        "salesperson": tr("Salesperson"),
        "service_advisor": tr("Service advisor"),
        "manager": tr("Manager"),
        "admin": tr("Administrator"),
    }.get(code or "", code or "")


def lost_approval(code: str | None) -> str:
    return {
        "pending": tr("awaiting approval"),
        "approved": tr("approved"),
        "rejected": tr("rejected"),
    }.get(code or "", "")
