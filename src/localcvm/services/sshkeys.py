"""SSH keys for key pairs: generate, parse and fingerprint OpenSSH public keys."""

from __future__ import annotations

import base64
import hashlib
import re
from dataclasses import dataclass

from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import dsa, ec, ed25519, rsa

from . import errors

InvalidKeyPairNameEmpty = errors._error("InvalidKeyPairNameEmpty", "The key pair name is empty.")
InvalidKeyPairNameIncludeIllegalChar = errors._error(
    "InvalidKeyPairNameIncludeIllegalChar", "Key pair names use letters, digits and underscores only."
)
InvalidKeyPairNameTooLong = errors._error("InvalidKeyPairNameTooLong", "Key pair names are at most 25 characters.")


@dataclass(frozen=True)
class ParsedKey:
    type: str
    bits: int
    fingerprint_md5: str
    fingerprint_sha256: str
    comment: str


def check_key_name(name: str) -> None:
    if not name:
        raise InvalidKeyPairNameEmpty("KeyName must not be empty.")
    if len(name) > 25:
        raise InvalidKeyPairNameTooLong(f"KeyName has {len(name)} characters; at most 25 are allowed.")
    if not re.fullmatch(r"[A-Za-z0-9_]+", name):
        raise InvalidKeyPairNameIncludeIllegalChar(f"KeyName `{name}` may use letters, digits and underscores only.")


def generate_key_pair(comment: str = "") -> tuple[str, str]:
    """(OpenSSH public key, PEM private key) of a new RSA 2048 key."""
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    public = key.public_key().public_bytes(serialization.Encoding.OpenSSH, serialization.PublicFormat.OpenSSH).decode()
    private = key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.TraditionalOpenSSL,
                                serialization.NoEncryption()).decode()
    return (public + (f" {comment}" if comment else "")), private


def parse_public_key(text: str) -> ParsedKey:
    text = (text or "").strip()
    if "PRIVATE KEY" in text:
        raise errors.InvalidPublicKeyMalformed("That is a private key; give the public key (ssh-rsa AAAA... comment).")
    parts = text.split(None, 2)
    if len(parts) < 2:
        raise errors.InvalidPublicKeyMalformed("The public key must be in OpenSSH format: `ssh-rsa AAAA... [comment]`.")
    try:
        key = serialization.load_ssh_public_key(f"{parts[0]} {parts[1]}".encode())
        blob = base64.b64decode(parts[1], validate=True)
    except (ValueError, TypeError, Exception) as exc:
        raise errors.InvalidPublicKeyMalformed(f"The public key cannot be parsed: {exc}.") from None
    if isinstance(key, dsa.DSAPublicKey):
        raise errors.InvalidPublicKeyMalformed("DSA keys are not accepted; use RSA, ECDSA or Ed25519.")
    if isinstance(key, rsa.RSAPublicKey):
        bits = key.key_size
        if bits < 1024:
            raise errors.InvalidPublicKeyMalformed(f"RSA keys must have at least 1024 bits, this one has {bits}.")
    elif isinstance(key, ec.EllipticCurvePublicKey):
        bits = key.curve.key_size
    elif isinstance(key, ed25519.Ed25519PublicKey):
        bits = 256
    else:
        raise errors.InvalidPublicKeyMalformed(f"Keys of type {parts[0]} are not accepted.")
    md5 = hashlib.md5(blob).hexdigest()
    return ParsedKey(
        type=parts[0], bits=bits, fingerprint_md5=":".join(md5[i:i + 2] for i in range(0, 32, 2)),
        fingerprint_sha256="SHA256:" + base64.b64encode(hashlib.sha256(blob).digest()).decode().rstrip("="),
        comment=parts[2] if len(parts) > 2 else "",
    )
