"""The printed quote: what a customer reads on it, and what must never be on it."""

from __future__ import annotations

import shutil
import subprocess
from decimal import Decimal

import pytest
from quote_kit import MASKED_PHONE, PHONE, add_catalogue, add_customer, pdf_text

from showroom.documents.quote import cny_capital
from showroom.models import Dealer
from showroom.services import quotes
from showroom.services.quotes import QuoteDraft, QuoteLineDraft

LONG_NAME = "欧阳建国（深圳市前海深港合作区某某新能源科技发展有限公司采购部经理）"


@pytest.mark.parametrize(
    ("amount", "words"),
    [
        ("158000", "壹拾伍万捌仟元整"),
        ("250784.66", "贰拾伍万零柒佰捌拾肆元陆角陆分"),
        ("100050.50", "壹拾万零伍拾元伍角"),
        ("100010000", "壹亿零壹万元整"),
        ("2008", "贰仟零捌元整"),
        ("10000", "壹万元整"),
        ("1.05", "壹元零伍分"),
        ("0.05", "伍分"),
        ("0", "零元整"),
    ],
)
def test_capital_amounts(amount, words):
    assert cny_capital(Decimal(amount)) == words


@pytest.fixture
def printed(db, sales, manager):
    cat = add_catalogue(db)
    customer = add_customer(db, sales, name=LONG_NAME)
    with db.session_scope() as session:
        store = session.query(Dealer).one()
        store.name, store.address = "华通大众4S店", "广东省深圳市南山区深南大道10188号"
        store.phone = "+8675586668888"
        q = quotes.create_quote(
            session,
            sales,
            customer,
            QuoteDraft(
                trim_id=cat.tiguan,
                colour="冰川蓝",
                option_codes=["PANO", "HK"],
                extras=[
                    QuoteLineDraft("insurance", "交强险+商业险（第一年）", "6820.50"),
                    QuoteLineDraft("purchase_tax", "车辆购置税", "20000"),
                ],
                discount="12000",
                notes="赠送首保一次。",
            ),
        )
        quotes.approve_discount(session, manager, q.id)
    with db.session_scope() as session:
        pdf = quotes.render_for_print(session, sales, q.id, "print").pdf
    return q, pdf


def test_the_customer_reads_the_quote(printed):
    q, pdf = printed
    text = pdf_text(pdf)
    flat = "".join(text.split())
    for expected in (
        "华通大众4S店",
        "报价单",
        q.number,
        f"有效期至：{q.valid_until:%Y-%m-%d}",
        "李娜",
        "大众途观L",
        "330TSI自动两驱智享版",
        "2026款",
        "冰川蓝",
        "全景天窗",
        "219,900.00",
        "-12,000.00",
        "¥247,720.50",  # 219,900 + 2,000 + 6,000 + 5,000 − 12,000 + 6,820.50 + 20,000
        "人民币贰拾肆万柒仟柒佰贰拾元伍角",
        "客户签字",
        "销售顾问签字",
        "第1页，共1页",
    ):
        assert expected in flat, expected
    # A long name wraps inside its cell instead of running over the page.
    assert "".join(LONG_NAME.split()) in flat


def test_the_phone_is_masked_and_no_cost_or_margin_is_printed(printed):
    _, pdf = printed
    text = pdf_text(pdf)
    flat = "".join(text.split())
    assert MASKED_PHONE in flat
    assert PHONE not in flat and PHONE[3:] not in flat
    for secret in ("201,000", "201000", "成本", "毛利", "进货价", "margin"):
        assert secret not in flat, secret


def test_amounts_are_right_aligned(printed):
    _, pdf = printed
    lines = [line for line in pdf_text(pdf, layout=True).splitlines() if line.strip()]
    rows = [line for line in lines if line.rstrip().endswith(("6,000.00", "5,000.00"))]
    assert len(rows) >= 2
    # Right-aligned figures end in the same column.
    assert len({len(line.rstrip()) for line in rows}) == 1


def test_a_preview_says_it_is_not_a_quote(db, sales):
    cat = add_catalogue(db)
    customer = add_customer(db, sales)
    with db.session_scope() as session:
        q = quotes.create_quote(
            session, sales, customer, QuoteDraft(trim_id=cat.tiguan, colour="极地白")
        )
        preview = quotes.render_preview(session, sales, q.id).pdf
    assert "预览·非正式报价" in "".join(pdf_text(preview).split())


def test_an_issued_quote_carries_no_preview_mark(printed):
    _, pdf = printed
    flat = "".join(pdf_text(pdf).split())
    assert "预览" not in flat and "非正式" not in flat


def test_it_renders_to_an_image(printed, tmp_path):
    """What the customer sees: one A4 page (the PNG is written for a person to look at)."""
    tool = shutil.which("pdftoppm")
    assert tool, "pdftoppm (poppler-utils) is needed"
    _, pdf = printed
    (tmp_path / "quote.pdf").write_bytes(pdf)
    subprocess.run(
        [tool, "-png", "-r", "60", str(tmp_path / "quote.pdf"), str(tmp_path / "page")],
        check=True,
    )
    pages = sorted(tmp_path.glob("page*.png"))
    assert len(pages) == 1 and pages[0].stat().st_size > 10_000


def test_dates_print_in_the_dealers_form(today, printed):
    _, pdf = printed
    flat = "".join(pdf_text(pdf).split())
    assert f"报价日期：{today:%Y-%m-%d}" in flat
