"""One calling convention for every official client: ``client.call(region, action, params) -> dict``.

Each client answers the call's ``Response`` (as a dict) or raises ``ApiError`` with the code the
client reported. The scenario (``scenario.py``) is written once against this interface.
"""

from __future__ import annotations

import json
import os
import re
import select
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

from . import pybridge
from .node import BRIDGE_JS


class ApiError(Exception):
    def __init__(self, code: str, message: str):
        super().__init__(f"{code}: {message}")
        self.code, self.message = code, message


def _answer(out: dict) -> dict:
    if "error" in out:
        raise ApiError(out["error"]["code"], out["error"]["message"])
    return out["ok"]


def _config(server, sign_method: str) -> dict:
    return {"endpoint": server.endpoint, "scheme": server.scheme, "ca": str(server.ca_file) if server.tls else None,
            "secret_id": server.secret_id, "secret_key": server.secret_key, "sign_method": sign_method}


class LineBridge:
    """A long-lived process that takes one JSON call per line and answers one JSON line."""

    def __init__(self, args: list[str], env: dict, timeout: float = 60):
        self.timeout = timeout
        self.proc = subprocess.Popen(args, env=env, stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                                     stderr=subprocess.PIPE, text=True)
        self.version = self._read()["ready"]

    def _read(self) -> dict:
        ready, _, _ = select.select([self.proc.stdout], [], [], self.timeout)
        line = self.proc.stdout.readline() if ready else ""
        if not line:
            self.proc.kill()
            raise RuntimeError(f"the client process gave no answer: {self.proc.stderr.read()[-3000:]}")
        return json.loads(line)

    def call(self, region: str, action: str, params: dict) -> dict:
        self.proc.stdin.write(json.dumps({"region": region, "action": action, "params": params}) + "\n")
        self.proc.stdin.flush()
        return _answer(self._read())

    def close(self) -> None:
        if self.proc.poll() is None:
            self.proc.stdin.close()
            try:
                self.proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        for pipe in (self.proc.stdout, self.proc.stderr):
            pipe.close()


def node_client(server, sdk_prefix: Path, script_dir: Path, sign_method: str | None) -> LineBridge:
    """The Node.js SDK as a user would configure it: endpoint ``127.0.0.1:PORT``, protocol ``http://``
    or ``https://`` (the CA through NODE_EXTRA_CA_CERTS), default signing unless ``sign_method``."""
    script = script_dir / "node_bridge.js"
    script.write_text(BRIDGE_JS)
    config = {"endpoint": server.endpoint, "protocol": f"{server.scheme}://", "signMethod": sign_method,
              "secretId": server.secret_id, "secretKey": server.secret_key}
    env = dict(os.environ, NODE_PATH=str(sdk_prefix / "node_modules"))
    if server.tls:
        env["NODE_EXTRA_CA_CERTS"] = str(server.ca_file)
    return LineBridge(["node", str(script), json.dumps(config)], env)


def intl_client(server, intl_path: Path, sign_method: str) -> LineBridge:
    """tencentcloud-sdk-python-intl-en (the ``intl_sdk`` fixture's directory) in its own process."""
    env = dict(os.environ, PYTHONPATH=str(intl_path))
    return LineBridge([sys.executable, pybridge.__file__, json.dumps(_config(server, sign_method))], env)


@dataclass
class PythonClient:
    """tencentcloud-sdk-python, the edition installed with the tests, in this process."""

    server: object
    sign_method: str = "TC3-HMAC-SHA256"

    def __post_init__(self):
        import tencentcloud

        self.version = tencentcloud.__version__
        self._client = pybridge.make_clients(_config(self.server, self.sign_method))

    def call(self, region: str, action: str, params: dict) -> dict:
        return _answer(pybridge.call(self._client(region), action, params))

    def close(self) -> None:
        pass


@dataclass
class TccliClient:
    """The real tccli through ``localcvm tccli`` (one process per call, parameters via --cli-input-json)."""

    server: object
    work_dir: Path

    def __post_init__(self):
        import tccli

        self.version = tccli.__version__
        self._n = 0

    def call(self, region: str, action: str, params: dict) -> dict:
        self._n += 1
        path = self.work_dir / f"tccli-input-{self._n}.json"
        path.write_text(json.dumps(params))
        args = ["tccli", "--lc-endpoint", self.server.endpoint, *(["--lc-tls"] if self.server.tls else []),
                "cvm", action, "--region", region, "--cli-input-json", f"file://{path}"]
        done = self.server.cli(*args, check=False)
        if done.returncode == 0:
            return json.loads(done.stdout)
        found = re.search(r"code:\s*([A-Za-z]+(?:\.[A-Za-z0-9]+)*)", done.stdout + done.stderr)
        if not found:
            raise RuntimeError(f"tccli failed without an API error code:\n{done.stdout}\n{done.stderr}")
        raise ApiError(found.group(1), done.stdout + done.stderr)

    def close(self) -> None:
        pass
