"""Connect this laptop to the store's sync server with the one-time code an administrator made.

The form is checked before anything is sent (a URL the client could never reach, a code with
characters no code has); the server's answer then goes next to the field it concerns. On success
the dialog names the store and follows the first sync until it ends.
"""

from __future__ import annotations

import re
import socket
from typing import Any
from urllib.parse import urlsplit

from PySide6.QtCore import Qt
from PySide6.QtWidgets import (
    QDialog,
    QDialogButtonBox,
    QFormLayout,
    QLabel,
    QLineEdit,
    QProgressBar,
    QVBoxLayout,
    QWidget,
)

from showroom.errors import ValidationError
from ui.i18n import tr
from ui.sync.controller import SyncController, error_text
from ui.sync.status import stage_name
from ui.widgets import Field, FieldError, FormErrors, guarded

CODE_PATTERN = re.compile(r"^[A-Za-z0-9][A-Za-z0-9 _-]{3,63}$")
MAX_DEVICE_NAME = 100
SUCCESS_COLOUR = "#2e7d32"


def check_enrolment(server_url: str, code: str, device_name: str) -> tuple[str, str, str | None]:
    """The cleaned (url, code, device name), or a ValidationError naming the bad field."""
    url = (server_url or "").strip().rstrip("/")
    if not url:
        raise ValidationError("server_url", "请填写服务器地址", "enter the server address")
    parts = urlsplit(url)
    try:
        port_ok = parts.port is None or 0 < parts.port < 65536
    except ValueError:
        port_ok = False
    if (
        parts.scheme not in ("http", "https")
        or not parts.hostname
        or not port_ok
        or any(c.isspace() for c in url)
        or parts.query
        or parts.fragment
    ):
        raise ValidationError(
            "server_url",
            "服务器地址应以 http:// 或 https:// 开头，例如 https://sync.example.cn:8765",
            "the address must start with http:// or https://, e.g. https://sync.example.cn:8765",
        )
    code = " ".join((code or "").split())
    if not code:
        raise ValidationError("code", "请填写注册码", "enter the enrolment code")
    if not CODE_PATTERN.match(code):
        raise ValidationError(
            "code",
            "注册码由4到64个字母、数字或连字符组成，请按管理员给出的原样填写",
            "the code is 4 to 64 letters, digits or hyphens, exactly as the administrator gave it",
        )
    name = " ".join((device_name or "").split()) or None
    if name and len(name) > MAX_DEVICE_NAME:
        raise ValidationError(
            "device_name",
            f"设备名称不能超过{MAX_DEVICE_NAME}个字",
            f"the device name is longer than {MAX_DEVICE_NAME} characters",
        )
    return url, code, name


def error_field(error: BaseException) -> str | None:
    """Which form field a failed enrolment concerns, from the error's field or kind."""
    field = getattr(error, "field", None)
    if field in ("server_url", "url", "server"):
        return "server_url"
    if field in ("code", "device_name"):
        return field
    kind = type(error).__name__.lower()
    status = getattr(error, "status", None) or getattr(error, "status_code", None)
    if status == 401 or "unauthor" in kind or "code" in kind:
        return "code"
    if any(word in kind for word in ("unreachable", "connect", "timeout", "offline", "network")):
        return "server_url"
    return None


class EnrolDialog(QDialog):
    """Server URL, enrolment code and device name; Enter connects, Esc closes."""

    def __init__(
        self, controller: SyncController, language: str = "zh_CN", parent: QWidget | None = None
    ) -> None:
        super().__init__(parent)
        self.controller = controller
        self.language = language
        self.result_info: Any = None
        self._busy = False
        self.setAttribute(Qt.WidgetAttribute.WA_DeleteOnClose)
        self.setWindowTitle(tr("Connect to server"))
        self.setMinimumWidth(520)

        outer = QVBoxLayout(self)
        outer.setContentsMargins(24, 20, 24, 16)
        outer.setSpacing(10)
        heading = QLabel(tr("Connect this laptop to the store's sync server"))
        heading.setStyleSheet("font-size: 16px; font-weight: bold;")
        outer.addWidget(heading)
        intro = QLabel(
            tr(
                "Ask your administrator for the server address and a one-time enrolment code."
                " The code works once and expires."
            )
        )
        intro.setWordWrap(True)
        intro.setStyleSheet("color: #6b7785;")
        outer.addWidget(intro)

        self.general_error = FieldError()
        outer.addWidget(self.general_error)
        self.errors = FormErrors(lambda: self.language, self.general_error)
        form = QFormLayout()
        form.setFieldGrowthPolicy(QFormLayout.FieldGrowthPolicy.AllNonFixedFieldsGrow)
        outer.addLayout(form)
        self.server_url = QLineEdit(controller.status.server_url if controller.status else "")
        self.server_url.setObjectName("server_url")
        self.server_url.setPlaceholderText("https://sync.example.cn:8765")
        self.code = QLineEdit()
        self.code.setObjectName("code")
        self.code.setPlaceholderText("ABCD-EFGH-JKMN")
        self.code.setToolTip(tr("As printed by the administrator"))
        self.device_name = QLineEdit(socket.gethostname())
        self.device_name.setObjectName("device_name")
        self.device_name.setMaxLength(MAX_DEVICE_NAME + 20)
        for name, label, edit in (
            ("server_url", tr("Server address"), self.server_url),
            ("code", tr("Enrolment code"), self.code),
            ("device_name", tr("Device name"), self.device_name),
        ):
            form.addRow(label, self.errors.add(name, Field(edit)))
            edit.textEdited.connect(lambda _text, n=name: self._clear_error(n))

        self.outcome = QLabel()
        self.outcome.setObjectName("outcome")
        self.outcome.setWordWrap(True)
        self.outcome.hide()
        outer.addWidget(self.outcome)
        self.progress = QProgressBar()
        self.progress.setObjectName("enrolProgress")
        self.progress.setTextVisible(False)
        self.progress.setFixedHeight(10)
        self.progress.hide()
        outer.addWidget(self.progress)
        outer.addStretch(1)

        self.buttons = QDialogButtonBox(
            QDialogButtonBox.StandardButton.Ok | QDialogButtonBox.StandardButton.Close
        )
        self.connect_button = self.buttons.button(QDialogButtonBox.StandardButton.Ok)
        self.connect_button.setText(tr("Connect"))
        self.connect_button.setDefault(True)
        self.close_button = self.buttons.button(QDialogButtonBox.StandardButton.Close)
        self.close_button.setText(tr("Close"))
        self.close_button.setAutoDefault(False)
        self.buttons.accepted.connect(self.submit)
        self.buttons.rejected.connect(self.reject)
        outer.addWidget(self.buttons)
        for first, second in (
            (self.server_url, self.code),
            (self.code, self.device_name),
            (self.device_name, self.connect_button),
        ):
            QWidget.setTabOrder(first, second)
        (self.code if self.server_url.text() else self.server_url).setFocus()

        controller.progress.connect(guarded(self, self._sync_progress))
        controller.synced.connect(guarded(self, self._sync_done))
        controller.failed.connect(guarded(self, self._sync_failed))

    def _clear_error(self, name: str) -> None:
        field = self.errors.field(name)
        if field is not None:
            field.error.clear()

    def _set_busy(self, busy: bool) -> None:
        self._busy = busy
        for widget in (self.server_url, self.code, self.device_name, self.connect_button):
            widget.setEnabled(not busy)

    def submit(self) -> None:
        """Check the form, then enrol on the pool; nothing is sent while a field is wrong."""
        if self._busy:
            return
        if self.result_info is not None:
            self.accept()  # already connected: Enter closes
            return
        self.errors.clear()
        try:
            url, code, name = check_enrolment(
                self.server_url.text(), self.code.text(), self.device_name.text()
            )
        except ValidationError as error:
            self.errors.show(error)
            return
        self._set_busy(True)
        self.outcome.setText(tr("Connecting to %1…").replace("%1", url))
        self.outcome.setStyleSheet("")
        self.outcome.show()
        self.controller.enroll(
            url,
            code,
            name,
            on_done=guarded(self, self._enrolled),
            on_error=guarded(self, self._failed),
        )

    def _enrolled(self, info: Any) -> None:
        self.result_info = info
        self._busy = False
        dealer = getattr(info, "dealer_name", "") or ""
        self.outcome.setText(
            tr("Connected to %1. The first sync is running…").replace("%1", dealer)
        )
        self.outcome.setStyleSheet(f"color: {SUCCESS_COLOUR}; font-weight: bold;")
        self.progress.setRange(0, 0)
        self.progress.show()
        self.connect_button.setText(tr("Done"))
        self.connect_button.setEnabled(True)

    def _failed(self, error: BaseException) -> None:
        self._set_busy(False)
        self.outcome.hide()
        message = error_text(error, self.language)
        field = self.errors.field(error_field(error) or "")
        if field is not None:
            field.error.show_message(message)
            field.input.setFocus()
            if field.input is self.code:
                self.code.selectAll()
        else:
            self.general_error.show_message(message)

    def _sync_progress(self, stage: str, done: int, total: int) -> None:
        if self.result_info is None:
            return
        if total > 0:
            self.progress.setRange(0, total)
            self.progress.setValue(min(done, total))
        name = stage_name(stage)
        dealer = getattr(self.result_info, "dealer_name", "") or ""
        text = tr("Connected to %1. The first sync is running…").replace("%1", dealer)
        self.outcome.setText(f"{text} {name}" if name else text)

    def _sync_done(self, summary: Any) -> None:
        if self.result_info is None:
            return
        self.progress.hide()
        dealer = getattr(self.result_info, "dealer_name", "") or ""
        self.outcome.setText(
            tr("Connected to %1. First sync finished: %2 records received, %3 sent.")
            .replace("%3", str(getattr(summary, "pushed", 0)))
            .replace("%2", str(getattr(summary, "pulled", 0)))
            .replace("%1", dealer)  # last: a store name is never read for placeholders
        )

    def _sync_failed(self, error: BaseException) -> None:
        if self.result_info is None:
            return
        self.progress.hide()
        self.outcome.setText(
            tr(
                "Connected, but the first sync failed: %1. It will be retried automatically."
            ).replace("%1", error_text(error, self.language))
        )
        self.outcome.setStyleSheet("color: #b26a00;")
