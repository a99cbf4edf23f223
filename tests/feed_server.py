"""A fake journal-feed server on loopback for tests: recorded feeds plus HTTP faults.

Each path is given a responder; a responder sees the request and returns a :class:`Reply`.
Use it as a context manager (it runs ``ThreadingHTTPServer`` in a daemon thread)::

    with FeedServer() as server:
        server.route("/msj", serve_feed("sage_msj.xml", etag='"v1"'))
        url = server.url("/msj")
"""

from __future__ import annotations

import gzip
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

FIXTURES = Path(__file__).parent / "fixtures" / "feeds"
RSS = "application/rss+xml; charset=utf-8"


@dataclass
class Reply:
    status: int = 200
    body: bytes = b""
    headers: dict[str, str] = field(default_factory=dict)
    delay: float = 0.0  # seconds before the status line (a server that does not answer)
    drip: float = 0.0  # seconds between body bytes (a server that answers very slowly)


@dataclass(frozen=True)
class Seen:
    path: str
    headers: dict[str, str]


Responder = Callable[[Seen], Reply]


def fixture(name: str) -> bytes:
    return (FIXTURES / name).read_bytes()


def serve_feed(
    body: bytes | str,
    *,
    content_type: str = RSS,
    etag: str | None = None,
    last_modified: str | None = None,
    headers: dict[str, str] | None = None,
) -> Responder:
    """A feed document (fixture name or bytes) that answers conditional GETs with 304."""
    data = fixture(body) if isinstance(body, str) else body

    def respond(seen: Seen) -> Reply:
        validators = {"Content-Type": content_type, **(headers or {})}
        if etag:
            validators["ETag"] = etag
        if last_modified:
            validators["Last-Modified"] = last_modified
        if (etag and seen.headers.get("if-none-match") == etag) or (
            last_modified and not etag and seen.headers.get("if-modified-since") == last_modified
        ):
            return Reply(304, b"", {k: v for k, v in validators.items() if k != "Content-Type"})
        return Reply(200, data, validators)

    return respond


def status(code: int, body: bytes = b"", headers: dict[str, str] | None = None) -> Responder:
    return lambda seen: Reply(code, body, {"Content-Type": "text/plain", **(headers or {})})


def redirect(code: int, location: str) -> Responder:
    return lambda seen: Reply(code, b"", {"Location": location})


def hang(seconds: float) -> Responder:
    """No response for ``seconds`` (longer than the client's read timeout)."""
    return lambda seen: Reply(200, b"<rss/>", {"Content-Type": RSS}, delay=seconds)


def slow_drip(body: bytes, seconds_per_byte: float) -> Responder:
    """Sends a byte at a time, each within the read timeout, the whole far beyond the total."""
    return lambda seen: Reply(200, body, {"Content-Type": RSS}, drip=seconds_per_byte)


def gzip_bomb(decoded_mib: int) -> Responder:
    """A small gzip body that decodes to ``decoded_mib`` MiB of whitespace inside a feed."""
    payload = b"<rss version='2.0'><channel>" + b" " * (decoded_mib * 2**20) + b"</channel></rss>"
    body = gzip.compress(payload, compresslevel=9)
    return lambda seen: Reply(200, body, {"Content-Type": RSS, "Content-Encoding": "gzip"})


def broken_gzip() -> Responder:
    """A body labelled ``Content-Encoding: gzip`` that is not gzip (a misconfigured proxy)."""
    body = b"<rss version='2.0'><channel></channel></rss>"
    return lambda seen: Reply(200, body, {"Content-Type": RSS, "Content-Encoding": "gzip"})


class FeedServer:
    def __init__(self) -> None:
        self.routes: dict[str, Responder] = {}
        self.seen: list[Seen] = []
        self._lock = threading.Lock()
        self._active = 0
        self.max_concurrent = 0  # most requests in flight at once, for the one-per-host rule
        self._httpd = ThreadingHTTPServer(("127.0.0.1", 0), self._handler_class())
        self._httpd.daemon_threads = True
        self._thread = threading.Thread(
            target=self._httpd.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True
        )

    def url(self, path: str) -> str:
        return f"http://127.0.0.1:{self._httpd.server_address[1]}{path}"

    def route(self, path: str, responder: Responder) -> str:
        self.routes[path] = responder
        return self.url(path)

    def hits(self, path: str) -> list[Seen]:
        return [seen for seen in self.seen if seen.path == path]

    def __enter__(self) -> FeedServer:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._httpd.shutdown()
        self._httpd.server_close()

    def _handler_class(self) -> type[BaseHTTPRequestHandler]:
        server = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def do_GET(self) -> None:  # noqa: N802 (http.server's naming)
                seen = Seen(self.path, {k.lower(): v for k, v in self.headers.items()})
                with server._lock:
                    server.seen.append(seen)
                    server._active += 1
                    server.max_concurrent = max(server.max_concurrent, server._active)
                try:
                    responder = server.routes.get(self.path, status(404, b"no such feed"))
                    self._send(responder(seen))
                except (BrokenPipeError, ConnectionResetError):
                    pass  # the client gave up, as it should for slow or huge responses
                finally:
                    with server._lock:
                        server._active -= 1

            def _send(self, reply: Reply) -> None:
                time.sleep(reply.delay)
                self.send_response(reply.status)
                for name, value in reply.headers.items():
                    self.send_header(name, value)
                self.send_header("Content-Length", str(len(reply.body)))
                self.end_headers()
                if not reply.drip:
                    self.wfile.write(reply.body)
                    return
                for i in range(len(reply.body)):
                    time.sleep(reply.drip)
                    self.wfile.write(reply.body[i : i + 1])
                    self.wfile.flush()

            def log_message(self, format: str, *args: object) -> None:
                pass

        return Handler
