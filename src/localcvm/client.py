"""A minimal client of a running localcvm: where it listens and a TC3-signed call.

Used by ``localcvm reset`` and ``localcvm.testing``; SDK calls go through the official SDKs.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import time
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path

from .config import connect_host, running_server


@dataclass(frozen=True)
class Endpoint:
    scheme: str
    host: str
    port: int
    pid: int = 0

    @property
    def netloc(self) -> str:
        host = f"[{self.host}]" if ":" in self.host else self.host
        return f"{host}:{self.port}"

    @property
    def url(self) -> str:
        return f"{self.scheme}://{self.netloc}"


def find_server(data_dir: Path) -> Endpoint | None:
    """The endpoint of the server running on ``data_dir`` (from its ``server.json``), or None."""
    record = running_server(data_dir)
    if record is None:
        return None
    return Endpoint(record.get("scheme", "http"), connect_host(record.get("host", "")), record["port"],
                    record.get("pid", 0))


def tc3_headers(secret_id: str, secret_key: str, *, host: str, service: str, action: str, version: str,
                body: bytes, path: str = "/", timestamp: int | None = None) -> dict[str, str]:
    """The headers of a POST signed with TC3-HMAC-SHA256, as the SDKs sign it."""
    ts = int(time.time()) if timestamp is None else timestamp
    date = datetime.fromtimestamp(ts, tz=timezone.utc).strftime("%Y-%m-%d")
    content_type = "application/json"
    canonical = "\n".join(["POST", path, "", f"content-type:{content_type}\nhost:{host.lower()}\n",
                           "content-type;host", hashlib.sha256(body).hexdigest()])
    scope = f"{date}/{service}/tc3_request"
    to_sign = "\n".join(["TC3-HMAC-SHA256", str(ts), scope, hashlib.sha256(canonical.encode()).hexdigest()])
    key = ("TC3" + secret_key).encode()
    for part in (date, service, "tc3_request"):
        key = hmac.new(key, part.encode(), hashlib.sha256).digest()
    signature = hmac.new(key, to_sign.encode(), hashlib.sha256).hexdigest()
    return {
        "Content-Type": content_type, "Host": host, "X-TC-Action": action, "X-TC-Version": version,
        "X-TC-Timestamp": str(ts),
        "Authorization": f"TC3-HMAC-SHA256 Credential={secret_id}/{scope}, SignedHeaders=content-type;host, "
                         f"Signature={signature}",
    }


def operator(endpoint: Endpoint, name: str, params: dict, secret_id: str, secret_key: str, *,
             verify: bool | str = True, timeout: float = 60) -> dict:
    """POST /_localcvm/NAME (reset, clock), signed with a root key; the answer's ``Response``."""
    import httpx

    body = json.dumps(params).encode()
    headers = tc3_headers(secret_id, secret_key, host=endpoint.netloc, service="localcvm", action=name.title(),
                          version="2017-03-12", body=body, path=f"/_localcvm/{name}")
    answer = httpx.post(f"{endpoint.url}/_localcvm/{name}", content=body, headers=headers, verify=verify,
                        timeout=timeout)
    return answer.json()["Response"]


def reset(endpoint: Endpoint, secret_id: str, secret_key: str, *, accounts: bool = False,
          verify: bool | str = True, timeout: float = 60) -> dict:
    """POST /_localcvm/reset, signed with a root key; the answer's ``Response``."""
    return operator(endpoint, "reset", {"All": accounts}, secret_id, secret_key, verify=verify, timeout=timeout)


def advance_clock(endpoint: Endpoint, secret_id: str, secret_key: str, duration: str | None, *,
                  verify: bool | str = True) -> dict:
    """POST /_localcvm/clock: move the server's test clock forward by ``duration`` (``"3h"``); None reads it."""
    params = {} if duration is None else {"Advance": duration}
    return operator(endpoint, "clock", params, secret_id, secret_key, verify=verify)
