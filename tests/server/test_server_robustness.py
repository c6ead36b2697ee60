"""Bodies the server cannot or will not read get a 4xx with {"error", "detail"}, never a 500."""

from __future__ import annotations

import gzip
import json

import pytest
from server_kit import customer_insert

from showroom.ids import new_id
from sync import protocol


def _post(client, laptop, content: bytes, **extra_headers):
    return client.post(
        "/v1/sync/push", content=content, headers={**laptop.headers, **extra_headers}
    )


@pytest.mark.parametrize(
    ("content", "field"),
    [
        (b"{not json", "body"),
        (b"", "body"),
        (b"[1, 2, 3]", "body"),
        (b'{"ops": []}', "batch_id"),
        (b'{"batch_id": 5, "ops": []}', "batch_id"),
        (b'{"batch_id": "b", "ops": {}}', "ops"),
        (b'{"batch_id": "b", "cursor": -1, "ops": []}', "cursor"),
        (b'{"batch_id": "b", "cursor": "x", "ops": []}', "cursor"),
        (b'{"batch_id": "b", "ops": [5]}', "ops[0]"),
        (b'{"batch_id": "b", "ops": [{"table": "customer"}]}', "ops[0].op_id"),
        (b"\xff\xfe\x00", "body"),
    ],
)
def test_malformed_push_bodies_are_400_naming_the_field(client, laptop, content, field):
    response = _post(client, laptop, content)
    assert response.status_code == 400, response.text
    body = response.json()
    assert body["error"] == protocol.ERROR_BAD_REQUEST
    assert body["detail"].startswith(field)


def test_too_many_ops_is_413(client, laptop):
    ops = [customer_insert() for _ in range(protocol.MAX_BATCH_OPS + 1)]
    response = laptop.push_raw(ops)
    assert response.status_code == 413
    assert response.json()["error"] == protocol.ERROR_TOO_LARGE
    assert response.json()["detail"].startswith("ops")


def test_oversized_body_is_413(client, laptop):
    huge = b'{"batch_id": "b", "ops": [], "pad": "' + b"x" * protocol.MAX_BODY_BYTES + b'"}'
    response = _post(client, laptop, huge)
    assert response.status_code == 413
    assert response.json()["error"] == protocol.ERROR_TOO_LARGE


def test_gzip_bomb_is_413_without_inflating_it(client, laptop):
    bomb = gzip.compress(b"[" + b" " * (protocol.MAX_BODY_BYTES * 4) + b"]", compresslevel=9)
    assert len(bomb) < protocol.MAX_BODY_BYTES // 100
    response = _post(client, laptop, bomb, **{"Content-Encoding": "gzip"})
    assert response.status_code == 413
    assert "decompressed" in response.json()["detail"]


def test_broken_gzip_and_unknown_encodings_are_4xx(client, laptop):
    broken = _post(client, laptop, b"not gzip at all", **{"Content-Encoding": "gzip"})
    assert broken.status_code == 400
    truncated = gzip.compress(b'{"batch_id": "b", "ops": []}')[:-12]
    cut = _post(client, laptop, truncated, **{"Content-Encoding": "gzip"})
    assert cut.status_code == 400
    other = _post(client, laptop, b"{}", **{"Content-Encoding": "br"})
    assert other.status_code == 415


def test_gzip_request_is_read_and_large_response_is_gzipped(client, laptop):
    insert = customer_insert(notes="压缩" * 200)
    body = {"batch_id": new_id(), "cursor": 0, "ops": [insert]}
    response = _post(
        client, laptop, gzip.compress(json.dumps(body).encode()), **{"Content-Encoding": "gzip"}
    )
    assert response.status_code == 200, response.text
    assert response.json()["results"][0]["status"] == protocol.RESULT_APPLIED
    pulled = client.get(
        "/v1/sync/pull", params={"since": 0}, headers={**laptop.headers, "Accept-Encoding": "gzip"}
    )
    assert pulled.headers.get("content-encoding") == "gzip"
    assert any(row["id"] == insert["row_id"] for row in pulled.json()["rows"])


def test_openapi_is_served_without_a_token(client):
    spec = client.get("/openapi.json")
    assert spec.status_code == 200
    paths = spec.json()["paths"]
    for path in ("/v1/enroll", "/v1/meta", "/v1/sync/push", "/v1/sync/pull", "/v1/sync/checksum"):
        assert path in paths
    assert "requestBody" in paths["/v1/sync/push"]["post"]
    assert client.get("/docs").status_code == 200


def test_unknown_path_and_wrong_method_keep_the_error_shape(client, laptop):
    missing = client.get("/v1/nothing", headers=laptop.headers)
    assert missing.status_code == 404 and missing.json()["error"] == protocol.ERROR_NOT_FOUND
    wrong = client.get("/v1/sync/push", headers=laptop.headers)
    assert wrong.status_code == 405 and "error" in wrong.json()


def test_values_no_laptop_could_store_are_rejected_by_field(laptop, client):
    raw = [
        ("notes", "bad\x00text"),
        ("notes", "\ud800 lone surrogate"),
        ("birthday", "\ud800"),
    ]
    ops = [customer_insert(**{field: value}) for field, value in raw]
    ops.append(
        {
            **customer_insert(),
            "table": "catalogue_option",
            "fields": {
                "trim_id": {"new": new_id()},
                "code": {"new": "X"},
                "name": {"new": "天窗"},
                "price": {"new": "1" + "0" * 30},
            },
        }
    )
    ops.append({**customer_insert(), "fields": {"\ud800": {"new": 1}}})
    body = json.dumps({"batch_id": new_id(), "cursor": 0, "ops": ops})  # ASCII-escaped
    response = _post(client, laptop, body.encode())
    assert response.status_code == 200, response.text
    results = response.json()["results"]
    assert [r["status"] for r in results] == [protocol.RESULT_REJECTED] * 5
    assert results[0]["reason"].startswith("customer.notes")
    assert results[1]["reason"].startswith("customer.notes")
    assert results[2]["reason"].startswith("customer.birthday")
    assert results[3]["reason"].startswith("catalogue_option.price")
    assert "unknown field" in results[4]["reason"]


def test_deeply_nested_or_huge_numbers_are_4xx(client, laptop):
    deep = b"[" * 100_000 + b"]" * 100_000
    assert _post(client, laptop, deep).status_code == 400
    huge = json.dumps({"batch_id": new_id(), "cursor": 10**30, "ops": []}).encode()
    response = _post(client, laptop, huge)
    assert response.status_code == 400 and response.json()["detail"].startswith("cursor")
    pulled = client.get("/v1/sync/pull", params={"since": 10**30}, headers=laptop.headers)
    assert pulled.status_code == 400 and "since" in pulled.json()["detail"]
    # None of this moved the dealer to a new epoch.
    assert client.get("/v1/meta", headers=laptop.headers).json()["epoch_base_seq"] == 0


def test_enrolment_name_must_be_real_text(client):
    body = json.dumps({"code": "ABCD-EFGH-JKMN", "device_name": "\ud800"}).encode()
    response = client.post("/v1/enroll", content=body)
    assert response.status_code == 400
    assert response.json()["detail"].startswith("device_name")
