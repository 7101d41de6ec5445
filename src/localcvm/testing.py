"""Test against a real localcvm: a server as a context manager, and a pytest plugin.

Any test runner::

    from localcvm.testing import LocalCVM

    with LocalCVM() as cloud:                      # a fresh server on a free port, own data dir
        cvm = cloud.client("cvm", "ap-shanghai")   # an official-SDK client (tencentcloud-sdk-python)
        ...
        cloud.reset()                              # drop every resource, keep the accounts
    # stopped, and its data dir removed

pytest (the plugin is registered through the ``pytest11`` entry point, so installing localcvm
is enough; or ``-p localcvm.testing``): fixtures ``localcvm_session`` (one server for the
session), ``localcvm`` (that server, reset before the test), ``localcvm_server`` (a server of
the test's own), ``localcvm_client`` (``localcvm_client("cbs", "ap-beijing")``),
``cvm_client`` (cvm in the default region), ``second_account`` (another account with its own
keys and clients) and ``wait_for_state`` (``.instance``, ``.image``, ``.until``: see
:func:`wait_for`). docs/testing.md has examples.
"""

from __future__ import annotations

import itertools
import json
import os
import secrets
import shutil
import string
import subprocess
import sys
import tempfile
import threading
import time
from collections import deque
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable

from .client import Endpoint, find_server
from .client import reset as post_reset

DEFAULT_REGION = "ap-guangzhou"
VERSIONS = {"cvm": "2017-03-12", "cbs": "2017-03-12", "vpc": "2017-03-12", "cam": "2019-01-16", "tag": "2018-08-13"}
_ALNUM = string.ascii_letters + string.digits


def wait_for(probe: Callable[[], Any], until: Callable[[Any], bool] = bool, *, timeout: float = 60.0,
             interval: float = 0.1, what: str = "a condition") -> Any:
    """Call ``probe`` until ``until(result)`` holds; that result, or TimeoutError naming ``what``."""
    deadline = time.monotonic() + timeout
    last: Any = None
    while True:
        last = probe()
        if until(last):
            return last
        if time.monotonic() >= deadline:
            raise TimeoutError(f"timed out after {timeout} s waiting for {what} (last: {last!r})")
        time.sleep(interval)


def wait_instance_state(client, instance_id: str, state: str = "RUNNING", *, timeout: float = 120.0):
    """Wait until DescribeInstances shows ``instance_id`` in ``state``; its Instance."""
    from tencentcloud.cvm.v20170312 import models

    def probe():
        req = models.DescribeInstancesRequest()
        req.InstanceIds = [instance_id]
        found = client.DescribeInstances(req).InstanceSet
        return found[0] if found else None

    return wait_for(probe, lambda i: i is not None and i.InstanceState == state, timeout=timeout,
                    what=f"{instance_id} to be {state}")


def wait_image_state(client, image_id: str, state: str = "NORMAL", *, timeout: float = 300.0):
    """Wait until DescribeImages shows ``image_id`` in ``state``; its Image. A final state other
    than ``state`` (IMPORTFAILED, CREATEFAILED) fails at once."""
    from tencentcloud.cvm.v20170312 import models

    def probe():
        req = models.DescribeImagesRequest()
        req.ImageIds = [image_id]
        found = client.DescribeImages(req).ImageSet
        return found[0] if found else None

    def done(image) -> bool:
        if image is not None and image.ImageState != state and image.ImageState.endswith("FAILED"):
            raise AssertionError(f"{image_id} is {image.ImageState}, not {state}: {image.ImageDescription!r}")
        return image is not None and image.ImageState == state

    return wait_for(probe, done, timeout=timeout, what=f"{image_id} to be {state}")


@dataclass(frozen=True)
class Account:
    """An account of a test server: its Uin and key pair; ``client()`` signs with that key."""

    server: "LocalCVM"
    uin: str
    name: str
    secret_id: str
    secret_key: str

    def client(self, product: str = "cvm", region: str = DEFAULT_REGION):
        return self.server.client(product, region, secret_id=self.secret_id, secret_key=self.secret_key)


@dataclass
class LocalCVM:
    """A ``localcvm serve`` process of its own (free port, temporary data dir unless given).

    ``with LocalCVM() as cloud:`` starts it and, on leaving, stops it and removes the temporary
    data dir. ``extra_args`` go to ``serve`` (e.g. ``["--time-scale", "0.001"]``), ``env``
    to its environment. ``strict_errors`` (on by default) runs it in strict error mode: an error
    code the action does not document comes back as InternalError naming it (docs/error-codes.md).
    """

    data_dir: Path | None = None
    tls: bool = False
    extra_args: tuple[str, ...] = ()
    env: dict[str, str] = field(default_factory=dict)
    strict_errors: bool = True
    start_timeout: float = 60.0
    secret_id: str = field(default_factory=lambda: "AKID" + "".join(secrets.choice(_ALNUM) for _ in range(32)))
    secret_key: str = field(default_factory=lambda: "".join(secrets.choice(_ALNUM) for _ in range(32)))
    endpoint: Endpoint | None = None
    proc: subprocess.Popen | None = None
    output: deque = field(default_factory=lambda: deque(maxlen=400))
    temporary: bool = False
    names: Any = field(default_factory=itertools.count)

    # --- life -------------------------------------------------------------------------------
    def start(self) -> "LocalCVM":
        if self.data_dir is None:
            self.data_dir, self.temporary = Path(tempfile.mkdtemp(prefix="localcvm-test-")), True
        self.data_dir = Path(self.data_dir)
        args = [sys.executable, "-m", "localcvm", "serve", "--port", "0", *(["--tls"] if self.tls else []),
                *self.extra_args]
        self.proc = subprocess.Popen(args, env=self.process_env(), stdout=subprocess.PIPE,
                                     stderr=subprocess.STDOUT, text=True)
        threading.Thread(target=self.drain, daemon=True).start()
        try:
            self.endpoint = wait_for(self.ready, timeout=self.start_timeout, interval=0.05,
                                     what="localcvm serve to listen")
        except Exception:
            self.stop()
            raise
        return self

    def process_env(self) -> dict[str, str]:
        env = dict(os.environ)
        for name in ("LOCALCVM_PORT", "LOCALCVM_HOST", "LOCALCVM_DATABASE_URL"):
            env.pop(name, None)
        env.update(LOCALCVM_DATA_DIR=str(self.data_dir), LOCALCVM_SECRET_ID=self.secret_id,
                   LOCALCVM_SECRET_KEY=self.secret_key, LOCALCVM_STRICT_ERRORS="1" if self.strict_errors else "0")
        env.update(self.env)
        return env

    def drain(self) -> None:
        for line in self.proc.stdout:
            self.output.append(line)

    def ready(self) -> Endpoint | None:
        if self.proc.poll() is not None:
            raise RuntimeError(f"localcvm serve exited with {self.proc.returncode}:\n{self.log()}")
        found = find_server(self.data_dir)
        return found if found is not None and found.pid == self.proc.pid else None

    def log(self) -> str:
        """The server's last output lines (its JSON log)."""
        return "".join(self.output)

    def stop(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(timeout=30)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        self.proc = None
        if self.temporary and self.data_dir is not None:
            shutil.rmtree(self.data_dir, ignore_errors=True)

    def __enter__(self) -> "LocalCVM":
        return self.start()

    def __exit__(self, *exc) -> None:
        self.stop()

    # --- use --------------------------------------------------------------------------------
    @property
    def ca_file(self) -> Path:
        return Path(self.data_dir) / "tls" / "ca.pem"

    def client(self, product: str = "cvm", region: str = DEFAULT_REGION, *, secret_id: str | None = None,
               secret_key: str | None = None):
        """An official-SDK client of ``product`` (CvmClient, CbsClient; a CommonClient otherwise)."""
        from tencentcloud.common import credential
        from tencentcloud.common.common_client import CommonClient
        from tencentcloud.common.profile.client_profile import ClientProfile
        from tencentcloud.common.profile.http_profile import HttpProfile

        http = HttpProfile(endpoint=self.endpoint.netloc, protocol=self.endpoint.scheme)
        if self.endpoint.scheme == "https":
            http.certification = str(self.ca_file)
        cred = credential.Credential(secret_id or self.secret_id, secret_key or self.secret_key)
        profile = ClientProfile(httpProfile=http)
        if product == "cvm":
            from tencentcloud.cvm.v20170312.cvm_client import CvmClient

            return CvmClient(cred, region, profile)
        if product == "cbs":
            from tencentcloud.cbs.v20170312.cbs_client import CbsClient

            return CbsClient(cred, region, profile)
        return CommonClient(product, VERSIONS[product], cred, region, profile)

    def cli(self, *args: str) -> str:
        """Run ``localcvm ARGS`` on this server's data dir; its standard output."""
        done = subprocess.run([sys.executable, "-m", "localcvm", *args], env=self.process_env(),
                              capture_output=True, text=True, timeout=120)
        if done.returncode != 0:
            raise RuntimeError(f"localcvm {' '.join(args)} failed: {done.stderr.strip()}")
        return done.stdout

    def create_account(self, name: str | None = None) -> Account:
        """A new account (unique name unless given) with one key pair."""
        name = name or f"test-{os.getpid()}-{next(self.names)}-{secrets.token_hex(3)}"
        created = json.loads(self.cli("accounts", "create", "--name", name, "--json"))
        return Account(self, created["Uin"], created["Name"], created["SecretId"], created["SecretKey"])

    def reset(self, *, accounts: bool = False) -> dict:
        """Drop every resource (``accounts=True``: every account but the root one too)."""
        verify: bool | str = str(self.ca_file) if self.endpoint.scheme == "https" else True
        answer = post_reset(self.endpoint, self.secret_id, self.secret_key, accounts=accounts, verify=verify)
        if "Error" in answer:
            raise RuntimeError(f"reset failed: {answer['Error']}")
        return answer


# --- the pytest plugin ------------------------------------------------------------------------
try:  # the fixtures need pytest; LocalCVM alone does not
    import pytest
except ImportError:  # pragma: no cover
    pytest = None

if pytest is not None:
    @pytest.fixture(scope="session")
    def localcvm_session():
        """One localcvm server for the whole session (state carries over between tests)."""
        with LocalCVM() as cloud:
            yield cloud

    @pytest.fixture
    def localcvm(localcvm_session):
        """The session's server, reset (every resource dropped, accounts kept) before this test."""
        localcvm_session.reset()
        return localcvm_session

    @pytest.fixture
    def localcvm_server():
        """A server of this test's own, stopped and removed after it."""
        with LocalCVM() as cloud:
            yield cloud

    @pytest.fixture
    def localcvm_client(localcvm):
        """``localcvm_client(product="cvm", region="ap-guangzhou")``: SDK clients of the root account."""
        made: dict = {}

        def client(product: str = "cvm", region: str = DEFAULT_REGION):
            if (product, region) not in made:
                made[product, region] = localcvm.client(product, region)
            return made[product, region]

        return client

    @pytest.fixture
    def cvm_client(localcvm_client):
        """A CvmClient of the root account in ap-guangzhou."""
        return localcvm_client("cvm")

    @pytest.fixture
    def second_account(localcvm) -> Account:
        """Another account of the same server, with its own keys (``second_account.client("cvm")``)."""
        return localcvm.create_account()

    @pytest.fixture
    def wait_for_state():
        """The waiting helpers: ``wait_for_state.instance(client, id, "RUNNING")``,
        ``wait_for_state.image(client, id, "NORMAL")``, ``wait_for_state.until(probe, predicate)``."""

        class Waits:
            instance = staticmethod(wait_instance_state)
            image = staticmethod(wait_image_state)
            until = staticmethod(wait_for)

        return Waits
