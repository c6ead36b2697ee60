"""Settings: interface language, who is signed in, and the database file."""

from __future__ import annotations

from PySide6.QtCore import QSettings, Signal
from PySide6.QtWidgets import (
    QComboBox,
    QFormLayout,
    QLabel,
    QSpinBox,
    QVBoxLayout,
    QWidget,
)

from showroom.permissions import LEAD_HIDDEN, LEAD_READ_ONLY, can
from ui import labels
from ui.context import AppContext
from ui.i18n import LANGUAGES, set_language
from ui.widgets import report_error


class SettingsPage(QWidget):
    rules_saved = Signal(int)  # the idle lock minutes now in force

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
        manages = can(ctx.actor, "manage_settings")
        for widget in (self.lead_visibility, self.idle_minutes):
            widget.setEnabled(False)  # until the values have loaded
        self._manages = manages

        db_label = QLabel(str(ctx.database_path))
        db_label.setTextInteractionFlags(db_label.textInteractionFlags())
        form.addRow(self.tr("Database file"), db_label)
        outer.addStretch(1)
        self._loaded_once = False

    def activate(self) -> None:
        from showroom.services import dealer, leads

        self.ctx.runner.db(
            lambda s: (leads.lead_visibility(s), dealer.idle_lock_minutes(s)),
            on_done=self._rules_loaded,
        )

    def _rules_loaded(self, rules) -> None:
        visibility, minutes = rules
        for widget in (self.lead_visibility, self.idle_minutes):
            widget.blockSignals(True)
        self.lead_visibility.setCurrentIndex(self.lead_visibility.findData(visibility))
        self.idle_minutes.setValue(minutes)
        for widget in (self.lead_visibility, self.idle_minutes):
            widget.blockSignals(False)
            widget.setEnabled(self._manages)
        if not self._loaded_once:
            self._loaded_once = True
            self.lead_visibility.currentIndexChanged.connect(self._save_rules)
            self.idle_minutes.editingFinished.connect(self._save_rules)

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

    def _language_chosen(self, index: int) -> None:
        code = self.language.itemData(index)
        QSettings().setValue("language", code)
        self.ctx.language = set_language(code)
