"""Language and fonts: zh_CN by default, English on request, Chinese without system fonts."""

from __future__ import annotations

import logging
from pathlib import Path

from PySide6.QtCore import QCoreApplication, QLocale, QTranslator
from PySide6.QtGui import QFont, QFontDatabase

log = logging.getLogger(__name__)

RESOURCES = Path(__file__).resolve().parent.parent / "resources"
TRANSLATIONS = RESOURCES / "translations"
FONT_FILE = RESOURCES / "fonts" / "wqy-microhei.ttc"
LANGUAGES = {"zh_CN": "简体中文", "en": "English"}
DEFAULT_LANGUAGE = "zh_CN"

_installed: list[QTranslator] = []


def tr(text: str, disambiguation: str | None = None, n: int = -1) -> str:
    """Translate a module-level string.

    ``pyside6-lupdate`` files calls of a plain ``tr("...")`` under the empty context, so they
    are looked up there; widgets use their own ``self.tr``.
    """
    return QCoreApplication.translate("", text, disambiguation, n)


def install_fonts(app) -> str | None:
    """Register the bundled CJK font and make it the application font's fallback.

    Test machines and many fresh installs have no CJK font at all; without this, every
    Chinese character would show as a box.
    """
    font_id = QFontDatabase.addApplicationFont(str(FONT_FILE))
    if font_id < 0:
        log.error("could not load the bundled font %s", FONT_FILE)
        return None
    families = QFontDatabase.applicationFontFamilies(font_id)
    family = families[0]
    font = QFont(app.font())
    font.setFamilies([family, *font.families()])
    font.setPointSize(10)
    app.setFont(font)
    return family


def set_language(language: str) -> str:
    """Install the translators for ``language`` (replacing any) and set the default locale.

    Returns the language in effect. Sends LanguageChange to every widget, so open windows
    re-translate themselves.
    """
    if language not in LANGUAGES:
        language = DEFAULT_LANGUAGE
    app = QCoreApplication.instance()
    for translator in _installed:
        app.removeTranslator(translator)
    _installed.clear()
    if language != "en":
        for name in (f"showroom_{language}", f"qtbase_{language}"):
            translator = QTranslator(app)
            for folder in (TRANSLATIONS, _qt_translations()):
                if folder and translator.load(name, str(folder)):
                    app.installTranslator(translator)
                    _installed.append(translator)
                    break
    QLocale.setDefault(QLocale("zh_CN" if language == "zh_CN" else "en_US"))
    return language


def _qt_translations() -> str | None:
    from PySide6.QtCore import QLibraryInfo

    return QLibraryInfo.path(QLibraryInfo.LibraryPath.TranslationsPath)
