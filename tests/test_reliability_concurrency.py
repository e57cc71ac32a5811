"""Concurrent use of one ``Assistant``: threads asking and searching while one thread ingests and
another removes documents. Nothing raises, and every answer comes from one snapshot of the index that
really existed: each of its hits is, row for row, the chunk that snapshot holds at that row, and each
citation points into those hits. Every snapshot that went live is itself complete (all chunks of a
document or none).
"""

from __future__ import annotations

import hashlib
import io
import shutil
import threading
import time

import pytest

from qa import Assistant
from tests.conftest import PARALLEL

QUESTIONS = [
    ("How long is the bridge?", "hybrid"), ("متى افتتحت المكتبة؟", "hybrid"), ("solar power station", "dense"),
    ("كم عدد الأسرة في المستشفى؟", "bm25"), ("When does the festival take place?", "dense"),
    ("How many books does the library hold?", "bm25"), ("ما طول الجسر؟", "dense"), ("Zebra stripes", "hybrid"),
]
ASKERS = 3
ADDS = 4
REMOVES = 3


@pytest.fixture()
def setup(tmp_path):
    base = tmp_path / "base"
    base.mkdir()
    for lang, name in [("en", "library"), ("en", "bridge"), ("ar", "solar"), ("ar", "hospital")]:
        shutil.copy(PARALLEL / lang / f"{name}.txt", base / f"{name}_{lang}.txt")
    incoming = tmp_path / "incoming"
    incoming.mkdir()
    for i, (lang, name) in enumerate([("en", "festival"), ("ar", "football"), ("ar", "library"), ("en", "solar")]):
        shutil.copy(PARALLEL / lang / f"{name}.txt", incoming / f"{i}_{name}_{lang}.txt")
    assistant = Assistant.build([base], tmp_path / "index")
    history = [assistant.index.snapshot]
    apply = assistant.index.apply

    def recording_apply(*args, **kwargs):  # writers hold the index lock here: the order is the true order
        snap = apply(*args, **kwargs)
        history.append(snap)
        return snap

    assistant.index.apply = recording_apply
    return assistant, sorted(base.iterdir()), sorted(incoming.iterdir()), history


def _matches(snap, hits) -> bool:
    return all(h.row < len(snap) and snap.chunks[h.row].id == h.chunk.id and snap.chunks[h.row] == h.chunk
               for h in hits)


def _guarded(fn, errors: list[BaseException], stop: threading.Event):
    def run():
        try:
            fn()
        except BaseException as e:  # noqa: BLE001 - every failure in a thread is reported by the test
            errors.append(e)
            stop.set()
    return run


def _asker(assistant, offset: int, stop: threading.Event, results: list[tuple[str, object]]) -> None:
    i = offset
    while not stop.is_set():
        question, mode = QUESTIONS[i % len(QUESTIONS)]
        if i % 2:
            results.append(("ask", assistant.ask(question, k=4, mode=mode)))
        else:
            results.append(("search", assistant.search(question, k=4, mode=mode)))
        i += 1


def _ingester(assistant, incoming) -> None:
    for path in incoming[:ADDS]:
        report = assistant.add([path])
        assert len(report.added) == 1, report


def _remover(assistant, base_files) -> None:
    for path in base_files[:REMOVES]:
        time.sleep(0.05)
        gone = assistant.remove(str(path))
        assert len(gone) == 1
        if path == base_files[0]:  # and put one back: a removal followed by an ingest of the same file
            assert len(assistant.add([path]).added) == 1


def _ask_while_writing(assistant, base_files, incoming) -> list[tuple[str, object]]:
    """ASKERS threads ask and search while one thread ingests ADDS files and another removes REMOVES (and
    puts the first back); the askers' (kind, result) pairs. Any failure in a thread fails the test."""
    stop = threading.Event()
    errors: list[BaseException] = []
    results: list[tuple[str, object]] = []
    askers = [threading.Thread(target=_guarded(lambda o=o: _asker(assistant, o, stop, results), errors, stop))
              for o in range(ASKERS)]
    writers = [threading.Thread(target=_guarded(lambda: _ingester(assistant, incoming), errors, stop)),
               threading.Thread(target=_guarded(lambda: _remover(assistant, base_files), errors, stop))]
    for t in askers + writers:
        t.start()
    for t in writers:
        t.join(300)
    stop.set()
    for t in askers:
        t.join(60)
    assert not errors, errors
    assert not any(t.is_alive() for t in askers + writers)
    return results


def _assert_consistent_with_a_snapshot(kind: str, result, history, vectors) -> None:
    """The result matches one snapshot that existed, its citations included: the score of each cited
    sentence is what that snapshot's sentence vector gives for the question."""
    hits = list(result.passages) if kind == "ask" else result
    candidates = [s for s in history if _matches(s, hits)]
    assert candidates, f"{kind} result matches no snapshot: {[h.chunk.doc_id for h in hits]}"
    if kind == "ask":
        by_id = {h.chunk.id: h for h in hits}
        assert result.abstained == (not result.citations)
        for c in result.citations:
            hit = by_id[c.chunk_id]
            j = [(s.start, s.end) for s in hit.chunk.sentences].index((c.start, c.end))
            assert any(abs(float(s.sentences_of(hit.row)[j] @ vectors[result.question]) - c.score) < 1e-3
                       for s in candidates), c


def test_ask_and_search_while_ingesting_and_removing(setup):
    assistant, base_files, incoming, history = setup
    results = _ask_while_writing(assistant, base_files, incoming)

    # Writers: every change went live once, in a complete snapshot.
    assert len(history) == 1 + ADDS + REMOVES + 1
    for snap in history:
        per_doc: dict[str, int] = {}
        for row in range(len(snap)):
            per_doc[snap.documents[snap.doc_rows[row]]["id"]] = per_doc.get(
                snap.documents[snap.doc_rows[row]]["id"], 0) + 1
        assert per_doc == {d["id"]: d["chunks"] for d in snap.documents}
    final = {d["path"] for d in assistant.documents()}
    assert {str(p.resolve()) for p in incoming[:ADDS]} <= final
    assert not {str(p.resolve()) for p in base_files[1:REMOVES]} & final

    # Readers: each result is consistent with one snapshot that existed.
    assert len(results) >= ASKERS  # every asker finished at least one question
    vectors = {q: assistant.embedder.embed_queries([q])[0] for q, _ in QUESTIONS}
    for kind, result in results:
        _assert_consistent_with_a_snapshot(kind, result, history, vectors)
    print(f"\n{len(results)} answers and searches over {len(history)} snapshots")


def test_concurrent_uploads_and_removals_through_the_library(tmp_path):
    """The web chat's write path: uploads of the same name from several sessions and a removal at once.

    Each upload of notes.txt replaces the one before it (a new version): one document and one file
    remain, holding one of the texts, and no add lost its file to another."""
    import ui  # noqa: F401 - first: sets the environment that keeps Gradio from phoning home
    from ui.library import Library

    base = tmp_path / "base"
    base.mkdir()
    shutil.copy(PARALLEL / "en" / "bridge.txt", base / "bridge.txt")
    library = Library(Assistant.build([base], tmp_path / "index"))
    bridge = library.documents()[0]["id"]
    errors: list[BaseException] = []
    texts = [f"Note {i}: the tram line {i} of Rabat has {10 + i} stations.\n".encode() for i in range(4)]

    def upload(data: bytes):
        try:
            result = library.add([("notes.txt", io.BytesIO(data))])
            assert result.added == ["notes.txt"] or result.replaced == ["notes.txt"], result
        except BaseException as e:  # noqa: BLE001
            errors.append(e)

    def remove():
        try:
            library.remove(bridge)
        except BaseException as e:  # noqa: BLE001
            errors.append(e)

    threads = [threading.Thread(target=upload, args=(t,)) for t in texts] + [threading.Thread(target=remove)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(120)
    assert not errors, errors
    stored = sorted(p.name for p in library.folder.iterdir())
    assert stored == ["notes.txt"]  # no backup or partial file left behind
    docs = library.documents()
    assert len(docs) == 1 and bridge not in {d["id"] for d in docs}
    [doc] = docs
    assert (library.folder / "notes.txt").read_bytes() in texts
    assert doc["file_hash"] == hashlib.sha256((library.folder / "notes.txt").read_bytes()).hexdigest()
