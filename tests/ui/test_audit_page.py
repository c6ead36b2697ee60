"""The audit trail page: what it says about entries the sync made for no one."""

from __future__ import annotations

import dataclasses

from showroom.services import audit, customers
from showroom.services.customers import CustomerDraft
from ui.audit.page import AuditPage


def test_a_merge_the_sync_completed_reads_as_the_sync_did_it(ctx, manager, db, sales, qtbot):
    with db.session_scope() as session:
        kept = customers.create_customer(
            session, sales, CustomerDraft(name="陈小明", phones=["13900001111"])
        ).id
        audit.record(
            session, None, "merge_settle", target_table="customer", target_id=kept,
            detail={
                "from_ids": ["01a2500d-da19-7674-879d-51b44c0f82db"],
                "moved": {"customer_phone": 1, "follow_up": 2},
                "duplicates": {"customer_phone": 1},
            },
        )  # fmt: skip
    page = AuditPage(dataclasses.replace(ctx, actor=manager))
    qtbot.addWidget(page)
    page.resize(1100, 500)
    page.show()
    with qtbot.waitSignal(page.loaded):
        page.activate()
    row = [page.table.item(0, c).text() for c in range(page.table.columnCount())]
    assert row[1:] == [
        "同步完成的合并",
        "同步",
        "",
        "陈小明",
        "从 01a2500d 移来 3 条记录 · 去除重复 1 条",
    ]
    # The filter offers the action by its name.
    assert page.action_filter.findData("merge_settle") >= 0
