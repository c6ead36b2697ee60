"""A TCP proxy between the laptops and the server that loses, cuts and holds HTTP traffic.

It reads each request and response as HTTP/1.1 messages (Content-Length or chunked), so a
fault can aim at one exchange: "cut the response to the next push" means the server has read
the whole request, committed and answered, and the laptop never hears the answer.
"""

from __future__ import annotations

import contextlib
import gzip
import json
import random
import socket
import threading
import time
from dataclasses import dataclass, field
from typing import Any

PASS = "pass"
OFFLINE = "offline"  # a new connection is closed at once, before anything is read
CUT_REQUEST = "cut_request"  # half of the request body reaches the server, then both sides close
CUT_RESPONSE = "cut_response"  # the whole request reaches the server; its answer is dropped
DELAY = "delay"  # the answer is held back for a while, then delivered
FAULTS = (OFFLINE, CUT_REQUEST, CUT_RESPONSE, DELAY)


class _Closed(Exception):
    """The peer closed the connection."""


def _read_message(sock: socket.socket, buffer: bytearray) -> tuple[bytes, bytes] | None:
    """One HTTP message from ``sock`` as (head, body), reading more into ``buffer`` as needed.

    None when the peer closed cleanly between messages.
    """

    def fill() -> None:
        chunk = sock.recv(65536)
        if not chunk:
            raise _Closed
        buffer.extend(chunk)

    while b"\r\n\r\n" not in buffer:
        try:
            fill()
        except _Closed:
            if not buffer:
                return None
            raise
    end = buffer.index(b"\r\n\r\n") + 4
    head = bytes(buffer[:end])
    del buffer[:end]
    headers = {}
    for line in head.split(b"\r\n")[1:]:
        if b":" in line:
            name, _, value = line.partition(b":")
            headers[name.strip().lower()] = value.strip()
    first = head.split(b"\r\n", 1)[0]
    no_body = first.split(b" ")[1:2] in ([b"204"], [b"304"]) or first.startswith(b"HTTP/1.1 1")
    if headers.get(b"transfer-encoding", b"").lower() == b"chunked":
        body = bytearray()
        while True:
            while b"\r\n" not in buffer:
                fill()
            line_end = buffer.index(b"\r\n")
            size = int(bytes(buffer[:line_end]).split(b";")[0], 16)
            need = line_end + 2 + size + 2
            while len(buffer) < need:
                fill()
            body.extend(buffer[:need])
            del buffer[:need]
            if size == 0:
                break
        return head, bytes(body)
    length = 0 if no_body else int(headers.get(b"content-length", b"0"))
    while len(buffer) < length:
        fill()
    body = bytes(buffer[:length])
    del buffer[:length]
    return head, body


def _request_line(head: bytes) -> tuple[str, str]:
    parts = head.split(b"\r\n", 1)[0].decode("latin-1").split(" ")
    return parts[0], parts[1] if len(parts) > 1 else ""


def _decoded(head: bytes, body: bytes) -> bytes:
    """The body with any gzip content encoding undone."""
    if b"content-encoding: gzip" in head.lower():
        try:
            return gzip.decompress(body)
        except (OSError, EOFError):
            return body
    return body


@dataclass
class Exchange:
    """One request as it passed the proxy, with the answer the server gave (if any)."""

    method: str
    target: str  # path and query
    fault: str
    request: bytes  # body, gzip undone
    response: bytes | None = None  # body, gzip undone; None when the server never answered
    status: int | None = None

    @property
    def path(self) -> str:
        return self.target.split("?")[0]

    def request_json(self) -> Any:
        return json.loads(self.request)

    def response_json(self) -> Any:
        return json.loads(self.response) if self.response is not None else None


@dataclass
class Hold:
    """Keeps the answer to matching requests back until :meth:`release`."""

    path: str
    arrived: threading.Event = field(default_factory=threading.Event)
    released: threading.Event = field(default_factory=threading.Event)

    def release(self) -> None:
        self.released.set()


@dataclass
class _Rule:
    fault: str
    path: str | None  # None: any request
    times: int | None  # None: until cleared
    seconds: float = 0.0


class FaultProxy:
    """Forwards 127.0.0.1:``port`` to the server, with faults switched on and off at run time.

    ``set_offline``; ``add_fault(fault, path=None, times=1)`` for the next ``times`` matching
    requests; ``drop_every(n)`` closes every n-th new connection; ``randomize(rng, rate)``
    picks a fault for a share of the requests; ``hold(path)`` holds the answer to the next
    matching request until released. ``log`` lists (method, path, what happened).
    """

    def __init__(self, upstream_port: int, port: int = 0) -> None:
        self.upstream_port = upstream_port
        self._lock = threading.Lock()
        self._rules: list[_Rule] = []
        self._holds: list[Hold] = []
        self._offline = False
        self._drop_every = 0
        self._connections = 0
        self._rng: random.Random | None = None
        self._rate = 0.0
        self.log: list[tuple[str, str, str]] = []
        self.exchanges: list[Exchange] = []
        self._caps: dict[str, dict[str, int]] = {}
        self._listener = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        self._listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self._listener.bind(("127.0.0.1", port))
        self._listener.listen(64)
        self.port = self._listener.getsockname()[1]
        self._open: set[socket.socket] = set()
        self._stopped = False
        self._thread = threading.Thread(target=self._accept_loop, daemon=True)
        self._thread.start()

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    # --- switches ------------------------------------------------------------------------------

    def set_offline(self, offline: bool = True) -> None:
        """Offline: new connections are closed at once and open ones are cut."""
        with self._lock:
            self._offline = offline
            if offline:
                for sock in list(self._open):
                    _hard_close(sock)

    def add_fault(
        self, fault: str, path: str | None = None, *, times: int | None = 1, seconds: float = 0.0
    ) -> None:
        assert fault in FAULTS, fault
        with self._lock:
            self._rules.append(_Rule(fault, path, times, seconds))

    def drop_every(self, n: int) -> None:
        with self._lock:
            self._drop_every = n

    def randomize(self, rng: random.Random | None, rate: float = 0.2) -> None:
        with self._lock:
            self._rng = rng
            self._rate = rate

    def cap(self, path: str, param: str, most: int) -> None:
        """Lower the query parameter ``param`` of requests to ``path`` to at most ``most``.

        For pulls this is a server with a smaller page size: the protocol's ``limit`` is an
        upper bound, so several pages come out of a few thousand rows.
        """
        with self._lock:
            self._caps.setdefault(path, {})[param] = most

    def hold(self, path: str) -> Hold:
        hold = Hold(path)
        with self._lock:
            self._holds.append(hold)
        return hold

    def heal(self) -> None:
        """Back to plain forwarding; held answers are let go."""
        with self._lock:
            self._rules.clear()
            self._offline = False
            self._drop_every = 0
            self._rng = None
            for hold in self._holds:
                hold.release()
            self._holds.clear()

    def sent(self, path: str) -> list[Exchange]:
        """The requests to ``path`` that reached the server, in order."""
        return [e for e in list(self.exchanges) if e.path == path]

    def count(self, what: str, path: str | None = None) -> int:
        return sum(1 for _m, p, w in list(self.log) if w == what and (path is None or p == path))

    def close(self) -> None:
        self._stopped = True
        self.heal()
        with contextlib.suppress(OSError):
            self._listener.close()
        with self._lock:
            for sock in list(self._open):
                _hard_close(sock)

    # --- forwarding ----------------------------------------------------------------------------

    def _accept_loop(self) -> None:
        while not self._stopped:
            try:
                client, _addr = self._listener.accept()
            except OSError:
                return
            with self._lock:
                self._connections += 1
                drop = self._offline or (
                    self._drop_every and self._connections % self._drop_every == 0
                )
            if drop:
                self.log.append(("", "", OFFLINE))
                _hard_close(client)
                continue
            threading.Thread(target=self._serve, args=(client,), daemon=True).start()

    def _choose(self, method: str, path: str) -> tuple[str, float, Hold | None]:
        with self._lock:
            if self._offline:
                return OFFLINE, 0.0, None
            hold = next((h for h in self._holds if h.path == path), None)
            if hold is not None:
                self._holds.remove(hold)
                return PASS, 0.0, hold
            for rule in self._rules:
                if rule.path is None or rule.path == path:
                    if rule.times is not None:
                        rule.times -= 1
                        if rule.times <= 0:
                            self._rules.remove(rule)
                    return rule.fault, rule.seconds, None
            if self._rng is not None and self._rng.random() < self._rate:
                return self._rng.choice(FAULTS), self._rng.uniform(0.05, 0.4), None
        return PASS, 0.0, None

    def _capped(self, head: bytes, target: str) -> tuple[bytes, str]:
        """The request with any capped query parameter lowered to its cap."""
        path, _, query = target.partition("?")
        caps = self._caps.get(path)
        if not caps or not query:
            return head, target
        params = []
        for pair in query.split("&"):
            name, _, value = pair.partition("=")
            if name in caps and value.isdigit() and int(value) > caps[name]:
                value = str(caps[name])
            params.append(f"{name}={value}")
        new_target = f"{path}?{'&'.join(params)}"
        first, rest = head.split(b"\r\n", 1)
        method, _old, version = first.split(b" ", 2)
        return b" ".join((method, new_target.encode(), version)) + b"\r\n" + rest, new_target

    def _serve(self, client: socket.socket) -> None:
        upstream: socket.socket | None = None
        with self._lock:
            self._open.add(client)
        from_client = bytearray()
        from_server = bytearray()
        try:
            while True:
                message = _read_message(client, from_client)
                if message is None:
                    return
                head, body = message
                method, target = _request_line(head)
                path = target.split("?")[0]
                head, target = self._capped(head, target)
                fault, seconds, hold = self._choose(method, path)
                self.log.append((method, path, fault))
                if fault == OFFLINE:
                    return
                if upstream is None:
                    upstream = socket.create_connection(("127.0.0.1", self.upstream_port))
                    with self._lock:
                        self._open.add(upstream)
                if fault == CUT_REQUEST:
                    upstream.sendall(head + body[: len(body) // 2])
                    return
                upstream.sendall(head + body)
                exchange = Exchange(method, target, fault, _decoded(head, body))
                self.exchanges.append(exchange)
                answer = _read_message(upstream, from_server)
                if answer is None:
                    return
                exchange.status = int(answer[0].split(b" ")[1])
                exchange.response = _decoded(*answer)
                if fault == CUT_RESPONSE:
                    return
                if hold is not None:
                    hold.arrived.set()
                    hold.released.wait(60)
                if fault == DELAY:
                    time.sleep(seconds)
                client.sendall(answer[0] + answer[1])
        except (OSError, _Closed, ValueError):
            return
        finally:
            for sock in (client, upstream):
                if sock is not None:
                    _hard_close(sock)
                    with self._lock:
                        self._open.discard(sock)


def _hard_close(sock: socket.socket) -> None:
    """Close with a reset, as a dropped network link looks to the other side."""
    with contextlib.suppress(OSError):
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, b"\x01\x00\x00\x00\x00\x00\x00\x00")
    with contextlib.suppress(OSError):
        sock.close()
