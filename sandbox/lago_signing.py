"""The Lago simulator's RSA key: what it signs JWT-mode webhooks with, and the public half it
serves at `/webhooks/json_public_key` (and the deprecated `/webhooks/public_key`), as Lago does:
base64 of the key's PEM text. Generated on first use, so sandboxes that never sign pay nothing;
`rotate()` replaces it, as a Lago operator rotating `LAGO_RSA_PRIVATE_KEY` would."""

from __future__ import annotations

import base64

import jwt
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa

# The `iss` claim: Lago puts its API URL there.
ISSUER = "http://sandbox.invalid/lago"


class LagoSigningKey:
    """Usage: `key.sign(body)` → the `X-Lago-Signature` JWT; `key.public_key_base64()`."""

    def __init__(self) -> None:
        self._private: rsa.RSAPrivateKey | None = None

    @property
    def private(self) -> rsa.RSAPrivateKey:
        if self._private is None:
            self._private = rsa.generate_private_key(public_exponent=65537, key_size=2048)
        return self._private

    def rotate(self) -> None:
        self._private = None

    def sign(self, body: bytes) -> str:
        return jwt.encode({"data": body.decode(), "iss": ISSUER}, self.private, algorithm="RS256")

    def public_key_base64(self) -> str:
        pem = self.private.public_key().public_bytes(
            serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
        )
        return base64.encodebytes(pem).decode()


__all__ = ["ISSUER", "LagoSigningKey"]
