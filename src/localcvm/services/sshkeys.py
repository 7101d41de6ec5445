"""SSH key material for key pairs: name rules, generation, parsing and fingerprints.

Pure functions only (no database, no HTTP). The rules come from the CVM API
documentation (tccli ``api.json``) and the error codes from the SDK's
``errorcodes.py`` / the per-action error lists of the official SDKs:

* ``KeyName`` (CreateKeyPair, ImportKeyPair, ModifyKeyPairAttribute): letters,
  digits and underscores, at most 25 characters. Errors:
  ``InvalidKeyPairNameEmpty``, ``InvalidKeyPairNameTooLong`` and
  ``InvalidKeyPairNameIncludeIllegalChar`` ("only English letters, digits and
  underscores"). Name *duplicates* need the database and stay with the caller
  (``InvalidKeyPairName.Duplicate`` in ``errors.py``).
* CreateKeyPair creates an ``OpenSSH RSA`` key pair (RSA 2048 in the console
  documentation) and returns the private key once, as the PKCS#1 PEM text
  ``-----BEGIN RSA PRIVATE KEY-----`` shown in the API example.
* ImportKeyPair takes the public key as one OpenSSH line
  (``ssh-rsa AAAA... comment``); anything that is not such a line is
  ``InvalidPublicKey.Malformed``. The API documentation only promises
  ``OpenSSH RSA``; localcvm also accepts Ed25519 and ECDSA (NIST P-256/384/521)
  keys, which OpenSSH servers accept too, and refuses DSA (``ssh-dss``), which
  is neither RSA nor accepted by current OpenSSH servers.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import re
import struct
from dataclasses import dataclass

from cryptography.exceptions import UnsupportedAlgorithm
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec, ed25519, rsa

from . import errors
from .errors import InvalidKeyPairNameEmpty, InvalidKeyPairNameTooLong, InvalidKeyPairNameIncludeIllegalChar

# --- the documented rules ------------------------------------------------------------------
KEY_NAME_MAX_LENGTH = 25
_KEY_NAME_CHARS = re.compile(r"[A-Za-z0-9_]+")

GENERATED_KEY_BITS = 2048  # CreateKeyPair: "RSA 2048-bit encryption"
RSA_MIN_BITS = 1024  # smallest RSA modulus OpenSSH servers accept (RequiredRSASize default)
RSA_MAX_BITS = 16384  # largest RSA modulus OpenSSH handles

# Key types ImportKeyPair accepts, as written at the start of an OpenSSH public key line.
ACCEPTED_KEY_TYPES = (
    "ssh-rsa",
    "ssh-ed25519",
    "ecdsa-sha2-nistp256",
    "ecdsa-sha2-nistp384",
    "ecdsa-sha2-nistp521",
)
_ACCEPTED_TEXT = ", ".join(ACCEPTED_KEY_TYPES)
_LINE_FORMAT = "`<type> <base64> [comment]`, e.g. `ssh-rsa AAAAB3NzaC1yc2E... user@host`"


@dataclass(frozen=True)
class ParsedKey:
    """What localcvm knows about an imported (or generated) OpenSSH public key."""

    type: str  # the key type, e.g. "ssh-rsa"
    bits: int  # key size as ssh-keygen -l reports it (RSA modulus, EC curve size, 256 for Ed25519)
    fingerprint_md5: str  # "xx:xx:...:xx", the hex part of `ssh-keygen -l -E md5`
    fingerprint_sha256: str  # "SHA256:<base64, unpadded>", as `ssh-keygen -l -E sha256` prints it
    comment: str  # text after the key, "" when there is none
    openssh: str  # canonical "<type> <base64>" form, without the comment


# --- key names -----------------------------------------------------------------------------
def check_key_name(name: str | None) -> None:
    """Check a ``KeyName``: 1 to 25 English letters, digits and underscores."""
    if name is None or name == "":
        raise InvalidKeyPairNameEmpty("KeyName must not be empty.")
    if len(name) > KEY_NAME_MAX_LENGTH:
        raise InvalidKeyPairNameTooLong(
            f"KeyName `{name}` has {len(name)} characters; at most {KEY_NAME_MAX_LENGTH} are allowed."
        )
    if not _KEY_NAME_CHARS.fullmatch(name):
        bad = "".join(sorted({ch for ch in name if not _KEY_NAME_CHARS.fullmatch(ch)}))
        raise InvalidKeyPairNameIncludeIllegalChar(
            f"KeyName `{name}` contains characters that are not allowed ({bad!r}); "
            "use English letters, digits and underscores only."
        )


# --- generation ----------------------------------------------------------------------------
def generate_key_pair(comment: str = "") -> tuple[str, str]:
    """Create an RSA 2048 key pair like CreateKeyPair does.

    Returns ``(public_openssh, private_pem)``: the public key as one OpenSSH line
    (``ssh-rsa AAAA...``, followed by `` comment`` when one is given; the real
    service appends the key pair's ID, e.g. ``skey_112168``) and the private key
    as unencrypted PKCS#1 PEM text (``-----BEGIN RSA PRIVATE KEY-----``), which
    the caller returns once and never stores.
    """
    key = rsa.generate_private_key(public_exponent=65537, key_size=GENERATED_KEY_BITS)
    public = key.public_key().public_bytes(
        serialization.Encoding.OpenSSH, serialization.PublicFormat.OpenSSH
    ).decode("ascii")
    private = key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.TraditionalOpenSSL,  # PKCS#1: "BEGIN RSA PRIVATE KEY"
        serialization.NoEncryption(),
    ).decode("ascii")
    if comment:
        public = f"{public} {comment}"
    return public, private


# --- parsing -------------------------------------------------------------------------------
def _malformed(reason: str) -> errors.ApiError:
    return errors.InvalidPublicKeyMalformed(f"PublicKey is not a valid OpenSSH public key: {reason}.")


def _embedded_type(blob: bytes) -> str | None:
    """The key type written at the start of the key blob (an SSH length-prefixed string)."""
    if len(blob) < 4:
        return None
    (length,) = struct.unpack(">I", blob[:4])
    if length > len(blob) - 4:
        return None
    try:
        return blob[4 : 4 + length].decode("ascii")
    except UnicodeDecodeError:
        return None


def _key_bits(key) -> int:
    if isinstance(key, rsa.RSAPublicKey):
        return key.key_size
    if isinstance(key, ec.EllipticCurvePublicKey):
        return key.curve.key_size
    if isinstance(key, ed25519.Ed25519PublicKey):
        return 256
    raise _malformed(f"keys of type {type(key).__name__} are not supported")  # pragma: no cover


def fingerprints(blob: bytes) -> tuple[str, str]:
    """``(md5, sha256)`` fingerprints of a key blob, formatted like ``ssh-keygen -l``."""
    md5 = hashlib.md5(blob).hexdigest()
    md5_text = ":".join(md5[i : i + 2] for i in range(0, len(md5), 2))
    sha256_text = "SHA256:" + base64.b64encode(hashlib.sha256(blob).digest()).decode("ascii").rstrip("=")
    return md5_text, sha256_text


def parse_public_key(text: str) -> ParsedKey:
    """Parse one OpenSSH public key line as ImportKeyPair receives it.

    Raises ``InvalidPublicKey.Malformed`` (with the reason in the message) for
    anything else: empty text, private keys, PEM / RFC 4716 blocks, several
    keys, unknown or refused key types (DSA, certificates, security keys),
    broken base64, a blob whose type differs from the declared one, and RSA
    keys smaller than 1024 bits.
    """
    if not isinstance(text, str) or not text.strip():
        raise _malformed(f"it is empty; give one line of the form {_LINE_FORMAT}")
    line = text.strip()

    if "PRIVATE KEY" in line:
        raise _malformed(
            "this is a private key. Import the public key instead "
            "(`ssh-keygen -y -f <private key file>` prints it)"
        )
    if line.startswith(("-----BEGIN", "---- BEGIN")):
        raise _malformed(
            "PEM / RFC 4716 blocks are not accepted; convert the key to one OpenSSH line with "
            "`ssh-keygen -i -f <file>`"
        )
    if len(line.splitlines()) > 1:
        raise _malformed("it spans several lines; give exactly one key on one line")

    parts = line.split(None, 2)
    if len(parts) < 2:
        raise _malformed(f"expected {_LINE_FORMAT}")
    key_type, data = parts[0], parts[1]
    comment = parts[2].strip() if len(parts) > 2 else ""

    if key_type == "ssh-dss":
        raise _malformed(f"DSA (ssh-dss) keys are not accepted; use one of {_ACCEPTED_TEXT}")
    if key_type not in ACCEPTED_KEY_TYPES:
        raise _malformed(f"the key type `{key_type}` is not supported; use one of {_ACCEPTED_TEXT}")

    try:
        blob = base64.b64decode(data, validate=True)
    except (binascii.Error, ValueError):
        raise _malformed("the key data after the type is not valid base64") from None
    embedded = _embedded_type(blob)
    if embedded != key_type:
        raise _malformed(
            f"the key data holds a `{embedded or 'unreadable'}` key but the line says `{key_type}`"
        )

    try:
        key = serialization.load_ssh_public_key(f"{key_type} {data}".encode("ascii"))
    except (ValueError, UnsupportedAlgorithm) as exc:
        raise _malformed(f"the `{key_type}` key data cannot be decoded ({exc})") from None

    bits = _key_bits(key)
    if isinstance(key, rsa.RSAPublicKey) and not RSA_MIN_BITS <= bits <= RSA_MAX_BITS:
        raise _malformed(
            f"RSA keys must have {RSA_MIN_BITS} to {RSA_MAX_BITS} bits, this one has {bits}"
        )

    md5, sha256 = fingerprints(blob)
    return ParsedKey(
        type=key_type,
        bits=bits,
        fingerprint_md5=md5,
        fingerprint_sha256=sha256,
        comment=comment,
        openssh=f"{key_type} {data}",
    )
