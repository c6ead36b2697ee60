"""The SQL conversions of sync.local.sqlwire agree with the Python converters, value by value."""

from __future__ import annotations

import json

import pytest

from showroom.demo import generate_demo_data
from sync import local, protocol
from sync.local import sqlwire
from sync.local.store import column_converters, quote

TRICKY_TEXT = [
    'quote " and backslash \\',
    "tab\tnew line\ncarriage\rbell\x07 escape\x1b",
    "汉字 and emoji 😀, BOM \ufeff, separators \u2028\u2029, DEL \x7f",
    "",
]


def test_sqlite_writes_json_text_exactly_as_the_canonical_encoder(db):
    with db.engine.connect() as conn:
        for code in [*range(1, 0x800), 0x2028, 0x2029, 0xFEFF, 0xFFFF, 0x1F600]:
            value = f"a{chr(code)}b"
            made = conn.exec_driver_sql(
                "SELECT json_array(?, 5, json('true'), json_object('a', ?, 'b', NULL))",
                (value, value),
            ).scalar()
            assert made == protocol.canonical_json([value, 5, True, {"a": value, "b": None}])


def _python_rows(conn, table):
    converters = column_converters(table)
    columns = ", ".join(["id", "server_version", *(quote(n) for n, _, _ in converters)])
    for row in conn.exec_driver_sql(f"SELECT {columns} FROM {quote(table)} ORDER BY id"):
        data = {n: wire(raw) for (n, _, wire), raw in zip(converters, row[2:], strict=True)}
        yield row[0], row[1], data


def _odd_values(db):
    """Values the app never stores in these forms, but which must still convert the same."""
    with db.engine.begin() as conn:
        ids = [r[0] for r in conn.exec_driver_sql("SELECT id FROM customer ORDER BY id LIMIT 6")]
        for i, value in enumerate(TRICKY_TEXT):
            conn.exec_driver_sql("UPDATE customer SET name = ? WHERE id = ?", (value, ids[i]))
        # A timestamp without its fraction, and one with a fraction of zero.
        conn.exec_driver_sql(
            "UPDATE customer SET created_at = '2026-03-04 05:06:07' WHERE id = ?", (ids[4],)
        )
        conn.exec_driver_sql(
            "UPDATE customer SET created_at = '2026-03-04 05:06:07.000000' WHERE id = ?", (ids[5],)
        )
        conn.exec_driver_sql("UPDATE customer SET vip = 1 WHERE id = ?", (ids[0],))
        conn.exec_driver_sql("UPDATE catalogue_trim SET msrp = -5 WHERE rowid = 1")
        conn.exec_driver_sql("UPDATE catalogue_trim SET msrp = 0 WHERE rowid = 2")
        conn.exec_driver_sql("UPDATE catalogue_trim SET msrp = 123456789012 WHERE rowid = 3")
        conn.exec_driver_sql("UPDATE catalogue_trim SET msrp = 7 WHERE rowid = 4")
        for name in local.synced_tables():
            conn.exec_driver_sql(f"UPDATE {quote(name)} SET server_version = rowid + 10")


def test_rows_and_digest_texts_made_in_sql_equal_the_python_conversion(db):
    generate_demo_data(db, 12, seed=4)
    _odd_values(db)
    compared = 0
    with db.engine.connect() as conn:
        sqlwire.install(conn)
        for table in local.synced_tables():
            expected = list(_python_rows(conn, table))
            arrays = conn.exec_driver_sql(
                f"SELECT {sqlwire.row_array_sql(table)} FROM {quote(table)} ORDER BY id"
            ).scalars()
            digests = conn.exec_driver_sql(
                f"SELECT {sqlwire.digest_text_sql(table)} FROM {quote(table)} ORDER BY id"
            ).scalars()
            for (row_id, version, data), array, digest in zip(
                expected, arrays, digests, strict=True
            ):
                names = [n for n, _, _ in column_converters(table)]
                assert json.loads(array) == [row_id, *(data[n] for n in names)]
                assert digest == protocol.canonical_json([row_id, version, data["deleted"], data])
                compared += 1
    assert compared > 100


def test_checksums_count_the_rows_the_server_acknowledged(db):
    generate_demo_data(db, 8, seed=5)
    _odd_values(db)
    sums = local.local_checksums(db)
    with db.engine.connect() as conn:
        for table in local.synced_tables():
            rows = [(i, v, d["deleted"], d) for i, v, d in _python_rows(conn, table)]
            assert sums[table] == protocol.table_checksum(rows), table
    assert sums["customer"]["count"] == 8


# --- pulled pages converted a column at a time ---------------------------------------------------


def _fresh(tmp_path, migrated_template, name):
    import shutil

    from showroom.db.engine import open_database

    path = tmp_path / f"{name}.db"
    shutil.copy(migrated_template, path)
    return open_database(path)


def _page(rows, next_since):
    return {"rows": rows, "next_since": next_since, "has_more": False, "last_seq": next_since}


def _table_dump(db):
    out = {}
    with db.engine.connect() as conn:
        for name in local.synced_tables():
            out[name] = conn.exec_driver_sql(f"SELECT * FROM {quote(name)} ORDER BY id").all()
    return out


def test_a_page_converted_by_columns_is_written_as_value_by_value_would(
    db, tmp_path, migrated_template, monkeypatch
):
    from test_client_local import wire_rows

    import sync.local.pull as pull

    generate_demo_data(db, 12, seed=6)
    _odd_values(db)
    rows = wire_rows(db, version_of=lambda *_: 7)
    by_column, by_value = (_fresh(tmp_path, migrated_template, n) for n in ("col", "val"))
    try:
        result = local.apply_pull_page(by_column, _page(rows, 7), since=0)
        with monkeypatch.context() as patch:
            patch.setattr(pull, "_bulk_converter", lambda table, name: None)
            local.apply_pull_page(by_value, _page(rows, 7), since=0)
        assert result.rows == len(rows) and local.cursor_of(by_column) == 7
        assert _table_dump(by_column) == _table_dump(by_value)
        assert local.local_checksums(by_column) == local.local_checksums(by_value)
    finally:
        by_column.dispose()
        by_value.dispose()


def test_a_value_in_another_form_is_converted_and_a_bad_one_is_named(tmp_path, migrated_template):
    from test_client_local import customer_row

    other = _fresh(tmp_path, migrated_template, "other")
    try:
        odd = customer_row("c-1", 3, created_at="2026-01-02T11:04:05+08:00")
        plain = customer_row("c-0", 2)
        local.apply_pull_page(other, _page([plain, odd], 3), since=0)
        with other.engine.connect() as conn:
            stored = conn.exec_driver_sql("SELECT created_at FROM customer ORDER BY id").scalars()
            assert list(stored) == ["2026-01-02 03:04:05.000000"] * 2
        bad = customer_row("c-2", 4, created_at="yesterday")
        with pytest.raises(local.LocalSyncError) as raised:
            local.apply_pull_page(other, _page([plain, bad], 4), since=3)
        assert raised.value.field == "customer.created_at"
        assert "c-2" in str(raised.value)
        assert local.cursor_of(other) == 3
    finally:
        other.dispose()
