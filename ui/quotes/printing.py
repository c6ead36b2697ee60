"""Preview, print and save a quote's PDF.

The core renders the PDF (``showroom.services.quotes``): printing and saving are audited and
issue the quote in the same DB job that renders it, so an audit entry never names a printout
that failed to render, and the choice of printer or file is made first, so a cancelled dialog
leaves no trace. Rendering a one-page quote takes about 80 ms once ReportLab and the font are
loaded; :func:`warm_up` loads them on the pool when the Quotes tab first opens, so the first
print does not hold the DB lane for most of a second. Files are written and the printer is fed
on the pool lane.

PySide6-Essentials has no QtPdf, so the app cannot draw PDF pages itself. The preview opens
the PDF in the system's viewer (``QDesktopServices``), marked "预览 · 非正式报价" on every page.
Printing asks for the printer with Qt's print dialog and hands the PDF to CUPS (``lp``), which
prints PDF natively; "print to file" in that dialog writes the PDF where it says.
"""

from __future__ import annotations

import re
import shutil
import subprocess
import tempfile
from dataclasses import dataclass
from pathlib import Path

from PySide6.QtCore import QObject, QUrl, Signal
from PySide6.QtGui import QDesktopServices
from PySide6.QtWidgets import QDialog, QFileDialog, QWidget

from showroom.errors import ShowroomError
from showroom.services import quotes
from showroom.services.dto import PrintedQuote
from ui.context import AppContext
from ui.i18n import tr
from ui.widgets import guarded, report_error

_warmed_up = False


def warm_up(ctx: AppContext) -> None:
    """Load ReportLab and register the PDF font on the pool, once per process."""
    global _warmed_up
    if _warmed_up:
        return
    _warmed_up = True

    def load(_task) -> None:
        import reportlab.platypus  # noqa: F401

        from showroom.documents.base import register_fonts

        register_fonts()

    ctx.runner.pool(load, name="pdf-warm-up")


class PrinterUnavailableError(ShowroomError):
    """The print system could not take the job."""

    code = "printer"


@dataclass(frozen=True)
class PrintTarget:
    printer_name: str
    copies: int = 1
    # Set when the user chose "print to file" in the print dialog.
    output_file: str | None = None


def choose_printer(parent: QWidget) -> PrintTarget | None:
    """The system print dialog; None when the user cancels it."""
    from PySide6.QtPrintSupport import QPrintDialog, QPrinter

    printer = QPrinter(QPrinter.PrinterMode.HighResolution)
    dialog = QPrintDialog(printer, parent)
    dialog.setWindowTitle(tr("Print quote"))
    if dialog.exec() != QDialog.DialogCode.Accepted:
        return None
    return PrintTarget(
        printer.printerName(), max(1, printer.copyCount()), printer.outputFileName() or None
    )


def choose_save_path(parent: QWidget, suggested: str) -> Path | None:
    """The save dialog, with a PDF name suggested; None when cancelled."""
    folder = Path.home() / "Documents"
    start = folder if folder.is_dir() else Path.home()
    chosen, _filter = QFileDialog.getSaveFileName(
        parent, tr("Save quote as PDF"), str(start / suggested), tr("PDF files (*.pdf)")
    )
    if not chosen:
        return None
    path = Path(chosen)
    return path if path.suffix.lower() == ".pdf" else path.with_suffix(".pdf")


def file_name(number: str, customer_name: str) -> str:
    """报价单_Q20261122-7KQ3-0001_陈晓明.pdf"""
    name = re.sub(r'[\\/:*?"<>|\s]+', "_", customer_name).strip("_")
    return f"报价单_{number}_{name or 'customer'}.pdf"


def send_to_printer(target: PrintTarget, printed: PrintedQuote) -> str:
    """Write the PDF to the chosen file, or hand it to CUPS. Runs on the pool lane."""
    if target.output_file:
        Path(target.output_file).write_bytes(printed.pdf)
        return target.output_file
    lp = shutil.which("lp")
    if lp is None:
        raise PrinterUnavailableError(
            "找不到打印系统（CUPS 的 lp 命令），请先保存为 PDF 再打印",
            "no print system found (CUPS lp): save the PDF and print it from there",
        )
    with tempfile.TemporaryDirectory(prefix="showroom-print-") as folder:
        path = Path(folder) / file_name(printed.number, printed.customer_name)
        path.write_bytes(printed.pdf)
        command = [lp, "-n", str(target.copies), "-t", printed.number, str(path)]
        if target.printer_name:
            command[1:1] = ["-d", target.printer_name]
        done = subprocess.run(command, capture_output=True, text=True, timeout=60)
    if done.returncode != 0:
        reason = (done.stderr or done.stdout).strip()
        raise PrinterUnavailableError(f"打印失败：{reason}", f"printing failed: {reason}")
    return target.printer_name


def write_preview(printed: PrintedQuote) -> Path:
    """The preview PDF in the temporary folder, for the system viewer (pool lane)."""
    folder = Path(tempfile.gettempdir()) / "showroom-previews"
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / ("预览_" + file_name(printed.number, printed.customer_name))
    path.write_bytes(printed.pdf)
    return path


class QuoteOutput(QObject):
    """One preview, print or save run. ``done`` carries what was made (a path or printer)."""

    done = Signal(str)
    failed = Signal(object)

    def __init__(self, parent: QWidget, ctx: AppContext, quote_id: str) -> None:
        super().__init__(parent)
        self.ctx = ctx
        self.quote_id = quote_id
        self.widget = parent

    def _render(self, fn, *, write: bool, then) -> None:
        self.ctx.runner.db(
            fn,
            write=write,
            on_done=guarded(self.widget, then),
            on_error=guarded(self.widget, self._failed),
            changed=quotes.quote_changed if write else None,
            name="quote-pdf",
        )

    def _pool(self, fn) -> None:
        self.ctx.runner.pool(
            lambda _task: fn(),
            on_done=guarded(self.widget, lambda result: self.done.emit(str(result))),
            on_error=guarded(self.widget, self._failed),
            name="quote-output",
        )

    def _failed(self, error: BaseException) -> None:
        self.failed.emit(error)
        report_error(self.widget, error, self.ctx.language)

    def preview(self) -> None:
        actor, quote_id = self.ctx.actor, self.quote_id

        def opened(printed: PrintedQuote) -> None:
            self._pool(lambda: write_preview(printed))

        self.done.connect(lambda path: QDesktopServices.openUrl(QUrl.fromLocalFile(path)))
        self._render(lambda s: quotes.render_preview(s, actor, quote_id), write=False, then=opened)

    def print(self, target: PrintTarget) -> None:
        actor, quote_id = self.ctx.actor, self.quote_id
        self._render(
            lambda s: quotes.render_for_print(s, actor, quote_id, "print"),
            write=True,
            then=lambda printed: self._pool(lambda: send_to_printer(target, printed)),
        )

    def save(self, path: Path) -> None:
        actor, quote_id = self.ctx.actor, self.quote_id

        def write(printed: PrintedQuote) -> str:
            path.write_bytes(printed.pdf)
            return str(path)

        self._render(
            lambda s: quotes.render_for_print(s, actor, quote_id, "save"),
            write=True,
            then=lambda printed: self._pool(lambda: write(printed)),
        )
