"""Many processes, one index (issue 9), with real processes: ``qa serve`` beside ``qa ingest`` and
``qa remove``; two ``qa ingest`` at once; a writer SIGKILLed while it holds the lock; a reader's
generation kept while it lives and freed once it is dead."""

from __future__ import annotations

import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import httpx
import pytest

from qa import Assistant
from qa.index import Index
from qa.index.lock import WriterLock
from tests.conftest import PARALLEL, ROOT
from tests.serving import serve_process

TIMEOUT = 180  # a safety net for a hung child, not a measurement


def env(**extra: str) -> dict[str, str]:
    path = os.pathsep.join([str(ROOT), os.environ.get("PYTHONPATH", "")])  # keeps the network guard's
    return {**os.environ, "PYTHONPATH": path, **extra}


def qa(*args: str, check: bool = True, **extra: str) -> subprocess.CompletedProcess:
    done = subprocess.run([sys.executable, "-m", "qa.cli", *args], cwd=ROOT, env=env(**extra), text=True,
                          capture_output=True, timeout=TIMEOUT)
    if check:
        assert done.returncode == 0, done.stderr[-3000:]
    return done


def start_qa(*args: str, **extra: str) -> subprocess.Popen:
    return subprocess.Popen([sys.executable, "-m", "qa.cli", *args], cwd=ROOT, env=env(**extra), text=True,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE)


def documents(folder: Path) -> set[str]:
    """The file names of the documents in the folder's live generation, read afresh."""
    return {Path(d["path"]).name for d in Index.open(folder, verify=False).snapshot.documents}


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


@pytest.fixture(scope="module")
def base(tmp_path_factory) -> Path:
    """An index of two documents, built once; tests work on copies."""
    folder = tmp_path_factory.mktemp("base")
    for name in ("library", "bridge", "festival"):
        shutil.copy(PARALLEL / "en" / f"{name}.txt", folder / f"{name}.txt")
    Assistant.build([folder], folder / "index")
    return folder / "index"


def doc_id(folder: Path, name: str) -> str:
    return next(d["id"] for d in Index.open(folder, verify=False).snapshot.documents if d["path"].endswith(name))


def copy(base: Path, tmp_path: Path) -> Path:
    shutil.copytree(base, tmp_path / "index", ignore=shutil.ignore_patterns("leases", "writer.*"))
    return tmp_path / "index"


def test_a_second_writer_gives_up_after_its_timeout_with_a_message(base, tmp_path):
    index = copy(base, tmp_path)
    with WriterLock(index).hold():
        done = qa("remove", doc_id(index, "library.txt"), "--index", str(index), check=False,
                  QA_WRITER_TIMEOUT="0.5")
    assert done.returncode == 1
    assert f"waiting for pid {os.getpid()}" in done.stderr
    assert f"being written by pid {os.getpid()}" in done.stderr and "QA_WRITER_TIMEOUT" in done.stderr
    assert "Traceback" not in done.stderr
    assert documents(index) == {"library.txt", "bridge.txt", "festival.txt"}


KILLED_WRITER = r"""
import os, signal, sys
from qa import Assistant

def hook(event, args):  # SIGKILL while the lock is held: writing the new generation's manifest
    if event == "open" and ".staging-gen-" in str(args[0]) and str(args[0]).endswith("manifest.json"):
        print("KILLED", flush=True)
        os.kill(os.getpid(), signal.SIGKILL)

a = Assistant.open(sys.argv[1])
sys.addaudithook(hook)
a.remove(sys.argv[2])
"""


def test_a_writer_killed_holding_the_lock_frees_it_and_leaves_the_index_intact(base, tmp_path):
    index = copy(base, tmp_path)
    child = subprocess.run([sys.executable, "-c", KILLED_WRITER, str(index), doc_id(index, "library.txt")],
                           cwd=ROOT, env=env(QA_MERGE="off"), text=True, capture_output=True, timeout=TIMEOUT)
    assert child.returncode == -signal.SIGKILL and "KILLED" in child.stdout, child.stderr[-3000:]
    with WriterLock(index).hold(timeout=0):  # free at once: the kernel dropped the dead holder's lock
        pass
    assert documents(index) == {"library.txt", "bridge.txt", "festival.txt"}
    Index.open(index, verify=True)  # every checksum holds
    qa("remove", doc_id(index, "bridge.txt"), "--index", str(index))  # and the next writer goes on
    assert documents(index) == {"library.txt", "festival.txt"}


KILLED_MERGE = r"""
import os, signal, sys
from qa.index import Index

def hook(event, args):  # SIGKILL while a merge commits: its segment written, its generation half written
    if event == "open" and ".staging-gen-" in str(args[0]) and str(args[0]).endswith("manifest.json"):
        print("KILLED", flush=True)
        os.kill(os.getpid(), signal.SIGKILL)

index = Index.open(sys.argv[1])
sys.addaudithook(hook)
print("MERGED", index.merge(), flush=True)
"""


def test_a_merge_killed_while_it_commits_leaves_the_index_as_the_last_save_had_it(base, tmp_path, monkeypatch):
    monkeypatch.setenv("QA_MERGE", "off")  # the merge runs in the child only
    index = copy(base, tmp_path)
    Assistant.open(index).remove(doc_id(index, "library.txt"))  # a third of the rows removed: a merge is due
    before = json.loads((index / (index / "CURRENT").read_text() / "manifest.json").read_text())["segments"]
    child = subprocess.run([sys.executable, "-c", KILLED_MERGE, str(index)], cwd=ROOT, env=env(), text=True,
                           capture_output=True, timeout=TIMEOUT)
    assert child.returncode == -signal.SIGKILL and "KILLED" in child.stdout, (child.stdout, child.stderr[-3000:])
    orphans = {p.name for p in (index / "segments").iterdir()} - {s["name"] for s in before}
    assert orphans  # the merged segment was written (and named), its generation never went live
    assert documents(index) == {"bridge.txt", "festival.txt"}
    Index.open(index, verify=True)  # every checksum holds
    after = json.loads((index / (index / "CURRENT").read_text() / "manifest.json").read_text())["segments"]
    assert after == before
    qa("remove", doc_id(index, "bridge.txt"), "--index", str(index))  # the next writer goes on and clears up
    assert documents(index) == {"festival.txt"} and not orphans & {p.name for p in (index / "segments").iterdir()}


READER = r"""
import sys, time
from qa.index import Index
snap = Index.open(sys.argv[1]).snapshot
print(snap.folder.name, flush=True)
time.sleep(600)
"""


def test_a_live_readers_generation_is_kept_and_a_dead_ones_is_not(base, tmp_path, monkeypatch):
    monkeypatch.setenv("QA_MERGE", "off")  # only the removals below write generations
    index = copy(base, tmp_path)
    reader = subprocess.Popen([sys.executable, "-c", READER, str(index)], cwd=ROOT, env=env(), text=True,
                              stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    a = Assistant.open(index)
    try:
        held = reader.stdout.readline().strip()
        assert held.startswith("gen-"), reader.stderr.read()[-3000:]
        a.remove(doc_id(index, "library.txt"))
        a.remove(doc_id(index, "bridge.txt"))
        assert (index / held).is_dir()
        segments = json.loads((index / held / "manifest.json").read_text())["segments"]
        assert all((index / "segments" / s["name"] / "vectors.npy").exists() for s in segments)
    finally:
        reader.kill()
        reader.wait()
    a.remove(doc_id(index, "festival.txt"))  # the dead reader's lease pins nothing any more
    assert not (index / held).exists() and not list((index / "leases").glob(f"{reader.pid}-*"))
    # Left: the live generation and the one this process's previous snapshot still leased.
    assert len(list(index.glob("gen-*"))) <= 2
