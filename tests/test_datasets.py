import json

import pytest

from qa.datasets import load, load_beir, load_jsonl, load_squad
from tests.conftest import FIXTURES

EVAL = FIXTURES / "eval"


def test_squad_contexts_become_the_corpus_with_gold_offsets():
    s = load_squad([EVAL / "squad_en.json"])
    assert s.kind == "squad" and len(s.questions) == 3 and len(s.corpus) == 3 and not s.skipped
    q = s.questions[1]
    doc = next(d for d in s.corpus if d.id == q.gold[0].doc_id)
    assert doc.text[q.gold[0].start :].startswith("850 meters") and q.lang == "en"


def test_squad_v2_no_answer_and_bad_offsets_are_handled():
    s = load_squad([EVAL / "squad_v2_en.json"])
    by_id = {q.id: q for q in s.questions}
    assert not by_id["noans-1"].answerable
    assert s.skipped == [("bad-offset", "answer '90 million dollars' is not at offset 3 of its context")]


def test_corpus_pairing_takes_contexts_and_gold_from_the_other_file():
    s = load_squad([EVAL / "squad_en.json"], [EVAL / "squad_ar.json"])
    assert {d.lang for d in s.corpus} == {"ar"}
    q = s.questions[0]
    assert q.lang == "en" and q.answers == ("2019",)
    assert q.gold[0].doc_id in {d.id for d in s.corpus}


def test_jsonl_questions_and_bad_lines():
    s = load_jsonl(EVAL / "seed_questions.jsonl")
    assert [q.id for q in s.questions] == ["p-en", "p-ar", "c-ar", "none-en"]
    assert [q.lang for q in s.questions] == ["en", "ar", "ar", "en"]
    assert not s.questions[-1].answerable and s.corpus is None
    assert [line for line, _ in s.skipped] == ["line 5", "line 6"]


def test_beir_folder(tmp_path):
    (tmp_path / "qrels").mkdir()
    (tmp_path / "corpus.jsonl").write_text(
        '{"_id": "d1", "title": "Bridge", "text": "The bridge is 850 meters long."}\n'
        '{"_id": "d2", "title": "Library", "text": "The library opened in 2019."}\n')
    (tmp_path / "queries.jsonl").write_text('{"_id": "q1", "text": "How long is the bridge?"}\n'
                                            '{"_id": "q2", "text": "unjudged"}\n')
    (tmp_path / "qrels" / "test.tsv").write_text("query-id\tcorpus-id\tscore\nq1\td1\t1\n")
    s = load_beir(tmp_path)
    assert [q.id for q in s.questions] == ["q1"] and s.questions[0].relevant_docs == {"d1": 1.0}
    assert [d.id for d in s.corpus] == ["d1", "d2"]
    assert load([tmp_path]).kind == "beir"
    (tmp_path / "qrels" / "test.tsv").unlink()
    with pytest.raises(ValueError, match="not a BEIR folder: qrels/test.tsv missing"):
        load([tmp_path])


def test_not_json_is_a_clear_error(tmp_path):
    (tmp_path / "x.json").write_text("{broken")
    with pytest.raises(ValueError, match="not a SQuAD JSON file"):
        load([tmp_path / "x.json"])
    (tmp_path / "y.json").write_text(json.dumps({"data": [{"title": "t", "paragraphs": [{"qas": []}]}]}))
    assert load([tmp_path / "y.json"]).skipped == [("t", "paragraph without a context")]


def test_jsonl_sets_end_lines_at_newline_only(tmp_path):
    rows = [{"id": "q1", "question": "Who wrote it?\u2028Really?", "answers": ["Ibn\x85Battuta"]},
            {"id": "q2", "question": "Where?", "answers": ["Tangier"]}]
    path = tmp_path / "set.jsonl"
    path.write_text("".join(json.dumps(r, ensure_ascii=False) + "\n" for r in rows), "utf-8")
    s = load_jsonl(path)
    assert not s.skipped and [q.answers for q in s.questions] == [("Ibn\x85Battuta",), ("Tangier",)]
    beir = tmp_path / "beir"
    (beir / "qrels").mkdir(parents=True)
    (beir / "corpus.jsonl").write_text(json.dumps({"_id": "d1", "text": "Ibn\u2028Battuta was born in Tangier."},
                                                  ensure_ascii=False) + "\n", "utf-8")
    (beir / "queries.jsonl").write_text(json.dumps({"_id": "q1", "text": "Where\x85was he born?"},
                                                   ensure_ascii=False) + "\n", "utf-8")
    (beir / "qrels" / "test.tsv").write_text("query-id\tcorpus-id\tscore\nq1\td1\t1\n")
    b = load_beir(beir)
    assert [d.text for d in b.corpus] == ["Ibn\u2028Battuta was born in Tangier."] and len(b.questions) == 1
