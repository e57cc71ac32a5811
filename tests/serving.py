"""Serving helpers for tests: a real uvicorn server on a free loopback port, a seed index built once per
process, and the upload/job calls of the HTTP API. Fixtures over them (``api_assistant``, ``api_base``,
``api_client``) live in conftest.py."""

from __future__ import annotations

import atexit
import contextlib
import os
import shutil
import socket
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

import httpx

from tests.conftest import ROOT, SEEDS

TOKEN = "s3cret-token"
MAX_UPLOAD = 200_000


@contextlib.contextmanager
def running_server(app):
    """Serve ``app`` with uvicorn in a thread on a free loopback port; yields the base URL."""
    import uvicorn

    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))
    port = sock.getsockname()[1]
    server = uvicorn.Server(uvicorn.Config(app, log_level="warning", lifespan="on", timeout_graceful_shutdown=2))
    thread = threading.Thread(target=server.run, kwargs={"sockets": [sock]}, daemon=True)
    thread.start()
    deadline = time.monotonic() + 30
    while not server.started:
        assert thread.is_alive() and time.monotonic() < deadline, "the server did not start"
        time.sleep(0.05)
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        server.should_exit = True
        thread.join(15)
        sock.close()


_PRISTINE: list[Path] = []  # the seed index built once per test process


@contextlib.contextmanager
def library_server(library, max_upload_bytes: int = 200_000):
    """A real server over ``library``'s assistant and an HTTP client on it."""
    from ui.server import create_app

    with running_server(create_app(library.assistant, max_upload_bytes=max_upload_bytes)) as url, \
            httpx.Client(base_url=url, timeout=60) as c:
        yield c


def seed_index(folder: Path):
    """An index of a copy of seeds/ at ``folder/index``: built once per process, then copied (embedding is
    the slow part); its documents' paths are those of the first build's seeds copy."""
    from qa import Assistant

    shutil.copytree(SEEDS, folder / "seeds")
    if not _PRISTINE:
        build = Path(tempfile.mkdtemp(prefix="qa-seed-index-"))
        atexit.register(shutil.rmtree, build, ignore_errors=True)
        shutil.copytree(SEEDS, build / "seeds")
        Assistant.build([build / "seeds"], build / "index")
        _PRISTINE.append(build / "index")
    shutil.copytree(_PRISTINE[0], folder / "index")
    return Assistant.open(folder / "index")


def upload(client, *files: tuple[str, bytes], wait: bool = True, **kw):
    """POST files to /api/documents; with ``wait`` the response is the finished job (200), else 202 at once."""
    return client.post("/api/documents", files=[("files", (n, data, "application/octet-stream")) for n, data in files],
                       params={"wait": "true"} if wait else {}, **kw)


def follow(client, job: dict, timeout: float = 120) -> dict:
    """Poll GET /api/jobs/{id} until the job has finished; returns it."""
    deadline = time.monotonic() + timeout
    while job["finished"] is None:
        assert time.monotonic() < deadline, job
        time.sleep(0.1)
        r = client.get(f"/api/jobs/{job['id']}")
        assert r.status_code == 200, r.text
        job = r.json()
    return job


def serve_process(index: Path, port: int, timeout: float = 180, **env: str) -> subprocess.Popen:
    """``qa serve`` over ``index`` in a process of its own on ``port``, once /api/health answers (stderr piped;
    a child that exits or does not answer within ``timeout`` fails the test with its output)."""
    path = os.pathsep.join([str(ROOT), os.environ.get("PYTHONPATH", "")])  # keeps the network guard's
    server = subprocess.Popen([sys.executable, "-m", "qa.cli", "serve", "--index", str(index), "--port", str(port)],
                              cwd=ROOT, env={**os.environ, "PYTHONPATH": path, **env}, text=True,
                              stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    deadline = time.monotonic() + timeout
    while True:
        with contextlib.suppress(httpx.TransportError):
            if httpx.get(f"http://127.0.0.1:{port}/api/health", timeout=5).status_code == 200:
                return server
        assert server.poll() is None and time.monotonic() < deadline, server.stderr.read()[-3000:]
        time.sleep(0.2)
