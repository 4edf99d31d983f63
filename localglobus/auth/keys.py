"""The id_token signing key: RS512 like Globus, made at first start and kept in the home."""

from __future__ import annotations

import base64
import hashlib
import os
from pathlib import Path

from joserfc import jwt
from joserfc.jwk import RSAKey

ALGORITHM = "RS512"
KEY_FILE = "id_token_key.pem"


class SigningKey:
    """The RSA key that signs id_tokens and is published at /jwk.json."""

    def __init__(self, key: RSAKey):
        self._key = key
        self.kid = key.thumbprint()

    @classmethod
    def load_or_create(cls, home: Path) -> SigningKey:
        """Read the key from `home`, generating it (mode 0600) the first time."""
        path = home / KEY_FILE
        if not path.exists():
            key = RSAKey.generate_key(2048, private=True)
            try:
                # O_EXCL: when two processes start at once, the first key written wins and
                # both sign with it; the file is private from the moment it exists.
                fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
            except FileExistsError:
                pass
            else:
                with os.fdopen(fd, "wb") as out:
                    out.write(key.as_pem(private=True))
        return cls(RSAKey.import_key(path.read_bytes()))

    def jwks(self) -> dict:
        """The public key set; globus-sdk uses `keys[0]` only."""
        public = self._key.as_dict(private=False)
        return {"keys": [{**public, "alg": ALGORITHM, "use": "sig", "kid": self.kid}]}

    def sign(self, claims: dict) -> str:
        """A compact RS512 JWT of `claims`."""
        header = {"alg": ALGORITHM, "kid": self.kid, "typ": "JWT"}
        return jwt.encode(header, claims, self._key, algorithms=[ALGORITHM])


def at_hash(access_token: str) -> str:
    """OIDC `at_hash`: the left half of the SHA-512 (as in RS512) of the access token."""
    digest = hashlib.sha512(access_token.encode("ascii")).digest()
    return base64.urlsafe_b64encode(digest[: len(digest) // 2]).rstrip(b"=").decode("ascii")
