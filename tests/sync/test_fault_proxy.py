"""The fault proxy itself does what the cases rely on, against a small counting HTTP server."""

from __future__ import annotations

import contextlib
import http.server
import random
import threading
from typing import ClassVar

import pytest
import requests
from fault_proxy import CUT_REQUEST, CUT_RESPONSE, DELAY, FaultProxy


class _Counter(http.server.BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    received: ClassVar[list[bytes]] = []

    def do_POST(self):
        length = int(self.headers["Content-Length"])
        body = self.rfile.read(length)
        type(self).received.append(body)
        self._answer(b'{"n": %d}' % len(type(self).received))

    def do_GET(self):
        self._answer(b"{}")

    def _answer(self, body: bytes) -> None:
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args):
        pass


class _QuietServer(http.server.ThreadingHTTPServer):
    def handle_error(self, request, client_address):
        pass  # the proxy resets connections on purpose


@pytest.fixture
def upstream():
    _Counter.received = []
    server = _QuietServer(("127.0.0.1", 0), _Counter)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield server
    server.shutdown()
    server.server_close()


@pytest.fixture
def proxy(upstream):
    found = FaultProxy(upstream.server_address[1])
    yield found
    found.close()


def test_pass_through_keeps_the_connection(proxy):
    with requests.Session() as http:
        for i in range(3):
            assert http.post(proxy.url + "/push", data=b"x" * 1000, timeout=5).json() == {
                "n": i + 1
            }
    assert len(_Counter.received) == 3


def test_cut_response_delivers_the_request_but_not_the_answer(proxy):
    proxy.add_fault(CUT_RESPONSE, "/push")
    with pytest.raises(requests.ConnectionError):
        requests.post(proxy.url + "/push", data=b"payload", timeout=5)
    assert _Counter.received == [b"payload"]
    # The fault was for one request only.
    assert requests.post(proxy.url + "/push", data=b"again", timeout=5).json() == {"n": 2}
    # The proxy saw both answers, including the one the client never got.
    first, second = proxy.sent("/push")
    assert (first.request, first.response_json(), first.fault) == (
        b"payload",
        {"n": 1},
        "cut_response",
    )
    assert (second.request, second.response_json(), second.status) == (b"again", {"n": 2}, 200)


def test_cut_request_never_reaches_the_handler(proxy):
    proxy.add_fault(CUT_REQUEST, "/push")
    with pytest.raises(requests.ConnectionError):
        requests.post(proxy.url + "/push", data=b"y" * 10000, timeout=5)
    assert _Counter.received == []


def test_offline_then_heal(proxy):
    proxy.set_offline()
    with pytest.raises(requests.ConnectionError):
        requests.get(proxy.url + "/meta", timeout=5)
    proxy.heal()
    assert requests.get(proxy.url + "/meta", timeout=5).json() == {}


def test_faults_aim_at_one_path(proxy):
    proxy.add_fault(CUT_RESPONSE, "/push")
    assert requests.get(proxy.url + "/meta", timeout=5).json() == {}
    with pytest.raises(requests.ConnectionError):
        requests.post(proxy.url + "/push", data=b"1", timeout=5)


def test_drop_every_nth_connection(proxy):
    proxy.drop_every(2)
    outcomes = []
    for _ in range(4):
        try:
            requests.get(proxy.url + "/meta", timeout=5)
            outcomes.append("ok")
        except requests.ConnectionError:
            outcomes.append("dropped")
    assert outcomes == ["ok", "dropped", "ok", "dropped"]


def test_hold_keeps_the_answer_until_released(proxy):
    hold = proxy.hold("/push")
    answers = []
    thread = threading.Thread(
        target=lambda: answers.append(
            requests.post(proxy.url + "/push", data=b"z", timeout=10).json()
        )
    )
    thread.start()
    assert hold.arrived.wait(5)
    assert _Counter.received == [b"z"]  # the server has it, the client does not yet
    assert answers == []
    hold.release()
    thread.join(5)
    assert answers == [{"n": 1}]


def test_random_faults_follow_the_seed(proxy):
    def run(seed):
        proxy.heal()
        proxy.log.clear()
        proxy.randomize(random.Random(seed), rate=0.5)
        for _ in range(20):
            with contextlib.suppress(requests.ConnectionError):
                requests.post(proxy.url + "/push", data=b"r", timeout=5)
        return [what for _m, _p, what in proxy.log]

    first = run(7)
    assert run(7) == first
    assert {CUT_REQUEST, CUT_RESPONSE, DELAY} & set(first)


def test_cap_lowers_a_query_parameter(proxy):
    proxy.cap("/pull", "limit", 500)
    requests.get(proxy.url + "/pull?since=7&limit=5000", timeout=5)
    requests.get(proxy.url + "/pull?since=7&limit=20", timeout=5)
    assert [e.target for e in proxy.sent("/pull")] == [
        "/pull?since=7&limit=500",
        "/pull?since=7&limit=20",
    ]
