"""``qa serve`` for the benchmarks that measure a running server: a free loopback port, a server started
from a given tree over an index (a temporary one built from seeds/ when none), and its memory."""

from __future__ import annotations

import contextlib
import os
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import httpx

ROOT = Path(__file__).resolve().parent.parent


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def rss_mb(pid: int | None, field: str = "VmRSS") -> float | None:
    """A process's ``field`` of /proc/PID/status (resident memory by default) in MB; None if unknown."""
    if pid is None:
        return None
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith(field + ":"):
                return int(line.split()[1]) / 1024
    except OSError:
        return None
    return None


@contextlib.contextmanager
def own_server(index: Path | None, root: Path = ROOT):
    """``qa serve`` from the code in ``root`` on a free loopback port over ``index`` (a new temp index
    from seeds/ when None)."""
    with tempfile.TemporaryDirectory(prefix="qa-load-") as tmp:
        index = index or Path(tmp) / "index"
        port = free_port()
        log = open(Path(tmp) / "server.log", "w+")  # noqa: SIM115 - read back on failure
        proc = subprocess.Popen([sys.executable, "-m", "qa.cli", "serve", "--index", str(index), "--port", str(port)],
                                cwd=root, env={**os.environ, "QA_TOKEN": "", "PYTHONPATH": str(root)},
                                stdout=log, stderr=subprocess.STDOUT)
        url = f"http://127.0.0.1:{port}"
        try:
            deadline = time.monotonic() + 300
            while True:
                if proc.poll() is not None:
                    log.seek(0)
                    raise SystemExit(f"qa serve exited: {log.read()[-3000:]}")
                with contextlib.suppress(httpx.HTTPError):
                    if httpx.get(url + "/api/health", timeout=5).status_code == 200:
                        break
                if time.monotonic() > deadline:
                    raise SystemExit("qa serve did not start within 300 s")
                time.sleep(0.5)
            yield url, proc.pid
        finally:
            proc.terminate()
            try:
                proc.wait(30)
            except subprocess.TimeoutExpired:
                proc.kill()
            log.close()
