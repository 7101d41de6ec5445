#!/usr/bin/env python3
"""API throughput: signed DescribeZones on localcvm vs moto's EC2 DescribeAvailabilityZones.

It also measures the CAM policy check: the same DescribeZones signed by a sub-user with five
attached policies (the check reads its policy list once per request and evaluates them), against
the root account's (which skips the check); the check should cost < 15 % of throughput.

Both servers run on this machine, one at a time, as separate processes; the same
asyncio load generator (keep-alive HTTP/1.1 connections, same concurrency, same
duration) drives each. Requests are signed with the official signers (the
Tencent Cloud SDK's TC3-HMAC-SHA256; botocore's SigV4 for moto), a fresh
signature per batch of requests, well inside both protocols' validity windows.

    python bench/api_throughput.py [--concurrency 16] [--seconds 10]
"""

from __future__ import annotations

import argparse
import asyncio
import os
import shutil
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import httpx

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # for tests.* helpers
from tests.helpers import sdk_signed_request  # noqa: E402

SECRET_ID = "AKIDbenchmark00000000000000000000000"
SECRET_KEY = "benchmarkSecretKey00000000000000"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait_http(url: str, proc: subprocess.Popen, timeout: float = 60) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(f"server exited with {proc.returncode}")
        try:
            httpx.get(url, timeout=1)
            return
        except httpx.HTTPError:
            time.sleep(0.1)
    raise TimeoutError(url)


def raw_request(method: str, host: str, headers: dict, body: bytes) -> bytes:
    lines = [f"{method} / HTTP/1.1", f"Host: {host}", f"Content-Length: {len(body)}"]
    lines += [f"{k}: {v}" for k, v in headers.items() if k.lower() not in ("host", "content-length")]
    return ("\r\n".join(lines) + "\r\n\r\n").encode() + body


def tencent_signed(endpoint: str, secret_id: str = SECRET_ID, secret_key: str = SECRET_KEY) -> bytes:
    from tencentcloud.common import credential
    from tencentcloud.common.profile.client_profile import ClientProfile
    from tencentcloud.common.profile.http_profile import HttpProfile
    from tencentcloud.cvm.v20170312 import cvm_client

    client = cvm_client.CvmClient(
        credential.Credential(secret_id, secret_key), "ap-guangzhou",
        ClientProfile(httpProfile=HttpProfile(endpoint=endpoint, protocol="http")),
    )
    req = sdk_signed_request(client, "DescribeZones", {})  # signed by the SDK, captured before it is sent
    return raw_request("POST", endpoint, req.header, req.data.encode())


def sub_user_with_five_policies(endpoint: str) -> tuple[str, str]:
    """A CAM sub-user with five custom policies (four that do not allow DescribeZones, one that does,
    each with several statements): (SecretId, SecretKey)."""
    import json

    from tencentcloud.cam.v20190116 import cam_client, models
    from tencentcloud.common import credential
    from tencentcloud.common.profile.client_profile import ClientProfile
    from tencentcloud.common.profile.http_profile import HttpProfile

    cam = cam_client.CamClient(credential.Credential(SECRET_ID, SECRET_KEY), "",
                               ClientProfile(httpProfile=HttpProfile(endpoint=endpoint, protocol="http")))

    def call(action: str, body: dict):
        req = getattr(models, f"{action}Request")()
        req.from_json_string(json.dumps(body))
        return getattr(cam, action)(req)

    user = call("AddUser", {"Name": "bench", "UseApi": 1})
    for i in range(5):
        statements = [{"effect": "allow", "action": [f"cbs:Describe{n}{i}" for n in ("Disks", "Snapshots")],
                       "resource": "*"},
                      {"effect": "deny", "action": "cvm:TerminateInstances",
                       "resource": f"qcs::cvm::uin/100000000001:instance/ins-{i:08d}"},
                      {"effect": "allow", "action": "cvm:DescribeZones" if i == 4 else f"cvm:Run{i}", "resource": "*",
                       "condition": {"ip_equal": {"qcs:ip": ["127.0.0.0/8"]}}}]
        pid = call("CreatePolicy", {"PolicyName": f"bench{i}",
                                    "PolicyDocument": json.dumps({"version": "2.0", "statement": statements})}).PolicyId
        call("AttachUserPolicy", {"PolicyId": pid, "AttachUin": user.Uin})
    return user.SecretId, user.SecretKey


def aws_signed(endpoint: str) -> bytes:
    from botocore.auth import SigV4Auth
    from botocore.awsrequest import AWSRequest
    from botocore.credentials import Credentials

    body = b"Action=DescribeAvailabilityZones&Version=2016-11-15"
    req = AWSRequest(method="POST", url=f"http://{endpoint}/", data=body,
                     headers={"Content-Type": "application/x-www-form-urlencoded; charset=utf-8"})
    SigV4Auth(Credentials("AKIDEXAMPLE", "secret"), "ec2", "us-east-1").add_auth(req)
    return raw_request("POST", endpoint, dict(req.headers), body)


async def read_response(reader: asyncio.StreamReader) -> tuple[bytes, bool]:
    """(body, server closes the connection)."""
    head = await reader.readuntil(b"\r\n\r\n")
    length, chunked, close = 0, False, False
    for line in head.split(b"\r\n"):
        k, _, v = line.partition(b":")
        k = k.strip().lower()
        if k == b"content-length":
            length = int(v)
        elif k == b"transfer-encoding" and b"chunked" in v.lower():
            chunked = True
        elif k == b"connection" and b"close" in v.lower():
            close = True
    if chunked:
        body = b""
        while True:
            size = int((await reader.readline()).strip(), 16)
            chunk = await reader.readexactly(size + 2)
            if size == 0:
                return body, close
            body += chunk[:-2]
    return await reader.readexactly(length), close


async def load(port: int, make_request, concurrency: int, seconds: float, expect: bytes) -> tuple[int, list[float]]:
    latencies: list[float] = []
    stop_at = time.perf_counter() + seconds
    errors = 0

    async def worker():
        nonlocal errors
        reader, writer = await asyncio.open_connection("127.0.0.1", port)
        req, signed_at = make_request(), time.time()
        while time.perf_counter() < stop_at:
            if time.time() - signed_at > 60:  # re-sign well inside the skew window
                req, signed_at = make_request(), time.time()
            t0 = time.perf_counter()
            writer.write(req)
            body, close = await read_response(reader)
            latencies.append(time.perf_counter() - t0)
            if close:  # a server without keep-alive: reconnect, as any HTTP client would
                writer.close()
                reader, writer = await asyncio.open_connection("127.0.0.1", port)
            if expect not in body:
                errors += 1
        writer.close()

    await asyncio.gather(*(worker() for _ in range(concurrency)))
    return errors, latencies


def cpu_seconds(pid: int | None) -> float:
    """User + system CPU time of a process so far (Linux /proc), 0 without one."""
    if pid is None:
        return 0.0
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def run_phase(name: str, port: int, make_request, args, expect: bytes, quiet: bool = False,
              pid: int | None = None) -> dict:
    seconds = args.seconds / 4 if quiet else args.seconds
    asyncio.run(load(port, make_request, args.concurrency, min(2.0, seconds / 4), expect))  # warm-up
    t0, cpu0 = time.perf_counter(), cpu_seconds(pid)
    errors, lat = asyncio.run(load(port, make_request, args.concurrency, seconds, expect))
    elapsed, cpu = time.perf_counter() - t0, cpu_seconds(pid) - cpu0
    lat.sort()
    result = {
        "name": name, "requests": len(lat), "errors": errors, "rps": len(lat) / elapsed,
        "cpu_us": cpu / max(len(lat), 1) * 1e6, "p50_ms": statistics.median(lat) * 1000, "p99_ms": lat[int(len(lat) * 0.99) - 1] * 1000,
    }
    if quiet:
        return result
    print(f"{name:<42} {result['rps']:>9.0f} req/s   p50 {result['p50_ms']:6.2f} ms   p99 {result['p99_ms']:6.2f} ms"
          f"   ({result['requests']} requests, {errors} unexpected answers)", flush=True)
    return result


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--concurrency", type=int, default=16)
    ap.add_argument("--seconds", type=float, default=10.0)
    ap.add_argument("--cam-rounds", type=int, default=6, help="root/sub-user phase pairs (each seconds/4 long)")
    args = ap.parse_args()
    print(f"concurrency {args.concurrency}, {args.seconds:.0f} s per server, {os.cpu_count()} cores", flush=True)

    tmp = Path(tempfile.mkdtemp(prefix="lc-bench-"))
    results = []
    try:
        port = free_port()
        env = dict(os.environ, LOCALCVM_DATA_DIR=str(tmp / "data"), LOCALCVM_SECRET_ID=SECRET_ID,
                   LOCALCVM_SECRET_KEY=SECRET_KEY)  # request log on, as by default
        proc = subprocess.Popen([sys.executable, "-m", "localcvm", "serve", "--port", str(port), "--log-level", "warning"],
                                env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        try:
            wait_http(f"http://127.0.0.1:{port}/_localcvm/health", proc)
            results.append(run_phase("localcvm DescribeZones (TC3-HMAC-SHA256)", port,
                                     lambda: tencent_signed(f"127.0.0.1:{port}"), args, b'"ZoneSet"'))
            sub_id, sub_key = sub_user_with_five_policies(f"127.0.0.1:{port}")
            # short root and sub-user phases alternate; the server's CPU time per request is the
            # measure (on a shared machine wall-clock req/s swings with the neighbours' load, CPU per
            # request does not; a CPU-bound server's throughput is its inverse). The figure is the
            # median of the rounds' ratios.
            ratios = []
            for _ in range(args.cam_rounds):
                pair = [run_phase(label, port, make, args, b'"ZoneSet"', quiet=True, pid=proc.pid) for label, make in (
                    ("root", lambda: tencent_signed(f"127.0.0.1:{port}")),
                    ("sub-user", lambda: tencent_signed(f"127.0.0.1:{port}", sub_id, sub_key)))]
                ratios.append(pair[0]["cpu_us"] / pair[1]["cpu_us"])
                print(f"  round: root {pair[0]['rps']:.0f} req/s, {pair[0]['cpu_us']:.0f} us CPU/request; sub-user with "
                      f"5 policies {pair[1]['rps']:.0f} req/s, {pair[1]['cpu_us']:.0f} us CPU/request", flush=True)
        finally:
            proc.terminate()
            proc.wait()

        port = free_port()
        moto_bin = shutil.which("moto_server") or str(Path(sys.executable).parent / "moto_server")
        proc = subprocess.Popen([moto_bin, "-H", "127.0.0.1", "-p", str(port)],
                                stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        try:
            wait_http(f"http://127.0.0.1:{port}/moto-api/", proc)
            results.append(run_phase("moto EC2 DescribeAvailabilityZones (SigV4)", port,
                                     lambda: aws_signed(f"127.0.0.1:{port}"), args, b"availabilityZoneInfo"))
        finally:
            proc.terminate()
            proc.wait()
    finally:
        shutil.rmtree(tmp, ignore_errors=True)

    ratio = results[0]["rps"] / results[-1]["rps"]
    print(f"throughput ratio localcvm/moto: {ratio:.2f}x (target >= 3x)")
    cost = 1 - statistics.median(ratios)
    print(f"CAM policy check cost (sub-user with 5 policies vs root, server CPU per request): {cost * 100:.1f} % of "
          "throughput (target < 15 %)")
    return 0 if ratio >= 3 and cost < 0.15 else 1


if __name__ == "__main__":
    sys.exit(main())
