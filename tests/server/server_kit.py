"""Test helpers: a laptop talking to the server through the protocol, and op builders."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from typing import Any

from showroom.ids import new_id
from sync import protocol


def headers(token: str, schema: int = protocol.SCHEMA_VERSION) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}", protocol.SCHEMA_HEADER: str(schema)}


def op(
    table: str,
    row_id: str,
    kind: str,
    fields: dict[str, Any],
    *,
    base: dict[str, Any] | None = None,
    base_version: int = 0,
    op_id: str | None = None,
) -> dict[str, Any]:
    """An op as a laptop's outbox sends it; ``base`` gives the fields' values before the edit."""
    base = base or {}
    return {
        "op_id": op_id or new_id(),
        "table": table,
        "row_id": row_id,
        "op": kind,
        "fields": {name: {"new": value, "base": base.get(name)} for name, value in fields.items()},
        "base_version": base_version,
        "created_at": dt.datetime.now(dt.UTC).isoformat(),
        "actor_id": None,
    }


def customer_insert(row_id: str | None = None, **fields: Any) -> dict[str, Any]:
    values = {"name": "张伟", "kind": "person", "notes": None, "deleted": False, **fields}
    return op("customer", row_id or new_id(), protocol.OP_INSERT, values)


def notes_conflict(first, second, base: str = "base") -> str:
    """``first`` then ``second`` change one customer's notes from the same version: the server
    records a field conflict. Returns the customer's row id."""
    insert = customer_insert(notes=base)
    (created,) = first.push(insert)
    row_id, version = insert["row_id"], created["version"]
    for laptop, value in ((first, "A"), (second, "B")):
        laptop.push(
            op(
                "customer",
                row_id,
                "update",
                {"notes": value},
                base={"notes": base},
                base_version=version,
            )
        )
    return row_id


def booking(car: str, start_hour: int, end_hour: int, *, status: str = "booked") -> dict[str, Any]:
    day = dt.datetime(2025, 5, 1, tzinfo=dt.UTC)
    return {
        "customer_id": new_id(),
        "demo_car": car,
        "starts_at": (day + dt.timedelta(hours=start_hour)).isoformat(),
        "ends_at": (day + dt.timedelta(hours=end_hour)).isoformat(),
        "status": status,
        "deleted": False,
    }


@dataclass
class Laptop:
    """An enrolled device, talking to the app through a TestClient."""

    client: Any
    token: str
    device_id: str
    dealer_id: str
    cursor: int = 0
    epoch: str | None = None
    rows: dict[tuple[str, str], dict[str, Any]] = field(default_factory=dict)

    @classmethod
    def enrol(cls, client, code: str, name: str, device_id: str | None = None) -> Laptop:
        body = {"code": code, "device_name": name, "device_id": device_id or new_id()}
        response = client.post("/v1/enroll", json=body)
        assert response.status_code == 200, response.text
        answer = response.json()
        return cls(client, answer["token"], answer["device_id"], answer["dealer_id"])

    @property
    def headers(self) -> dict[str, str]:
        return headers(self.token)

    def push_raw(self, ops: list[dict[str, Any]], *, batch_id: str | None = None, **extra):
        body = {"batch_id": batch_id or new_id(), "epoch": self.epoch, "cursor": self.cursor}
        body["ops"] = ops
        body.update(extra)
        return self.client.post("/v1/sync/push", json=body, headers=self.headers)

    def push(self, *ops: dict[str, Any], batch_id: str | None = None) -> list[dict[str, Any]]:
        response = self.push_raw(list(ops), batch_id=batch_id)
        assert response.status_code == 200, response.text
        results = response.json()["results"]
        assert [r["op_id"] for r in results] == [o["op_id"] for o in ops]
        return results

    def pull_page(self, since: int | None = None, limit: int = protocol.DEFAULT_PULL_LIMIT):
        since = self.cursor if since is None else since
        response = self.client.get(
            "/v1/sync/pull", params={"since": since, "limit": limit}, headers=self.headers
        )
        assert response.status_code == 200, response.text
        return response.json()

    def pull(self, limit: int = protocol.DEFAULT_PULL_LIMIT) -> list[dict[str, Any]]:
        """Pull until quiet; returns the rows received and keeps the latest state of each."""
        received = []
        while True:
            page = self.pull_page(limit=limit)
            for row in page["rows"]:
                received.append(row)
                self.rows[(row["table"], row["id"])] = row
            self.cursor = page["next_since"]
            if not page["has_more"]:
                return received

    def row(self, table: str, row_id: str) -> dict[str, Any]:
        self.pull()
        return self.rows[(table, row_id)]

    def conflicts(self) -> list[dict[str, Any]]:
        self.pull()
        return [row["data"] for (table, _), row in self.rows.items() if table == "sync_conflict"]
