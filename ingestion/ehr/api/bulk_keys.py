"""Keys of SMART Backend Services clients: the private key a Bulk Data client signs with, and the
public JWK Set a server verifies with. Shared by both sides so they agree on key ids.

Where the client's private key comes from, first hit wins: an explicit PEM; the env variable
``CAREHOUSE_EHR_BULK_PRIVATE_KEY`` (PEM text); ``CAREHOUSE_EHR_BULK_PRIVATE_KEY_FILE`` (a path);
dlt secrets ``sources.ehr_bulk.private_key`` (``.dlt/secrets.toml``); last a development key
pair generated once under the carehouse home (``secrets/ehr-bulk-dev-key.pem``, mode 0600),
which ``carehouse simulate ehr-api`` registers by default, so the simulated server and the
client work together on loopback out of the box (a warning says so). A key is never logged and
never part of an error message or a ``repr``.

Key ids (``kid``) are RFC 7638 JWK thumbprints: derived from the public key alone, so a server
given only a PEM public key and the client that holds the private key name it the same way.
"""

from __future__ import annotations

import base64
import hashlib
import json
import logging
import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec, rsa

log = logging.getLogger(__name__)

ENV_PRIVATE_KEY = "CAREHOUSE_EHR_BULK_PRIVATE_KEY"
ENV_PRIVATE_KEY_FILE = "CAREHOUSE_EHR_BULK_PRIVATE_KEY_FILE"
DLT_SECRETS_KEY = "sources.ehr_bulk.private_key"
DEV_BULK_CLIENT_ID = "carehouse-bulk-dev"
DEV_KEY_FILE = "ehr-bulk-dev-key.pem"

PublicKey = rsa.RSAPublicKey | ec.EllipticCurvePublicKey
PrivateKey = rsa.RSAPrivateKey | ec.EllipticCurvePrivateKey


class BulkKeyError(ValueError):
    """A key that cannot be used; the message never contains key material."""


@dataclass(frozen=True)
class SigningKey:
    """A client's private key with its JWS algorithm and key id; ``repr`` hides the key."""

    private_key: PrivateKey = field(repr=False)
    algorithm: str  # RS384 for RSA, ES384 for EC P-384
    kid: str
    from_dev_default: bool = False

    def public_jwks(self) -> dict[str, Any]:
        return {"keys": [public_jwk(self.private_key.public_key())]}


def _b64(number: int) -> str:
    raw = number.to_bytes(max(1, (number.bit_length() + 7) // 8), "big")
    return base64.urlsafe_b64encode(raw).rstrip(b"=").decode("ascii")


def _required_members(key: PublicKey) -> dict[str, str]:
    """The JWK members RFC 7638 hashes, in its lexicographic order."""
    if isinstance(key, rsa.RSAPublicKey):
        numbers = key.public_numbers()
        return {"e": _b64(numbers.e), "kty": "RSA", "n": _b64(numbers.n)}
    if isinstance(key, ec.EllipticCurvePublicKey) and isinstance(key.curve, ec.SECP384R1):
        point = key.public_numbers()
        size = 48
        x = base64.urlsafe_b64encode(point.x.to_bytes(size, "big")).rstrip(b"=").decode("ascii")
        y = base64.urlsafe_b64encode(point.y.to_bytes(size, "big")).rstrip(b"=").decode("ascii")
        return {"crv": "P-384", "kty": "EC", "x": x, "y": y}
    raise BulkKeyError("SMART Backend Services keys are RSA (RS384) or EC P-384 (ES384)")


def key_id(key: PublicKey) -> str:
    """RFC 7638 thumbprint (SHA-256, base64url) of ``key``."""
    canonical = json.dumps(_required_members(key), separators=(",", ":"), sort_keys=True)
    return base64.urlsafe_b64encode(hashlib.sha256(canonical.encode()).digest()).rstrip(b"=").decode()


def algorithm_of(key: PublicKey | PrivateKey) -> str:
    return "RS384" if isinstance(key, rsa.RSAPublicKey | rsa.RSAPrivateKey) else "ES384"


def public_jwk(key: PublicKey) -> dict[str, str]:
    return {**_required_members(key), "kid": key_id(key), "alg": algorithm_of(key), "use": "sig"}


def signing_key(pem: str | bytes, *, from_dev_default: bool = False) -> SigningKey:
    """A :class:`SigningKey` from an unencrypted PKCS#8 or traditional PEM private key."""
    data = pem.encode() if isinstance(pem, str) else pem
    try:
        private = serialization.load_pem_private_key(data, password=None)
    except (ValueError, TypeError):
        raise BulkKeyError("the Bulk Data private key is not an unencrypted PEM private key") from None
    if not isinstance(private, rsa.RSAPrivateKey | ec.EllipticCurvePrivateKey):
        raise BulkKeyError("SMART Backend Services keys are RSA (RS384) or EC P-384 (ES384)")
    public = private.public_key()
    return SigningKey(private, algorithm_of(private), key_id(public), from_dev_default)


def new_private_key_pem(kind: str = "EC") -> bytes:
    """A fresh unencrypted PKCS#8 PEM: EC P-384 (``"EC"``) or RSA 2048 (``"RSA"``)."""
    private: PrivateKey = (
        ec.generate_private_key(ec.SECP384R1())
        if kind == "EC"
        else rsa.generate_private_key(public_exponent=65537, key_size=2048)
    )
    return private.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    )


def dev_key_path(home: Path) -> Path:
    return home / "secrets" / DEV_KEY_FILE


def dev_signing_key(home: Path) -> SigningKey:
    """The development key pair under ``home``, generated on first use (simulated server only)."""
    from warehouse.secret_files import read_or_create_secret

    pem = read_or_create_secret(dev_key_path(home), make=lambda: new_private_key_pem().decode())
    log.warning("EHR bulk: using the development key pair of the carehouse home (simulated server only)")
    return signing_key(pem + "\n", from_dev_default=True)


def _from_dlt_secrets() -> str | None:
    import dlt

    value: object = dlt.secrets.get(DLT_SECRETS_KEY)
    return str(value) if value else None


def resolve_signing_key(home: Path, pem: str | None = None) -> SigningKey:
    """The client's key from the first place that has one (see the module docstring)."""
    if pem:
        return signing_key(pem)
    if os.environ.get(ENV_PRIVATE_KEY):
        return signing_key(os.environ[ENV_PRIVATE_KEY])
    path = os.environ.get(ENV_PRIVATE_KEY_FILE)
    if path:
        try:
            return signing_key(Path(path).expanduser().read_bytes())
        except OSError as exc:
            raise BulkKeyError(f"{ENV_PRIVATE_KEY_FILE}: cannot read {path} ({exc.strerror})") from None
    secret = _from_dlt_secrets()
    if secret:
        return signing_key(secret)
    return dev_signing_key(home)


def load_public_jwks(path: Path) -> dict[str, Any]:
    """A client's public keys from a JWK Set (JSON ``{"keys": [...]}``) or a PEM public key file."""
    try:
        data = path.read_bytes()
    except OSError as exc:
        raise BulkKeyError(f"cannot read the client keys {path} ({exc.strerror})") from None
    if data.lstrip().startswith(b"{"):
        try:
            jwks = json.loads(data)
        except ValueError:
            raise BulkKeyError(f"{path} is neither a JWK Set nor a PEM public key") from None
        keys = jwks.get("keys") if isinstance(jwks, dict) else None
        if not isinstance(keys, list) or not keys:
            raise BulkKeyError(f"{path}: a JWK Set needs a non-empty 'keys' list")
        return {"keys": [k for k in keys if isinstance(k, dict) and "d" not in k]}  # never a private part
    try:
        public = serialization.load_pem_public_key(data)
    except ValueError:
        raise BulkKeyError(f"{path} is neither a JWK Set nor a PEM public key") from None
    if not isinstance(public, rsa.RSAPublicKey | ec.EllipticCurvePublicKey):
        raise BulkKeyError(f"{path}: SMART Backend Services keys are RSA or EC P-384")
    return {"keys": [public_jwk(public)]}
