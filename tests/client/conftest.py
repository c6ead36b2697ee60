"""The real sync server in process (SQLite), reached by requests through an ASGI adapter.

The adapter lets a test drop an answer after the server has handled the request (a lost
response), refuse connections, or answer with a chosen status, and counts every request.
"""

from __future__ import annotations

import shutil
import sqlite3
from collections.abc import Callable
from dataclasses import dataclass, field

import pytest
import requests
from requests.adapters import BaseAdapter
from requests.structures import CaseInsensitiveDict

from showroom.db.engine import open_database
from showroom.ids import new_id

SERVER_URL = "http://sync.test"


@dataclass
class Fault:
    """What the adapter does to the next matching request."""

    path: str  # a substring of the URL path
    kind: str  # "lost" (server handles it, the answer is dropped), "refuse", or "status"
    times: int = 1
    status: int = 503
    headers: dict[str, str] = field(default_factory=dict)


class ASGIAdapter(BaseAdapter):
    """A requests transport that hands requests to the app through Starlette's TestClient."""

    def __init__(self, app) -> None:
        super().__init__()
        from fastapi.testclient import TestClient

        self.client = TestClient(app, raise_server_exceptions=False)
        self.faults: list[Fault] = []
        self.log: list[tuple[str, str, int | None]] = []  # method, path, status (None: lost)
        self.requests: list[requests.PreparedRequest] = []

    def _fault(self, path: str) -> Fault | None:
        for fault in self.faults:
            if fault.path in path and fault.times > 0:
                fault.times -= 1
                return fault
        return None

    def send(self, request, stream=False, timeout=None, verify=True, cert=None, proxies=None):
        from urllib.parse import urlsplit

        parts = urlsplit(request.url)
        path = parts.path + (f"?{parts.query}" if parts.query else "")
        self.requests.append(request)
        fault = self._fault(parts.path)
        if fault is not None and fault.kind == "refuse":
            self.log.append((request.method, parts.path, None))
            raise requests.ConnectionError("connection refused (test)")
        if fault is not None and fault.kind == "status":
            self.log.append((request.method, parts.path, fault.status))
            return self._response(request, fault.status, fault.headers, b'{"error":"test"}')
        answer = self.client.request(
            request.method, path, headers=dict(request.headers), content=request.body
        )
        if fault is not None and fault.kind == "lost":
            self.log.append((request.method, parts.path, None))
            raise requests.ConnectionError("connection reset after the server answered (test)")
        self.log.append((request.method, parts.path, answer.status_code))
        headers = {k: v for k, v in answer.headers.items() if k.lower() != "content-encoding"}
        return self._response(request, answer.status_code, headers, answer.content)

    @staticmethod
    def _response(request, status: int, headers: dict, content: bytes) -> requests.Response:
        response = requests.Response()
        response.status_code = status
        response.headers = CaseInsensitiveDict(headers)
        response._content = content
        response._content_consumed = True  # iter_content then reads the content above
        response.url = request.url
        response.request = request
        response.reason = "test"
        response.encoding = "utf-8"
        return response

    def close(self) -> None:
        self.client.close()


@dataclass
class Server:
    engine: object
    app: object
    dealer_id: str
    adapter: ASGIAdapter

    def session(self) -> requests.Session:
        session = requests.Session()
        session.mount(SERVER_URL, self.adapter)
        return session

    def code(self) -> str:
        from sync.server import admin

        return admin.create_enrollment_code(self.engine, self.dealer_id)["code"]


@pytest.fixture
def server(request, tmp_path) -> Server:
    """The server; ``indirect`` parametrization passes Settings fields (e.g. max_bulk_rows=0
    for a server without the bulk upload path), and ``snapshots=True`` keeps snapshots in
    ``tmp_path / "snapshots"``."""
    from sync.server import admin
    from sync.server.app import create_app
    from sync.server.config import Settings
    from sync.server.db import make_engine, migrate

    url = f"sqlite:///{tmp_path / 'server.db'}"
    engine = make_engine(url)
    migrate(engine)
    dealer_id = admin.create_dealer(engine, "华通大众4S店")
    options = dict(getattr(request, "param", {}))
    if options.pop("snapshots", False):
        options["snapshot_dir"] = tmp_path / "snapshots"
    app = create_app(Settings(db_url=url, **options), engine)
    adapter = ASGIAdapter(app)
    yield Server(engine, app, dealer_id, adapter)
    adapter.close()
    engine.dispose()


@pytest.fixture
def new_laptop(tmp_path, migrated_template) -> Callable[[str], object]:
    """Make a fresh migrated laptop database by name; all are disposed after the test."""
    made = []

    def make(name: str):
        path = tmp_path / f"{name}.db"
        shutil.copy(migrated_template, path)
        # Each laptop has an id of its own (the template's would be shared by every copy).
        with sqlite3.connect(path) as conn:
            conn.execute("UPDATE local_state SET value = ? WHERE key = 'device_id'", (new_id(),))
        db = open_database(path)
        made.append(db)
        return db

    yield make
    for db in made:
        db.dispose()
