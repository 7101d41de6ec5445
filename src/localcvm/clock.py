"""The one clock of a server: what time the billing meter, scheduled snapshots and expiries read.

Normally it is the system's UTC time. With the test clock enabled (``--test-clock``,
``LOCALCVM_TEST_CLOCK=1``; off by default) an operator can move it forward
(``localcvm clock advance 3h``, or ``POST /_localcvm/clock`` signed with a root key), so a
client can test a month of billing or a week of scheduled snapshots in seconds. The offset is
kept in ``<data-dir>/clock.json`` (written whole, atomically): a restarted or killed server
reads the same time again, and every process sharing the data dir agrees on it.
The clock never moves backwards.
"""

from __future__ import annotations

import json
import os
import threading
from datetime import datetime, timedelta, timezone
from pathlib import Path

__all__ = ["Clock", "ClockDisabled", "parse_duration"]

_UNITS = {"s": 1, "m": 60, "h": 3600, "d": 86400, "w": 7 * 86400}


class ClockDisabled(RuntimeError):
    """The test clock is off: the time cannot be moved."""


def parse_duration(text: str) -> float:
    """``"90s"``, ``"15m"``, ``"3h"``, ``"2d"``, ``"1w"`` (or plain seconds) → seconds (> 0)."""
    text = (text or "").strip().lower()
    unit = _UNITS.get(text[-1:]) if text else None
    number = text[:-1] if unit else text
    try:
        value = float(number) * (unit or 1)
    except ValueError:
        raise ValueError(f"`{text}` is not a duration (e.g. 90s, 15m, 3h, 2d, 1w)") from None
    if not value > 0 or value > 100 * 365 * 86400:
        raise ValueError(f"`{text}`: a duration must be positive and at most 100 years")
    return value


class Clock:
    def __init__(self, data_dir: Path, *, movable: bool = False):
        self.movable = movable
        self.path = Path(data_dir) / "clock.json"
        self._lock = threading.Lock()
        self._stamp: tuple[int, int] | None = None
        self._offset = 0.0

    def now(self) -> datetime:
        """The current time, naive UTC (as the database stores times)."""
        return datetime.now(timezone.utc).replace(tzinfo=None) + timedelta(seconds=self.offset())

    def offset(self) -> float:
        """Seconds the clock is ahead of the system's time (0 unless the test clock moved it)."""
        if not self.movable:
            return 0.0
        try:
            st = self.path.stat()
        except FileNotFoundError:
            return 0.0
        stamp = (st.st_mtime_ns, st.st_size)
        with self._lock:
            if stamp != self._stamp:
                try:
                    self._offset = float(json.loads(self.path.read_text())["offset_seconds"])
                except (OSError, ValueError, KeyError, TypeError):
                    pass  # a torn read cannot happen (atomic rename); keep the last good value
                self._stamp = stamp
            return self._offset

    def advance(self, seconds: float) -> datetime:
        """Move the clock forward by ``seconds`` (> 0); returns the new time."""
        if not self.movable:
            raise ClockDisabled("The test clock is off; start the server with --test-clock (LOCALCVM_TEST_CLOCK=1).")
        if not seconds > 0:
            raise ValueError("the clock only moves forward")
        with self._lock:
            offset = self.offset_unlocked() + seconds
            tmp = self.path.with_name(f".clock.{os.getpid()}.{threading.get_ident()}.tmp")
            with open(tmp, "w") as fh:
                json.dump({"offset_seconds": offset}, fh)
                fh.flush()
                os.fsync(fh.fileno())
            os.replace(tmp, self.path)
            self._stamp = None
        return self.now()

    def offset_unlocked(self) -> float:
        try:
            return float(json.loads(self.path.read_text())["offset_seconds"])
        except (OSError, ValueError, KeyError, TypeError):
            return 0.0
