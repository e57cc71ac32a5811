"""Security: the suite itself runs with outbound network blocked (loopback only), subprocesses too."""

from __future__ import annotations

import os
import socket
import subprocess
import sys

import httpx
import pytest

import ui  # noqa: F401 - first: sets the environment that keeps Gradio from phoning home
from tests import netguard

# --- the suite itself runs with outbound network blocked ---


def test_outbound_network_is_blocked_and_loopback_is_not():
    with netguard.expected():
        with pytest.raises(netguard.NetworkBlocked, match="203.0.113.1"):
            socket.create_connection(("203.0.113.1", 80), timeout=2)
        for call in ("connect", "connect_ex"):
            with socket.socket() as s, pytest.raises(netguard.NetworkBlocked):
                getattr(s, call)(("203.0.113.1", 443))
        with socket.socket(socket.AF_INET6) as s, pytest.raises(netguard.NetworkBlocked):
            s.connect(("2001:db8::1", 443))
        with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s, pytest.raises(netguard.NetworkBlocked):
            s.sendto(b"x", ("198.51.100.7", 53))
        for lookup in (socket.getaddrinfo, socket.gethostbyname):
            with pytest.raises(netguard.NetworkBlocked, match="huggingface.co"):
                lookup("huggingface.co", *([443] if lookup is socket.getaddrinfo else []))
        with pytest.raises(httpx.ConnectError, match="outbound network blocked"):
            httpx.get("http://203.0.113.1/", timeout=2)
    with socket.socket() as server:  # loopback is untouched: the API and browser tests need it
        server.bind(("127.0.0.1", 0))
        server.listen()
        for host in ("127.0.0.1", "localhost"):
            socket.create_connection((host, server.getsockname()[1]), timeout=5).close()
    assert os.environ["HF_HUB_OFFLINE"] == "1" and os.environ["GRADIO_ANALYTICS_ENABLED"] == "False"
    from huggingface_hub import constants

    assert constants.HF_HUB_OFFLINE


def test_python_subprocesses_are_guarded_and_swallowed_attempts_are_logged(tmp_path):
    log = tmp_path / "blocked.log"
    code = ("import socket\ntry:\n    socket.create_connection(('203.0.113.1', 80), timeout=2)\n"
            "except OSError as e:\n    print(type(e).__name__)\n")  # a library that swallows the error
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60,
                          env={**os.environ, netguard.LOG_ENV: str(log)})
    assert done.returncode == 0 and done.stdout.strip() == "NetworkBlocked", done.stderr
    assert "203.0.113.1:80" in log.read_text()  # the conftest check fails the test that did this
