"""Checksum algorithms a transfer can use, by the names Globus records."""

from __future__ import annotations

import hashlib
import zlib
from collections.abc import Callable
from typing import Protocol

DEFAULT = "SHA256"


class Digest(Protocol):
    """What a checksum in progress offers: hashlib's `update` and `hexdigest`."""

    def update(self, data: bytes, /) -> None: ...

    def hexdigest(self) -> str: ...


class _Adler32:
    """hashlib-like wrapper so every algorithm is used the same way."""

    def __init__(self):
        self.value = 1

    def update(self, data) -> None:
        self.value = zlib.adler32(data, self.value)

    def hexdigest(self) -> str:
        return f"{self.value & 0xFFFFFFFF:08x}"


class _Crc32(_Adler32):
    def __init__(self):
        self.value = 0

    def update(self, data) -> None:
        self.value = zlib.crc32(data, self.value)


ALGORITHMS: dict[str, Callable[[], Digest]] = {
    "MD5": lambda: hashlib.md5(usedforsecurity=False),
    "SHA1": lambda: hashlib.sha1(usedforsecurity=False),
    "SHA256": hashlib.sha256,
    "SHA512": hashlib.sha512,
    "ADLER32": _Adler32,
    "CRC32": _Crc32,
}


def algorithm_name(name) -> str:
    """Normalize "sha-256", "sha256", "SHA256" to the recorded name."""
    return str(name).upper().replace("-", "").replace("_", "")


def new(name: str) -> Digest:
    return ALGORITHMS[algorithm_name(name)]()


def file_checksum(path: str, name: str, chunk: int = 8 << 20) -> str:
    digest = new(name)
    with open(path, "rb", buffering=0) as fh:
        while block := fh.read(chunk):
            digest.update(block)
    return digest.hexdigest()
