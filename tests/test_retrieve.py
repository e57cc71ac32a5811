import json

import numpy as np
import pytest

from qa.retrieve import Ranked, SearchOptions, hybrid, ranks, rrf
from tests.conftest import PARALLEL


def test_rrf_sums_reciprocal_ranks():
    fused = rrf([ranks(Ranked(np.array([1, 2, 3]), np.zeros(3))), {3: 1, 1: 2}], k=60)
    assert fused.rows.tolist() == [1, 3, 2]
    assert fused.scores[0] == pytest.approx(1 / 61 + 1 / 62)


def test_hybrid_lets_other_language_chunks_keep_their_dense_rank(mixed_assistant):
    snap = mixed_assistant.index.snapshot
    ar_row, en_row = int(np.flatnonzero(snap.langs == "ar")[0]), int(np.flatnonzero(snap.langs == "en")[0])
    dense_ranking = Ranked(np.array([ar_row, en_row]), np.array([2.0, 1.0]))
    weak_lexical = Ranked(np.array([en_row]), np.array([0.4]))
    fused = hybrid(snap, dense_ranking, weak_lexical, "en")
    assert fused.rows.tolist() == [ar_row, en_row]


@pytest.mark.parametrize("qlang, corpus", [("en", "ar"), ("ar", "en")])
def test_cross_lingual_retrieval_ranks_the_right_passage_first(tmp_path_factory, questions, qlang, corpus):
    from qa import Assistant

    a = Assistant.build([PARALLEL / corpus], tmp_path_factory.mktemp(f"x{corpus}") / "index")
    for q in questions:
        for mode in ("dense", "hybrid"):
            top = a.search(q[qlang], k=3, mode=mode)[0]
            assert top.chunk.path.endswith(f"{corpus}/{q['topic']}.txt"), (q[qlang], mode)
            assert top.chunk.lang == corpus


def test_mixed_corpus_finds_answers_in_the_other_language(mixed_assistant, questions):
    for q in questions:
        for qlang in ("en", "ar"):
            top = mixed_assistant.search(q[qlang], k=3, mode="dense")[0]
            assert top.chunk.path.endswith(f"/{q['topic']}.txt"), q[qlang]


def test_bm25_mode_only_returns_the_question_language(mixed_assistant):
    hits = mixed_assistant.search("كم سريرا في مستشفى الأطفال؟", k=10, mode="bm25")
    assert hits and {h.chunk.lang for h in hits} == {"ar"}
    assert hits[0].chunk.path.endswith("hospital.txt")


def test_filters_k_and_ranks(mixed_assistant):
    everything = mixed_assistant.search("electricity", k=50)
    assert len(everything) == 6 and [h.rank for h in everything] == list(range(1, 7))
    only_ar = mixed_assistant.search("electricity", k=10, langs=("ar",))
    assert {h.chunk.lang for h in only_ar} == {"ar"} and len(only_ar) == 3
    doc = next(d for d in mixed_assistant.documents() if d["path"].endswith("bridge.txt"))
    only_doc = mixed_assistant.search("electricity", k=10, doc_ids=(doc["id"],))
    assert [h.chunk.doc_id for h in only_doc] == [doc["id"]]


def test_mmr_drops_exact_duplicates_and_diversifies(tmp_path):
    from qa import Assistant

    text = (PARALLEL / "en" / "bridge.txt").read_text()
    (tmp_path / "a.txt").write_text(text)
    (tmp_path / "b.json").write_text(json.dumps({"id": "dup", "text": text + " "}))
    a = Assistant.build([tmp_path], tmp_path / "index")
    hits = a.search("How long is the bridge?", k=2, mode="dense")
    assert len(hits) == 1  # the second is the same text: dropped as a near-duplicate
    assert len(a.search("How long is the bridge?", k=2, mode="dense", mmr=1.0)) == 2


@pytest.mark.parametrize("options, match", [
    (SearchOptions(mode="semantic"), "unknown mode 'semantic'"),
    (SearchOptions(k=0), "k=0"),
    (SearchOptions(mmr=2.0), "mmr=2.0"),
])
def test_bad_options(options, match):
    with pytest.raises(ValueError, match=match):
        options.check()


def test_filters_naming_nothing_known_are_errors_not_empty_results(mixed_assistant):
    with pytest.raises(ValueError, match="unknown language filter fr"):
        mixed_assistant.search("bridge", langs=("fr",))
    with pytest.raises(ValueError, match="no document with id nosuchid"):
        mixed_assistant.ask("bridge", doc_ids=("nosuchid",))
