"""`localcvm worker`: background jobs run in separate processes (`serve --workers 0` runs none itself)."""

from __future__ import annotations

import subprocess
import sys
import uuid

from .images_util import image_of, import_image, make_raw, wait_image
from .share_util import accounts, client, run_instance, sync


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
