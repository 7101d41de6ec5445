"""`localcvm worker`: background jobs run in separate processes (`serve --workers 0` runs none itself)."""

from __future__ import annotations

import json
import signal
import subprocess
import sys
import uuid

from tests.helpers import wait_until

from .images_util import image_of, import_image, make_raw, wait_image
from .share_util import accounts, client, custom_image, run_instance, sync


def start_worker(srv, *args: str) -> subprocess.Popen:
    log = open(srv.data_dir / f"worker-{uuid.uuid4().hex[:6]}.log", "w+b")
    proc = subprocess.Popen([sys.executable, "-m", "localcvm", "worker", *args], env=srv.env(),
                            stdout=log, stderr=subprocess.STDOUT)
    proc.log = log
    return proc


def output(proc: subprocess.Popen) -> str:
    proc.log.seek(0)
    return proc.log.read().decode(errors="replace")


def test_jobs_run_in_separate_worker_processes(make_server, files, tmp_path):
    srv = make_server(extra_env={"LOCALCVM_WORKERS": "0"})
    (a,) = accounts(srv, 1, "workers")
    c = client(srv, a)
    raw = make_raw(tmp_path / "w.raw", 8, seed=7)
    files.add("worker-w.raw", raw)
    image_id = import_image(c, files.url("worker-w.raw"), "by-a-worker")
    # no worker runs yet: the import job is queued, the image is IMPORTING
    assert image_of(c, image_id).ImageState == "IMPORTING"
    shown = srv.cli("images", "show", image_id).stdout
    assert '"PENDING"' in shown, shown

    first = start_worker(srv, "--threads", "2")
    second = start_worker(srv, "--threads", "1")  # two processes share the queue
    try:
        assert wait_image(c, image_id, timeout=120).ImageState == "NORMAL"
        # instance work and a copy between regions run in the workers too
        run_instance(c, image_id)
        copy_id = sync(c, image_id, ["ap-shanghai"])["ap-shanghai"]
        assert wait_image(client(srv, a, "ap-shanghai"), copy_id, timeout=120).ImageState == "NORMAL"
        run_instance(client(srv, a, "ap-shanghai"), copy_id)
    finally:
        for proc in (first, second):
            proc.terminate()
    for proc in (first, second):
        assert proc.wait(timeout=30) == 0, output(proc)
        assert "job threads" in output(proc) and "Traceback" not in output(proc)
    assert "Traceback" not in srv.log()


def test_worker_refuses_bad_options(server):
    for args, message in ((["--threads", "0"], "--threads must be 1 or more"),
                          (["--time-scale", "-1"], "--time-scale must be 0 or more")):
        done = server.cli("worker", *args, check=False, timeout=60)
        assert done.returncode == 2 and message in done.stderr, (args, done.stderr)


def test_serve_refuses_negative_workers(tmp_path):
    done = subprocess.run([sys.executable, "-m", "localcvm", "serve", "--workers", "-1", "--data-dir", str(tmp_path)],
                          capture_output=True, text=True, timeout=60)
    assert done.returncode == 2 and "--workers must be 0 or more" in done.stderr, done.stderr


def test_graceful_stop_mid_copy_is_prompt_and_the_copy_resumes(make_server, files, tmp_path):
    srv = make_server(extra_env={"LOCALCVM_TIME_SCALE": "0.02"})  # a copy takes 12-36 s
    (a,) = accounts(srv, 1, "graceful")
    ca, cs = client(srv, a), client(srv, a, "ap-shanghai")
    image_id = custom_image(ca, files, tmp_path, "graceful", size_mib=16, seed=5, dense=True)
    copy_id = sync(ca, image_id, ["ap-shanghai"])["ap-shanghai"]
    wait_until(lambda: (image_of(cs, copy_id).SyncPercent or 0) >= 5, timeout=60, what="the copy to start")
    # SIGTERM (systemctl stop, Ctrl-C): the running copy stops at its next progress report, is
    # not failed, and goes back to the queue; the server does not sit out a join timeout
    srv.proc.send_signal(signal.SIGTERM)
    assert srv.proc.wait(timeout=8) in (0, -signal.SIGTERM)  # uvicorn re-raises the signal once shut down
    srv.proc = None
    log = srv.log()
    assert "Application shutdown complete" in log
    assert "(sync_image) interrupted by shutdown; it resumes in the next worker" in log, log[-2000:]
    assert "(sync_image) failed" not in log and "Traceback" not in log
    srv.start()
    assert wait_image(cs, copy_id, timeout=120).ImageState == "NORMAL"
    jobs = json.loads(srv.cli("images", "show", copy_id).stdout)["Jobs"]
    assert [j["State"] for j in jobs] == ["SUCCEEDED"], jobs
