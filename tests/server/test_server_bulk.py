"""POST /v1/sync/bulk: a laptop's first upload as rows of values, on SQLite and PostgreSQL."""

from __future__ import annotations

import pytest
from server_kit import booking, customer_insert

from showroom.ids import new_id
from sync import protocol
from sync.server import bulk as server_bulk
from sync.server.schema import fast_check, synced_tables

COLUMNS = ["name", "kind", "notes", "vip", "created_at", "deleted"]


def customer(name="张伟", **values):
    row = {
        "name": name,
        "kind": "person",
        "notes": None,
        "vip": False,
        "created_at": "2026-01-02T03:04:05+00:00",
        "deleted": False,
    }
    row.update(values)
    return [new_id(), *(row[c] for c in COLUMNS)]


def send(laptop, table, columns, rows, *, batch_id=None, status=200):
    body = {
        "batch_id": batch_id or new_id(),
        "epoch": laptop.epoch,
        "cursor": laptop.cursor,
        "table": table,
        "columns": columns,
        "rows": rows,
    }
    response = laptop.client.post("/v1/sync/bulk", json=body, headers=laptop.headers)
    assert response.status_code == status, response.text
    return response.json()


def test_new_rows_are_stored_with_consecutive_versions_and_pulled_by_others(laptop, laptop2):
    rows = [customer(f"客户{i}", notes="VIP" if i == 2 else None) for i in range(5)]
    answer = send(laptop, "customer", COLUMNS, rows)
    assert answer["rejected"] == []
    first = answer["first_version"]
    assert answer["last_seq"] == first + 4
    pulled = {row["id"]: row for row in laptop2.pull() if row["table"] == "customer"}
    assert [pulled[r[0]]["version"] for r in rows] == list(range(first, first + 5))
    assert pulled[rows[2][0]]["data"]["notes"] == "VIP"
    assert pulled[rows[0][0]]["data"]["name"] == "客户0"
    # Columns the laptop did not send take the model's defaults.
    assert pulled[rows[0][0]]["data"]["lifecycle_stage"] == "prospect"


def test_a_retried_batch_gets_the_same_answer_and_stores_nothing_twice(laptop, laptop2):
    rows = [customer("王芳")]
    batch_id = new_id()
    first = send(laptop, "customer", COLUMNS, rows, batch_id=batch_id)
    again = send(laptop, "customer", COLUMNS, rows, batch_id=batch_id)
    assert again == first
    assert len([r for r in laptop2.pull() if r["table"] == "customer"]) == 1


def test_a_bad_value_refuses_its_row_only_and_names_the_field(laptop, laptop2):
    rows = [
        customer("好"),
        customer("x" * 500),
        customer("好2", created_at="yesterday"),
        customer("好3", vip="yes"),
        customer(None),
    ]
    answer = send(laptop, "customer", COLUMNS, rows)
    reasons = {r["index"]: r["reason"] for r in answer["rejected"]}
    assert set(reasons) == {1, 2, 3, 4}
    assert reasons[1].startswith("customer.name:")
    assert reasons[2].startswith("customer.created_at:")
    assert reasons[3].startswith("customer.vip:")
    assert reasons[4] == "customer.name: cannot be empty"
    stored = [r["id"] for r in laptop2.pull() if r["table"] == "customer"]
    assert stored == [rows[0][0]]
    assert answer["first_version"] == answer["last_seq"]


def test_an_empty_required_value_is_refused_even_when_the_rest_of_its_column_is_fine(laptop):
    answer = send(laptop, "customer", COLUMNS, [customer("好"), customer(None)])
    assert answer["rejected"] == [{"index": 1, "reason": "customer.name: cannot be empty"}]


def test_values_in_another_form_are_stored_canonical(laptop, laptop2):
    moment = "2026-01-02T11:04:05+08:00"
    rows = [customer("时区", created_at=moment)]
    send(laptop, "customer", COLUMNS, rows)
    (row,) = [r for r in laptop2.pull() if r["table"] == "customer"]
    assert row["data"]["created_at"] == "2026-01-02T03:04:05+00:00"


def test_rows_already_on_the_server_are_merged_as_insert_ops_would_be(laptop, laptop2):
    insert = customer_insert(notes="服务器上的", vip=False, created_at="2026-01-02T03:04:05+00:00")
    laptop2.push(insert)
    same = [insert["row_id"], "张伟", "person", "笔记本上的", False,
            "2026-01-02T03:04:05+00:00", False]  # fmt: skip
    fresh = customer("新客户")
    answer = send(laptop, "customer", COLUMNS, [same, fresh])
    statuses = [r["status"] for r in answer["results"]]
    assert statuses == [protocol.RESULT_CONFLICT, protocol.RESULT_APPLIED]
    assert [r["op_id"] for r in answer["results"]] == [
        protocol.upload_op_id(laptop.device_id, "customer", same[0]),
        protocol.upload_op_id(laptop.device_id, "customer", fresh[0]),
    ]
    conflicts = laptop2.conflicts()
    assert [(c["field"], c["mine_value"]) for c in conflicts] == [("notes", '"笔记本上的"')]


def test_rule_tables_go_through_the_op_path_and_keep_their_rules(laptop, laptop2):
    columns = ["customer_id", "demo_car", "starts_at", "ends_at", "status", "deleted"]
    first, second = booking("A1234", 9, 11), booking("A1234", 10, 12)
    rows = [[new_id(), *(b[c] for c in columns)] for b in (first, second)]
    answer = send(laptop, "test_drive", columns, rows)
    assert [r["status"] for r in answer["results"]] == [
        protocol.RESULT_APPLIED,
        protocol.RESULT_CONFLICT,
    ]
    assert [c["kind"] for c in laptop2.conflicts()] == ["double_booking"]


def test_an_unknown_table_or_column_refuses_every_row_with_the_reason(laptop):
    answer = send(laptop, "no_such_table", COLUMNS, [customer()])
    assert answer["rejected"] == [{"index": 0, "reason": "table: unknown table 'no_such_table'"}]
    answer = send(laptop, "customer", [*COLUMNS, "shoe_size"], [[*customer(), 42]])
    assert answer["rejected"][0]["reason"] == "customer.shoe_size: unknown field"
    answer = send(laptop, "customer", ["kind", "deleted"], [[new_id(), "person", False]])
    assert answer["rejected"][0]["reason"] == "customer.name: required for a new row"


@pytest.mark.parametrize(
    ("body", "status"),
    [
        ({"batch_id": "b", "columns": [], "rows": []}, 400),
        ({"batch_id": "b", "table": "customer", "columns": ["a", "a"], "rows": []}, 400),
        ({"batch_id": "b", "table": "customer", "columns": [], "rows": {}}, 400),
        ({"batch_id": "b", "table": "customer", "columns": [], "rows": [[]] * 10_001}, 413),
    ],
)
def test_a_malformed_envelope_is_a_4xx(laptop, body, status):
    response = laptop.client.post("/v1/sync/bulk", json=body, headers=laptop.headers)
    assert response.status_code == status, response.text


def test_a_row_of_the_wrong_shape_is_refused_alone(laptop):
    answer = send(laptop, "customer", COLUMNS, [customer(), ["short"], "not a row"])
    assert [r["index"] for r in answer["rejected"]] == [1, 2]


def test_a_device_of_another_dealer_cannot_write_with_a_wrong_token(laptop):
    laptop.token = "not-a-token"
    send(laptop, "customer", COLUMNS, [customer()], status=401)


COLUMN_CASES = {
    ("catalogue_trim", "msrp"): ["158000.00", "-0.05", "0.00", "-0.00", "007.50", "12.5", "1e3",
                                  "12", 12, "9999999999999999.99", "99999999999999999.99"],
    ("customer", "created_at"): ["2026-01-02T03:04:05+00:00", "2026-01-02T03:04:05.000001+00:00",
                                 "2026-01-02T03:04:05.000000+00:00", "2026-02-30T03:04:05+00:00",
                                 "2026-01-02T03:04:05+08:00", "2026-01-02T03:04:05"],
    ("customer", "birthday"): ["1990-05-06", "1990-02-30", "1990-5-6", 19900506],
    ("customer", "name"): ["王芳", "a\x00b", "\ud800", "x" * 100, "x" * 101, 5],
    ("customer", "vip"): [True, False, 1, "true"],
    ("catalogue_trim", "model_year"): [2026, -3, 2**63, 2.0, True],
}  # fmt: skip


@pytest.mark.parametrize(("table", "name"), list(COLUMN_CASES))
def test_a_column_passes_the_fast_check_only_when_every_value_is_already_canonical(table, name):
    spec = synced_tables()[table]
    column = next(c for c in _model_table(table).columns if c.name == name)
    check = fast_check(column)
    normalize = spec.columns[name]
    for value in COLUMN_CASES[(table, name)]:
        try:
            canonical = normalize(value)
        except (ValueError, TypeError, ArithmeticError):
            canonical = object()
        same = type(canonical) is type(value) and canonical == value
        assert check([value]) is same, value
        assert check([value, None, value]) is same


def _model_table(name):
    import showroom.models  # noqa: F401
    from showroom.db.base import Base

    return Base.metadata.tables[name]


def test_a_push_that_reuses_a_bulk_batch_id_gets_its_own_answer(laptop):
    batch_id = new_id()
    send(laptop, "customer", COLUMNS, [customer()], batch_id=batch_id)
    insert = customer_insert()
    (result,) = laptop.push(insert, batch_id=batch_id)
    assert result["status"] == protocol.RESULT_APPLIED


def test_the_stored_form_of_bulk_rows_is_the_canonical_json_text():
    import orjson

    tricky = ['quote " backslash \\ tab \t', "汉字 😀 \u2028 \x7f \x1f", "", None, 5, -1, True]
    for value in tricky:
        data = {"a": value, "b": [value], "é": {"x": value}}
        assert (
            orjson.dumps(data, option=orjson.OPT_SORT_KEYS)
            == protocol.canonical_json(data).encode()
        )


def test_an_id_with_copy_escapes_is_stored_as_sent(laptop, laptop2):
    odd = customer("奇怪")
    odd[0] = "odd\\id\t1\n"
    answer = send(laptop, "customer", COLUMNS, [odd, customer("普通")])
    assert answer["rejected"] == []
    ids = {row["id"] for row in laptop2.pull() if row["table"] == "customer"}
    assert "odd\\id\t1\n" in ids and len(ids) == 2


@pytest.mark.parametrize(
    "server_db_url", [pytest.param("postgresql", marks=pytest.mark.postgres)], indirect=True
)
def test_a_growing_first_upload_refreshes_the_planner_statistics(laptop, engine, monkeypatch):
    # Queries planned on the statistics of an empty table sort a large one where they should
    # walk an index; a first upload refreshes them each time it has doubled the table.
    monkeypatch.setattr(server_bulk, "ANALYZE_FROM_PAGES", 1)

    def counted() -> tuple[float, int, int]:
        """The planner's row and page counts of the record table, and its rows."""
        with engine.connect() as conn:
            tuples, pages = conn.exec_driver_sql(
                "SELECT reltuples, relpages FROM pg_class WHERE oid = 'record'::regclass"
            ).one()
            held = conn.exec_driver_sql("SELECT count(*) FROM record").scalar()
        return tuples, pages, held

    before = counted()[2]
    send(laptop, "customer", COLUMNS, [customer(f"客户{i}") for i in range(300)])
    tuples, pages, held = counted()
    assert held == before + 300
    assert (tuples, pages > 0) == (held, True)

    send(laptop, "customer", COLUMNS, [customer("王芳")])  # far from doubling the table
    assert counted() == (tuples, pages, held + 1)

    send(laptop, "customer", COLUMNS, [customer(f"客户{i}") for i in range(400)])
    tuples, _, held = counted()
    assert tuples == held == before + 701
