"""Settings: interface language, who is signed in, and the database file."""

from __future__ import annotations

from PySide6.QtCore import QSettings
from PySide6.QtWidgets import QComboBox, QFormLayout, QLabel, QVBoxLayout, QWidget

from ui import labels
from ui.context import AppContext
from ui.i18n import LANGUAGES, set_language


class SettingsPage(QWidget):
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

        db_label = QLabel(str(ctx.database_path))
        db_label.setTextInteractionFlags(db_label.textInteractionFlags())
        form.addRow(self.tr("Database file"), db_label)
        outer.addStretch(1)

    def _language_chosen(self, index: int) -> None:
        code = self.language.itemData(index)
        QSettings().setValue("language", code)
        self.ctx.language = set_language(code)
