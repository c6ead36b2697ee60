"""PIPL requests from the customer 360 view: export one customer's data, or erase it.

Both run on the task runner: the export reads (and audits) on the DB lane, then renders the PDF
and writes the two files on the pool; the erasure is one write job. A progress dialog shows each
step; the core checks the permission and raises a typed error, shown once.
"""

from __future__ import annotations

import datetime as dt
import re
from pathlib import Path

from PySide6.QtCore import QObject, Qt, Signal
from PySide6.QtWidgets import (
    QDialog,
    QDialogButtonBox,
    QFileDialog,
    QLabel,
    QLineEdit,
    QProgressDialog,
    QVBoxLayout,
    QWidget,
)

from showroom.services import privacy
from ui.context import AppContext
from ui.customers.actions import ActionDialog, customer_changed
from ui.i18n import tr
from ui.widgets import FieldError, guarded, report_error


def _file_stem(name: str) -> str:
    safe = re.sub(r'[\\/:*?"<>|\s]+', "_", name).strip("_") or "customer"
    return f"{safe}_{dt.date.today():%Y%m%d}"


def write_export(export: privacy.CustomerExport, directory: Path) -> list[Path]:
    """Render the PDF and write ``<name>_<date>.json`` and ``.pdf`` (runs on the pool lane)."""
    from showroom.documents.customer_export import render_customer_export

    stem = _file_stem(export.data["customer"].get("name") or "customer")
    json_path = directory / f"{stem}.json"
    pdf_path = directory / f"{stem}.pdf"
    pdf = render_customer_export(export.data)
    json_path.write_bytes(export.to_json())
    pdf_path.write_bytes(pdf)
    return [json_path, pdf_path]


class CustomerExporter(QObject):
    """One export run: DB lane (gather, audited), then pool (PDF, files). Emits the paths."""

    finished = Signal(object)  # list[Path]
    failed = Signal(object)  # the exception

    def __init__(self, parent: QWidget, ctx: AppContext, customer_id: str, directory: Path):
        super().__init__(parent)
        self.ctx = ctx
        self.customer_id = customer_id
        self.directory = directory
        self.progress = QProgressDialog(tr("Gathering the customer's data…"), "", 0, 3, parent)
        self.progress.setObjectName("exportProgress")
        self.progress.setWindowTitle(tr("Export customer data"))
        self.progress.setCancelButton(None)
        self.progress.setMinimumDuration(0)
        self.progress.setWindowModality(Qt.WindowModality.WindowModal)

    def start(self) -> None:
        actor, cid = self.ctx.actor, self.customer_id
        self.progress.setValue(0)
        self.progress.show()
        self.ctx.runner.db(
            lambda s: privacy.export_customer_data(s, actor, cid),
            on_done=guarded(self.parent(), self._gathered),
            on_error=guarded(self.parent(), self._failed),
            write=True,
            name="export-customer",
        )

    def _gathered(self, export: privacy.CustomerExport) -> None:
        self.progress.setValue(1)
        self.progress.setLabelText(tr("Writing the PDF and JSON files…"))
        directory = self.directory
        self.ctx.runner.pool(
            lambda _task: write_export(export, directory),
            on_done=guarded(self.parent(), self._written),
            on_error=guarded(self.parent(), self._failed),
            name="export-files",
        )

    def _written(self, paths: list[Path]) -> None:
        self.progress.setValue(3)
        self.progress.close()
        self.finished.emit(paths)

    def _failed(self, error: BaseException) -> None:
        self.progress.close()
        self.failed.emit(error)
        report_error(self.parent(), error, self.ctx.language)


def export_customer(
    parent: QWidget,
    ctx: AppContext,
    customer_id: str,
    name: str,
    directory: Path | None = None,
) -> CustomerExporter | None:
    """Ask where to save (unless ``directory`` is given) and start the export."""
    if directory is None:
        chosen = QFileDialog.getExistingDirectory(
            parent, tr("Choose a folder for the export of %1").replace("%1", name)
        )
        if not chosen:
            return None
        directory = Path(chosen)
    exporter = CustomerExporter(parent, ctx, customer_id, directory)

    def done(paths: list[Path]) -> None:
        from PySide6.QtWidgets import QMessageBox

        box = QMessageBox(
            QMessageBox.Icon.Information,
            tr("Export customer data"),
            tr("Saved:\n%1").replace("%1", "\n".join(str(p) for p in paths)),
            QMessageBox.StandardButton.Ok,
            parent,
        )
        box.setObjectName("exportDone")
        box.open()

    exporter.finished.connect(done)
    exporter.start()
    return exporter


class EraseCustomerDialog(QDialog):
    """Confirm an erasure by typing the customer's name; then erase on the DB lane."""

    erased = Signal(object)  # privacy.ErasureResult

    def __init__(self, ctx: AppContext, customer_id: str, name: str, parent: QWidget | None = None):
        super().__init__(parent)
        self.ctx = ctx
        self.customer_id = customer_id
        self.customer_name = name
        self.setWindowTitle(tr("Erase personal data"))
        self.setObjectName("eraseCustomerDialog")
        layout = QVBoxLayout(self)
        explanation = QLabel(
            tr(
                "The name, phones, e-mail, WeChat ID, address, ID number, birthday, notes and the "
                "text of contacts and follow-ups of %1 will be erased on this laptop, the server "
                "and every other laptop. Level history, counts and vehicle models are kept "
                "without anything that identifies the person. This cannot be undone."
            ).replace("%1", name)
        )
        explanation.setWordWrap(True)
        layout.addWidget(explanation)
        prompt = QLabel(tr("Type the customer's name to confirm:"))
        layout.addWidget(prompt)
        self.confirm = QLineEdit()
        self.confirm.setObjectName("confirmName")
        self.confirm.setPlaceholderText(name)
        layout.addWidget(self.confirm)
        self.error = FieldError()
        layout.addWidget(self.error)
        self.status = QLabel()
        self.status.setObjectName("eraseStatus")
        layout.addWidget(self.status)
        self.buttons = QDialogButtonBox(
            QDialogButtonBox.StandardButton.Ok | QDialogButtonBox.StandardButton.Cancel
        )
        self.erase_button = self.buttons.button(QDialogButtonBox.StandardButton.Ok)
        self.erase_button.setText(tr("Erase"))
        self.erase_button.setObjectName("confirmErase")
        self.erase_button.setEnabled(False)
        self.buttons.button(QDialogButtonBox.StandardButton.Cancel).setText(tr("Cancel"))
        self.buttons.accepted.connect(self.submit)
        self.buttons.rejected.connect(self.reject)
        layout.addWidget(self.buttons)
        self.confirm.textChanged.connect(
            lambda text: self.erase_button.setEnabled(text.strip() == self.customer_name)
        )
        self.resize(460, self.sizeHint().height())

    def submit(self) -> None:
        if self.confirm.text().strip() != self.customer_name:
            self.error.show_message(tr("The name typed does not match the customer."))
            return
        self.error.clear()
        self.erase_button.setEnabled(False)
        self.confirm.setEnabled(False)
        self.status.setText(tr("Erasing…"))
        actor, cid, typed = self.ctx.actor, self.customer_id, self.confirm.text().strip()
        self.ctx.runner.db(
            lambda s: privacy.erase_customer(s, actor, cid, confirm_name=typed),
            on_done=guarded(self, self._done),
            on_error=guarded(self, self._failed),
            changed=customer_changed(cid),
            write=True,
            name="erase-customer",
        )

    def _done(self, result: privacy.ErasureResult) -> None:
        self.status.setText(tr("Erased."))
        self.erased.emit(result)
        self.accept()

    def _failed(self, error: BaseException) -> None:
        self.status.clear()
        self.confirm.setEnabled(True)
        self.erase_button.setEnabled(True)
        report_error(self, error, self.ctx.language)


# --- consent ----------------------------------------------------------------------------------


def consent_purpose(code: str | None) -> str:
    return {
        "sales": tr("Sales"),
        "service_reminders": tr("Service reminders"),
        "marketing": tr("Care and offers"),
        "surveys": tr("Surveys"),
    }.get(code or "", code or "")


def consent_source(code: str | None) -> str:
    return {
        "paper_form": tr("Paper form"),
        "verbal": tr("Verbally"),
        "web": tr("Web"),
        "wechat": tr("WeChat"),
        "other": tr("Other"),
    }.get(code or "", code or "")


def current_consents(consents) -> list:
    """The consent in force per (channel, purpose): the newest recording of each."""
    newest: dict[tuple[str, str], object] = {}
    for c in sorted(consents, key=lambda c: (c.given_at, c.id)):
        newest[(c.channel, c.purpose)] = c
    return sorted(newest.values(), key=lambda c: (c.purpose, c.channel))


class ConsentDialog(ActionDialog):
    """Record that the customer gave or withdrew consent for one channel and purpose."""

    def __init__(self, ctx: AppContext, customer_id: str, parent: QWidget | None = None) -> None:
        from PySide6.QtWidgets import QComboBox

        from showroom.vocabulary import ConsentChannel, ConsentPurpose, ConsentSource
        from ui import labels

        super().__init__(ctx, customer_id, tr("Record consent"), parent)
        self.channel = QComboBox()
        self.channel.setObjectName("consentChannel")
        for code in ConsentChannel:
            self.channel.addItem(labels.channel(code), code.value)
        self.add_row(tr("Channel"), self.channel, "channel")
        self.purpose = QComboBox()
        self.purpose.setObjectName("consentPurpose")
        for code in ConsentPurpose:
            self.purpose.addItem(consent_purpose(code), code.value)
        self.add_row(tr("Purpose"), self.purpose, "purpose")
        self.granted = QComboBox()
        self.granted.setObjectName("consentGranted")
        self.granted.addItem(tr("Agrees"), True)
        self.granted.addItem(tr("Withdraws / refuses"), False)
        self.add_row(tr("Decision"), self.granted, "granted")
        self.source = QComboBox()
        self.source.setObjectName("consentSource")
        for code in ConsentSource:
            self.source.addItem(consent_source(code), code.value)
        self.add_row(tr("How it was given"), self.source, "source")

    def accept(self) -> None:
        from showroom.services import consents

        actor, cid = self.ctx.actor, self.customer_id
        values = {
            "channel": self.channel.currentData(),
            "purpose": self.purpose.currentData(),
            "granted": self.granted.currentData(),
            "source": self.source.currentData(),
        }
        self.submit(
            lambda s: consents.record_consent(s, actor, cid, **values),
            changed=customer_changed(cid),
        )
