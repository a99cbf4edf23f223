import threading
import time
from datetime import date

import pytest
import requests

from litmon.core.ratelimit import RateLimiter
from litmon.crawler.entrez import EntrezClient
from litmon.crawler.settings import NcbiSettings, Topic
from litmon.db.schema import open_db
from litmon.replay.server import EutilsServer

TODAY = date(2026, 11, 25)
TOPIC = Topic(name="ms_imaging", query='"multiple sclerosis"[tiab] AND QSM[tiab]')


@pytest.fixture
def eutils():
    with EutilsServer() as server:
        yield server


@pytest.fixture
def db(tmp_path):
    return open_db(tmp_path / "litmon.db")


def make_client(server: EutilsServer, **overrides) -> EntrezClient:
    """A client for the fake server: an API key (10 requests/s) unless a test says otherwise,
    short timeouts and backoff so fault tests stay quick, and a limiter of its own."""
    values = dict(
        eutils_url=server.url,
        email="tests@example.org",
        api_key="test-key",
        timeout=1.0,
        max_retries=3,
        batch_size=50,
    )
    values.update(overrides)
    settings = NcbiSettings(**values)
    limiter = RateLimiter(settings.requests_per_second)
    return EntrezClient(settings, session=ClientLog(), limiter=limiter, backoff=0.05)


def sent_times(client: EntrezClient, endpoint: str = "") -> list[float]:
    """When the client sent each request (to ``endpoint`` only, when given)."""
    return [at for at, url in client.session.sent if endpoint in url]


class ClientLog(requests.Session):
    """A session that notes, at the client, when each request left and how many of its
    requests (across every ClientLog sharing ``shared``) were open at once. A test of a rate
    or a limit asserts what the client did: the far end's arrival times carry transit delays
    and its idea of "active" lags the client's."""

    def __init__(self, shared: dict | None = None) -> None:
        super().__init__()
        self.sent: list[tuple[float, str]] = []  # (monotonic time, URL) of each request
        self.shared = shared if shared is not None else {"open": 0, "most_open": 0}
        self._lock = self.shared.setdefault("lock", threading.Lock())

    def request(self, method, url, *args, **kwargs):
        with self._lock:
            self.sent.append((time.monotonic(), url))
            self.shared["open"] += 1
            self.shared["most_open"] = max(self.shared["most_open"], self.shared["open"])
        try:
            response = super().request(method, url, *args, **kwargs)
        except BaseException:
            self._closed()
            raise
        close = response.close

        def closed() -> None:
            if not getattr(response, "_counted_closed", False):
                response._counted_closed = True
                self._closed()
            close()

        response.close = closed
        return response

    def _closed(self) -> None:
        with self._lock:
            self.shared["open"] -= 1


@pytest.fixture
def client(eutils):
    return make_client(eutils)
