"""The enrolment dialog: checks the form before sending, puts answers next to the field."""

from __future__ import annotations

import pytest
from qt_keys import type_text
from sync_fakes import FakeClient, Summary, enrol_locally

from showroom.errors import ShowroomError, ValidationError
from ui.sync.controller import SyncController
from ui.sync.enrol import EnrolDialog, check_enrolment


class Enrolled:
    dealer_id = "0190a000-0000-7000-8000-0000000000d1"
    dealer_name = "华通大众4S店"
    device_id = "0190a000-0000-7000-8000-0000000000e1"


class CodeRefused(ShowroomError):
    def __init__(self) -> None:
        super().__init__("登记码无效、已使用或已过期", "the code is wrong", field="code")


class FakeEnrol:
    def __init__(self, db, error: Exception | None = None) -> None:
        self.db, self.error, self.calls = db, error, []

    def __call__(self, database, server_url, code, device_name):
        self.calls.append((server_url, code, device_name))
        if self.error is not None:
            raise self.error
        enrol_locally(self.db, Enrolled.dealer_name)
        return Enrolled()


def open_dialog(ctx, db, qtbot, enroll, client=None):
    controller = SyncController(
        ctx.runner, enroll_fn=enroll, client_factory=(client or FakeClient(db)).factory
    )
    qtbot.waitUntil(lambda: controller.status is not None, timeout=3000)
    dialog = EnrolDialog(controller)
    qtbot.addWidget(dialog)
    dialog.show()
    qtbot.waitExposed(dialog)
    return dialog


def error_of(dialog, name):
    field = dialog.errors.field(name)
    return field.error.text() if field.error.isVisibleTo(dialog) else ""


@pytest.mark.parametrize(
    ("url", "code", "field"),
    [
        ("sync.example.cn", "ABCD-EFGH-JKMN", "server_url"),
        ("ftp://sync.example.cn", "ABCD-EFGH-JKMN", "server_url"),
        ("https://sync example.cn", "ABCD-EFGH-JKMN", "server_url"),
        ("http://127.0.0.1:99999", "ABCD-EFGH-JKMN", "server_url"),
        ("https://sync.example.cn", "", "code"),
        ("https://sync.example.cn", "AB!", "code"),
    ],
)
def test_bad_input_is_named_before_anything_is_sent(ctx, db, qtbot, url, code, field):
    enroll = FakeEnrol(db)
    dialog = open_dialog(ctx, db, qtbot, enroll)
    type_text(qtbot, dialog.server_url, url)
    type_text(qtbot, dialog.code, code)
    dialog.connect_button.click()
    assert error_of(dialog, field)
    other = "code" if field == "server_url" else "server_url"
    assert error_of(dialog, other) == ""
    assert dialog.focusWidget() is dialog.errors.field(field).input
    qtbot.wait(50)
    assert enroll.calls == []


def test_check_enrolment_cleans_input():
    assert check_enrolment(" http://10.0.0.5:8765/ ", " abcd efgh jkmn ", "  前台  电脑 ") == (
        "http://10.0.0.5:8765",
        "abcd efgh jkmn",
        "前台 电脑",
    )
    with pytest.raises(ValidationError) as raised:
        check_enrolment("https://x.cn", "ABCD-EFGH-JKMN", "x" * 101)
    assert raised.value.field == "device_name"


def test_a_refused_code_shows_under_the_code(ctx, db, qtbot):
    enroll = FakeEnrol(db, CodeRefused())
    dialog = open_dialog(ctx, db, qtbot, enroll)
    type_text(qtbot, dialog.server_url, "http://127.0.0.1:8765")
    type_text(qtbot, dialog.code, "ABCD-EFGH-JKMN")
    dialog.connect_button.click()
    qtbot.waitUntil(lambda: error_of(dialog, "code") != "", timeout=3000)
    assert error_of(dialog, "code") == "登记码无效、已使用或已过期"
    assert error_of(dialog, "server_url") == ""
    assert dialog.code.isEnabled() and dialog.connect_button.isEnabled()
    assert enroll.calls == [("http://127.0.0.1:8765", "ABCD-EFGH-JKMN", dialog.device_name.text())]


def test_success_names_the_store_and_runs_the_first_sync(ctx, db, qtbot):
    client = FakeClient(db, summary=Summary(pulled=42, pushed=3))
    dialog = open_dialog(ctx, db, qtbot, FakeEnrol(db), client)
    type_text(qtbot, dialog.server_url, "http://127.0.0.1:8765")
    type_text(qtbot, dialog.code, "ABCD-EFGH-JKMN")
    type_text(qtbot, dialog.device_name, "前台电脑")
    dialog.connect_button.click()
    qtbot.waitUntil(lambda: "首次同步完成" in dialog.outcome.text(), timeout=5000)
    assert (
        dialog.outcome.text() == "已连接到 华通大众4S店。首次同步完成：收到 42 条记录，发送 3 条。"
    )
    assert client.calls == 1
    assert dialog.controller.enrolled
    assert dialog.connect_button.text() == "完成"
