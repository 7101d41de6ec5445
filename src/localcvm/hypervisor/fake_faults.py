"""Fault injection of the fake driver: ``inject(method, fault)`` makes the next call of a driver
method fail (or wait, or count) at a point where it has done part of its work, so tests exercise the
real clean-up paths."""

from __future__ import annotations

import collections
import threading
from collections.abc import Callable
from typing import Any

__all__ = ["FAULTABLE", "FaultInjection"]

#: The methods ``inject`` can make fail.
FAULTABLE = frozenset({
    "spawn", "power_on", "power_off", "reboot", "destroy", "info", "list", "console_log",
    "attach_disk", "detach_disk", "frozen_disk", "resize_disk",
})


class FaultInjection:
    """The ``inject``/``clear_faults`` half of ``FakeDriver``; its methods call ``fire_fault``."""

    def init_faults(self) -> None:
        self._faults: dict[str, collections.deque] = {}
        self._faults_guard = threading.Lock()


    def inject(self, method: str, fault: BaseException | type[BaseException] | Callable[..., Any],
               times: int | None = 1) -> None:
        """Make the next ``times`` calls of ``method`` fail (``times=None``: every call).

        ``fault`` is an exception instance (raised as is), an exception class
        (raised with the message "injected fault in METHOD"), or any other
        callable, which is called with the method's arguments: it may raise,
        or return to let the call go on (to add a delay, or to count calls).
        Injections for one method queue up in order.

        A fault fires once the call's arguments are checked and the VM is
        found, before anything changes. One method fires later, so that a
        fault runs the same clean-up as a real mid-operation failure:
        ``spawn`` after its disks are checked and its console log is
        started (a failed spawn must leave neither behind).
        """
        if method not in FAULTABLE:
            raise ValueError(f"cannot inject into {method!r}; choose one of {sorted(FAULTABLE)}")
        if times is not None and (not isinstance(times, int) or times < 1):
            raise ValueError(f"times must be a positive integer or None, not {times!r}")
        if not callable(fault) and not isinstance(fault, BaseException):
            raise TypeError("fault must be an exception or a callable")
        with self._faults_guard:
            self._faults.setdefault(method, collections.deque()).append([fault, times])

    def clear_faults(self, method: str | None = None) -> None:
        """Forget the injected faults (of ``method``, or all)."""
        with self._faults_guard:
            if method is None:
                self._faults.clear()
            else:
                self._faults.pop(method, None)

    def _fault(self, method: str, *args: Any) -> None:
        """Fire the next injected fault of ``method``, if any."""
        with self._faults_guard:
            queue = self._faults.get(method)
            if not queue:
                return
            entry = queue[0]
            fault = entry[0]
            if entry[1] is not None:
                entry[1] -= 1
                if entry[1] == 0:
                    queue.popleft()
        if isinstance(fault, BaseException):
            raise fault
        if isinstance(fault, type) and issubclass(fault, BaseException):
            raise fault(f"injected fault in {method}")
        fault(*args)
