"""Settings: interface language, who is signed in, the store's rules, and the database file.

The store's rules (other salespeople's customers, the idle lock, the discount limit) are read
and saved on the DB lane; managers change them, everyone else sees them greyed out with a note
saying why. The discount limit is saved on Enter or when the field is left: a refusal (not an
amount, negative, not a manager) is shown under the field and the stored value stays.
"""

from __future__ import annotations

from decimal import Decimal

from PySide6.QtCore import QSettings, Qt, Signal
from PySide6.QtWidgets import (
    QComboBox,
    QFormLayout,
    QLabel,
    QLineEdit,
    QSpinBox,
    QVBoxLayout,
    QWidget,
)

from showroom.errors import PermissionDeniedError, ValidationError
from showroom.permissions import LEAD_HIDDEN, LEAD_READ_ONLY, can
from ui import labels
from ui.context import AppContext
from ui.i18n import LANGUAGES, set_language
from ui.widgets import Field, FormErrors, guarded, muted_label, report_error

# The service's field name for the limit (``quotes.DISCOUNT_THRESHOLD_SETTING``).
DISCOUNT_FIELD = "discount_threshold"


def _amount_text(value: Decimal) -> str:
    return f"{value:,.2f}"


class SettingsPage(QWidget):
    rules_saved = Signal(int)  # the idle lock minutes now in force
    discount_limit_saved = Signal(object)  # the discount limit now in force (Decimal, CNY)

    def __init__(self, ctx: AppContext, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.ctx = ctx
        outer = QVBoxLayout(self)
        outer.setContentsMargins(24, 24, 24, 24)
        heading = QLabel(self.tr("Settings"))
        heading.setStyleSheet("font-size: 20px; font-weight: 600;")
        outer.addWidget(heading)
        form = QFormLayout()
        form.setLabelAlignment(form.labelAlignment())
        outer.addLayout(form)

        self.language = QComboBox()
        self.language.setObjectName("language")
        for code, name in LANGUAGES.items():
            self.language.addItem(name, code)
        self.language.setCurrentIndex(list(LANGUAGES).index(ctx.language))
        self.language.currentIndexChanged.connect(self._language_chosen)
        form.addRow(self.tr("Language"), self.language)

        # Who is working is decided by signing in (Account menu: lock, switch user), not here.
        self.user = QLabel(f"{ctx.actor.display_name}（{labels.role(ctx.actor.role)}）")
        self.user.setObjectName("user")
        form.addRow(self.tr("Working as"), self.user)

        # The store's security rules: managers change them, others see them.
        self.lead_visibility = QComboBox()
        self.lead_visibility.setObjectName("lead_visibility")
        self.lead_visibility.addItem(self.tr("Read-only"), LEAD_READ_ONLY)
        self.lead_visibility.addItem(self.tr("Hidden"), LEAD_HIDDEN)
        form.addRow(self.tr("Other salespeople's customers"), self.lead_visibility)
        self.idle_minutes = QSpinBox()
        self.idle_minutes.setObjectName("idle_minutes")
        self.idle_minutes.setRange(1, 240)
        self.idle_minutes.setSuffix(self.tr(" min"))
        form.addRow(self.tr("Lock after idle"), self.idle_minutes)
        self.discount_limit = QLineEdit()
        self.discount_limit.setObjectName("discount_limit")
        self.discount_limit.setAlignment(Qt.AlignmentFlag.AlignRight)
        self.discount_limit.setMaximumWidth(180)
        self.discount_limit.setToolTip(
            self.tr("A larger discount on a quote needs a manager's approval before it is printed.")
        )
        self.errors = FormErrors(lambda: self.ctx.language)
        form.addRow(
            self.tr("Discount limit (CNY)"),
            self.errors.add(DISCOUNT_FIELD, Field(self.discount_limit)),
        )
        manages = can(ctx.actor, "manage_settings")
        self._rules = (self.lead_visibility, self.idle_minutes, self.discount_limit)
        for widget in self._rules:
            widget.setEnabled(False)  # until the values have loaded
        self._manages = manages
        self._discount_shown = ""  # the stored limit as shown; an unchanged field is not saved
        self.managers_only = muted_label(
            self.tr("Only a manager or an admin can change the store's rules.")
        )
        self.managers_only.setObjectName("managers_only")
        self.managers_only.setVisible(not manages)
        form.addRow("", self.managers_only)

        db_label = QLabel(str(ctx.database_path))
        db_label.setTextInteractionFlags(db_label.textInteractionFlags())
        form.addRow(self.tr("Database file"), db_label)
        outer.addStretch(1)
        self._loaded_once = False

    def activate(self) -> None:
        from showroom.services import dealer, leads, quotes

        self.ctx.runner.db(
            lambda s: (
                leads.lead_visibility(s),
                dealer.idle_lock_minutes(s),
                quotes.discount_threshold(s),
            ),
            on_done=guarded(self, self._rules_loaded),
        )

    def _rules_loaded(self, rules) -> None:
        visibility, minutes, limit = rules
        for widget in self._rules:
            widget.blockSignals(True)
        self.lead_visibility.setCurrentIndex(self.lead_visibility.findData(visibility))
        self.idle_minutes.setValue(minutes)
        self._show_discount_limit(limit)
        for widget in self._rules:
            widget.blockSignals(False)
            widget.setEnabled(self._manages)
        if not self._loaded_once:
            self._loaded_once = True
            self.lead_visibility.currentIndexChanged.connect(self._save_rules)
            self.idle_minutes.editingFinished.connect(self._save_rules)
            self.discount_limit.editingFinished.connect(self.save_discount_limit)

    def _save_rules(self) -> None:
        from showroom.services import dealer

        actor = self.ctx.actor
        visibility, minutes = self.lead_visibility.currentData(), self.idle_minutes.value()

        def save(session):
            dealer.set_lead_visibility(session, actor, visibility)
            return dealer.set_idle_lock_minutes(session, actor, minutes)

        self.ctx.runner.db(
            save,
            on_done=self._rules_saved,
            on_error=lambda error: report_error(self, error, self.ctx.language),
            write=True,
        )

    def _rules_saved(self, minutes: int) -> None:
        self.ctx.idle_lock_minutes = minutes
        self.rules_saved.emit(minutes)

    def save_discount_limit(self) -> None:
        """Save the typed limit (Enter or leaving the field); the service checks it."""
        from showroom.services import quotes

        text = self.discount_limit.text().strip()
        if text == self._discount_shown:
            return
        self.errors.clear()
        if not text:
            self._discount_refused(self.tr("Enter an amount, for example 3000."))
            return
        actor = self.ctx.actor
        self.ctx.runner.db(
            lambda session: quotes.set_discount_threshold(session, actor, text),
            on_done=guarded(self, self._discount_limit_saved),
            on_error=guarded(self, self._discount_limit_failed),
            write=True,
            name="discount-limit",
        )

    def _discount_limit_saved(self, limit: Decimal) -> None:
        self._show_discount_limit(limit)
        self.discount_limit_saved.emit(limit)

    def _discount_limit_failed(self, error: BaseException) -> None:
        if isinstance(error, ValidationError):
            self.errors.show(error, DISCOUNT_FIELD)
        elif isinstance(error, PermissionDeniedError):
            # Plainly, where the change was tried; the stored limit is shown again.
            self._discount_refused(error.message(self.ctx.language))
            self.discount_limit.setText(self._discount_shown)
        else:
            report_error(self, error, self.ctx.language)

    def _discount_refused(self, text: str) -> None:
        field = self.errors.field(DISCOUNT_FIELD)
        field.error.show_message(text)
        field.input.setFocus()

    def _show_discount_limit(self, limit: Decimal) -> None:
        self._discount_shown = _amount_text(limit)
        self.discount_limit.setText(self._discount_shown)

    def _language_chosen(self, index: int) -> None:
        code = self.language.itemData(index)
        QSettings().setValue("language", code)
        self.ctx.language = set_language(code)
