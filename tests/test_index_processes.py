"""Many processes, one index (issue 9), with real processes: ``qa serve`` beside ``qa ingest`` and
``qa remove``; two ``qa ingest`` at once. Writers that wait or die and readers that die:
test_index_processes_kills."""

from __future__ import annotations

import os
import shutil
import signal
import socket
import subprocess
import time
from pathlib import Path

import httpx
import pytest

from qa.index.lock import WriterLock
from tests.conftest import PARALLEL
from tests.processes import TIMEOUT, documents, qa, start_qa
from tests.serving import serve_process


@pytest.fixture()
def files(tmp_path) -> Path:
    folder = tmp_path / "files"
    folder.mkdir()
    for name, lang in (("library", "en"), ("bridge", "en"), ("festival", "en"), ("solar", "ar")):
        shutil.copy(PARALLEL / lang / f"{name}.txt", folder / f"{name}.txt")
    return folder


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def upload(client: httpx.Client, path: Path) -> None:
    """Upload through the server and wait until it is indexed (a 200, or a 202 job that finishes)."""
    r = client.post("/api/documents", files={"files": (path.name, path.read_bytes())})
    assert r.status_code in (200, 202), r.text
    if r.status_code == 202:
        job = r.json().get("job") or r.json()
        job_id = job.get("id") or job.get("job_id")
        deadline = time.monotonic() + TIMEOUT
        while time.monotonic() < deadline:
            state = client.get(f"/api/jobs/{job_id}").json()
            if state.get("state", state.get("status")) not in ("queued", "running", "pending"):
                assert state.get("state", state.get("status")) in ("done", "succeeded", "completed"), state
                return
            time.sleep(0.2)
        pytest.fail(f"upload job {job_id} did not finish")


def test_serve_beside_ingest_and_remove_from_another_process(files, tmp_path):
    index = tmp_path / "index"
    qa("ingest", str(files / "library.txt"), "--index", str(index))
    port = free_port()
    server = serve_process(index, port, TIMEOUT)
    try:
        with httpx.Client(base_url=f"http://127.0.0.1:{port}", timeout=60) as client:
            qa("ingest", str(files / "bridge.txt"), "--index", str(index))
            # The running server sees the other process's generation without a restart ...
            names = {Path(d["path"]).name for d in client.get("/api/documents").json()["documents"]}
            assert names == {"library.txt", "bridge.txt"}
            hits = client.post("/api/search", json={"question": "How long is the New River Bridge?", "k": 1})
            assert hits.json()["hits"][0]["chunk"]["path"].endswith("bridge.txt")
            # ... and its own writes go on from the newest generation (was: FileNotFoundError, HTTP 500).
            upload(client, files / "festival.txt")
            assert documents(index) == {"library.txt", "bridge.txt", "festival.txt"}
            bridge = next(d["id"] for d in client.get("/api/documents").json()["documents"]
                          if d["path"].endswith("bridge.txt"))
            qa("remove", bridge, "--index", str(index))
            library = next(d["id"] for d in client.get("/api/documents").json()["documents"]
                           if d["path"].endswith("library.txt"))
            # A removal through the server does not bring back what another process removed.
            assert client.delete(f"/api/documents/{library}").status_code == 200
            assert documents(index) == {"festival.txt"}
            names = {Path(d["path"]).name for d in client.get("/api/documents").json()["documents"]}
            assert names == {"festival.txt"}
    finally:
        server.send_signal(signal.SIGINT)
        try:
            _, err = server.communicate(timeout=30)
        except subprocess.TimeoutExpired:
            server.kill()
            _, err = server.communicate()
    assert "Traceback" not in err, err[-3000:]
    assert not (index / "gen-000002").exists()  # the generation the server started on was pruned


def test_two_ingests_at_once_on_a_new_folder_both_land(files, tmp_path):
    index = tmp_path / "index"
    holder = WriterLock(index)
    with holder.hold():  # both have to wait for this process, then for each other
        procs = [start_qa("ingest", str(files / name), "--index", str(index)) for name in ("bridge.txt", "solar.txt")]
        waiting = [p.stderr.readline() for p in procs]
    for line in waiting:
        assert f"waiting for pid {os.getpid()}" in line, line
    for p in procs:
        out, err = p.communicate(timeout=TIMEOUT)
        assert p.returncode == 0, err[-3000:]
        assert "1 added" in out
    assert documents(index) == {"bridge.txt", "solar.txt"}
