"""A small catalogue and a customer to quote for, shared by the quote tests."""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal

from showroom.models import Trim, TrimColour, TrimOption
from showroom.services import customers
from showroom.services.customers import CustomerDraft

PHONE = "13812345678"
MASKED_PHONE = "138****5678"


@dataclass(frozen=True)
class Catalogue:
    tiguan: str  # 219,900.00, dealer cost 201,000.00; two options, a paid colour
    han_ev: str  # 209,800.00 electric, no dealer cost entered
    retired: str  # inactive


def add_catalogue(db) -> Catalogue:
    with db.session_scope() as session:
        tiguan = Trim(
            brand="大众", model="途观L", trim="330TSI 自动两驱智享版", model_year=2026,
            fuel="petrol", msrp=Decimal("219900.00"), dealer_cost=Decimal("201000.00"),
        )  # fmt: skip
        han = Trim(
            brand="比亚迪", model="汉", trim="EV 荣耀版 506KM 前驱尊贵型", model_year=2026,
            fuel="ev", msrp=Decimal("209800.00"),
        )  # fmt: skip
        old = Trim(
            brand="大众", model="途观L", trim="2023款 旧款", model_year=2023, fuel="petrol",
            msrp=Decimal("199900.00"), active=False,
        )  # fmt: skip
        session.add_all([tiguan, han, old])
        session.flush()
        session.add_all(
            [
                TrimOption(trim_id=tiguan.id, code="PANO", name="全景天窗", price=Decimal("6000")),
                TrimOption(trim_id=tiguan.id, code="HK", name="哈曼卡顿", price=Decimal("5000")),
                TrimColour(trim_id=tiguan.id, name="极地白", code="0Q", price=Decimal("0")),
                TrimColour(trim_id=tiguan.id, name="冰川蓝", code="7E", price=Decimal("2000")),
                TrimColour(trim_id=han.id, name="雪域白", code="W1", price=Decimal("0")),
            ]
        )  # fmt: skip
        return Catalogue(tiguan.id, han.id, old.id)


def add_customer(db, actor, name="陈晓明", phone=PHONE) -> str:
    with db.session_scope() as session:
        return customers.create_customer(
            session, actor, CustomerDraft(name=name, phones=[phone], intent_level="A")
        ).id


def pdf_text(pdf: bytes, *, layout: bool = False) -> str:
    """The PDF's text as ``pdftotext`` extracts it (poppler-utils); ``layout`` keeps columns."""
    import shutil
    import subprocess

    tool = shutil.which("pdftotext")
    assert tool, "pdftotext (poppler-utils) is needed to read the printed text"
    done = subprocess.run(
        [tool, *(["-layout"] if layout else []), "-enc", "UTF-8", "-", "-"],
        input=pdf,
        capture_output=True,
        check=True,
    )
    return done.stdout.decode()


def expire(db, quote_id: str, days_ago: int = 1) -> None:
    """Make the quote's validity end ``days_ago`` days before today, as if that time had passed:
    the printed copy, if any, carries the same date, so the quote does not read as changed."""
    import datetime as dt
    import json

    from showroom.models import Quote

    day = dt.date.today() - dt.timedelta(days=days_ago)
    with db.session_scope() as session:
        quote = session.get(Quote, quote_id)
        quote.valid_until = day
        if quote.issued_snapshot:
            printed = json.loads(quote.issued_snapshot)
            quote.issued_snapshot = json.dumps(printed | {"valid_until": day.isoformat()})
