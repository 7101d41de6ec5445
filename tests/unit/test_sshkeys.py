"""Key pair names, key generation and public-key parsing (``services/sshkeys.py``).

Fingerprints are compared with ``ssh-keygen -l`` when OpenSSH is installed.
"""

from __future__ import annotations

import base64
import shutil
import struct
import subprocess

import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec, ed25519, rsa

from localcvm.services import sshkeys
from localcvm.services.errors import ApiError

SSH_KEYGEN = shutil.which("ssh-keygen")
needs_ssh_keygen = pytest.mark.skipif(SSH_KEYGEN is None, reason="ssh-keygen (openssh-client) is not installed")


def refused(fn, *args, code: str, **kwargs) -> str:
    """Call ``fn``, expect an ApiError with ``code``; return its message."""
    with pytest.raises(ApiError) as info:
        fn(*args, **kwargs)
    assert info.value.code == code, info.value.message
    return info.value.message


def openssh_line(public_key, comment: str = "") -> str:
    line = public_key.public_bytes(serialization.Encoding.OpenSSH, serialization.PublicFormat.OpenSSH).decode()
    return f"{line} {comment}" if comment else line


def ssh_string(data: bytes) -> bytes:
    return struct.pack(">I", len(data)) + data


def ssh_mpint(n: int) -> bytes:
    return ssh_string(n.to_bytes(n.bit_length() // 8 + 1, "big"))


# --- key names --------------------------------------------------------------------------------
@pytest.mark.parametrize("name", ["a", "Tencent", "operation_key", "KEY_2024_prod", "_", "x" * 25, "0123456789"])
def test_key_name_accepted(name):
    sshkeys.check_key_name(name)


@pytest.mark.parametrize("name", ["", None])
def test_key_name_empty(name):
    message = refused(sshkeys.check_key_name, name, code="InvalidKeyPairNameEmpty")
    assert "KeyName" in message and "empty" in message


def test_key_name_too_long():
    message = refused(sshkeys.check_key_name, "k" * 26, code="InvalidKeyPairNameTooLong")
    assert "26 characters" in message and "25" in message


@pytest.mark.parametrize("name, bad", [("my-key", "-"), ("my key", " "), ("key.pub", "."), ("密钥", "密"), ("ｋey", "ｋ")])
def test_key_name_illegal_characters(name, bad):
    message = refused(sshkeys.check_key_name, name, code="InvalidKeyPairNameIncludeIllegalChar")
    assert name in message and bad in message
    assert "letters, digits and underscores" in message


# --- generation -------------------------------------------------------------------------------
@pytest.fixture(scope="module")
def generated():
    return sshkeys.generate_key_pair()


def test_generated_key_is_rsa_2048_openssh(generated):
    public, _ = generated
    assert public.startswith("ssh-rsa AAAA")
    assert len(public.split()) == 2  # no comment unless asked for
    parsed = sshkeys.parse_public_key(public)
    assert (parsed.type, parsed.bits, parsed.comment) == ("ssh-rsa", 2048, "")


def test_generated_private_key_is_pkcs1_pem_matching_the_public_key(generated):
    public, private = generated
    assert private.startswith("-----BEGIN RSA PRIVATE KEY-----\n")
    assert private.endswith("-----END RSA PRIVATE KEY-----\n")
    key = serialization.load_pem_private_key(private.encode(), password=None)
    assert isinstance(key, rsa.RSAPrivateKey) and key.key_size == 2048
    assert openssh_line(key.public_key()) == public


def test_generated_keys_differ():
    assert sshkeys.generate_key_pair()[0] != sshkeys.generate_key_pair()[0]


def test_generated_key_comment():
    public, _ = sshkeys.generate_key_pair(comment="skey_112168")
    assert public.endswith(" skey_112168")
    assert sshkeys.parse_public_key(public).comment == "skey_112168"


@needs_ssh_keygen
def test_generated_private_key_works_with_ssh_keygen(generated, tmp_path):
    public, private = generated
    key_file = tmp_path / "id_rsa"
    key_file.write_text(private)
    key_file.chmod(0o600)
    derived = subprocess.run([SSH_KEYGEN, "-y", "-f", str(key_file)], capture_output=True, text=True, check=True)
    assert derived.stdout.split()[:2] == public.split()[:2]


# --- parsing: accepted keys -------------------------------------------------------------------
def _keys():
    return {
        "rsa-1024": (openssh_line(rsa.generate_private_key(65537, 1024).public_key(), "ops@laptop"), "ssh-rsa", 1024),
        "rsa-3072": (openssh_line(rsa.generate_private_key(65537, 3072).public_key(), "ci key"), "ssh-rsa", 3072),
        "ed25519": (openssh_line(ed25519.Ed25519PrivateKey.generate().public_key(), "me@host"), "ssh-ed25519", 256),
        "p256": (openssh_line(ec.generate_private_key(ec.SECP256R1()).public_key(), "p256"), "ecdsa-sha2-nistp256", 256),
        "p384": (openssh_line(ec.generate_private_key(ec.SECP384R1()).public_key(), "p384"), "ecdsa-sha2-nistp384", 384),
        "p521": (openssh_line(ec.generate_private_key(ec.SECP521R1()).public_key(), "p521"), "ecdsa-sha2-nistp521", 521),
    }


KEYS = _keys()


@pytest.mark.parametrize("kind", sorted(KEYS))
def test_accepted_key_types(kind):
    line, key_type, bits = KEYS[kind]
    parsed = sshkeys.parse_public_key(line)
    assert parsed.type == key_type
    assert parsed.bits == bits
    assert parsed.comment == line.split(None, 2)[2]
    assert parsed.openssh == " ".join(line.split()[:2])
    assert len(parsed.fingerprint_md5.split(":")) == 16
    assert parsed.fingerprint_sha256.startswith("SHA256:") and not parsed.fingerprint_sha256.endswith("=")


def test_surrounding_whitespace_and_missing_comment():
    line = KEYS["ed25519"][0]
    bare = " ".join(line.split()[:2])
    parsed = sshkeys.parse_public_key(f"  \n{bare}\n\n")
    assert parsed.comment == ""
    assert parsed.fingerprint_sha256 == sshkeys.parse_public_key(line).fingerprint_sha256


def test_comment_keeps_spaces():
    line = " ".join(KEYS["p256"][0].split()[:2]) + " work laptop (2024)"
    assert sshkeys.parse_public_key(line).comment == "work laptop (2024)"


def test_fingerprint_ignores_the_comment():
    line = KEYS["rsa-1024"][0]
    other = " ".join(line.split()[:2]) + " someone-else"
    assert sshkeys.parse_public_key(line).fingerprint_md5 == sshkeys.parse_public_key(other).fingerprint_md5


def test_fingerprints_of_a_known_key():
    """Hand-checkable: the fingerprints are digests of the base64-decoded blob."""
    import hashlib

    line = KEYS["ed25519"][0]
    blob = base64.b64decode(line.split()[1])
    parsed = sshkeys.parse_public_key(line)
    assert parsed.fingerprint_md5 == ":".join(f"{b:02x}" for b in hashlib.md5(blob).digest())
    assert parsed.fingerprint_sha256 == "SHA256:" + base64.b64encode(hashlib.sha256(blob).digest()).decode().rstrip("=")


@needs_ssh_keygen
@pytest.mark.parametrize("kind", sorted(KEYS))
def test_fingerprints_match_ssh_keygen(kind, tmp_path):
    line, _, bits = KEYS[kind]
    path = tmp_path / "key.pub"
    path.write_text(line + "\n")
    parsed = sshkeys.parse_public_key(line)

    def keygen(hash_name: str) -> list[str]:
        out = subprocess.run([SSH_KEYGEN, "-l", "-E", hash_name, "-f", str(path)], capture_output=True, text=True, check=True)
        return out.stdout.split()

    md5 = keygen("md5")  # "<bits> MD5:xx:xx:... <comment> (<TYPE>)"
    assert md5[0] == str(bits) == str(parsed.bits)
    assert md5[1] == "MD5:" + parsed.fingerprint_md5
    sha = keygen("sha256")
    assert sha[1] == parsed.fingerprint_sha256


@needs_ssh_keygen
def test_fingerprints_of_generated_key_match_ssh_keygen(generated, tmp_path):
    public, _ = generated
    path = tmp_path / "gen.pub"
    path.write_text(public + "\n")
    parsed = sshkeys.parse_public_key(public)
    out = subprocess.run([SSH_KEYGEN, "-l", "-E", "md5", "-f", str(path)], capture_output=True, text=True, check=True)
    assert out.stdout.split()[1] == "MD5:" + parsed.fingerprint_md5
    out = subprocess.run([SSH_KEYGEN, "-l", "-E", "sha256", "-f", str(path)], capture_output=True, text=True, check=True)
    assert out.stdout.split()[1] == parsed.fingerprint_sha256


# --- parsing: refused input -------------------------------------------------------------------
MALFORMED = "InvalidPublicKey.Malformed"


@pytest.mark.parametrize("text", ["", "   \n ", None])
def test_empty_public_key(text):
    assert "empty" in refused(sshkeys.parse_public_key, text, code=MALFORMED)


def test_private_key_refused(generated):
    _, private = generated
    message = refused(sshkeys.parse_public_key, private, code=MALFORMED)
    assert "private key" in message and "ssh-keygen -y" in message


def test_openssh_format_private_key_refused():
    key = ed25519.Ed25519PrivateKey.generate()
    text = key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.OpenSSH, serialization.NoEncryption()
    ).decode()
    assert "private key" in refused(sshkeys.parse_public_key, text, code=MALFORMED)


def test_pem_public_key_refused():
    pem = rsa.generate_private_key(65537, 2048).public_key().public_bytes(
        serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
    ).decode()
    message = refused(sshkeys.parse_public_key, pem, code=MALFORMED)
    assert "PEM" in message and "ssh-keygen -i" in message


def test_rfc4716_public_key_refused():
    data = KEYS["ed25519"][0].split()[1]
    text = f'---- BEGIN SSH2 PUBLIC KEY ----\nComment: "me"\n{data}\n---- END SSH2 PUBLIC KEY ----\n'
    assert "RFC 4716" in refused(sshkeys.parse_public_key, text, code=MALFORMED)


def test_two_keys_refused():
    text = KEYS["ed25519"][0] + "\n" + KEYS["p256"][0]
    assert "several lines" in refused(sshkeys.parse_public_key, text, code=MALFORMED)


@pytest.mark.parametrize("text", ["hello", "ssh-rsa", "AAAAB3NzaC1yc2EAAAADAQABAAABAQ"])
def test_not_a_key_line(text):
    message = refused(sshkeys.parse_public_key, text, code=MALFORMED)
    assert "ssh-rsa AAAA" in message or "key type" in message


def test_dsa_refused():
    blob = ssh_string(b"ssh-dss") + ssh_mpint(23) + ssh_mpint(11) + ssh_mpint(4) + ssh_mpint(8)
    message = refused(sshkeys.parse_public_key, "ssh-dss " + base64.b64encode(blob).decode(), code=MALFORMED)
    assert "DSA" in message and "ssh-ed25519" in message


@pytest.mark.parametrize(
    "key_type",
    ["ssh-rsa-cert-v01@openssh.com", "sk-ssh-ed25519@openssh.com", "ssh-ed448", "rsa", "SSH-RSA"],
)
def test_unsupported_key_types(key_type):
    data = KEYS["rsa-1024"][0].split()[1]
    message = refused(sshkeys.parse_public_key, f"{key_type} {data}", code=MALFORMED)
    assert key_type in message and "not supported" in message


def test_bad_base64():
    assert "base64" in refused(sshkeys.parse_public_key, "ssh-rsa AAAA$$$notbase64", code=MALFORMED)


def test_declared_type_must_match_the_blob():
    data = KEYS["ed25519"][0].split()[1]
    message = refused(sshkeys.parse_public_key, f"ssh-rsa {data}", code=MALFORMED)
    assert "ssh-ed25519" in message and "ssh-rsa" in message


def test_truncated_key_data():
    data = base64.b64decode(KEYS["rsa-1024"][0].split()[1])[:-20]
    message = refused(sshkeys.parse_public_key, "ssh-rsa " + base64.b64encode(data).decode(), code=MALFORMED)
    assert "cannot be decoded" in message


def test_trailing_garbage_in_key_data():
    data = base64.b64decode(KEYS["ed25519"][0].split()[1]) + b"extra"
    message = refused(sshkeys.parse_public_key, "ssh-ed25519 " + base64.b64encode(data).decode(), code=MALFORMED)
    assert "cannot be decoded" in message


def test_small_rsa_key_refused():
    n = (1 << 767) | (1 << 500) | 1  # a 768-bit modulus
    blob = ssh_string(b"ssh-rsa") + ssh_mpint(65537) + ssh_mpint(n)
    message = refused(sshkeys.parse_public_key, "ssh-rsa " + base64.b64encode(blob).decode(), code=MALFORMED)
    assert "768" in message and "1024" in message


def test_malformed_error_is_the_catalogue_class():
    """ImportKeyPair's refusals use errors.InvalidPublicKeyMalformed, so callers can catch it."""
    from localcvm.services import errors

    with pytest.raises(errors.InvalidPublicKeyMalformed):
        sshkeys.parse_public_key("garbage")
