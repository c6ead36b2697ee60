"""The printed quote (报价单) a walk-in customer takes home.

Rendered from a :class:`~showroom.services.dto.QuoteDTO` whose cost and margin the service has
already removed; this renderer does not print them either. The customer's phone arrives
masked. A preview carries "预览 · 非正式报价" across every page, so a screen copy cannot pass
for an issued quote.
"""

from __future__ import annotations

from decimal import Decimal

from showroom.documents.base import MUTED, RULE, SHADE, DocumentRenderer, Letterhead, local_time
from showroom.money import format_cny, to_money
from showroom.services.dto import QuoteDTO

PREVIEW_MARK = "预览 · 非正式报价"
_DIGITS = "零壹贰叁肆伍陆柒捌玖"
_GROUP_UNITS = ("", "万", "亿", "万亿")
_KINDS = {
    "colour": "颜色",
    "option": "选装",
    "accessory": "精品附件",
    "insurance": "保险",
    "registration": "上牌服务",
    "purchase_tax": "车辆购置税",
    "service_fee": "服务费",
}
_FUEL = {"petrol": "汽油", "hybrid": "油电混动", "phev": "插电混动", "ev": "纯电动"}


def _group_words(n: int) -> str:
    """0 < n < 10000 in capital numerals, zeros inside collapsed to one 零."""
    out, zero = "", False
    for power, unit in ((3, "仟"), (2, "佰"), (1, "拾"), (0, "")):
        digit = n // 10**power % 10
        if digit == 0:
            zero = zero or bool(out)
            continue
        if zero:
            out += "零"
            zero = False
        out += _DIGITS[digit] + unit
    return out


def cny_capital(amount: Decimal) -> str:
    """An amount in Chinese capital numerals as invoices write it (大写金额).

    158000 → 壹拾伍万捌仟元整; 100050.5 → 壹拾万零伍拾元伍角; 0.05 → 伍分.
    """
    amount = to_money(amount)
    sign = "负" if amount < 0 else ""
    fen_total = int(abs(amount) * 100)
    yuan, jiao, fen = fen_total // 100, fen_total // 10 % 10, fen_total % 10
    if fen_total == 0:
        return "零元整"
    groups = []
    while yuan:
        groups.append(yuan % 10000)
        yuan //= 10000
    words, gap = "", False
    for index in reversed(range(len(groups))):
        group = groups[index]
        if group == 0:
            gap = gap or bool(words)
            continue
        if words and (gap or group < 1000):
            words += "零"
        words += _group_words(group) + _GROUP_UNITS[index]
        gap = False
    if words:
        words += "元"
    if not jiao and not fen:
        return f"{sign}{words}整"
    if jiao:
        words += _DIGITS[jiao] + "角"
    if fen:
        if words and not jiao:
            words += "零"
        words += _DIGITS[fen] + "分"
    return sign + words


class QuoteDocument(DocumentRenderer):
    """报价单: customer and vehicle, the price table, the total in figures and in capitals."""

    title = "汽车销售报价单"

    def __init__(
        self,
        quote: QuoteDTO,
        letterhead: Letterhead,
        *,
        customer_phone: str = "",
        preview: bool = False,
    ) -> None:
        super().__init__(letterhead)
        self.quote = quote
        self.customer_phone = customer_phone
        self.preview = preview

    # --- page furniture ------------------------------------------------------------------

    def draw_letterhead(self, canvas, doc) -> None:
        super().draw_letterhead(canvas, doc)
        if self.preview:
            self._draw_preview_mark(canvas, doc)

    def _draw_preview_mark(self, canvas, doc) -> None:
        from reportlab.lib import colors
        from reportlab.lib.units import mm

        width, height = doc.pagesize
        canvas.saveState()
        canvas.setFillColor(colors.HexColor("#b42318"))
        canvas.setFont(self.font, 9)
        canvas.drawRightString(width - self.margin_mm * mm, height - 21 * mm, PREVIEW_MARK)
        canvas.setFillColor(colors.Color(0.75, 0.1, 0.1, alpha=0.13))
        canvas.setFont(self.font, 54)
        canvas.translate(width / 2, height / 2)
        canvas.rotate(35)
        canvas.drawCentredString(0, 0, PREVIEW_MARK)
        canvas.restoreState()

    # --- content -------------------------------------------------------------------------

    def styles(self) -> dict:
        from reportlab.lib.enums import TA_CENTER, TA_RIGHT
        from reportlab.lib.styles import ParagraphStyle

        styles = super().styles()
        base = styles["cell"]
        styles["amount"] = ParagraphStyle("amount", parent=base, alignment=TA_RIGHT)
        styles["head_right"] = ParagraphStyle(
            "head_right", parent=styles["head"], alignment=TA_RIGHT
        )
        styles["total"] = ParagraphStyle(
            "total", parent=base, fontSize=11, leading=15, alignment=TA_RIGHT
        )
        styles["total_label"] = ParagraphStyle("total_label", parent=base, fontSize=11, leading=15)
        styles["doc_title"] = ParagraphStyle(
            "doc_title", parent=styles["title"], alignment=TA_CENTER, fontSize=18, leading=24
        )
        styles["centre_small"] = ParagraphStyle(
            "centre_small", parent=styles["small"], alignment=TA_CENTER
        )
        return styles

    def story(self) -> list:
        from reportlab.platypus import Spacer

        q = self.quote
        vehicle = f"{q.brand} {q.model} {q.trim}"
        out: list = [
            self.paragraph("报 价 单", "doc_title"),
            self.paragraph(
                _spaced(
                    f"报价单号：{q.number}",
                    f"报价日期：{local_time(q.created_at)[:10]}",
                    f"有效期至：{q.valid_until:%Y-%m-%d}",
                ),
                "centre_small",
            ),
            Spacer(1, 8),
            *self.section("客户与车辆"),
            self.fields(
                [
                    ("客户", q.customer_name),
                    ("联系电话", self.customer_phone),
                    ("销售顾问", q.salesperson_name or ""),
                    ("车身颜色", q.colour or ""),
                    ("品牌车型", f"{q.brand} {q.model}"),
                    ("配置", q.trim),
                    ("年款", f"{q.model_year}款"),
                    ("能源类型", _FUEL.get(q.fuel, q.fuel)),
                ]
            ),
            *self.section("价格明细（人民币元）"),
            self._price_table(vehicle),
            Spacer(1, 6),
            self._total_table(),
        ]
        if q.notes:
            out.extend(self.section("备注"))
            out.append(self.paragraph(q.notes))
        out.extend(self.section("说明"))
        out.append(
            self.paragraph(
                f"1. 本报价自报价日期起至 {q.valid_until:%Y年%m月%d日} 有效，逾期以届时价格为准。\n"
                "2. 保险、上牌及购置税等代收代办费用以实际发生为准；"
                "车辆购置税按国家现行政策计算。\n"
                "3. 本报价单不作为购车合同，车辆配置以厂家最终交付为准。",
                "small",
            )
        )
        out.append(Spacer(1, 22))
        out.append(self._signatures())
        return out

    def _row(self, cells: list[str], styles: list[str]) -> list:
        return [self.paragraph(text, style) for text, style in zip(cells, styles, strict=True)]

    def _price_table(self, vehicle: str):
        from reportlab.lib import colors
        from reportlab.platypus import Table, TableStyle

        q = self.quote
        left, right = "cell", "amount"
        styles = [left, left, right, right, right]
        data = [
            self._row(
                ["项目", "说明", "单价", "数量", "金额"],
                ["head", "head", "head_right", "head_right", "head_right"],
            ),
            self._row(
                ["厂家指导价", f"{vehicle}（{q.model_year}款）", _yuan(q.vehicle_price),
                 "1", _yuan(q.vehicle_price)],
                styles,
            ),
        ]  # fmt: skip
        for line in q.lines:
            data.append(
                self._row(
                    [_KINDS.get(line.kind, line.kind), line.description, _yuan(line.unit_price),
                     str(line.quantity), _yuan(line.amount)],
                    styles,
                )
            )  # fmt: skip
        frame = self._frame_width
        widths = [0.14, 0.46, 0.15, 0.08, 0.17]
        table = Table(data, colWidths=[w * frame for w in widths], repeatRows=1)
        table.setStyle(
            TableStyle(
                [
                    ("VALIGN", (0, 0), (-1, -1), "MIDDLE"),
                    ("BACKGROUND", (0, 0), (-1, 0), colors.HexColor(SHADE)),
                    ("LINEBELOW", (0, 0), (-1, -1), 0.3, colors.HexColor(RULE)),
                    ("TOPPADDING", (0, 0), (-1, -1), 4),
                    ("BOTTOMPADDING", (0, 0), (-1, -1), 4),
                    ("TEXTCOLOR", (0, 1), (0, -1), colors.HexColor(MUTED)),
                ]
            )
        )
        return table

    def _total_table(self):
        from reportlab.lib import colors
        from reportlab.platypus import Table, TableStyle

        q = self.quote
        rows = [
            ["车价小计（含颜色、选装）", _yuan(q.vehicle_subtotal)],
            ["车价优惠", f"-{_yuan(q.discount)}" if q.discount else _yuan(Decimal(0))],
            ["精品、保险、上牌及税费", _yuan(q.fees_total)],
        ]
        data = [self._row(row, ["cell", "amount"]) for row in rows]
        data.append(
            [
                self.paragraph("合计（小写）", "total_label"),
                self.paragraph(format_cny(q.total), "total"),
            ]
        )
        data.append(
            [
                self.paragraph("合计（大写）", "total_label"),
                self.paragraph(f"人民币{cny_capital(q.total)}", "total"),
            ]
        )
        frame = self._frame_width
        table = Table(data, colWidths=[0.45 * frame, 0.55 * frame], hAlign="RIGHT")
        table.setStyle(
            TableStyle(
                [
                    ("VALIGN", (0, 0), (-1, -1), "MIDDLE"),
                    ("TOPPADDING", (0, 0), (-1, -1), 3),
                    ("BOTTOMPADDING", (0, 0), (-1, -1), 3),
                    ("LINEABOVE", (0, 3), (-1, 3), 0.8, colors.HexColor("#1d4f91")),
                    ("BACKGROUND", (0, 3), (-1, -1), colors.HexColor(SHADE)),
                ]
            )
        )
        return table

    def _signatures(self):
        from reportlab.lib import colors
        from reportlab.platypus import Table, TableStyle

        frame = self._frame_width
        data = [
            self._row(["客户签字：", "", "", "销售顾问签字：", ""], ["cell"] * 5),
            self._row(["日期：", "", "", "日期：", ""], ["cell"] * 5),
        ]
        table = Table(
            data, colWidths=[w * frame for w in (0.12, 0.3, 0.1, 0.16, 0.32)], rowHeights=26
        )
        table.setStyle(
            TableStyle(
                [
                    ("VALIGN", (0, 0), (-1, -1), "BOTTOM"),
                    ("LINEBELOW", (1, 0), (1, -1), 0.5, colors.HexColor(MUTED)),
                    ("LINEBELOW", (4, 0), (4, -1), 0.5, colors.HexColor(MUTED)),
                ]
            )
        )
        return table


def _spaced(*parts: str) -> str:
    """Header facts on one line, kept apart by no-break spaces (a Paragraph folds spaces)."""
    return "\u00a0\u00a0\u00a0\u00a0".join(part.replace(" ", "\u00a0") for part in parts)


def _yuan(amount: Decimal) -> str:
    """189,900.00: the price table's figures (the column heading says 元)."""
    return f"{to_money(amount):,.2f}"


def render_quote(
    quote: QuoteDTO, letterhead: Letterhead, *, customer_phone: str = "", preview: bool = False
) -> bytes:
    """The quote's PDF (A4, fonts embedded)."""
    return QuoteDocument(quote, letterhead, customer_phone=customer_phone, preview=preview).render()
