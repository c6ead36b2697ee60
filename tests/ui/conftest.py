"""UI test fixtures: one QApplication, bundled font, zh_CN, the session guard on, a runner."""

from __future__ import annotations

import os
from pathlib import Path

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")

import pytest
from PySide6.QtCore import QCoreApplication, QSettings

from ui.context import AppContext, Navigator
from ui.i18n import install_fonts, set_language
from ui.tasks import TaskRunner, install_session_guard


@pytest.fixture(scope="session", autouse=True)
def _qt_app(qapp, tmp_path_factory):
    """Isolated settings, the bundled CJK font and the default language, once per session."""
    QCoreApplication.setOrganizationName("ShowroomTests")
    QCoreApplication.setApplicationName("ShowroomTests")
    QSettings.setDefaultFormat(QSettings.Format.IniFormat)
    QSettings.setPath(
        QSettings.Format.IniFormat,
        QSettings.Scope.UserScope,
        str(tmp_path_factory.mktemp("qsettings")),
    )
    install_fonts(qapp)
    set_language("zh_CN")
    yield qapp


@pytest.fixture(autouse=True)
def _fresh_settings_and_language():
    QSettings().clear()
    set_language("zh_CN")
    yield


@pytest.fixture
def runner(db, qtbot):
    """A task runner on the test database, with the GUI-thread session guard installed."""
    install_session_guard(db)
    task_runner = TaskRunner(db)
    yield task_runner
    assert task_runner.shutdown(), "worker threads did not finish"
    db.session_guard = None


@pytest.fixture
def ctx(runner, db, sales):
    return AppContext(
        runner=runner,
        actor=sales,
        navigator=Navigator(),
        database_path=Path(db.engine.url.database),
        dealer_name="华通大众4S店",
        language="zh_CN",
    )
