"""Outbound network guard for the test suite: only loopback (and Unix sockets) may be reached.

``install()`` wraps ``socket.socket.connect``/``connect_ex``/``sendto``, ``socket.create_connection``
and the name lookups (``getaddrinfo``, ``gethostbyname``...) so that any other address or any host
name but ``localhost`` raises ``NetworkBlocked`` and is appended to the log file named by
``$QA_NETGUARD_LOG``. A library that swallows the error is still caught: ``tests/conftest.py`` fails
the test during which the log grew. ``child_env()`` is the environment that installs the same
guard in Python subprocesses (through a ``sitecustomize`` on ``PYTHONPATH``).
"""

from __future__ import annotations

import contextlib
import ipaddress
import os
import socket
import threading
from collections.abc import Iterator
from pathlib import Path

LOG_ENV = "QA_NETGUARD_LOG"
_local = threading.local()
_installed = False


class NetworkBlocked(ConnectionRefusedError):
    """Raised for any attempt to reach a non-loopback address while the guard is on."""


def is_local_host(host) -> bool:
    if host is None:
        return True
    if isinstance(host, bytes):
        host = host.decode("idna", "replace")
    host = str(host).strip("[]").split("%", 1)[0].lower()
    if host in ("", "localhost", "localhost.localdomain", "ip6-localhost", "0.0.0.0", "::"):
        return True
    try:
        ip = ipaddress.ip_address(host)
    except ValueError:
        return False
    mapped = getattr(ip, "ipv4_mapped", None)
    return ip.is_loopback or (mapped is not None and mapped.is_loopback)


def _refuse(what: str) -> None:
    message = f"outbound network blocked by the test suite (only loopback is allowed): {what}"
    log = os.environ.get(LOG_ENV)
    if log and not getattr(_local, "expected", False):
        with open(log, "a", encoding="utf-8") as f:
            f.write(f"pid {os.getpid()}: {what}\n")
    raise NetworkBlocked(message)


def _check_address(family, address, what: str) -> None:
    inet = family in (socket.AF_INET, socket.AF_INET6) and isinstance(address, tuple)
    if inet and not is_local_host(address[0]):
        _refuse(f"{what} {address[0]}:{address[1]}")


@contextlib.contextmanager
def expected() -> Iterator[None]:
    """Attempts made in this block (this thread) still raise but are not logged as failures."""
    _local.expected = True
    try:
        yield
    finally:
        _local.expected = False


def install() -> None:
    global _installed
    if _installed:
        return
    _installed = True
    sock = socket.socket
    connect, connect_ex, sendto = sock.connect, sock.connect_ex, sock.sendto
    getaddrinfo, create_connection = socket.getaddrinfo, socket.create_connection
    by_name, by_name_ex = socket.gethostbyname, socket.gethostbyname_ex
    own_name = socket.gethostname()

    def lookup_ok(host) -> bool:
        return is_local_host(host) or host == own_name

    def guarded_connect(self, address):
        _check_address(self.family, address, "connect to")
        return connect(self, address)

    def guarded_connect_ex(self, address):
        _check_address(self.family, address, "connect to")
        return connect_ex(self, address)

    def guarded_sendto(self, data, *args):
        _check_address(self.family, args[-1], "send to")
        return sendto(self, data, *args)

    def guarded_getaddrinfo(host, *args, **kwargs):
        if not lookup_ok(host):
            _refuse(f"name lookup of {host!r}")
        return getaddrinfo(host, *args, **kwargs)

    def guarded_create_connection(address, *args, **kwargs):
        if not lookup_ok(address[0]):
            _refuse(f"connect to {address[0]}:{address[1]}")
        return create_connection(address, *args, **kwargs)

    def guarded_by_name(host):
        if not lookup_ok(host):
            _refuse(f"name lookup of {host!r}")
        return by_name(host)

    def guarded_by_name_ex(host):
        if not lookup_ok(host):
            _refuse(f"name lookup of {host!r}")
        return by_name_ex(host)

    sock.connect, sock.connect_ex, sock.sendto = guarded_connect, guarded_connect_ex, guarded_sendto
    socket.getaddrinfo, socket.create_connection = guarded_getaddrinfo, guarded_create_connection
    socket.gethostbyname, socket.gethostbyname_ex = guarded_by_name, guarded_by_name_ex


def child_env(folder: Path) -> dict[str, str]:
    """Environment variables under which Python subprocesses install the guard at start-up."""
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "sitecustomize.py").write_text(
        "import importlib.util as _u\n"
        f"_spec = _u.spec_from_file_location('qa_netguard', {str(Path(__file__).resolve())!r})\n"
        "_m = _u.module_from_spec(_spec)\n_spec.loader.exec_module(_m)\n_m.install()\n")
    path = os.environ.get("PYTHONPATH")
    return {"PYTHONPATH": str(folder) + (os.pathsep + path if path else "")}
