"""Reading an HTTP response body with hard limits on its decoded size and on the time it takes."""

from __future__ import annotations

import time

import requests
import urllib3

MiB = 1024 * 1024
_CHUNK = 64 * 1024


class BodyError(Exception):
    """The body was refused or could not be read; the message says why in one line."""


def read_capped(resp: requests.Response, deadline: float, max_bytes: int) -> bytes:
    """The decoded body, refused as soon as it grows past ``max_bytes`` (a compression bomb
    is stopped while it streams) or ``time.monotonic()`` passes ``deadline``.

    ``read1`` returns whatever has arrived, so a server dripping bytes cannot keep a single
    read (and the per-read timeout) alive past the total deadline.
    """
    chunks: list[bytes] = []
    size = 0
    try:
        while True:
            if time.monotonic() > deadline:
                raise BodyError(f"gave up: {resp.url} sent its body too slowly (total time limit)")
            chunk = resp.raw.read1(_CHUNK, decode_content=True)
            if not chunk:
                break
            size += len(chunk)
            if size > max_bytes:
                raise BodyError(
                    f"response from {resp.url} is larger than {max_bytes // MiB} MiB once decoded;"
                    " refused (possible compression bomb)"
                )
            chunks.append(chunk)
    except requests.RequestException as exc:
        raise BodyError(f"failed reading {resp.url}: {exc}") from exc
    except (OSError, ValueError, urllib3.exceptions.HTTPError) as exc:
        # urllib3's own errors (a body labelled gzip that is not, a server stalling
        # mid-body, a connection cut) and socket timeouts
        raise BodyError(f"failed reading {resp.url}: {type(exc).__name__}: {exc}") from exc
    return b"".join(chunks)
