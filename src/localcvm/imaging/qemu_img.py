"""A small, careful wrapper around ``qemu-img`` (Debian package ``qemu-utils``).

Rules every call follows, because the images may come from untrusted users:

* the image format is always explicit (``-f``/``-F``/``-O``): qemu never
  guesses a format from the content;
* image paths are made absolute, so a name like ``nbd:...`` or
  ``json:{...}`` can never be read as a protocol specification;
* only the formats localcvm handles (raw, qcow2, vmdk, vpc) are accepted;
* qemu-img runs under resource limits: a wall-clock timeout, and
  ``RLIMIT_AS``/``RLIMIT_CPU`` applied with the util-linux ``prlimit``
  launcher (which sets the limits and then execs qemu-img). ``preexec_fn``
  is only a fallback when ``prlimit`` is missing: Python documents it as
  unsafe in multi-threaded programs, and the server is one.

Failures raise ``QemuImgError`` carrying the command and qemu's stderr.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import threading
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

__all__ = [
    "CONVERT_LIMITS",
    "FORMATS",
    "INFO_LIMITS",
    "ImageInfo",
    "Limits",
    "QemuImgError",
    "QemuImgTimeout",
    "compare",
    "convert",
    "create",
    "info",
    "qemu_format",
    "version",
]

#: qemu block drivers localcvm lets qemu-img open.
FORMATS = frozenset({"raw", "qcow2", "vmdk", "vpc"})
#: Product names -> qemu driver names ("vhd" is qemu's "vpc").
_ALIASES = {"vhd": "vpc"}

_PROGRESS_RE = re.compile(rb"\((\d+(?:\.\d+)?)/100%\)")


@dataclass(frozen=True)
class Limits:
    """Resource limits for one qemu-img run.

    ``address_space`` bytes of virtual memory (RLIMIT_AS), ``cpu_seconds``
    of CPU time (RLIMIT_CPU), ``timeout`` seconds of wall-clock time
    (``None``: no timeout).
    """

    address_space: int
    cpu_seconds: int
    timeout: float | None


#: For ``info``/``compare``-sized work: qemu-img info needs well under 256 MiB.
INFO_LIMITS = Limits(address_space=1 << 30, cpu_seconds=30, timeout=60.0)
#: For ``convert``/``create``/``compare`` of whole disks: convert needs more
#: than 256 MiB of address space (coroutine stacks, I/O buffers).
CONVERT_LIMITS = Limits(address_space=2 << 30, cpu_seconds=4 * 3600, timeout=6 * 3600.0)


class QemuImgError(Exception):
    """qemu-img failed. ``stderr`` holds its message (also in ``str()``)."""

    def __init__(self, command: Sequence[str], returncode: int | None, stderr: str, message: str | None = None):
        self.command = list(command)
        self.returncode = returncode
        self.stderr = stderr.strip()
        subcommand = self.command[1] if len(self.command) > 1 else "?"
        text = message or f"qemu-img {subcommand} failed (exit status {returncode})"
        if self.stderr:
            text += f": {self.stderr}"
        super().__init__(text)


class QemuImgTimeout(QemuImgError):
    """qemu-img ran longer than its timeout and was killed."""


@dataclass(frozen=True)
class ImageInfo:
    """The parts of ``qemu-img info --output=json`` localcvm looks at."""

    format: str
    virtual_size: int
    actual_size: int | None
    backing_file: str | None
    data_file: str | None
    cluster_size: int | None
    dirty: bool
    format_specific: dict[str, Any] = field(default_factory=dict)
    raw: dict[str, Any] = field(default_factory=dict, repr=False)

    @classmethod
    def from_json(cls, obj: Mapping[str, Any]) -> ImageInfo:
        specific = obj.get("format-specific") or {}
        data = specific.get("data") or {}
        return cls(
            format=str(obj.get("format", "")),
            virtual_size=int(obj.get("virtual-size", 0)),
            actual_size=obj.get("actual-size"),
            backing_file=obj.get("backing-filename") or obj.get("full-backing-filename"),
            data_file=data.get("data-file"),
            cluster_size=obj.get("cluster-size"),
            dirty=bool(obj.get("dirty-flag", False)),
            format_specific=dict(specific),
            raw=dict(obj),
        )


# --------------------------------------------------------------------------
# Process plumbing
# --------------------------------------------------------------------------


def _qemu_img() -> str:
    path = os.environ.get("LOCALCVM_QEMU_IMG") or shutil.which("qemu-img")
    if not path:
        raise QemuImgError(["qemu-img"], None, "", "qemu-img is not installed (Debian package qemu-utils)")
    return path


def qemu_format(fmt: str) -> str:
    """Map a product format name to qemu's and check it is allowed."""
    name = _ALIASES.get(fmt, fmt)
    if name not in FORMATS:
        raise ValueError(f"unsupported image format {fmt!r} (allowed: raw, qcow2, vmdk, vhd/vpc)")
    return name


def _path(p: str | os.PathLike[str]) -> str:
    """Absolute path: a leading '/' stops qemu parsing 'proto:' prefixes."""
    return os.path.abspath(os.fspath(p))


def _options(opts: Mapping[str, Any] | None) -> list[str]:
    """``-o k=v,...`` with qemu's comma escaping (',' -> ',,')."""
    if not opts:
        return []
    parts = []
    for k, v in opts.items():
        if isinstance(v, bool):
            v = "on" if v else "off"
        parts.append(f"{k}={str(v).replace(',', ',,')}")
    return ["-o", ",".join(parts)]


def _limited(argv: list[str], limits: Limits) -> tuple[list[str], Callable[[], None] | None]:
    """Wrap ``argv`` so it runs under ``limits``; returns (argv, preexec_fn)."""
    prlimit = shutil.which("prlimit")
    if prlimit:
        return [
            prlimit,
            f"--as={limits.address_space}",
            f"--cpu={limits.cpu_seconds}",
            "--",
            *argv,
        ], None

    def set_limits() -> None:  # fallback; runs in the child between fork and exec
        import resource

        resource.setrlimit(resource.RLIMIT_AS, (limits.address_space, limits.address_space))
        resource.setrlimit(resource.RLIMIT_CPU, (limits.cpu_seconds, limits.cpu_seconds))

    return argv, set_limits


def _env() -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if k in ("PATH", "TMPDIR", "HOME")}
    env["LC_ALL"] = "C"  # stable, parseable messages
    env["MALLOC_ARENA_MAX"] = "2"  # fewer 64 MiB arena reservations under RLIMIT_AS
    return env


def _run(
    args: list[str],
    limits: Limits,
    *,
    ok_codes: Sequence[int] = (0,),
    progress: Callable[[float], None] | None = None,
) -> subprocess.CompletedProcess[str]:
    """Run ``qemu-img *args`` under ``limits``; raise QemuImgError on failure.

    With ``progress`` the command must include ``-p``: its stdout is read as
    it comes and every ``(NN.NN/100%)`` update is reported as a float.
    """
    cmd = [_qemu_img(), *args]
    argv, preexec = _limited(cmd, limits)
    if progress is None:
        try:
            proc = subprocess.run(
                argv,
                stdin=subprocess.DEVNULL,
                capture_output=True,
                timeout=limits.timeout,
                env=_env(),
                preexec_fn=preexec,
                check=False,
            )
        except subprocess.TimeoutExpired as exc:
            raise QemuImgTimeout(
                cmd, None, _decode(exc.stderr), f"qemu-img {args[0]} timed out after {limits.timeout:g}s"
            ) from None
        stdout, stderr, rc = _decode(proc.stdout), _decode(proc.stderr), proc.returncode
    else:
        stdout, stderr, rc = _run_with_progress(cmd, argv, preexec, limits, progress)
    if rc not in ok_codes:
        raise QemuImgError(cmd, rc, stderr or _signal_hint(rc))
    return subprocess.CompletedProcess(cmd, rc, stdout, stderr)


def _decode(b: bytes | str | None) -> str:
    if b is None:
        return ""
    return b if isinstance(b, str) else b.decode("utf-8", "replace")


def _signal_hint(rc: int) -> str:
    if rc in (-9, -24):  # SIGKILL / SIGXCPU
        return "killed (CPU time limit reached?)"
    if rc < 0:
        return f"killed by signal {-rc}"
    return ""


def _run_with_progress(
    cmd: list[str],
    argv: list[str],
    preexec: Callable[[], None] | None,
    limits: Limits,
    progress: Callable[[float], None],
) -> tuple[str, str, int]:
    proc = subprocess.Popen(
        argv,
        stdin=subprocess.DEVNULL,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        env=_env(),
        preexec_fn=preexec,
    )
    timed_out = threading.Event()

    def on_timeout() -> None:
        timed_out.set()
        proc.kill()

    timer = threading.Timer(limits.timeout, on_timeout) if limits.timeout else None
    stderr_parts: list[bytes] = []
    reader = threading.Thread(target=lambda: stderr_parts.append(proc.stderr.read()), daemon=True)  # type: ignore[union-attr]
    reader.start()
    if timer:
        timer.daemon = True
        timer.start()
    out = bytearray()
    try:
        assert proc.stdout is not None
        last = -1.0
        while True:
            block = os.read(proc.stdout.fileno(), 4096)
            if not block:
                break
            out += block
            # Progress lines end in '\r'; parse whatever complete updates arrived.
            for m in _PROGRESS_RE.finditer(out[-256:]):
                pct = float(m.group(1))
                if pct > last:  # the window may repeat older updates
                    last = pct
                    progress(pct)
            if len(out) > 1 << 16:  # keep memory bounded; progress is all we need
                del out[: len(out) - 4096]
        rc = proc.wait()
    except BaseException:
        proc.kill()
        proc.wait()
        raise
    finally:
        if timer:
            timer.cancel()
        reader.join(timeout=5)
        proc.stdout.close()  # type: ignore[union-attr]
        proc.stderr.close()  # type: ignore[union-attr]
    stderr = _decode(b"".join(stderr_parts))
    if timed_out.is_set():
        raise QemuImgTimeout(cmd, None, stderr, f"qemu-img {cmd[1]} timed out after {limits.timeout:g}s")
    text = _PROGRESS_RE.sub(b"", bytes(out)).replace(b"\r", b"").decode("utf-8", "replace").strip()
    return text, stderr, rc


# --------------------------------------------------------------------------
# Commands
# --------------------------------------------------------------------------


def version() -> str:
    """qemu-img's version line, e.g. 'qemu-img version 7.2.22 (...)'."""
    return _run(["--version"], INFO_LIMITS).stdout.splitlines()[0].strip()


def info(
    path: str | os.PathLike[str],
    fmt: str,
    *,
    force_share: bool = False,
    limits: Limits = INFO_LIMITS,
) -> ImageInfo:
    """``qemu-img info -f FMT --output=json PATH`` as an ImageInfo.

    qemu-img info does not open backing files; ``force_share`` (``-U``)
    allows reading an image a running VM holds locked.
    """
    args = ["info", "-f", qemu_format(fmt), "--output=json"]
    if force_share:
        args.append("-U")
    proc = _run([*args, _path(path)], limits)
    try:
        return ImageInfo.from_json(json.loads(proc.stdout))
    except (ValueError, TypeError) as exc:
        raise QemuImgError(proc.args, 0, proc.stderr, f"unparseable qemu-img info output: {exc}") from None


@dataclass(frozen=True)
class Extent:
    """One run of ``qemu-img map --output=json``: guest bytes ``[start, start+length)``.

    ``depth`` is the layer that holds them (0 = the image itself, 1 = its
    backing file, ...); ``present`` is False where no layer allocates them
    (they read as zeros); ``offset`` is where the data sits inside that
    layer's file (None for zeros, compressed or encrypted data).
    """

    start: int
    length: int
    depth: int
    present: bool
    zero: bool
    data: bool
    offset: int | None


def map_extents(
    path: str | os.PathLike[str],
    fmt: str,
    *,
    force_share: bool = False,
    limits: Limits = INFO_LIMITS,
) -> list[Extent]:
    """``qemu-img map --output=json``: where every guest byte of the image lives, layer by layer."""
    args = ["map", "-f", qemu_format(fmt), "--output=json"]
    if force_share:
        args.append("-U")
    proc = _run([*args, _path(path)], limits)
    try:
        return [
            Extent(int(e["start"]), int(e["length"]), int(e.get("depth", 0)), bool(e.get("present", True)),
                   bool(e.get("zero", False)), bool(e.get("data", False)),
                   int(e["offset"]) if e.get("offset") is not None else None)
            for e in json.loads(proc.stdout)
        ]
    except (ValueError, TypeError, KeyError) as exc:
        raise QemuImgError(proc.args, 0, proc.stderr, f"unparseable qemu-img map output: {exc}") from None


def convert(
    src: str | os.PathLike[str],
    src_fmt: str,
    dst: str | os.PathLike[str],
    dst_fmt: str,
    progress: Callable[[float], None] | None = None,
    *,
    options: Mapping[str, Any] | None = None,
    compress: bool = False,
    fsync: bool = True,
    limits: Limits = CONVERT_LIMITS,
) -> None:
    """Convert ``src`` (``src_fmt``) into a new ``dst`` (``dst_fmt``).

    ``progress(percent)`` receives qemu-img's ``-p`` updates (0.0-100.0).
    ``options`` become ``-o`` creation options of the target (e.g.
    ``{"subformat": "streamOptimized"}`` for vmdk). For vhd/vpc targets
    ``force_size=on`` is the default, so the VHD keeps the exact virtual
    size instead of one rounded up to a CHS geometry. With ``fsync`` (the
    default) the output is flushed to disk before this returns, so a job
    that records "converted" can trust the file after a crash.
    """
    out_fmt = qemu_format(dst_fmt)
    opts = dict(options or {})
    if out_fmt == "vpc":
        opts.setdefault("force_size", True)
    args = ["convert", "-f", qemu_format(src_fmt), "-O", out_fmt, *_options(opts)]
    if compress:
        args.append("-c")
    if progress is not None:
        args.append("-p")
    _run([*args, _path(src), _path(dst)], limits, progress=progress)
    if fsync:
        fd = os.open(_path(dst), os.O_RDONLY | os.O_CLOEXEC)
        try:
            os.fsync(fd)
        finally:
            os.close(fd)
    if progress is not None:
        progress(100.0)


def compare(
    a: str | os.PathLike[str],
    fmt_a: str,
    b: str | os.PathLike[str],
    fmt_b: str,
    *,
    strict: bool = False,
    limits: Limits = CONVERT_LIMITS,
) -> bool:
    """True when the two images have the same guest-visible content.

    Without ``strict`` a size difference is allowed if the extra part of
    the larger image reads as zeros (qemu-img compare's rule).
    """
    args = ["compare", "-f", qemu_format(fmt_a), "-F", qemu_format(fmt_b)]
    if strict:
        args.append("-s")
    proc = _run([*args, _path(a), _path(b)], limits, ok_codes=(0, 1))
    return proc.returncode == 0


def create(
    path: str | os.PathLike[str],
    fmt: str,
    size: int | None = None,
    backing: str | os.PathLike[str] | None = None,
    backing_fmt: str | None = None,
    *,
    options: Mapping[str, Any] | None = None,
    limits: Limits = INFO_LIMITS,
) -> None:
    """Create an image of ``size`` bytes, or an overlay over ``backing``.

    A backing file needs an explicit ``backing_fmt`` (never probed); with a
    backing file ``size`` may be omitted (it defaults to the backing size).
    """
    args = ["create", "-q", "-f", qemu_format(fmt), *_options(options)]
    if backing is not None:
        if not backing_fmt:
            raise ValueError("a backing file needs an explicit backing_fmt")
        args += ["-b", _path(backing), "-F", qemu_format(backing_fmt)]
    elif size is None:
        raise ValueError("size is required without a backing file")
    args.append(_path(path))
    if size is not None:
        if size < 0:
            raise ValueError(f"negative image size {size}")
        args.append(str(int(size)))
    _run(args, limits)


def resize(
    path: str | os.PathLike[str],
    fmt: str,
    size: int,
    *,
    limits: Limits = INFO_LIMITS,
) -> None:
    """Grow the image to ``size`` bytes (``qemu-img resize -f FMT``); shrinking is refused here."""
    if size < 0:
        raise ValueError(f"negative image size {size}")
    _run(["resize", "-q", "-f", qemu_format(fmt), _path(path), str(int(size))], limits)
