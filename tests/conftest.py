from datetime import date

import pytest

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
    return EntrezClient(settings, limiter=RateLimiter(settings.requests_per_second), backoff=0.05)


@pytest.fixture
def client(eutils):
    return make_client(eutils)
