"""Request signatures: TC3-HMAC-SHA256, and the legacy HmacSHA1 / HmacSHA256.

Pure functions over the request's parts; the caller looks up the SecretKey.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import re
from dataclasses import dataclass
from datetime import datetime, timezone

from ..services import errors
from .hostnames import hostname_of

TC3 = "TC3-HMAC-SHA256"
LEGACY_METHODS = {"HmacSHA1": hashlib.sha1, "HmacSHA256": hashlib.sha256}

_AUTH_RE = re.compile(
    r"^TC3-HMAC-SHA256\s+Credential=(?P<cred>[^,\s]+)\s*,\s*SignedHeaders=(?P<headers>[^,\s]+)\s*,\s*Signature=(?P<sig>[0-9a-fA-F]{64})\s*$"
)


@dataclass(frozen=True)
class Tc3Authorization:
    secret_id: str
    date: str
    service: str
    signed_headers: tuple[str, ...]
    signature: str


def parse_tc3_authorization(header: str | None) -> Tc3Authorization:
    if not header:
        raise errors.AuthFailureInvalidAuthorization(
            "The Authorization header is missing; sign the request with TC3-HMAC-SHA256."
        )
    m = _AUTH_RE.match(header.strip())
    if not m:
        raise errors.AuthFailureInvalidAuthorization(
            "The Authorization header does not follow the format "
            "`TC3-HMAC-SHA256 Credential=<SecretId>/<Date>/<service>/tc3_request, "
            "SignedHeaders=content-type;host, Signature=<hex>`."
        )
    parts = m.group("cred").split("/")
    if len(parts) != 4 or parts[3] != "tc3_request" or not parts[0] or not parts[2]:
        raise errors.AuthFailureInvalidAuthorization(
            "The Credential in the Authorization header must be `<SecretId>/<YYYY-MM-DD>/<service>/tc3_request`."
        )
    if not re.fullmatch(r"\d{4}-\d{2}-\d{2}", parts[1]):
        raise errors.AuthFailureInvalidAuthorization("The credential scope date must be YYYY-MM-DD (UTC).")
    signed = tuple(h.strip().lower() for h in m.group("headers").split(";") if h.strip())
    if "content-type" not in signed or "host" not in signed:
        raise errors.AuthFailureInvalidAuthorization("SignedHeaders must include content-type and host.")
    return Tc3Authorization(parts[0], parts[1], parts[2], signed, m.group("sig").lower())


def check_timestamp(raw: str | None, now: float, max_skew: int) -> int:
    """The request's Unix timestamp, or the real errors for a missing/expired one."""
    if raw is None or raw == "":
        raise errors.MissingParameter("The request is missing the required parameter `X-TC-Timestamp` (Timestamp).")
    try:
        ts = int(str(raw).strip())
    except ValueError:
        raise errors.InvalidParameter(f"The timestamp `{raw}` is not a Unix time in seconds.") from None
    if abs(now - ts) > max_skew:
        raise errors.AuthFailureSignatureExpire(
            f"The signature expired: the request timestamp {ts} differs from the server time "
            f"{int(now)} by more than {max_skew} seconds."
        )
    return ts


def tc3_signature(
    secret_key: str,
    *,
    method: str,
    path: str,
    query: str,
    headers: dict[str, str],
    signed_headers: tuple[str, ...],
    payload_hash: str,
    timestamp: str,
    date: str,
    service: str,
    lowercase_values: bool = True,
) -> str:
    canonical_headers = "".join(
        f"{name}:{(headers.get(name, '').strip().lower() if lowercase_values else headers.get(name, '').strip())}\n"
        for name in signed_headers
    )
    canonical_request = "\n".join(
        [method, path, query, canonical_headers, ";".join(signed_headers), payload_hash]
    )
    scope = f"{date}/{service}/tc3_request"
    string_to_sign = "\n".join([TC3, timestamp, scope, hashlib.sha256(canonical_request.encode()).hexdigest()])
    k_date = hmac.new(("TC3" + secret_key).encode(), date.encode(), hashlib.sha256).digest()
    k_service = hmac.new(k_date, service.encode(), hashlib.sha256).digest()
    k_signing = hmac.new(k_service, b"tc3_request", hashlib.sha256).digest()
    return hmac.new(k_signing, string_to_sign.encode(), hashlib.sha256).hexdigest()


def verify_tc3(secret_key: str, auth: Tc3Authorization, *, timestamp: int, headers: dict[str, str], **parts) -> None:
    """Raise AuthFailure.SignatureFailure unless the signature matches.

    ``headers`` maps lower-case names to the values received. The signature is checked with
    exactly the service of the credential scope; only the representation of two values may
    differ from the documented algorithm, as official SDKs sign them: header values as sent
    instead of lower-cased, and the ``host`` header without its port (the Node.js SDK signs
    the URL's hostname while sending ``Host: <hostname>:<port>``).
    """
    scope_date = datetime.fromtimestamp(timestamp, tz=timezone.utc).strftime("%Y-%m-%d")
    if auth.date != scope_date:
        raise errors.AuthFailureSignatureFailure(
            f"The credential scope date {auth.date} does not match the UTC date {scope_date} of X-TC-Timestamp."
        )
    common = dict(signed_headers=auth.signed_headers, timestamp=str(timestamp), date=auth.date, service=auth.service)
    for candidate in _header_candidates(headers, auth.signed_headers):
        for lowercase_values in (True, False):
            expected = tc3_signature(secret_key, **common, **parts, headers=candidate, lowercase_values=lowercase_values)
            if hmac.compare_digest(expected, auth.signature):
                return
    raise errors.AuthFailureSignatureFailure()


def _header_candidates(headers: dict[str, str], signed_headers: tuple[str, ...]) -> list[dict[str, str]]:
    """The received headers, then (when ``host`` is signed and carries a port) the same with the port removed."""
    out = [headers]
    host = headers.get("host", "")
    bare = hostname_of(host)
    if "host" in signed_headers and bare != host.strip():
        out.append({**headers, "host": bare})
    return out


def legacy_string_to_sign(method: str, host: str, path: str, params: dict[str, str]) -> str:
    flat = {k.replace("_", "."): v for k, v in params.items() if k != "Signature"}
    query = "&".join(f"{k}={flat[k]}" for k in sorted(flat))
    return f"{method}{host}{path}?{query}"


def verify_legacy(secret_key: str, method_name: str, string_to_sign: str, signature: str) -> None:
    digestmod = LEGACY_METHODS.get(method_name)
    if digestmod is None:
        raise errors.AuthFailureInvalidAuthorization(
            f"SignatureMethod `{method_name}` is not supported; use HmacSHA1, HmacSHA256 or TC3-HMAC-SHA256."
        )
    expected = base64.b64encode(hmac.new(secret_key.encode(), string_to_sign.encode(), digestmod).digest()).decode()
    if not hmac.compare_digest(expected, signature or ""):
        raise errors.AuthFailureSignatureFailure()
