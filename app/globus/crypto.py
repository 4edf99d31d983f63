"""Tokens at rest: AES-GCM with the row as associated data, and key rotation.

A ciphertext reads `v1.<key id>.<base64url(nonce || ciphertext+tag)>`. The key id tells
which key of FERRY_TOKEN_KEYS (newest first) encrypted it: the newest encrypts, every
key decrypts, and `rekey-tokens` rewrites old rows so an old key can be dropped. The
associated data `"{user_id}:{resource_server}:{field}"` means a ciphertext copied into
another user's row, another resource server or the other field does not decrypt.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import os
from collections.abc import Iterable

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from flask import Flask, current_app

from app.errors import ConfigError, TokenDecryptError

PREFIX = "v1"
NONCE_BYTES = 12


def generate_key() -> str:
    """A new key for FERRY_TOKEN_KEYS: urlsafe base64 of 32 random bytes."""
    return base64.urlsafe_b64encode(os.urandom(32)).decode()


def _decode_key(text: str) -> bytes:
    # Fernet keys (the old development default) have the same format.
    try:
        raw = base64.urlsafe_b64decode(text.strip().encode())
    except (binascii.Error, ValueError):
        raw = b""
    if len(raw) != 32:
        # Say which position is wrong, never the key itself.
        raise ConfigError("each FERRY_TOKEN_KEYS entry must be urlsafe base64 of 32 bytes")
    return raw


def _key_id(key: bytes) -> str:
    # A short fingerprint; it reveals nothing usable about a 256-bit key.
    return hashlib.sha256(b"ferry-token-key-id:" + key).hexdigest()[:8]


class Keyring:
    """The configured keys: the first encrypts, all of them decrypt."""

    def __init__(self, keys: Iterable[str]):
        decoded = [_decode_key(k) for k in keys]
        if not decoded:
            raise ConfigError("FERRY_TOKEN_KEYS is empty")
        self._keys = {_key_id(k): AESGCM(k) for k in decoded}
        self._newest = _key_id(decoded[0])

    def __repr__(self) -> str:
        return f"<Keyring {len(self._keys)} keys, newest {self._newest}>"

    @property
    def newest_id(self) -> str:
        return self._newest

    def encrypt(self, plaintext: str, aad: str) -> str:
        nonce = os.urandom(NONCE_BYTES)
        sealed = self._keys[self._newest].encrypt(nonce, plaintext.encode(), aad.encode())
        body = base64.urlsafe_b64encode(nonce + sealed).decode()
        return f"{PREFIX}.{self._newest}.{body}"

    def decrypt(self, ciphertext: str, aad: str) -> str:
        try:
            prefix, key_id, body = ciphertext.split(".", 2)
            raw = base64.urlsafe_b64decode(body.encode())
        except (ValueError, binascii.Error) as e:
            raise TokenDecryptError("malformed token ciphertext") from e
        if prefix != PREFIX or key_id not in self._keys:
            raise TokenDecryptError("token encrypted with an unknown key")
        try:
            plain = self._keys[key_id].decrypt(raw[:NONCE_BYTES], raw[NONCE_BYTES:], aad.encode())
        except InvalidTag as e:
            raise TokenDecryptError("token ciphertext does not belong to this row") from e
        return plain.decode()

    def key_id_of(self, ciphertext: str) -> str:
        return ciphertext.split(".", 2)[1] if ciphertext.count(".") >= 2 else ""


def aad(user_id: int, resource_server: str, field: str) -> str:
    """The associated data binding a ciphertext to its row and column."""
    return f"{user_id}:{resource_server}:{field}"


def _configured_keys(value: str | Iterable[str]) -> list[str]:
    if isinstance(value, str):
        value = value.split(",")
    return [k.strip() for k in value if k and k.strip()]


def init_app(app: Flask) -> None:
    """Check FERRY_TOKEN_KEYS at start, so a bad key fails fast rather than at sign-in."""
    app.extensions["ferry_keyring"] = Keyring(_configured_keys(app.config["FERRY_TOKEN_KEYS"]))


def keyring() -> Keyring:
    """The current app's keyring (built by `init_app`)."""
    return current_app.extensions["ferry_keyring"]
