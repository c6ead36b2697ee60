"""Translated names for quote statuses and line kinds."""

from __future__ import annotations

from ui.i18n import tr

# Status colours: background, text.
STATUS_COLOURS = {
    "draft": ("#eceff3", "#4a5563"),
    "pending_approval": ("#fff1c2", "#8a5a00"),
    "approved": ("#dcf5e3", "#1b6e3a"),
    "issued": ("#e0ecfb", "#1d4f91"),
    "expired": ("#eceff3", "#8a939e"),
    "cancelled": ("#fde2e1", "#b42318"),
    # Not a status: an issued quote another laptop changed after it was printed.
    "changed_after_issue": ("#ffe4cc", "#9a3c00"),
}


def status_text(code: str) -> str:
    return {
        "draft": tr("Draft"),
        "pending_approval": tr("Needs approval"),
        "approved": tr("Approved"),
        "issued": tr("Issued"),
        "expired": tr("Expired"),
        "cancelled": tr("Cancelled"),
    }.get(code, code)


def line_kind_text(code: str) -> str:
    return {
        "colour": tr("Colour"),
        "option": tr("Option"),
        "accessory": tr("Accessory"),
        "insurance": tr("Insurance"),
        "registration": tr("Registration"),
        "purchase_tax": tr("Purchase tax"),
        "service_fee": tr("Service fee"),
    }.get(code, code)
