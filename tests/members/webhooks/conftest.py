"""A real HTTP receiver on 127.0.0.1 for the webhook tests: it records every request and
answers as the test scripts it (a status, after a delay)."""

from __future__ import annotations

import threading
import time
from collections import deque
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest


@dataclass
class Received:
    headers: dict[str, str]
    body: bytes


@dataclass
class Receiver:
    url: str
    requests: list[Received] = field(default_factory=list)
    # (status, seconds to wait before answering) for the next requests; then 200 at once.
    script: deque = field(default_factory=deque)
    arrived: threading.Event = field(default_factory=threading.Event)

    def answer(self, *answers: tuple[int, float]) -> None:
        self.script.extend(answers)


def _handler(receiver: Receiver):
    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:  # noqa: N802 (http.server's name)
            body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
            receiver.requests.append(Received(dict(self.headers.items()), body))
            receiver.arrived.set()
            status, delay = receiver.script.popleft() if receiver.script else (200, 0.0)
            time.sleep(delay)
            try:
                self.send_response(status)
                self.send_header("Content-Length", "2")
                self.end_headers()
                self.wfile.write(b"ok")
            except (BrokenPipeError, ConnectionResetError):
                pass  # the sender gave up waiting

        def log_message(self, *args) -> None:
            pass

    return Handler


@pytest.fixture
def receiver(settings):
    """A receiver on 127.0.0.1 (so loopback is allowed for the test)."""
    settings.LOYALTY_WEBHOOKS_ALLOW_LOOPBACK = True
    receiver = Receiver(url="")
    server = ThreadingHTTPServer(("127.0.0.1", 0), _handler(receiver))
    server.daemon_threads = True
    receiver.url = f"http://127.0.0.1:{server.server_address[1]}/hooks"
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield receiver
    server.shutdown()
    server.server_close()
