"""The ray runner on a real two-node Ray cluster on the loopback (started once for this module): the same
index as a local ingest, shards staged as segments as they arrive and shown by one commit, a cancelled job
that leaves nothing, a killed worker retried."""

import contextlib
import json
import os
import secrets
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
import warnings
from pathlib import Path

import numpy as np
import pytest
from click.testing import CliRunner

from qa import Assistant
from qa.index import Index
from qa.ingest import get_runner
from qa.ingest.ray_runner import DOCS_PER_BATCH
from tests.conftest import PARALLEL, ROOT

RAY = Path(sys.executable).parent / "ray"


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture(scope="module")
def cluster():
    """A head and a worker node, one CPU each, token authentication on both; stopped after the module."""
    env = {**os.environ, "RAY_AUTH_MODE": "token", "RAY_AUTH_TOKEN": secrets.token_hex(16),
           "PYTHONPATH": str(ROOT), "RAY_USAGE_STATS_ENABLED": "0"}
    temp = tempfile.mkdtemp(prefix="qa-ray-", dir="/tmp")  # short: Ray's socket paths must fit 107 bytes
    port = _free_port()
    common = ["--num-cpus=1", "--node-ip-address=127.0.0.1", "--block"]
    head = subprocess.Popen([str(RAY), "start", "--head", f"--port={port}", "--include-dashboard=false",
                             f"--temp-dir={temp}", *common], env=env, start_new_session=True,
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    nodes = [head]
    saved = {k: os.environ.get(k) for k in ("RAY_AUTH_MODE", "RAY_AUTH_TOKEN")}
    os.environ.update({k: env[k] for k in saved})  # the driver's token, set before Ray loads
    import ray

    try:
        address = f"127.0.0.1:{port}"
        deadline = time.monotonic() + 120
        while True:  # the head answers once its GCS is up
            with socket.socket() as s:
                if s.connect_ex(("127.0.0.1", port)) == 0:
                    break
            assert head.poll() is None and time.monotonic() < deadline, "the Ray head did not start"
            time.sleep(0.5)
        nodes.append(subprocess.Popen([str(RAY), "start", f"--address={address}", *common], env=env,
                                      start_new_session=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL))
        ray.init(address=address, log_to_driver=False)
        while len([n for n in ray.nodes() if n["Alive"]]) < 2:
            assert time.monotonic() < deadline, "the Ray worker node did not join"
            time.sleep(0.5)
        yield address
    finally:
        ray.shutdown()
        for p in reversed(nodes):  # each node's processes are in its own session: stop that group only
            os.killpg(p.pid, signal.SIGTERM)
        for p in nodes:
            with contextlib.suppress(subprocess.TimeoutExpired):
                p.wait(3)
            with contextlib.suppress(ProcessLookupError):  # whatever of the group is left
                os.killpg(p.pid, signal.SIGKILL)
            p.wait()
        shutil.rmtree(temp, ignore_errors=True)
        for k, v in saved.items():
            os.environ.pop(k) if v is None else os.environ.__setitem__(k, v)


@pytest.fixture(scope="module")
def corpus(tmp_path_factory) -> Path:
    """Six English and six Arabic documents, an unreadable file and an empty one."""
    folder = tmp_path_factory.mktemp("ray-corpus")
    for lang in ("en", "ar"):
        for f in sorted((PARALLEL / lang).glob("*.txt")):
            (folder / f"{lang}-{f.name}").write_bytes(f.read_bytes())
    (folder / "broken.pdf").write_bytes(b"%PDF-1.4 this is not a pdf")
    (folder / "empty.txt").write_text("")
    return folder


@pytest.fixture(scope="module")
def local(corpus, tmp_path_factory) -> Assistant:
    a = Assistant.build([], tmp_path_factory.mktemp("local") / "index")
    a.add([corpus])
    return a


def _rows(a: Assistant) -> dict:
    snap = a.index.snapshot
    return {snap.chunks[i].id: (snap.chunks[i], np.asarray(snap.vectors[i]), np.asarray(snap.sentences_of(i)))
            for i in range(len(snap))}


def _same_index(ray_built: Assistant, local: Assistant) -> None:
    assert {d["id"] for d in ray_built.documents()} == {d["id"] for d in local.documents()}
    ours, theirs = _rows(ray_built), _rows(local)
    assert ours.keys() == theirs.keys() and len(ours) >= 12
    for cid, (chunk, vector, sentences) in ours.items():
        assert chunk == theirs[cid][0]
        assert np.allclose(vector, theirs[cid][1], atol=1e-6)
        assert np.allclose(sentences, theirs[cid][2], atol=1e-3)  # stored as fp16


def test_ray_ingest_gives_the_chunks_ids_and_vectors_of_a_local_ingest(cluster, corpus, local, tmp_path):
    a = Assistant.build([], tmp_path / "index")
    seen = []
    with warnings.catch_warnings(record=True) as caught:  # the pipeline is built in this thread
        warnings.simplefilter("always")
        report = a.add([corpus], progress=lambda done, total: seen.append((done, total)),
                       runner=get_runner("ray", address=cluster))
    from ray.util.annotations import RayDeprecationWarning

    assert not [str(w.message) for w in caught if issubclass(w.category, RayDeprecationWarning)]
    _same_index(a, local)
    assert sorted(Path(s.path).name for s in report.skipped) == ["broken.pdf", "empty.txt"]
    assert seen[0][0] == 0 and seen[-1][0] == seen[-1][1] == len(a.index.snapshot)  # progress shown
    assert a.ask("How long is the bridge?").citations
    assert a.add([corpus], runner=get_runner("ray", address=cluster)).unchanged  # nothing to do the second time


def _embed_workers() -> list[int]:
    pids = []
    for proc in Path("/proc").iterdir():
        if proc.name.isdigit():
            try:
                cmd = (proc / "cmdline").read_bytes().replace(b"\0", b" ")
            except OSError:
                continue
            if b"EmbedActor" in cmd:
                pids.append(int(proc.name))
    return pids


def test_a_worker_killed_mid_job_is_retried_and_the_job_completes(cluster, corpus, local, tmp_path):
    a = Assistant.build([], tmp_path / "index")
    killed = []

    def kill_the_workers(done, total):
        if done and not killed:  # after the first block: the other batches are in flight
            for pid in _embed_workers():
                os.kill(pid, signal.SIGKILL)
                killed.append(pid)

    a.add([corpus], progress=kill_the_workers, runner=get_runner("ray", address=cluster))
    assert killed
    _same_index(a, local)


def _record_stages(monkeypatch) -> list[tuple[int, str]]:
    """(documents, the live generation then) of every segment staged: what the driver held each time."""
    staged, stage = [], Index.stage

    def recording(index, additions):
        staged.append((len(additions), index.snapshot.generation))
        return stage(index, additions)

    monkeypatch.setattr(Index, "stage", recording)
    return staged


def test_shards_become_segments_as_they_arrive_and_one_commit_shows_them_all(cluster, corpus, local, tmp_path,
                                                                              monkeypatch):
    monkeypatch.setenv("QA_MERGE", "off")  # count the segments the job wrote, not a merge of them
    a = Assistant.build([], tmp_path / "index")
    first = a.index.snapshot.generation
    staged = _record_stages(monkeypatch)
    a.add([corpus], runner=get_runner("ray", address=cluster, segment_rows=1))
    # One segment per block as it arrived, never the whole job at once; none visible before the commit.
    assert len(staged) >= 3 and all(docs <= DOCS_PER_BATCH for docs, _ in staged), staged
    assert {gen for _, gen in staged} == {first}
    snap = a.index.snapshot
    assert len(snap.segments) == len(staged) and int(snap.generation.split("-")[1]) == int(first.split("-")[1]) + 1
    _same_index(a, local)
    theirs = local.index.snapshot
    assert [snap.chunk(i).id for i in range(len(snap))] == [theirs.chunk(i).id for i in range(len(theirs))]


def test_a_job_cancelled_mid_way_leaves_the_index_as_it_was(cluster, corpus, tmp_path):
    a = Assistant.build([], tmp_path / "index")
    a.add([corpus / "en-bridge.txt"])
    before = (a.index.snapshot.generation, [d["id"] for d in a.documents()], len(a.index.snapshot))
    segments = sorted(p.name for p in (a.index.folder / "segments").iterdir())
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(ROOT), os.environ.get("PYTHONPATH", "")])}
    # A driver of its own (tests/ray_cancel_driver.py): it shuts Ray down right after the job, on a busy machine.
    args = [cluster, str(corpus), str(a.index.folder)]
    driver = subprocess.run([sys.executable, "-m", "tests.ray_cancel_driver", *args], cwd=ROOT, env=env,
                            capture_output=True, text=True, timeout=600)
    lines = [line for line in driver.stdout.splitlines() if line.startswith("RESULT ")]
    assert lines, (driver.returncode, driver.stderr[-3000:])
    result = json.loads(lines[-1].removeprefix("RESULT "))
    assert result["outcome"] == "cancelled" and result["staged"], result  # it had written a segment ...
    assert not result["left"], result  # ... and Ray Data's threads had stopped
    # Known, not fixed: even with those threads gone, Ray's own teardown can still end the process after a
    # cancelled job (rc 1, "... after it is shutdown. The process will exit"; clean-clone CI, 2026-12-02).
    # Any other way of dying fails here.
    ray_exit = driver.returncode == 1 and "The process will exit" in driver.stderr
    assert (driver.returncode == 0 and "SHUT DOWN" in driver.stdout) or ray_exit, (driver.returncode,
                                                                                  driver.stderr[-3000:])
    reopened = Assistant.open(a.index.folder)
    for seen in (a, reopened):  # ... of which nothing is visible, and nothing is left behind
        assert (seen.index.snapshot.generation, [d["id"] for d in seen.documents()], len(seen.index.snapshot)) == before
    assert sorted(p.name for p in (a.index.folder / "segments").iterdir()) == segments
    assert not list(a.index.folder.glob(".ray-shards-*"))


def test_without_ray_the_runner_says_what_to_install(monkeypatch, tmp_path):
    from qa.cli import main

    monkeypatch.setitem(sys.modules, "ray", None)  # as if the [scale] extra were not installed
    with pytest.raises(ValueError, match=r"pip install 'qa-bilingual\[scale\]'"):
        get_runner("ray")
    result = CliRunner().invoke(main, ["ingest", str(PARALLEL / "en"), "--index", str(tmp_path / "i"),
                                       "--runner", "ray"])
    assert result.exit_code == 1 and "pip install 'qa-bilingual[scale]'" in result.output
    assert len(result.output.strip().splitlines()) == 1
