"""Whether the passages answer (qa/answer/answerability.py): the learned veto of the passages in the
question's own language, on top of the evidence's bar, and the background veto of a language whose
best passage does not stand out of its typical text."""

import numpy as np
import pytest

from qa import AnswerSettings, Assistant
from qa.answer import answer
from qa.answer.answerability import ABSTENTIONS, Request, probability, standing, typical
from qa.answer.extractive import kept_after_veto
from qa.records import Chunk, Hit
from qa.text import sentence_spans
from tests.conftest import FIXTURES

# On the seed article's topic, asking for a detail it does not give: today's evidence answers them
# with a cited sentence that does not say (the budget: the participants sentence); the veto abstains.
NEAR_MISS = ["كم بلغت ميزانية المنتدى؟", "من ألقى الكلمة الافتتاحية في المنتدى؟"]
ANSWERABLE = ["How many participants attended the forum?", "كم عدد المشاركين في المنتدى؟", "ما هو شعار المنتدى؟",
              "Who organised the forum?", "How many countries took part in the forum?"]


@pytest.mark.parametrize("question", NEAR_MISS)
def test_seed_near_misses_abstain_where_the_evidence_alone_answers(seed_assistant, question):
    """The veto abstains where the evidence alone answers. The evidence bar is set just under this
    question's own evidence (which sits within 0.01 of the shipped 0.84 either way, depending on how
    the sentence vectors were made), so the precondition does not stand on a float edge."""
    assert seed_assistant.ask(question).abstained  # at the shipped bar
    evidence = seed_assistant.ask(question).evidence
    bar = round(evidence - 0.01, 4)
    today = Assistant(seed_assistant.index, AnswerSettings(abstention="evidence", threshold=bar)).ask(question)
    assert not today.abstained and today.citations  # the cited wrong answer the veto exists for
    vetoed = Assistant(seed_assistant.index, AnswerSettings(threshold=bar)).ask(question)
    assert vetoed.abstained and not vetoed.citations and vetoed.text == "لم أجد الإجابة في الوثائق."
    assert vetoed.passages and vetoed.evidence == today.evidence == evidence  # the closest passages, the same evidence


@pytest.mark.parametrize("question", ANSWERABLE)
def test_seed_answers_are_not_vetoed(seed_assistant, question):
    assert not seed_assistant.ask(question).abstained


TEXT = "The bridge is 850 meters long and wide. It opened in 2001 after four years. Its deck is painted red."


def _hit(rank: int, lang: str, doc: str) -> Hit:
    chunk = Chunk(id=f"c{rank}", doc_id=doc, path=f"/{doc}.txt", title=doc, lang=lang, text=TEXT, start=0,
                  end=len(TEXT), sentences=tuple(sentence_spans(TEXT)))
    return Hit(rank=rank, score=1.0 / rank, chunk=chunk, dense=0.9, row=rank - 1)


HITS = [_hit(1, "en", "en-doc"), _hit(2, "ar", "ar-doc")]
COS = {"en-doc": [0.9, 0.6, 0.5], "ar-doc": [0.8, 0.5, 0.5]}  # both clear the bar (0.84; Arabic: + 0.07)
QUESTION = "How long is the bridge?"


def _ask(threshold: float | None, abstention: str = "learned", hits: list[Hit] = HITS):
    vectors = {h.chunk.doc_id: np.array([[c] for c in COS[h.chunk.doc_id]]) for h in hits}
    settings = AnswerSettings(abstention=abstention, answerability_threshold=threshold)
    return answer(QUESTION, "en", hits, np.ones(1), QUESTION, lambda h: vectors[h.chunk.doc_id], settings)


def test_a_vetoed_language_gives_way_to_the_other_one_ranked_above_it_when_it_clears_the_bar():
    assert {c.doc_id for c in _ask(0.0).citations} == {"en-doc"}  # a threshold of 0 vetoes nothing
    above = [_hit(1, "ar", "ar-doc"), _hit(2, "en", "en-doc")]
    vetoed = _ask(2.0, hits=above)  # above any probability: the English passage may not answer
    assert not vetoed.abstained and {c.doc_id for c in vetoed.citations} == {"ar-doc"} and vetoed.cross_lingual
    alone = _ask(2.0, hits=HITS[:1])  # nothing else to answer from
    assert alone.abstained and alone.evidence == round(0.9 + 0.05 * 1.0, 4)


def test_another_document_of_the_other_language_ranked_below_a_vetoed_passage_does_not_answer():
    # "What time does the museum open?": the English museum note first, vetoed (no time in it), and the Arabic
    # marathon note second, whose "at seven in the morning" cleared the bar and was cited
    below = _ask(2.0)
    assert below.abstained and not below.citations and below.passages
    assert below.evidence == round(0.9 + 0.05 * 1.0, 4)  # the evidence stays the vetoed passage's, as alone


def test_evidence_alone_vetoes_nothing_and_the_probability_is_one():
    assert not _ask(2.0, abstention="evidence").abstained
    r = Request(QUESTION, QUESTION, "en", HITS, [np.array(COS[h.chunk.doc_id]) for h in HITS], "e5-small")
    assert ABSTENTIONS["evidence"](r).vetoed == frozenset()
    p = probability(r)
    assert p is not None and 0.0 < p < 1.0 and ABSTENTIONS["learned"](r).probability == p
    assert probability(r._replace(lang="fr")) is None  # no passage in the question's language


def test_an_unknown_abstention_names_the_known_ones():
    with pytest.raises(ValueError, match="unknown abstention 'reader'.*evidence.*learned"):
        _ask(None, abstention="reader")


def test_a_sentence_shared_by_chunks_of_two_languages_is_scored_once_after_a_veto():
    # One long document detected as English in one chunk and Arabic in the next, the chunks sharing a
    # sentence: once the English chunk is vetoed, the shared sentence is the Arabic chunk's candidate.
    spans = sentence_spans(TEXT)
    cut = spans[1].end
    english = Chunk(id="c1", doc_id="doc", path="/doc.txt", title="doc", lang="en", text=TEXT[:cut], start=0,
                    end=cut, sentences=tuple(spans[:2]))
    arabic = Chunk(id="c2", doc_id="doc", path="/doc.txt", title="doc", lang="ar", text=TEXT[spans[1].start:],
                   start=spans[1].start, end=len(TEXT), sentences=tuple(spans[1:]))
    hits = [Hit(rank=1, score=1.0, chunk=english, dense=0.9, row=0),
            Hit(rank=2, score=0.5, chunk=arabic, dense=0.9, row=1)]
    vectors = {"c1": np.array([[0.9], [0.86]]), "c2": np.array([[0.86], [0.5]])}
    settings = AnswerSettings(answerability_threshold=2.0)
    a = answer(QUESTION, "en", hits, np.ones(1), QUESTION, lambda h: vectors[h.chunk.id], settings)
    assert not a.abstained and [c.chunk_id for c in a.citations][:1] == ["c2"]
    assert a.citations[0].start == spans[1].start


def test_standing_is_the_best_cosine_above_the_query_s_cosine_with_the_language_background():
    query = np.array([0.6, 0.8])
    background = {"en": np.array([0.5, 0.5], np.float32), "ar": np.array([1.0, 0.0], np.float32)}
    cosines = [np.array([0.9, 0.6, 0.5]), np.array([0.8, 0.5, 0.5])]
    assert standing(HITS, cosines, query, background) == pytest.approx({"en": 0.9 - 0.7, "ar": 0.8 - 0.6})
    assert standing(HITS, cosines, query, {"en": background["en"]}).keys() == {"en"}  # no vector: not judged
    assert standing(HITS, cosines, np.ones(3), background) == {}  # another embedder's size: not judged
    r = Request(QUESTION, QUESTION, "en", HITS, cosines, "e5-small", query=None)
    assert typical(r) == frozenset() and typical(r._replace(embedder="minilm", query=np.ones(384))) == frozenset()


# English questions over Arabic notes only (tests/fixtures/unrelated/ar), where the learned veto never acts
OFF_TOPIC_EN = "Which is the most populated continent?"
RIGHT_ACROSS = {"What time does the bakery on Harbour Street open?": "السادسة",
                "How many books can be borrowed on one library card?": "ثمانية",
                "When did the island's volcano last erupt?": "1971"}


@pytest.fixture(scope="module")
def arabic_notes(tmp_path_factory):
    return Assistant.build([FIXTURES / "unrelated" / "ar"], tmp_path_factory.mktemp("arabic-notes") / "index")


def test_an_off_topic_question_whose_best_passage_is_typical_of_its_language_abstains(arabic_notes):
    without = Assistant(arabic_notes.index, AnswerSettings(background_margin=-1.0)).ask(OFF_TOPIC_EN)
    assert not without.abstained and without.cross_lingual  # a cited sentence about something else
    a = arabic_notes.ask(OFF_TOPIC_EN)
    assert a.abstained and not a.citations and a.text == "I could not find this in the documents."
    assert a.passages and a.evidence == without.evidence  # the closest passages, the same evidence


@pytest.mark.parametrize("question", RIGHT_ACROSS)
def test_right_answers_across_languages_stand_out_of_the_background(arabic_notes, question):
    a = arabic_notes.ask(question)
    assert not a.abstained and a.cross_lingual and RIGHT_ACROSS[question] in a.citations[0].sentence, a.text


def test_kept_after_veto_keeps_the_other_language_above_the_vetoed_one_or_of_its_documents():
    def hits(*langs_docs):
        return [_hit(r, lang, doc) for r, (lang, doc) in enumerate(langs_docs, 1)]
    en, ar = frozenset({"en"}), frozenset({"ar"})
    assert kept_after_veto(hits(("ar", "a"), ("en", "e"), ("ar", "b")), en, "en") == [0]  # above the English one
    assert kept_after_veto(hits(("en", "e"), ("ar", "a"), ("ar", "e")), en, "en") == [2]  # the same document only
    assert kept_after_veto(hits(("ar", "a"), ("ar", "b")), en, "en") == [0, 1]  # no English passage: all stay
    # another language vetoed (the background's veto): the question's language keeps every passage of its own
    assert kept_after_veto(hits(("ar", "a"), ("en", "e"), ("en", "f")), ar, "en") == [1, 2]
    assert kept_after_veto(hits(("en", "e"), ("ar", "a")), en | ar, "en") == []
