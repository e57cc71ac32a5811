import numpy as np
import pytest

from qa.answer import AnswerSettings, Calibration, candidates, compose, message
from qa.records import Chunk, Hit
from qa.text import sentence_spans
from tests.conftest import SEEDS

SEED_TEXT = next(SEEDS.glob("*.txt")).read_text()

TEXT = "Title line.\nThe bridge is 850 meters long. It opened in 2001 after four years."


def _hit(lang: str = "en") -> Hit:
    spans = tuple(sentence_spans(TEXT))
    chunk = Chunk(id="c1", doc_id="d1", path="/x.txt", title="Title line", lang=lang, text=TEXT,
                  start=0, end=len(TEXT), sentences=spans)
    return Hit(rank=1, score=1.0, chunk=chunk, dense=0.9, row=0)


def _vectors(*cosines: float) -> np.ndarray:
    # Unit vectors whose dot product with e0 is the given cosine.
    return np.array([[c, np.sqrt(1 - c * c), 0.0] for c in cosines])


QUERY = np.array([1.0, 0.0, 0.0])
CAL = Calibration(threshold=0.8, cross_lingual=0.05)


def test_best_sentence_is_cited_with_exact_span_and_title_excluded():
    hit = _hit()
    q = "How long is the bridge?"
    ranked = candidates([hit], QUERY, q, q, "en", lambda h: _vectors(0.99, 0.9, 0.7), CAL, AnswerSettings())
    assert [c.span for c in ranked] == list(sentence_spans(TEXT)[1:])
    answer = compose("How long is the bridge?", "en", [hit], ranked, 0.8, AnswerSettings())
    assert not answer.abstained and answer.text == "The bridge is 850 meters long. [1]"
    [cit] = answer.citations
    assert TEXT[cit.start : cit.end] == cit.sentence == "The bridge is 850 meters long."
    assert (cit.passage_start, cit.passage_end, cit.n, cit.doc_id) == (0, len(TEXT), 1, "d1")


def test_close_runner_up_joins_the_answer_with_its_own_citation():
    hit = _hit()
    ranked = candidates([hit], QUERY, "q", "q", "en", lambda h: _vectors(0.5, 0.9, 0.89), CAL, AnswerSettings())
    answer = compose("q", "en", [hit], ranked, 0.8, AnswerSettings())
    assert answer.text.endswith("[1] It opened in 2001 after four years. [2]")


def test_weak_evidence_abstains_in_the_question_language_and_keeps_passages():
    hit = _hit()
    for lang, msg in (("en", "I could not find this in the documents."), ("ar", "لم أجد الإجابة في الوثائق.")):
        ranked = candidates([hit], QUERY, "q", "q", lang, lambda h: _vectors(0.1, 0.7, 0.6), CAL,
                            AnswerSettings())
        answer = compose("q", lang, [hit], ranked, 0.8, AnswerSettings())
        assert answer.abstained and answer.text == msg and answer.citations == ()
        assert answer.passages == (hit,) and message("abstain", lang) == msg


def test_cross_lingual_source_is_announced_and_calibrated():
    hit = _hit("en")
    ranked = candidates([hit], QUERY, "كم طول الجسر؟", "كم طول الجسر؟", "ar", lambda h: _vectors(0.5, 0.78, 0.6), CAL,
                        AnswerSettings())
    assert ranked[0].evidence == ranked[0].cosine + 0.05
    answer = compose("كم طول الجسر؟", "ar", [hit], ranked, 0.8, AnswerSettings())
    assert answer.cross_lingual and not answer.abstained
    assert answer.text.startswith("تجيب الوثائق عن هذا باللغة الإنجليزية:")


def test_sentence_shared_by_overlapping_chunks_counts_once():
    a, b = _hit(), _hit()
    b = Hit(rank=2, score=0.5, chunk=b.chunk, row=1)
    ranked = candidates([a, b], QUERY, "q", "q", "en", lambda h: _vectors(0.5, 0.9, 0.85), CAL, AnswerSettings())
    assert len(ranked) == 2


def test_number_questions_penalise_sentences_without_a_number():
    text = "Opening words are here. The bridge is long and wide. It opened in 2001 after work."
    chunk = Chunk(id="c2", doc_id="d2", path="/y.txt", title="y", lang="en", text=text, start=0, end=len(text),
                  sentences=tuple(sentence_spans(text)))
    hit = Hit(rank=1, score=1.0, chunk=chunk)
    settings = AnswerSettings(type_penalty=0.3, overlap_weight=0.0)
    ranked = candidates([hit], QUERY, "When did it open?", "When did it open?", "en", lambda h: _vectors(0.9, 0.9, 0.9),
                        CAL, settings)
    by_text = {chunk.sentence_text(c.span): round(c.evidence, 6) for c in ranked}
    assert by_text == {"Opening words are here.": 0.6, "The bridge is long and wide.": 0.6,
                       "It opened in 2001 after work.": 0.9}
    plain = candidates([hit], QUERY, "Why is it wide?", "Why is it wide?", "en", lambda h: _vectors(0.9, 0.9, 0.9),
                       CAL, settings)
    assert {round(c.evidence, 6) for c in plain} == {0.9}


def _build(tmp_path, files: dict[str, str]):
    from qa import Assistant

    folder = tmp_path / "docs"
    folder.mkdir()
    for name, text in files.items():
        (folder / name).write_text(text, "utf-8")
    return Assistant.build([folder], tmp_path / "index")


def test_one_line_document_is_answered_and_a_heading_never_is(tmp_path):
    # issue 9: a document whose only sentence equals its title (its first line) could never be answered
    assistant = _build(tmp_path, {
        "bridge.txt": "The Harbour Bridge is 850 meters long\n",
        "zephyr.md": "# The Zephyr Lake Observatory\n\nThe Zephyr Lake Observatory was founded in 1998 by "
                     "volunteers from the valley.\nIt has two telescopes and a small planetarium.\n",
    })
    answer = assistant.ask("How long is the Harbour Bridge?")
    assert not answer.abstained and answer.citations[0].sentence == "The Harbour Bridge is 850 meters long"
    answer = assistant.ask("What is the Zephyr Lake Observatory?")
    assert not answer.abstained
    assert all(not c.sentence.startswith("#") for c in answer.citations)
    assert "founded in 1998 by volunteers" in answer.citations[0].sentence.replace("\n", " ")


@pytest.mark.parametrize("question", ["🔥🔥🔥", "???", "the", "  ؟  ", "في"])
def test_a_question_with_nothing_to_look_for_asks_for_a_question(question):
    from qa.answer import answer

    got = answer(question, "en", [_hit()], QUERY, question, lambda h: _vectors(0.99, 0.9, 0.7), AnswerSettings())
    assert got.abstained and got.text == message("ask", "en") and got.citations == ()


def test_the_cross_lingual_note_only_when_every_cited_sentence_is_in_the_other_language():
    en, ar = _hit("en"), Hit(rank=2, score=0.5, chunk=_hit("ar").chunk.__class__(**{
        **_hit("ar").chunk.__dict__, "id": "c2", "doc_id": "d2"}), row=1)
    ranked = candidates([en, ar], QUERY, "q", "q", "ar",
                        lambda h: _vectors(0.5, 0.9, 0.6) if h.chunk.lang == "en" else _vectors(0.5, 0.94, 0.6), CAL,
                        AnswerSettings())
    both = compose("q", "ar", [en, ar], ranked, 0.8, AnswerSettings())
    assert {c.lang for c in both.citations} == {"ar", "en"} and not both.cross_lingual


def test_the_short_answer_is_marked_inside_the_cited_sentence(seed_assistant):
    got = seed_assistant.ask("كم عدد المشاركين في المنتدى؟")
    cit = got.citations[0]
    assert cit.start <= cit.answer_start < cit.answer_end <= cit.end
    assert SEED_TEXT[cit.answer_start : cit.answer_end] == "150 مشارك"
    # in English the question names nothing of the Arabic sentence, which counts 150 people and 40 countries
    assert seed_assistant.ask("How many participants attended the forum?").citations[0].answer_start is None
