"""A fake OpenAI-compatible server on loopback (``/v1/chat/completions``, ``/v1/models``)
for the summarizer's tests and bench: real HTTP, answers from a script of replies (or a
responder for whatever the script does not cover), and a record of every request it got
(headers and JSON body), so tests read the prompts and the Authorization header the
worker sent. Faults come from the script: 429 with Retry-After, 5xx, slow answers (a
client timeout), malformed content, a 400 for ``response_format``."""

from __future__ import annotations

import json
import threading
import time
from collections import deque
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer


@dataclass
class Reply:
    """One scripted answer: a chat completion whose message is ``content``, or, with a
    ``status`` other than 200, an error body; after ``delay`` seconds."""

    content: str = ""
    status: int = 200
    delay: float = 0.0
    headers: dict[str, str] = field(default_factory=dict)

    @classmethod
    def draft(cls, delay: float = 0.0, **parts: str) -> Reply:
        return cls(json.dumps(parts), delay=delay)

    @classmethod
    def error(cls, status: int, retry_after: str | None = None) -> Reply:
        headers = {"Retry-After": retry_after} if retry_after is not None else {}
        return cls(status=status, headers=headers)


def _headers(message: object) -> dict[str, str]:
    return {name.lower(): value for name, value in message.items()}  # type: ignore[attr-defined]


@dataclass
class Received:
    path: str
    headers: dict[str, str]  # names in lower case
    body: dict

    @property
    def prompt(self) -> str:
        """Every message's text, in order."""
        return "\n".join(str(m.get("content", "")) for m in self.body.get("messages", []))


class FakeLLM:
    """``url`` is the base URL a client takes (``http://127.0.0.1:PORT/v1``)."""

    def __init__(
        self,
        *replies: Reply,
        responder: Callable[[dict], Reply] | None = None,
        json_mode: bool = True,
        model: str = "fake-model",
    ) -> None:
        self.script: deque[Reply] = deque(replies)
        self.responder = responder
        self.json_mode = json_mode  # False: a 400 for any request with response_format
        self.model = model
        self.received: list[Received] = []
        self._lock = threading.Lock()
        self._server = ThreadingHTTPServer(("127.0.0.1", 0), self._handler())
        self._server.daemon_threads = True
        self.url = f"http://127.0.0.1:{self._server.server_address[1]}/v1"

    @property
    def completions(self) -> list[Received]:
        return [r for r in self.received if r.path.endswith("/chat/completions")]

    def add(self, *replies: Reply) -> None:
        with self._lock:
            self.script.extend(replies)

    def _next(self, body: dict) -> Reply:
        with self._lock:
            if self.script:
                return self.script.popleft()
        if self.responder is not None:
            return self.responder(body)
        return Reply(status=500, content="the script is exhausted")

    @contextmanager
    def running(self) -> Iterator[FakeLLM]:
        thread = threading.Thread(target=self._server.serve_forever, daemon=True)
        thread.start()
        try:
            yield self
        finally:
            self._server.shutdown()
            self._server.server_close()

    def _handler(self) -> type[BaseHTTPRequestHandler]:
        fake = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"
            # headers and body leave in two writes: without this, Nagle's algorithm holds
            # the body back for the client's delayed ACK (~40 ms a call on loopback)
            disable_nagle_algorithm = True

            def log_message(self, format: str, *args: object) -> None:
                pass

            def _send(self, status: int, payload: dict, headers: dict | None = None) -> None:
                data = json.dumps(payload).encode()
                try:
                    self.send_response(status)
                    self.send_header("Content-Type", "application/json")
                    self.send_header("Content-Length", str(len(data)))
                    for name, value in (headers or {}).items():
                        self.send_header(name, value)
                    self.end_headers()
                    self.wfile.write(data)
                except (BrokenPipeError, ConnectionResetError):  # the client gave up
                    pass

            def do_GET(self) -> None:
                fake.received.append(Received(self.path, _headers(self.headers), {}))
                if self.path.rstrip("/") != "/v1/models":
                    return self._send(404, {"error": {"message": f"no route {self.path}"}})
                self._send(200, {"object": "list", "data": [
                    {"id": fake.model, "object": "model", "owned_by": "litmon-tests"}]})  # fmt: skip

            def do_POST(self) -> None:
                length = int(self.headers.get("Content-Length") or 0)
                try:
                    body = json.loads(self.rfile.read(length) or b"{}")
                except ValueError:
                    return self._send(400, {"error": {"message": "body is not JSON"}})
                fake.received.append(Received(self.path, _headers(self.headers), body))
                if self.path.rstrip("/") != "/v1/chat/completions":
                    return self._send(404, {"error": {"message": f"no route {self.path}"}})
                if not fake.json_mode and "response_format" in body:
                    return self._send(400, {"error": {
                        "message": "response_format is not supported by this server",
                        "type": "invalid_request_error"}})  # fmt: skip
                reply = fake._next(body)
                if reply.delay:
                    time.sleep(reply.delay)
                if reply.status != 200:
                    message = reply.content or f"scripted error {reply.status}"
                    return self._send(reply.status, {"error": {"message": message}},
                                      reply.headers)  # fmt: skip
                self._send(200, {
                    "id": f"chatcmpl-{len(fake.received)}",
                    "object": "chat.completion",
                    "created": int(time.time()),
                    "model": body.get("model", fake.model),
                    "choices": [{"index": 0, "finish_reason": "stop",
                                 "message": {"role": "assistant", "content": reply.content}}],
                    "usage": {"prompt_tokens": 1, "completion_tokens": 1, "total_tokens": 2},
                }, reply.headers)  # fmt: skip

        return Handler
