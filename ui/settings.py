"""Settings: interface language and, until sign-in arrives, who is working at this laptop."""

from __future__ import annotations

from PySide6.QtCore import QSettings
from PySide6.QtWidgets import QComboBox, QFormLayout, QLabel, QVBoxLayout, QWidget

from showroom.actor import Actor
from showroom.services import dealer
from showroom.vocabulary import Role
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

        self.user = QComboBox()
        self.user.setObjectName("user")
        self.user.setMinimumWidth(240)
        self.user.addItem(ctx.actor.display_name, None)
        form.addRow(self.tr("Working as"), self.user)

        db_label = QLabel(str(ctx.database_path))
        db_label.setTextInteractionFlags(db_label.textInteractionFlags())
        form.addRow(self.tr("Database file"), db_label)
        outer.addStretch(1)
        self._users_loaded = False

    def activate(self) -> None:
        if not self._users_loaded:
            self._users_loaded = True
            self.ctx.runner.db(lambda s: dealer.list_users(s, self.ctx.actor), on_done=self._fill)

    def _fill(self, users) -> None:
        self.user.blockSignals(True)
        self.user.clear()
        for u in users:
            self.user.addItem(f"{u.display_name}（{labels.role(u.role)}）", u)
            if u.id == self.ctx.actor.user_id:
                self.user.setCurrentIndex(self.user.count() - 1)
        self.user.blockSignals(False)
        self.user.currentIndexChanged.connect(self._user_chosen)

    def _user_chosen(self, index: int) -> None:
        user = self.user.itemData(index)
        if user is None:
            return
        QSettings().setValue("user/username", user.username)
        self.ctx.actor = Actor(
            user_id=user.id, display_name=user.display_name, role=Role(user.role)
        )
        self.ctx.navigator.actor_changed.emit()

    def _language_chosen(self, index: int) -> None:
        code = self.language.itemData(index)
        QSettings().setValue("language", code)
        self.ctx.language = set_language(code)
