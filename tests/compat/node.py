"""The Node.js SDK from npm: installed once into a cache directory, driven through a small Node script.

``install_node_sdk`` runs ``npm install --prefix <cache> tencentcloud-sdk-nodejs@<version>``
unless that version is already there. ``BRIDGE_JS`` is written to a temporary file and run
with ``node``: it builds the SDK's own ``cvm.v20170312.Client`` as its README shows, calls
``client[Action](params)`` for each JSON line on stdin and answers one JSON line on stdout.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

NODE_SDK = "tencentcloud-sdk-nodejs"
NODE_SDK_VERSION = "4.1.313"


def cache_root() -> Path:
    """``$LOCALCVM_NODE_CACHE``, else ``<venv>/node-cache`` (scripts/test's .venv), else a temp dir."""
    if os.environ.get("LOCALCVM_NODE_CACHE"):
        return Path(os.environ["LOCALCVM_NODE_CACHE"])
    if sys.prefix != sys.base_prefix and os.access(sys.prefix, os.W_OK):
        return Path(sys.prefix) / "node-cache"
    return Path(tempfile.gettempdir()) / "localcvm-node-cache"


def installed_version(prefix: Path, package: str = NODE_SDK) -> str | None:
    try:
        return json.loads((prefix / "node_modules" / package / "package.json").read_text())["version"]
    except (OSError, ValueError, KeyError):
        return None


def npm_install(package: str, version: str) -> Path:
    """The npm prefix under the cache holding ``package@version`` (installed on first use).

    Raises RuntimeError naming what is missing when ``node`` or ``npm`` is not installed."""
    for tool in ("node", "npm"):
        if shutil.which(tool) is None:
            raise RuntimeError(
                f"`{tool}` is not installed: the tests that use {package} need Debian's nodejs and npm "
                "(scripts/test installs them; or apt-get install nodejs npm)"
            )
    prefix = cache_root() / f"{package}-{version}"
    if installed_version(prefix, package) == version:
        return prefix
    prefix.parent.mkdir(parents=True, exist_ok=True)
    staging = Path(tempfile.mkdtemp(prefix=f".{package}-", dir=prefix.parent))
    try:
        done = subprocess.run(
            ["npm", "install", "--prefix", str(staging), "--no-audit", "--no-fund", "--no-save",
             f"{package}@{version}"],
            capture_output=True, text=True, timeout=600,
        )
        if done.returncode != 0 or installed_version(staging, package) != version:
            raise RuntimeError(f"npm install {package}@{version} failed:\n{done.stdout}\n{done.stderr}")
        shutil.rmtree(prefix, ignore_errors=True)
        os.rename(staging, prefix)  # another session may have won the race: then theirs is as good
    finally:
        shutil.rmtree(staging, ignore_errors=True)
    return prefix


def install_node_sdk(version: str = NODE_SDK_VERSION) -> Path:
    """The npm prefix holding ``tencentcloud-sdk-nodejs@version`` (installed on first use)."""
    return npm_install(NODE_SDK, version)


BRIDGE_JS = r"""
const readline = require("readline");
const config = JSON.parse(process.argv[2]);
const tencentcloud = require("tencentcloud-sdk-nodejs");
const CvmClient = tencentcloud.cvm.v20170312.Client;
const clients = {};

function client(region) {
  if (!clients[region]) {
    const profile = { httpProfile: { endpoint: config.endpoint, protocol: config.protocol } };
    if (config.signMethod) profile.signMethod = config.signMethod;
    clients[region] = new CvmClient({
      credential: { secretId: config.secretId, secretKey: config.secretKey }, region, profile,
    });
  }
  return clients[region];
}

const json = (value) => JSON.stringify(value, (_k, v) => (typeof v === "bigint" ? Number(v) : v));
const version = require("tencentcloud-sdk-nodejs/package.json").version;
process.stdout.write(json({ ready: version }) + "\n");
const lines = readline.createInterface({ input: process.stdin });
let queue = Promise.resolve();
lines.on("line", (line) => {
  const msg = JSON.parse(line);
  queue = queue.then(async () => {
    let out;
    try {
      out = { ok: await client(msg.region)[msg.action](msg.params) };
    } catch (err) {
      out = { error: { code: err.code || "", message: String(err.message || err) } };
    }
    process.stdout.write(json(out) + "\n");
  });
});
"""
