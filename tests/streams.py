"""Test streams shaped like the ones litmon reads from."""

import io


class Unseekable(io.RawIOBase):
    """A stream that only reads, a few bytes at a time, like a socket."""

    def __init__(self, data: bytes, chunk: int = 100) -> None:
        self._data = io.BytesIO(data)
        self._chunk = chunk

    def readable(self):
        return True

    def readinto(self, buffer):
        data = self._data.read(min(len(buffer), self._chunk))
        buffer[: len(data)] = data
        return len(data)
