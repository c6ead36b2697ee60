"""The shared ReportLab base every printed document is built on.

A renderer subclasses :class:`DocumentRenderer`, sets ``title`` and writes ``story()``. The base
gives each page the dealer's letterhead and a footer with "第 X 页，共 Y 页", registers the
bundled CJK font (embedded as a subset in each PDF, so Chinese prints the same on any machine and
viewer), and returns the PDF as bytes. ReportLab is imported here only, when a document is made.
"""

from __future__ import annotations

import datetime as dt
import io
from dataclasses import dataclass
from functools import cache
from pathlib import Path

FONT = "WenQuanYiMicroHei"
FONT_FILE = Path(__file__).resolve().parents[2] / "resources" / "fonts" / "wqy-microhei.ttc"

INK = "#1f2933"
MUTED = "#66727f"
ACCENT = "#1d4f91"
RULE = "#c8d0da"
SHADE = "#eef2f7"


@dataclass(frozen=True)
class Letterhead:
    """Who the document comes from, printed at the top of every page."""

    name: str
    address: str | None = None
    phone: str | None = None


@cache
def register_fonts() -> str:
    """Register the bundled CJK font with ReportLab (once) and return its name."""
    from reportlab.pdfbase import pdfmetrics
    from reportlab.pdfbase.ttfonts import TTFont

    if not FONT_FILE.is_file():
        raise FileNotFoundError(f"bundled font missing: {FONT_FILE}")
    pdfmetrics.registerFont(TTFont(FONT, str(FONT_FILE), subfontIndex=0))
    return FONT


def local_time(value: dt.datetime | str | None) -> str:
    """A UTC time as the reader's local "2026-11-22 14:05"; "" for none."""
    if value in (None, ""):
        return ""
    if isinstance(value, str):
        try:
            value = dt.datetime.fromisoformat(value)
        except ValueError:
            return value
    if value.tzinfo is None:
        value = value.replace(tzinfo=dt.UTC)
    return value.astimezone().strftime("%Y-%m-%d %H:%M")


def _numbered_canvas_class(renderer: DocumentRenderer):
    from reportlab.pdfgen.canvas import Canvas

    class NumberedCanvas(Canvas):
        """Defers each page until the total is known, then stamps "第 X 页，共 Y 页"."""

        def __init__(self, *args, **kwargs) -> None:
            # Start in the bundled font, so no unembedded standard font enters the file.
            kwargs.setdefault("initialFontName", renderer.font)
            super().__init__(*args, **kwargs)
            self._saved_pages: list[dict] = []

        def showPage(self) -> None:
            self._saved_pages.append(dict(self.__dict__))
            self._startPage()

        def save(self) -> None:
            total = len(self._saved_pages)
            for state in self._saved_pages:
                self.__dict__.update(state)
                renderer.draw_footer(self, self._pageNumber, total)
                super().showPage()
            super().save()

    return NumberedCanvas


class DocumentRenderer:
    """Base of every printed document: page template, fonts, letterhead, page numbers.

    Subclasses set ``title`` (and optionally ``subtitle``) and implement :meth:`story`. Hooks:
    :meth:`styles` for paragraph styles, :meth:`draw_letterhead` and :meth:`draw_footer` for the
    page furniture. :meth:`render` returns the PDF bytes.
    """

    title = ""
    subtitle = ""
    margin_mm = 18
    header_mm = 26
    footer_mm = 14

    def __init__(self, letterhead: Letterhead | None, *, printed_at: dt.datetime | None = None):
        self.letterhead = letterhead or Letterhead(name="")
        self.printed_at = printed_at or dt.datetime.now(dt.UTC)
        self.font = register_fonts()
        self._styles = None

    # --- hooks ---------------------------------------------------------------------------

    def story(self) -> list:
        raise NotImplementedError

    def styles(self) -> dict:
        from reportlab.lib import colors
        from reportlab.lib.styles import ParagraphStyle

        base = ParagraphStyle(
            "body", fontName=self.font, fontSize=9.5, leading=14, textColor=colors.HexColor(INK)
        )
        return {
            "body": base,
            "small": ParagraphStyle(
                "small", parent=base, fontSize=8, leading=11, textColor=colors.HexColor(MUTED)
            ),
            "title": ParagraphStyle(
                "title",
                parent=base,
                fontSize=17,
                leading=22,
                spaceAfter=2,
                textColor=colors.HexColor(ACCENT),
            ),
            "section": ParagraphStyle(
                "section",
                parent=base,
                fontSize=12,
                leading=16,
                spaceBefore=10,
                spaceAfter=4,
                textColor=colors.HexColor(ACCENT),
            ),
            "cell": ParagraphStyle("cell", parent=base, fontSize=8.5, leading=11.5),
            "head": ParagraphStyle(
                "head", parent=base, fontSize=8.5, leading=11.5, textColor=colors.HexColor(MUTED)
            ),
        }

    @property
    def style(self) -> dict:
        if self._styles is None:
            self._styles = self.styles()
        return self._styles

    def draw_letterhead(self, canvas, doc) -> None:
        from reportlab.lib import colors
        from reportlab.lib.units import mm

        width, height = doc.pagesize
        left, right = self.margin_mm * mm, width - self.margin_mm * mm
        top = height - 12 * mm
        canvas.saveState()
        canvas.setFillColor(colors.HexColor(ACCENT))
        canvas.setFont(self.font, 13)
        canvas.drawString(left, top - 4 * mm, self.letterhead.name)
        canvas.setFillColor(colors.HexColor(MUTED))
        canvas.setFont(self.font, 8)
        contact = "  ·  ".join(x for x in (self.letterhead.address, self.letterhead.phone) if x)
        if contact:
            canvas.drawString(left, top - 9 * mm, contact)
        canvas.setFont(self.font, 9)
        canvas.drawRightString(right, top - 4 * mm, self.title)
        canvas.setStrokeColor(colors.HexColor(ACCENT))
        canvas.setLineWidth(1.2)
        canvas.line(left, top - 11.5 * mm, right, top - 11.5 * mm)
        canvas.restoreState()

    def draw_footer(self, canvas, page: int, total: int) -> None:
        from reportlab.lib import colors
        from reportlab.lib.units import mm

        width, _height = canvas._pagesize
        left, right = self.margin_mm * mm, width - self.margin_mm * mm
        canvas.saveState()
        canvas.setStrokeColor(colors.HexColor(RULE))
        canvas.setLineWidth(0.5)
        canvas.line(left, 13 * mm, right, 13 * mm)
        canvas.setFillColor(colors.HexColor(MUTED))
        canvas.setFont(self.font, 8)
        canvas.drawString(left, 9 * mm, f"打印时间：{local_time(self.printed_at)}")
        canvas.drawRightString(right, 9 * mm, f"第 {page} 页，共 {total} 页")
        canvas.restoreState()

    # --- building blocks -----------------------------------------------------------------

    def paragraph(self, text: str, style: str = "body"):
        from xml.sax.saxutils import escape

        from reportlab.platypus import Paragraph

        return Paragraph(escape(text).replace("\n", "<br/>"), self.style[style])

    def section(self, heading: str) -> list:
        """A section heading, moved to the next page when too little room is left below it."""
        from reportlab.lib.units import mm
        from reportlab.platypus import CondPageBreak

        return [CondPageBreak(28 * mm), self.paragraph(heading, "section")]

    def table(self, header: list[str] | None, rows: list[list[str]], widths: list[float]):
        """A full-width table: ``widths`` are fractions of the frame width."""
        from reportlab.lib import colors
        from reportlab.platypus import Table, TableStyle

        frame = self._frame_width
        data = []
        if header:
            data.append([self.paragraph(h, "head") for h in header])
        data.extend([[self.paragraph(str(v), "cell") for v in row] for row in rows])
        table = Table(data, colWidths=[w * frame for w in widths], repeatRows=1 if header else 0)
        commands = [
            ("VALIGN", (0, 0), (-1, -1), "TOP"),
            ("LINEBELOW", (0, 0), (-1, -1), 0.3, colors.HexColor(RULE)),
            ("TOPPADDING", (0, 0), (-1, -1), 3),
            ("BOTTOMPADDING", (0, 0), (-1, -1), 3),
        ]
        if header:
            commands.append(("BACKGROUND", (0, 0), (-1, 0), colors.HexColor(SHADE)))
        table.setStyle(TableStyle(commands))
        return table

    def fields(self, pairs: list[tuple[str, str]]):
        """Label/value pairs in two columns of pairs."""
        rows = []
        for i in range(0, len(pairs), 2):
            left = pairs[i]
            right = pairs[i + 1] if i + 1 < len(pairs) else ("", "")
            rows.append([left[0], left[1] or "—", right[0], right[1] or ("—" if right[0] else "")])
        table = self.table(None, rows, [0.14, 0.36, 0.14, 0.36])
        from reportlab.lib import colors
        from reportlab.platypus import TableStyle

        table.setStyle(
            TableStyle(
                [
                    ("TEXTCOLOR", (0, 0), (0, -1), colors.HexColor(MUTED)),
                    ("TEXTCOLOR", (2, 0), (2, -1), colors.HexColor(MUTED)),
                ]
            )
        )
        return table

    # --- rendering -----------------------------------------------------------------------

    def render(self) -> bytes:
        """The document as PDF bytes (A4, fonts embedded)."""
        from reportlab.lib.pagesizes import A4
        from reportlab.lib.units import mm
        from reportlab.platypus import BaseDocTemplate, Frame, PageTemplate

        width, height = A4
        margin = self.margin_mm * mm
        self._frame_width = width - 2 * margin
        buffer = io.BytesIO()
        doc = BaseDocTemplate(
            buffer,
            pagesize=A4,
            title=self.title,
            author=self.letterhead.name,
            creator="Showroom",
            leftMargin=margin,
            rightMargin=margin,
            topMargin=self.header_mm * mm,
            bottomMargin=self.footer_mm * mm + 4 * mm,
        )
        frame = Frame(
            margin,
            doc.bottomMargin,
            self._frame_width,
            height - doc.topMargin - doc.bottomMargin,
            id="body",
            leftPadding=0,
            rightPadding=0,
        )
        doc.addPageTemplates([PageTemplate(id="page", frames=[frame], onPage=self.draw_letterhead)])
        doc.build(self.story(), canvasmaker=_numbered_canvas_class(self))
        return buffer.getvalue()
