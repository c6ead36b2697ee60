"""The server's API fuzzed from its own OpenAPI schema (schemathesis), on SQLite.

Requests carry a real enrolled device token, so generated bodies and parameters reach the
handlers. Whatever is sent, no answer is a 500, and every answer is one the schema documents,
in its documented shape. The budget is bounded and the generation deterministic.
"""

from __future__ import annotations

import pytest
import schemathesis
from hypothesis import HealthCheck, Phase, given, settings
from schemathesis.checks import not_a_server_error
from schemathesis.generation import GenerationMode
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    response_schema_conformance,
    status_code_conformance,
)
from server_kit import Laptop, customer_insert, headers

from sync.server import admin
from sync.server.app import create_app
from sync.server.config import Settings
from sync.server.db import make_engine, migrate

# Examples per generation mode, spread over all operations: seconds, not minutes.
EXAMPLES = 150
CHECKS = [
    not_a_server_error,
    status_code_conformance,
    content_type_conformance,
    response_schema_conformance,
]


@pytest.fixture
def fuzz_target(tmp_path):
    engine = make_engine(f"sqlite:///{tmp_path / 'server.db'}")
    migrate(engine)
    app = create_app(Settings(db_url=str(engine.url)), engine)
    dealer = admin.create_dealer(engine, "一号店")
    from fastapi.testclient import TestClient

    with TestClient(app) as client:
        code = admin.create_enrollment_code(engine, dealer)["code"]
        laptop = Laptop.enrol(client, code, "前台")
        # Some rows to pull, check and edit.
        laptop.push(*(customer_insert(notes=str(n)) for n in range(5)))
        yield app, laptop
    engine.dispose()


@pytest.mark.parametrize("mode", [GenerationMode.POSITIVE, GenerationMode.NEGATIVE])
def test_no_request_breaks_the_server_or_its_schema(fuzz_target, mode):
    app, laptop = fuzz_target
    api = schemathesis.openapi.from_asgi("/openapi.json", app)
    operations = [result.ok() for result in api.get_all_operations()]
    assert {op.path for op in operations} >= {"/v1/sync/push", "/v1/sync/pull", "/v1/enroll"}
    device = headers(laptop.token)
    seen: dict[str, int] = {}

    @given(case=api.as_strategy(generation_mode=mode))
    @settings(
        max_examples=EXAMPLES,
        derandomize=True,
        deadline=None,
        suppress_health_check=list(HealthCheck),
        database=None,
        phases=[Phase.explicit, Phase.generate],
    )
    def run(case):
        if case.path != "/v1/enroll":
            # A real device's token, so bodies and parameters reach the handlers.
            case.headers = {**(case.headers or {}), **device}
        response = case.call_and_validate(checks=CHECKS)
        seen[case.path] = seen.get(case.path, 0) + 1
        assert response.status_code < 500

    run()
    # The budget reached every operation (in negative mode: every one with something to
    # break besides the headers set here), the authenticated ones included.
    expected = {op.path for op in operations}
    if mode == GenerationMode.NEGATIVE:
        expected = {"/v1/enroll", "/v1/sync/push", "/v1/sync/pull"}
    assert set(seen) >= expected, seen
