"""Crash safety: an ingest SIGKILLed at any moment leaves an index that opens, holds exactly the documents
of before or of after that ingest, and passes an integrity check; a damaged file is detected on open.

Two kinds of kill, each in a fresh copy of the same index, by a subprocess that adds a folder of small
documents (``Assistant.build``):
- at a random moment: 20 delays (fixed seed) spread over the whole measured duration of the ingest;
- at a chosen step: just before the N-th change the process makes inside the index folder (opening a
  file for writing, mkdir, rename, replace, remove; seen through ``sys.addaudithook``), for steps spread
  over the whole save, the flip of ``CURRENT`` and the pruning of the old generation included.
After each kill the index also has to take the same ingest again (recovery). The child is
tests/crash_child.py.
"""

from __future__ import annotations

import json
import os
import random
import shutil
import signal
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from qa import Assistant
from qa.index import Index
from qa.index.store import CURRENT, MANIFEST, StoreError
from tests.conftest import PARALLEL, ROOT

RUN_TIMEOUT = 120  # a safety net for a hung child, not a measurement
TIMED_KILLS = 20
STEP_KILLS = 16
SEED = 20240906

@pytest.fixture(scope="module")
def corpus(tmp_path_factory):
    """A base index of two documents, and a folder of three more for the ingest that gets killed."""
    root = tmp_path_factory.mktemp("crash")
    base, new = root / "base-docs", root / "new-docs"
    base.mkdir()
    new.mkdir()
    shutil.copy(PARALLEL / "en" / "library.txt", base / "library.txt")
    shutil.copy(PARALLEL / "ar" / "solar.txt", base / "solar.txt")
    shutil.copy(PARALLEL / "en" / "bridge.txt", new / "bridge.txt")
    shutil.copy(PARALLEL / "ar" / "hospital.txt", new / "hospital.txt")
    (new / "festival.md").write_text((PARALLEL / "en" / "festival.txt").read_text() + "\n" +
                                     (PARALLEL / "ar" / "festival.txt").read_text())
    index = root / "base-index"
    before = {d["id"] for d in Assistant.build([base], index).documents()}
    texts = {str(p.resolve()): p.read_text("utf-8") for p in [*base.iterdir(), *new.iterdir()]}
    return {"root": root, "index": index, "new": new, "before": before, "texts": texts}


def copy_index(corpus, name: str) -> Path:
    target = corpus["root"] / "runs" / name
    shutil.copytree(corpus["index"], target)
    return target


def start(corpus, index: Path, mode: str) -> subprocess.Popen:
    path = os.pathsep.join([str(ROOT), os.environ.get("PYTHONPATH", "")])  # keeps the network guard's
    proc = subprocess.Popen([sys.executable, "-m", "tests.crash_child", str(index), str(corpus["new"]), mode], cwd=ROOT,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                            env={**os.environ, "PYTHONPATH": path})
    line = proc.stdout.readline()
    assert line.strip() == "READY", line + proc.stderr.read()
    return proc


def finish(proc: subprocess.Popen) -> tuple[int, str]:
    try:
        out, err = proc.communicate(timeout=RUN_TIMEOUT)
    except subprocess.TimeoutExpired:
        proc.kill()
        out, err = proc.communicate()
        pytest.fail(f"the ingest did not finish: {err[-2000:]}")
    if proc.returncode not in (0, -signal.SIGKILL):
        pytest.fail(f"the ingest failed with {proc.returncode}: {err[-3000:]}")
    return proc.returncode, out


def check_integrity(folder: Path, texts: dict[str, str]) -> set[str]:
    """Open with checksum verification, check every array against the chunks; returns the document ids."""
    snap = Index.open(folder).snapshot
    n = len(snap)
    assert snap.manifest["chunks"] == n and snap.vectors.shape == (n, snap.manifest["dim"])
    assert len(snap.langs) == len(snap.doc_rows) == n and snap.bm25.size == n
    for seg in snap.segments:  # each segment's files agree with its rows
        assert len(seg.langs) == len(seg.doc_rows) == len(seg.chunks) == seg.rows == len(seg.vectors)
        assert len(seg.sentence_offsets) == seg.rows + 1 and len(seg.sentence_vectors) == seg.sentence_offsets[-1]
        assert seg.bm25.size == seg.rows and sum(len(r) for _, r in seg.parts.values()) >= seg.rows
        assert sum(ix.ntotal for ix, r in seg.parts.values()) == sum(len(r) for _, r in seg.parts.values())
    rows = np.sort(np.concatenate([snap.live_rows(lang) for lang in snap.languages])) if n else np.zeros(0)
    assert np.array_equal(rows, np.arange(n))
    starts, ends = snap.sentence_bounds(np.arange(n))
    per_doc: dict[str, int] = {}
    for row in range(n):
        chunk = snap.chunks[row]
        doc = snap.documents[snap.doc_rows[row]]
        assert chunk.doc_id == doc["id"] and chunk.lang == snap.langs[row]
        assert chunk.text == texts[doc["path"]][chunk.start : chunk.end]
        assert len(chunk.sentences) == ends[row] - starts[row] == len(snap.sentences_of(row))
        per_doc[doc["id"]] = per_doc.get(doc["id"], 0) + 1
    assert per_doc == {d["id"]: d["chunks"] for d in snap.documents}
    return {d["id"] for d in snap.documents}


@pytest.fixture(scope="module")
def full_run(corpus):
    """One uninterrupted ingest: the state after, the change steps it makes, and how long it takes."""
    import time

    index = copy_index(corpus, "full")
    proc = start(corpus, index, "step:0")
    started = time.monotonic()
    code, out = finish(proc)
    duration = time.monotonic() - started
    assert code == 0
    steps = json.loads(out.split("DONE", 1)[1])
    after = check_integrity(index, corpus["texts"])
    assert corpus["before"] < after and len(after) == len(corpus["before"]) + 3
    return {"after": after, "steps": steps, "duration": duration}


def check_killed(corpus, full_run, index: Path, recover: bool) -> str:
    ids = check_integrity(index, corpus["texts"])
    assert ids in (corpus["before"], full_run["after"]), "a state that is neither before nor after the ingest"
    state = "after" if ids == full_run["after"] else "before"
    if recover:  # the next ingest works over whatever the crash left behind
        Assistant.build([corpus["new"]], index)
        assert check_integrity(index, corpus["texts"]) == full_run["after"]
        assert not [p for p in index.iterdir() if p.name.startswith(".staging")]
    return state


def test_sigkill_at_random_moments(corpus, full_run):
    import time

    rng = random.Random(SEED)
    span = full_run["duration"] * 1.1
    delays = [span * (i + rng.random()) / TIMED_KILLS for i in range(TIMED_KILLS)]  # one per slice of time
    states = []
    for i, delay in enumerate(delays):
        index = copy_index(corpus, f"timed-{i}")
        proc = start(corpus, index, "run")
        time.sleep(delay)
        proc.send_signal(signal.SIGKILL)
        finish(proc)
        states.append(check_killed(corpus, full_run, index, recover=i % 5 == 0))
    print(f"\nkilled at {[round(d, 2) for d in delays]} s of {full_run['duration']:.2f} s: {states}")


def test_sigkill_at_every_kind_of_step_of_the_save(corpus, full_run):
    steps = full_run["steps"]
    # os.replace reports itself as "os.rename" to audit hooks.
    flip = next(i for i, s in enumerate(steps, 1) if s in (f"os.rename {CURRENT}.tmp", f"os.replace {CURRENT}.tmp"))
    picks = sorted({*np.linspace(1, len(steps), STEP_KILLS).round().astype(int).tolist(), flip - 1, flip, flip + 1}
                   - {len(steps) + 1})
    states = {}
    for n in picks:
        index = copy_index(corpus, f"step-{n}")
        code, _ = finish(start(corpus, index, f"step:{n}"))
        assert code == -signal.SIGKILL
        states[n] = check_killed(corpus, full_run, index, recover=True)
    # Deterministic: everything up to the flip of CURRENT is "before", everything after it is "after".
    assert states == {n: "before" if n <= flip else "after" for n in picks}, (states, steps)
    print(f"\n{len(steps)} steps, CURRENT flips at {flip}: {states}")


# --- damage on disk is detected when the index is opened, with how to rebuild ---

@pytest.fixture(scope="module")
def built(corpus):
    index = copy_index(corpus, "damage-source")
    Assistant.build([corpus["new"]], index)
    return index


def _damaged_copies(corpus, built):
    live = built / (built / CURRENT).read_text().strip()
    folders = [live, *(seg.folder for seg in Index.open(built).snapshot.segments)]
    files = sorted(p.relative_to(built) for folder in folders for p in folder.rglob("*") if p.is_file())
    assert {"vectors.npy", "chunks.jsonl", "offsets.npy", MANIFEST} <= {p.name for p in files}
    assert any("bm25" in p.parts for p in files) and any(p.parts[0] == live.name for p in files)
    for rel in [*files, Path(CURRENT)]:
        yield rel, "flip", lambda data: data[: len(data) // 2] + bytes([data[len(data) // 2] ^ 0xFF]) + data[
            len(data) // 2 + 1 :]
        yield rel, "truncate", lambda data: data[: len(data) - 1]
    manifest = next(p for p in files if p.name == MANIFEST and p.parts[0] != live.name)
    # A one-bit flip that keeps a segment's manifest valid JSON: its row count 5 -> 4, say.
    yield manifest, "bit", _flip_digit


def _flip_digit(data: bytes) -> bytes:
    at = data.index(b'"rows": ') + len(b'"rows": ')
    return data[:at] + bytes([data[at] ^ 0x01]) + data[at + 1 :]


def test_every_damaged_file_is_detected_on_open(corpus, built, tmp_path):
    for i, (rel, how, damage) in enumerate(_damaged_copies(corpus, built)):
        copy = tmp_path / f"copy-{i}"
        shutil.copytree(built, copy)
        path = copy / rel
        path.write_bytes(damage(path.read_bytes()))
        with pytest.raises(StoreError) as err:
            Index.open(copy)
        message = str(err.value)
        assert "ingest again" in message and str(copy) in message, (rel, how, message)
    check_integrity(built, corpus["texts"])  # the source was never touched


def test_a_missing_file_is_detected_on_open(corpus, built, tmp_path):
    shutil.copytree(built, tmp_path / "copy")
    segment = Index.open(tmp_path / "copy").snapshot.segments[0].folder
    (segment / "vectors.npy").unlink()
    with pytest.raises(StoreError, match="missing.*ingest again"):
        Assistant.open(tmp_path / "copy")
