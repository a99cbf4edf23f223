"""What every request to `litmon serve` passes before anything else, over real HTTP: a body
over the size limit is refused before it is parsed or its token looked up; X-Forwarded-*
are believed from the configured proxies only; a wrong Host gets nothing; and a stranger's
wrong passwords lock an account from the stranger's address, not its owner's."""

import socket
from concurrent.futures import ThreadPoolExecutor
from urllib.parse import urlsplit

import pytest
import requests
from test_web import PASSWORD, sign_in
from web_server import serving

from litmon.db.schema import open_db
from litmon.settings import load_config
from litmon.web import auth
from litmon.web.app import create_app
from litmon.web.security import MAX_BODY


@pytest.fixture
def database(tmp_path):
    path = tmp_path / "gates.db"
    db = open_db(path)
    auth.add_user(db, "maria", PASSWORD)
    return path


def _raw(url: str, request: bytes) -> bytes:
    """Send ``request`` as it is on a socket and read the whole answer."""
    parts = urlsplit(url)
    with socket.create_connection((parts.hostname, parts.port), timeout=10) as conn:
        conn.sendall(request)
        answer = b""
        while chunk := conn.recv(65536):
            answer += chunk
    return answer


def test_a_declared_50_mb_body_is_refused_before_it_is_read_or_its_sender_checked(database):
    with serving(create_app(database)) as url:
        port = urlsplit(url).port
        # the headers only: the answer comes without the server waiting for 50 MB
        answer = _raw(
            url,
            b"POST /api/claim HTTP/1.1\r\nHost: 127.0.0.1:%d\r\nContent-Type: application/json"
            b"\r\nContent-Length: 52428800\r\nConnection: close\r\n\r\n" % port,
        )
    assert answer.startswith(b"HTTP/1.1 413"), answer[:200]  # not 401: no token was looked at


def test_a_streamed_body_is_cut_off_at_the_limit(database):
    def chunks():
        yield b'{"worker": "'
        for _ in range(MAX_BODY // 65536 + 2):
            yield b"w" * 65536
        yield b'"}'

    with serving(create_app(database)) as url:
        # chunked: no Content-Length to judge by, so the size is counted as it arrives
        api = requests.post(
            f"{url}/api/claim", data=chunks(), headers={"Content-Type": "application/json"}
        )
        fields = (b"&note=" + b"w" * 65536 for _ in range(MAX_BODY // 65536 + 2))
        form = requests.post(
            f"{url}/login",
            data=fields,
            headers={"Content-Type": "application/x-www-form-urlencoded"},
        )
        small = requests.post(f"{url}/api/claim", json={"worker": "w"})
    assert api.status_code == 413 and api.json()["detail"] == "Content Too Large"
    assert form.status_code == 413
    assert small.status_code == 401  # under the limit the token check answers as before


def _fail_sign_in(url: str, address: str, name: str = "maria") -> int:
    return requests.post(
        f"{url}/login",
        data={"name": name, "password": "wrong password"},
        headers={"X-Forwarded-For": address},
    ).status_code


def test_forwarded_addresses_from_an_untrusted_client_change_nothing(database):
    with serving(create_app(database)) as url:
        # a client rotating X-Forwarded-For is still one client: its 21st failure is refused
        codes = [_fail_sign_in(url, f"203.0.113.{n}", f"guess{n}") for n in range(21)]
        proto = requests.post(
            f"{url}/login",
            data={"name": "maria", "password": PASSWORD},
            headers={"X-Forwarded-Proto": "https"},
            allow_redirects=False,
        )
    assert codes[:20] == [401] * 20 and codes[20] == 429
    assert proto.status_code == 429  # the same client, over its limit


def test_a_trusted_proxy_names_the_client_and_the_scheme(database):
    app = create_app(database, trusted_proxies=["127.0.0.1"])
    with serving(app) as url:
        answer = requests.post(
            f"{url}/login",
            data={"name": "maria", "password": PASSWORD},
            headers={"X-Forwarded-Proto": "https", "X-Forwarded-For": "198.51.100.7"},
            allow_redirects=False,
        )
        assert answer.status_code == 303
        assert "; secure" in answer.headers["set-cookie"].lower()  # the client used https
        codes = [_fail_sign_in(url, f"203.0.113.{n}", f"guess{n}") for n in range(21)]
    assert codes == [401] * 21  # 21 clients, one failure each


def test_a_stranger_locks_an_account_from_the_strangers_address_only(database):
    with serving(create_app(database, trusted_proxies=["127.0.0.1"])) as url:
        stranger = [_fail_sign_in(url, "203.0.113.9") for _ in range(auth.MAX_FAILURES + 1)]
        owner = requests.post(
            f"{url}/login",
            data={"name": "maria", "password": PASSWORD},
            headers={"X-Forwarded-For": "198.51.100.7"},
            allow_redirects=False,
        )
        stranger_right = requests.post(
            f"{url}/login",
            data={"name": "maria", "password": PASSWORD},
            headers={"X-Forwarded-For": "203.0.113.9"},
        )
    assert stranger == [401] * auth.MAX_FAILURES + [429]
    assert owner.status_code == 303  # the owner, elsewhere, signs in
    assert stranger_right.status_code == 429  # from the locked address even the password fails


def test_many_addresses_together_lock_the_account(database):
    addresses = [f"10.0.{n // 250}.{n % 250}" for n in range(auth.MAX_ACCOUNT_FAILURES)]
    with serving(create_app(database, trusted_proxies=["127.0.0.1"])) as url:
        with ThreadPoolExecutor(max_workers=4) as pool:
            codes = list(pool.map(lambda address: _fail_sign_in(url, address), addresses))
        owner = requests.post(
            f"{url}/login",
            data={"name": "maria", "password": PASSWORD},
            headers={"X-Forwarded-For": "198.51.100.7"},
        )
    assert codes == [401] * auth.MAX_ACCOUNT_FAILURES
    assert owner.status_code == 429


def test_a_request_for_another_host_name_is_refused(database):
    with serving(create_app(database)) as url:
        port = urlsplit(url).port
        evil = requests.get(f"{url}/login", headers={"Host": f"evil.example:{port}"})
        loopback = [
            requests.get(f"{url}/login", headers={"Host": f"{name}:{port}"}).status_code
            for name in ("localhost", "127.0.0.1", "[::1]")
        ]
        api = requests.get(f"{url}/health", headers={"Host": "rebound.example"})
    assert evil.status_code == 400 and "Host" in evil.text
    assert loopback == [200, 200, 200]
    assert api.status_code == 400
    with serving(create_app(database, allowed_hosts=["litmon.example.org"])) as url:
        named = requests.get(f"{url}/login", headers={"Host": "litmon.example.org"})
        by_address = requests.get(f"{url}/login")
    assert named.status_code == 200 and by_address.status_code == 400


def test_the_web_settings_read_hosts_and_proxies(tmp_path):
    config = tmp_path / "litmon.toml"
    config.write_text(
        '[web]\nallowed_hosts = ["litmon.example.org"]\ntrusted_proxies = ["10.0.0.2"]\n'
    )
    web = load_config(config, env={}).web
    assert web.allowed_hosts == ("litmon.example.org",) and web.trusted_proxies == ("10.0.0.2",)
    assert load_config(env={}).web.trusted_proxies == ()  # no proxy believed by default
    config.write_text('[web]\ntrusted_proxies = "10.0.0.2"\n')
    with pytest.raises(Exception, match="web.trusted_proxies"):
        load_config(config, env={})


def test_signing_in_still_works_with_the_defaults(database):
    with serving(create_app(database)) as url:
        assert sign_in(url).get(f"{url}/").status_code == 200
