"""The end check of the fault suite finds a lost write, and only a lost one."""

from __future__ import annotations

import json
from decimal import Decimal

from harness import Ledger, Write, erased_rows, missing_writes, personal_values_left

ROW = ("customer", "c1")


def _ledger(*writes: Write) -> Ledger:
    ledger = Ledger()
    for w in writes:
        w.acknowledged = True
        w.result = w.result or "applied"
        ledger.writes[w.op_id] = w
    return ledger


def _update(op_id, value, base=None, laptop="a", op="update"):
    return Write(laptop, op_id, "customer", "c1", op, {"address": {"new": value, "base": base}})


def _rows(address, deleted=False):
    return {ROW: {"deleted": deleted, "data": {"address": address}}}


def test_current_value_counts_as_present():
    assert missing_writes(_ledger(_update("1", "南山")), _rows("南山"), []) == []


def test_a_value_overwritten_by_someone_who_never_saw_it_is_lost():
    ledger = _ledger(_update("1", "南山", laptop="a"), _update("2", "福田", laptop="b"))
    (problem,) = missing_writes(ledger, _rows("福田"), [])
    assert "南山" in problem and "lost" in problem


def test_a_value_kept_in_a_conflict_row_is_present():
    ledger = _ledger(_update("1", "南山", laptop="a"), _update("2", "福田", laptop="b"))
    conflict = {
        "table_name": "customer",
        "row_id": "c1",
        "field": "address",
        "theirs_value": json.dumps("南山"),
        "mine_value": json.dumps("福田"),
    }
    assert missing_writes(ledger, _rows("福田"), [conflict]) == []


def test_a_value_edited_over_by_someone_who_saw_it_is_not_lost():
    ledger = _ledger(
        _update("1", "南山", laptop="a"), _update("2", "福田", base="南山", laptop="b")
    )
    assert missing_writes(ledger, _rows("福田"), []) == []


def test_rejected_and_unacknowledged_writes_are_not_counted():
    ledger = _ledger(_update("1", "南山"))
    ledger.writes["1"].result = "rejected"
    unacknowledged = _update("2", "宝安")
    ledger.writes["2"] = unacknowledged
    assert missing_writes(ledger, _rows("福田"), []) == []


def test_an_acknowledged_delete_that_came_back_is_reported():
    delete = Write("a", "1", "customer", "c1", "delete", {"deleted": {"new": True, "base": False}})
    (problem,) = missing_writes(_ledger(delete), _rows("南山", deleted=False), [])
    assert "came back" in problem
    assert missing_writes(_ledger(delete), _rows("南山", deleted=True), []) == []


def test_a_delete_undone_by_someone_who_saw_it_is_not_lost():
    delete = Write("a", "1", "customer", "c1", "delete", {"deleted": {"new": True, "base": False}})
    restore = Write("b", "2", "customer", "c1", "update", {"deleted": {"new": False, "base": True}})
    assert missing_writes(_ledger(delete, restore), _rows("南山", deleted=False), []) == []
    unseen = Write("b", "2", "customer", "c1", "update", {"deleted": {"new": False, "base": False}})
    (problem,) = missing_writes(_ledger(delete, unseen), _rows("南山", deleted=False), [])
    assert "came back" in problem


def test_a_missing_row_is_reported():
    (problem,) = missing_writes(_ledger(_update("1", "南山")), {}, [])
    assert "row missing" in problem


def _replica(phone_number, name="已删除客户"):
    """An erased customer e, a record m merged into it with a phone, and a customer o."""

    def row(data, deleted=False):
        return {"deleted": deleted, "data": data}

    return {
        ("customer", "e"): row({"name": "已删除客户", "erased_at": "2026-12-07T05:50:00+00:00"}),
        ("customer", "m"): row({"name": name, "erased_at": None, "merged_into_id": "e"}, True),
        ("customer_phone", "p"): row({"customer_id": "m", "number": phone_number}, True),
        ("customer", "o"): row({"name": "陈晓明", "notes": "想要白色"}),
        ("sync_conflict", "c"): row({"row_id": "o", "theirs_value": '"南山"'}),
    }


def test_the_erasure_check_covers_records_merged_into_an_erased_customer():
    assert erased_rows(_replica("")) == {
        ("customer", "e"), ("customer", "m"), ("customer_phone", "p"),
    }  # fmt: skip
    assert personal_values_left(_replica("")) == []
    left = personal_values_left(_replica("+8613812348000", name="黄嘉怡"))
    assert left == ["customer/m.name='黄嘉怡'", "customer_phone/p.number='+8613812348000'"]


def test_the_erasure_check_covers_a_quotes_lines_and_its_copy_of_the_print():
    from showroom.services import quotes

    printed = quotes.issued_snapshot(quotes.copy_of_print(
        trim_id="t", colour="冰川蓝", vehicle_price=Decimal("219900"), discount=Decimal("0"),
        total=Decimal("220800"), valid_until="2026-12-14", notes="陈先生周六提车",
        lines=[{"kind": "accessory", "code": None, "description": "刻名脚垫", "quantity": 1,
                "unit_price": Decimal("900")}],
    ))  # fmt: skip
    replica = _replica("")
    replica[("quote", "q")] = {
        "deleted": False, "data": {"customer_id": "e", "issued_snapshot": printed},
    }  # fmt: skip
    replica[("quote_line", "l")] = {
        "deleted": False, "data": {"quote_id": "q", "kind": "accessory", "description": "刻名脚垫"},
    }  # fmt: skip
    replica[("quote_line", "c")] = {
        "deleted": False, "data": {"quote_id": "q", "kind": "colour", "description": "冰川蓝"},
    }  # fmt: skip
    assert personal_values_left(replica) == [
        f"quote/q.issued_snapshot={printed!r}", "quote_line/l.description='刻名脚垫'",
    ]  # fmt: skip
    replica[("quote", "q")]["data"]["issued_snapshot"] = quotes.erased_snapshot(printed)
    replica[("quote_line", "l")]["data"]["description"] = ""
    assert personal_values_left(replica) == []  # a colour line keeps the catalogue's words


def test_on_an_erased_record_only_its_personal_values_may_be_gone():
    replica = _replica("")
    replica[("customer", "e")]["data"]["vip"] = False
    notes = Write("a", "1", "customer", "e", "update", {"notes": {"new": "想要白色", "base": None}})
    vip = Write("b", "2", "customer", "e", "update", {"vip": {"new": True, "base": False}})
    erased = erased_rows(replica)
    (problem,) = missing_writes(_ledger(notes, vip), replica, [], erased)
    assert "vip=True lost" in problem
    # A conflict about the record held the value: the erasure blanked it, on purpose.
    blanked = {"table_name": "customer", "row_id": "e", "field": "vip", "theirs_value": None}
    blanked["mine_value"] = None
    assert missing_writes(_ledger(notes, vip), replica, [blanked], erased) == []


def test_a_value_kept_only_in_a_conflict_an_erasure_blanked_is_not_lost_where_the_row_went():
    """A row of an erased customer, merged into a live one afterwards: the conflict about its
    customer_id was blanked by the erasure while the row was the erased customer's."""
    replica = _replica("")
    replica[("customer_phone", "p")]["data"]["customer_id"] = "o"  # moved on to o since
    claim = Write("a", "1", "customer_phone", "p", "update", {"customer_id": {"new": "m"}})
    erased = erased_rows(replica)
    assert ("customer_phone", "p") not in erased
    (problem,) = missing_writes(_ledger(claim), replica, [], erased)
    assert "customer_id='m' lost" in problem
    blanked = {"table_name": "customer_phone", "row_id": "p", "field": "customer_id"}
    blanked |= {"base_value": None, "theirs_value": None, "mine_value": None}
    assert missing_writes(_ledger(claim), replica, [blanked], erased) == []
    # A conflict that still holds values is no blanked one: the value must be among them.
    holding = {**blanked, "theirs_value": '"x"'}
    (problem,) = missing_writes(_ledger(claim), replica, [holding], erased)
    assert "customer_id='m' lost" in problem


def test_on_an_erased_record_a_value_changed_by_a_forgotten_op_is_not_lost():
    replica = _replica("")  # the phone p holds customer_id "m"
    first = Write("a", "1", "customer_phone", "p", "insert", {"customer_id": {"new": "o"}})
    erased = erased_rows(replica)
    (problem,) = missing_writes(_ledger(first), replica, [], erased)
    assert "customer_id='o' lost" in problem
    # The op that moved it is acknowledged, its values forgotten by the erasure.
    moved = Write("b", "2", "customer_phone", "p", "update", {})
    moved.fields = {"customer_id": {"new": None, "base": None}}
    assert missing_writes(_ledger(first, moved), replica, [], erased) == []
    # An insert's empty fields read null to null too, but it is no forgotten op.
    inserted = Write("c", "3", "customer_phone", "p", "insert", {})
    inserted.fields = {"customer_id": {"new": None, "base": None}, "label": {"new": "mobile"}}
    problems = missing_writes(_ledger(first, inserted), replica, [], erased)
    assert any("customer_id='o' lost" in problem for problem in problems)
