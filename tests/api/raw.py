"""Hand-built requests for what the SDK will not send (bad bodies, bad headers).

Key derivation is the SDK's own ``Sign.sign_tc3``; the canonical request follows
the documented TC3-HMAC-SHA256 algorithm (and the SDK's ``_get_tc3_signature``).
"""

from __future__ import annotations

import hashlib
import time
from datetime import datetime, timezone

import httpx
from tencentcloud.common.sign import Sign


def tc3_headers(server, action: str, body: bytes, *, service="cvm", version="2017-03-12", region="ap-guangzhou",
                content_type="application/json", timestamp: int | None = None, secret_key: str | None = None) -> dict:
    timestamp = int(time.time()) if timestamp is None else timestamp
    date = datetime.fromtimestamp(timestamp, tz=timezone.utc).strftime("%Y-%m-%d")
    canonical = "\n".join([
        "POST", "/", "",
        f"content-type:{content_type}\nhost:{server.endpoint}\n",
        "content-type;host",
        hashlib.sha256(body).hexdigest(),
    ])
    to_sign = "\n".join([
        "TC3-HMAC-SHA256", str(timestamp), f"{date}/{service}/tc3_request",
        hashlib.sha256(canonical.encode()).hexdigest(),
    ])
    sig = Sign.sign_tc3(secret_key or server.secret_key, date, service, to_sign)
    headers = {
        "Content-Type": content_type,
        "Host": server.endpoint,
        "X-TC-Action": action,
        "X-TC-Version": version,
        "X-TC-Timestamp": str(timestamp),
        "Authorization": f"TC3-HMAC-SHA256 Credential={server.secret_id}/{date}/{service}/tc3_request, "
                         f"SignedHeaders=content-type;host, Signature={sig}",
    }
    if region:
        headers["X-TC-Region"] = region
    return headers


def post(server, body: bytes, headers: dict) -> httpx.Response:
    verify = str(server.ca_file) if server.tls else True
    return httpx.post(server.url + "/", content=body, headers=headers, timeout=30, verify=verify)


def error_of(resp: httpx.Response) -> tuple[str, str]:
    assert resp.status_code == 200, resp.text
    assert resp.headers["content-type"] == "application/json"
    data = resp.json()["Response"]
    assert data["RequestId"]
    return data["Error"]["Code"], data["Error"]["Message"]


def legacy_post(server, action: str, params: dict[str, str], *, version="2017-03-12", region="ap-guangzhou",
                sign_method="HmacSHA256") -> httpx.Response:
    """A form-encoded request with the legacy signature (HmacSHA1/HmacSHA256), as the SDK builds it:
    the string to sign is ``POST<host>/?<sorted k=v&...>`` (unencoded), the signature the SDK's ``Sign.sign``."""
    import random
    from urllib.parse import urlencode

    form = dict(params, Action=action, Version=version, Region=region, SecretId=server.secret_id,
                SignatureMethod=sign_method, Timestamp=str(int(time.time())), Nonce=str(random.randint(1, 2**31)))
    to_sign = "POST" + server.endpoint + "/?" + "&".join(f"{k}={form[k]}" for k in sorted(form))
    form["Signature"] = Sign.sign(server.secret_key, to_sign, sign_method)
    verify = str(server.ca_file) if server.tls else True
    return httpx.post(server.url + "/", content=urlencode(form).encode(), timeout=30, verify=verify,
                      headers={"Content-Type": "application/x-www-form-urlencoded", "Host": server.endpoint})
