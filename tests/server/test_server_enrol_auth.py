"""Enrolment, tokens, tenancy and the schema check."""

from __future__ import annotations

import datetime as dt

from server_kit import Laptop, customer_insert, headers, op
from sqlalchemy import select, update

from showroom.ids import new_id
from sync import protocol
from sync.server import admin
from sync.server.models import device, enrollment_code


def _enrol(client, code, device_id=None, name="前台"):
    body = {"code": code, "device_name": name, "device_id": device_id or new_id()}
    return client.post("/v1/enroll", json=body)


def test_enrolment_gives_a_working_token_stored_only_hashed(client, engine, dealer_id):
    code = admin.create_enrollment_code(engine, dealer_id)["code"]
    device_id = new_id()
    response = _enrol(client, code, device_id)
    assert response.status_code == 200, response.text
    answer = response.json()
    assert answer["device_id"] == device_id
    assert answer["dealer_id"] == dealer_id
    assert answer["dealer_name"] == "一号店"
    meta = client.get("/v1/meta", headers=headers(answer["token"]))
    assert meta.status_code == 200
    assert meta.json()["device_id"] == device_id
    assert meta.json()["dealer_id"] == dealer_id
    with engine.connect() as conn:
        stored = conn.execute(select(device.c.token_hash)).scalar()
        codes = conn.execute(select(enrollment_code.c.code_hash)).scalars().all()
    assert stored != answer["token"] and len(stored) == 64
    assert code not in codes and code.replace("-", "") not in codes


def test_code_is_accepted_in_lower_case_without_dashes(client, engine, dealer_id):
    code = admin.create_enrollment_code(engine, dealer_id)["code"]
    assert _enrol(client, code.replace("-", "").lower()).status_code == 200


def test_enrolment_brings_the_dealer_row_to_the_laptop(laptop):
    row = laptop.row("dealer", laptop.dealer_id)
    assert row["data"] == {
        "name": "一号店",
        "code": None,
        "address": None,
        "phone": None,
        "deleted": False,
    }


def test_wrong_used_and_expired_codes_are_refused_alike(client, engine, dealer_id):
    wrong = _enrol(client, "ABCD-EFGH-JKMN")
    code = admin.create_enrollment_code(engine, dealer_id)["code"]
    assert _enrol(client, code).status_code == 200
    used = _enrol(client, code)
    expired_code = admin.create_enrollment_code(engine, dealer_id)["code"]
    with engine.begin() as conn:
        conn.execute(
            update(enrollment_code)
            .where(enrollment_code.c.used_at.is_(None))
            .values(expires_at=dt.datetime.now(dt.UTC) - dt.timedelta(minutes=1))
        )
    expired = _enrol(client, expired_code)
    for response in (wrong, used, expired):
        assert response.status_code == 401
        assert response.json()["error"] == protocol.ERROR_UNAUTHORIZED
    assert wrong.json()["detail"] == used.json()["detail"] == expired.json()["detail"]


def test_failed_attempts_are_rate_limited_per_address(client, engine, dealer_id):
    for _ in range(10):
        assert _enrol(client, "WRON-GCOD-EXXX").status_code == 401
    limited = _enrol(client, admin.create_enrollment_code(engine, dealer_id)["code"])
    assert limited.status_code == 429
    assert limited.json()["error"] == protocol.ERROR_RATE_LIMITED
    assert 0 < int(limited.headers["Retry-After"]) <= 15 * 60


def test_bad_enrolment_bodies_name_the_field(client):
    for body, field in [
        ({"device_name": "x"}, "code"),
        ({"code": "ABCD", "device_name": ""}, "device_name"),
        ({"code": "ABCD", "device_name": "x", "device_id": 5}, "device_id"),
        ([1, 2], "body"),
    ]:
        response = client.post("/v1/enroll", json=body)
        assert response.status_code == 400, body
        assert response.json()["detail"].startswith(field)


def test_revoked_or_unknown_token_gets_401(client, engine, laptop):
    assert client.get("/v1/meta", headers=laptop.headers).status_code == 200
    admin.revoke_device(engine, laptop.device_id)
    for token in (laptop.token, "not-a-token"):
        for method, path in [
            ("GET", "/v1/meta"),
            ("GET", "/v1/sync/pull"),
            ("GET", "/v1/sync/checksum"),
            ("POST", "/v1/sync/push"),
        ]:
            response = client.request(method, path, headers=headers(token), json={})
            assert response.status_code == 401, (path, response.text)
            assert response.json()["error"] == protocol.ERROR_UNAUTHORIZED
    assert client.get("/v1/meta").status_code == 401


def test_re_enrolling_a_revoked_laptop_issues_a_fresh_token(client, engine, dealer_id, laptop):
    admin.revoke_device(engine, laptop.device_id)
    code = admin.create_enrollment_code(engine, dealer_id)["code"]
    again = Laptop.enrol(client, code, "销售一", device_id=laptop.device_id)
    assert again.device_id == laptop.device_id and again.token != laptop.token
    assert client.get("/v1/meta", headers=again.headers).status_code == 200
    assert client.get("/v1/meta", headers=laptop.headers).status_code == 401


def test_device_id_of_another_dealer_is_refused(client, engine, laptop):
    other = admin.create_dealer(engine, "二号店")
    code = admin.create_enrollment_code(engine, other)["code"]
    response = _enrol(client, code, device_id=laptop.device_id)
    assert response.status_code == 409
    # The code was not used up.
    assert _enrol(client, code).status_code == 200


def test_a_device_of_another_dealer_can_neither_read_nor_change_rows(laptop, enrol, engine):
    insert = customer_insert(name="A店客户", notes="secret")
    (created,) = laptop.push(insert)
    other = enrol("外店", dealer=admin.create_dealer(engine, "二号店"))
    pulled = other.pull()
    assert all(row["id"] != insert["row_id"] for row in pulled)
    assert {row["table"] for row in pulled} == {"dealer"}
    edit = op(
        "customer",
        insert["row_id"],
        "update",
        {"notes": "hacked"},
        base={"notes": "secret"},
        base_version=created["version"],
    )
    (result,) = other.push(edit)
    assert result["status"] == protocol.RESULT_REJECTED
    assert result["reason"] == "row not found (deleted)"
    # Its insert with the same id makes a row of its own dealer, not a change to A's.
    other.push(customer_insert(insert["row_id"], name="B店客户"))
    assert laptop.row("customer", insert["row_id"])["data"]["notes"] == "secret"
    assert laptop.row("customer", insert["row_id"])["data"]["name"] == "A店客户"
    checksum = other.client.get("/v1/sync/checksum", headers=other.headers).json()
    assert checksum["tables"]["customer"]["count"] == 1


def test_old_client_schema_gets_426_and_missing_header_400(client, laptop):
    old = client.get("/v1/meta", headers=headers(laptop.token, protocol.SCHEMA_VERSION - 1))
    assert old.status_code == 426
    assert old.json()["error"] == protocol.ERROR_UPGRADE_REQUIRED
    missing = client.get("/v1/meta", headers={"Authorization": f"Bearer {laptop.token}"})
    assert missing.status_code == 400
    assert protocol.SCHEMA_HEADER in missing.json()["detail"]


def test_min_schema_is_configurable(engine, dealer_id, server_db_url):
    from fastapi.testclient import TestClient

    from sync.server.app import create_app
    from sync.server.config import Settings

    strict = Settings(db_url=server_db_url, min_schema=protocol.SCHEMA_VERSION + 1)
    with TestClient(create_app(strict, engine)) as client:
        code = admin.create_enrollment_code(engine, dealer_id)["code"]
        token = _enrol(client, code).json()["token"]
        response = client.get("/v1/meta", headers=headers(token))
        assert response.status_code == 426
        assert response.json()["min_schema"] == protocol.SCHEMA_VERSION + 1
