"""The per-instance TCP port proxy: the instance's public address and port → its QEMU ``hostfwd`` port.

Each VM's user-mode network forwards ``127.0.0.1:<free port>`` to the guest's port 22 (and the
operator's listed ports). The proxy listens on the instance's public address (in the loopback
range, e.g. 127.100.0.7) on the guest's port (22, or the non-root fallback port) and copies
bytes both ways. Every new connection first asks ``allow(source_ip, protocol, port)`` — the
security-group hook — so a rule change applies to the next connection with no restart; a
refused connection is closed at once.
"""

from __future__ import annotations

import contextlib
import ipaddress
import logging
import socket
import threading
from collections.abc import Callable

__all__ = ["Allow", "PortProxy", "ProxySet", "allow_all"]

log = logging.getLogger("localcvm.qemu.proxy")

Allow = Callable[[str, str, int], bool]


def allow_all(source_ip: str, protocol: str, port: int) -> bool:
    return True


class PortProxy:
    """One listening socket ``listen_ip:listen_port`` forwarding to ``127.0.0.1:target_port``.

    ``guest_port`` is the port the connection is for inside the guest (what ``allow`` sees).
    """

    def __init__(self, listen_ip: str, listen_port: int, target_port: int, guest_port: int, allow: Allow):
        if not ipaddress.ip_address(listen_ip).is_loopback:
            raise ValueError(f"the proxy listens on loopback addresses only, not {listen_ip}")
        self.listen_ip, self.listen_port, self.guest_port = listen_ip, listen_port, guest_port
        self.target_port = target_port
        self.allow = allow
        self._sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        self._sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            self._sock.bind((listen_ip, listen_port))
            self._sock.listen(64)
        except OSError:
            self._sock.close()
            raise
        self._closed = threading.Event()
        self._conns: set[socket.socket] = set()
        self._guard = threading.Lock()
        threading.Thread(target=self._accept_loop, name=f"proxy-{listen_ip}:{listen_port}", daemon=True).start()

    def _accept_loop(self) -> None:
        while not self._closed.is_set():
            try:
                client, addr = self._sock.accept()
            except OSError:
                return
            threading.Thread(target=self._handle, args=(client, addr[0]), daemon=True).start()

    def _handle(self, client: socket.socket, source_ip: str) -> None:
        try:
            allowed = bool(self.allow(source_ip, "TCP", self.guest_port))
        except Exception:  # a broken rule check denies, as a firewall fails closed
            log.exception("allow() failed for %s -> %s:%s", source_ip, self.listen_ip, self.guest_port)
            allowed = False
        if not allowed or self._closed.is_set():
            client.close()
            return
        try:
            upstream = socket.create_connection(("127.0.0.1", self.target_port), timeout=10)
            upstream.settimeout(None)
        except OSError:
            client.close()
            return
        with self._guard:
            self._conns.update((client, upstream))
        t = threading.Thread(target=_pump, args=(upstream, client), daemon=True)
        t.start()
        _pump(client, upstream)
        t.join()
        with self._guard:
            self._conns.difference_update((client, upstream))
        client.close()
        upstream.close()

    def close(self) -> None:
        self._closed.set()
        with contextlib.suppress(OSError):
            self._sock.shutdown(socket.SHUT_RDWR)
        self._sock.close()
        with self._guard:
            conns = list(self._conns)
        for c in conns:
            with contextlib.suppress(OSError):
                c.shutdown(socket.SHUT_RDWR)


def _pump(src: socket.socket, dst: socket.socket) -> None:
    try:
        while True:
            data = src.recv(65536)
            if not data:
                break
            dst.sendall(data)
    except OSError:
        pass
    with contextlib.suppress(OSError):
        dst.shutdown(socket.SHUT_WR)


class ProxySet:
    """The proxies of every VM, by instance id. ``allow`` is looked up per connection through
    ``allow_for(instance_id)``, so the hook can be replaced at any time (``set_allow``)."""

    def __init__(self):
        self._by_vm: dict[str, list[PortProxy]] = {}
        self._guard = threading.Lock()
        self._allow: Callable[[str, str, str, int], bool] | None = None

    def set_allow(self, hook: Callable[[str, str, str, int], bool] | None) -> None:
        """``hook(instance_id, source_ip, protocol, port) -> bool`` for every new connection (None: allow all)."""
        self._allow = hook

    def _allow_for(self, instance_id: str) -> Allow:
        def allow(source_ip: str, protocol: str, port: int) -> bool:
            hook = self._allow
            return True if hook is None else hook(instance_id, source_ip, protocol, port)
        return allow

    def open(self, instance_id: str, listen_ip: str, forwards: list[tuple[int, int, int]]) -> None:
        """(Re)open the VM's proxies: ``forwards`` = [(listen_port, target_port, guest_port)]."""
        self.close(instance_id)
        opened = []
        try:
            for listen_port, target, guest_port in forwards:
                opened.append(PortProxy(listen_ip, listen_port, target, guest_port, self._allow_for(instance_id)))
        except OSError as exc:
            for p in opened:
                p.close()
            raise OSError(f"cannot listen on {listen_ip}:{listen_port} for {instance_id}: {exc.strerror}") from exc
        with self._guard:
            self._by_vm[instance_id] = opened

    def close(self, instance_id: str) -> None:
        with self._guard:
            proxies = self._by_vm.pop(instance_id, [])
        for p in proxies:
            p.close()

    def close_all(self) -> None:
        with self._guard:
            ids = list(self._by_vm)
        for i in ids:
            self.close(i)
