"""Many processes, one index (issue 9): a second writer that gives up after its timeout; a writer, and a
merge, SIGKILLed while they hold the lock; a reader's generation kept while it lives and freed once it
is dead. Real child processes; each test works on a copy of one small index."""

from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import sys
from pathlib import Path

import pytest

from qa import Assistant
from qa.index import Index
from qa.index.lock import WriterLock
from tests.conftest import PARALLEL, ROOT
from tests.processes import TIMEOUT, documents, env, qa


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
