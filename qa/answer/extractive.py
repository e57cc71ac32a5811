"""Retrieved passages → a short extractive ``Answer`` whose every sentence carries a citation.

The sentences of the top passages are scored against the question with the vectors stored at
ingest time (no embedding at question time): cosine, plus a bonus for stemmed word overlap, plus
a fixed shift for a sentence in the other language, minus a penalty when a "how many / when"
question meets a sentence without a number. That evidence decides whether to answer: below the
embedder's calibrated threshold the answer abstains, in the question's language, and still lists
the closest passages; above it, the learned answerability or the opt-in reader (``AnswerSettings.abstention``)
may veto the passages of the question's language (a near miss) and of any language whose best sentence does not
stand out of its typical text; the answer may then come from the passages left (``kept_after_veto``: with the
question's language vetoed, only those ranked above its best passage or of its documents).
When it answers, a ranker (``ranking.RANKERS``, ``AnswerSettings.ranker``;
default the learned one of ``model``) chooses and orders one to three candidate sentences of the
best one's language (from the top ``rank_passages``: 5, as it was trained), each followed by
``[n]`` (a number, date or name that ``span`` locates without guessing is marked inside its
sentence). ``answer`` is the one entry point (the Assistant's extractive path, the generators'
fallback and gate); a question with nothing to look for gets a request for a question.
Out of scope: generating or translating text (no language model).
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import replace
from typing import NamedTuple

import numpy as np

from ..lexical import tokenize
from ..records import Answer, Citation, Hit, Span
from ..text import normalize
from . import answerability, cues, ranking
from .span import locate as locate_short_answer

MESSAGES = {
    "abstain": {"en": "I could not find this in the documents.", "ar": "لم أجد الإجابة في الوثائق."},
    "ask": {"en": "Please ask a question: there is nothing to look for in this one.",
            "ar": "من فضلك اكتب سؤالا: لا يوجد في هذا النص ما أبحث عنه."},
    "cross": {"en": "The documents answer this in {source}:", "ar": "تجيب الوثائق عن هذا باللغة {source}:"},
}
LANGUAGE_NAMES = {"en": {"ar": "Arabic", "en": "English", "other": "another language"},
                  "ar": {"ar": "العربية", "en": "الإنجليزية", "other": "لغة أخرى"}}

class Calibration(NamedTuple):
    """Per-embedder constants. A sentence's evidence is its cosine with the question, plus
    ``cross_lingual`` when it is in another language (cross-lingual cosines run lower), plus the
    overlap bonus; the answer abstains when the best evidence is below ``threshold``."""

    threshold: float
    cross_lingual: float


# e5-small, from bench/calibrate.py (docs/evaluation.md): a cross-lingual best sentence scores ~0.07
# below a same-language one; 0.84 answers 87-99% of answerable xarcd/ARCD questions and abstains on
# 92-99% of off-topic ones (near-miss questions on the right topic mostly get answered: a known limit).
CALIBRATION = {"e5-small": Calibration(threshold=0.84, cross_lingual=0.07)}
DEFAULT_CALIBRATION = Calibration(threshold=0.35, cross_lingual=0.0)
MIN_WORDS = 4


class AnswerSettings(NamedTuple):
    max_sentences: int = 3
    passages: int = 5  # the evidence's (3 before: "كم عدد المشاركين؟" has its answer in the 4th passage)
    margin: float = 0.02
    overlap_weight: float = 0.05
    type_penalty: float = 0.02
    threshold: float | None = None
    ranker: str = "learned"  # a name in ranking.RANKERS: what orders the sentences of an answer
    rank_passages: int | None = 5  # the passages it chooses among (None: the evidence's ``passages``)
    abstention: str = "learned"  # a name in answerability.ABSTENTIONS: "evidence" is the bar alone
    answerability_threshold: float | None = None  # None: the shipped model's
    background_margin: float | None = None  # None: the shipped model's (answerability.typical)
    reader_threshold: float | None = None  # None: the shipped reader's (answerability.read)


def calibration_for(embedder: str, settings: AnswerSettings) -> Calibration:
    cal = CALIBRATION.get(embedder, DEFAULT_CALIBRATION)
    return cal if settings.threshold is None else cal._replace(threshold=settings.threshold)


class Candidate(NamedTuple):
    """A sentence that could answer: raw cosine, word overlap with the question, and the evidence
    (cosine + cross-lingual shift + overlap bonus - answer-type penalty) it is ranked by."""

    hit: Hit
    span: Span
    cosine: float
    overlap: float
    evidence: float


def message(key: str, lang: str, **kw: str) -> str:
    return MESSAGES[key]["ar" if lang == "ar" else "en"].format(**kw)


def _overlap(question_tokens: set[str], text: str) -> float:
    if not question_tokens:
        return 0.0
    return len(question_tokens & set(tokenize(text))) / len(question_tokens)


# "How many / when / كم / متى ..." questions are answered by a sentence holding a number or a date.
_NUMBER_QUESTION = re.compile(
    r"\bhow (many|much|long|old|far|large|big|tall|high)\b|\b(what|which|in what) (year|number|percentage)\b"
    r"|\bwhen\b|(^|\W)و?(كم|متي)(\W|$)|في اي (عام|سنه)|ما (عدد|نسبه)")
_NUMBER = re.compile(
    r"\d|\b(one|two|three|four|five|six|seven|eight|nine|ten|eleven|twelve|twenty|thirty|forty|fifty|hundred|"
    r"thousand|million|billion|dozen)\b|(^|\W)و?(واحد|اثنان|اثنين|اثني|ثلاث|ثلاثه|اربع|اربعه|خمس|خمسه|ست|سته|سبع|"
    r"سبعه|ثمان|ثماني|ثمانيه|تسع|تسعه|عشر|عشره|عشرون|عشرين|مائه|مئه|مئات|الف|الاف|مليون|ملايين|مليار)(\W|$)")


def asks_for_number(question: str) -> bool:
    return bool(_NUMBER_QUESTION.search(normalize(question)))


def has_number(sentence: str) -> bool:
    return bool(_NUMBER.search(normalize(sentence)))


def candidates(hits: list[Hit], query: np.ndarray, question: str, context: str, lang: str,
               sentence_vectors: Callable[[Hit], np.ndarray], calibration: Calibration,
               settings: AnswerSettings) -> list[Candidate]:
    """Sentences of the top passages, scored against ``query`` (the vector of ``context``: the
    question, expanded for a follow-up); see ``score``."""
    top = hits[: settings.passages]
    return score(top, [np.asarray(sentence_vectors(h) @ query) for h in top], question, context, lang,
                 calibration, settings)


def score(hits: list[Hit], cosines: list[np.ndarray], question: str, context: str, lang: str,
          calibration: Calibration, settings: AnswerSettings) -> list[Candidate]:
    """The candidates of ``hits`` (``cosines[h]``: hit h's sentence cosines with the query), best
    evidence first. Word overlap counts ``context``'s words, the answer type comes from the
    ``question`` itself. A sentence seen in two chunks counts once; headings (a sentence equal to
    the title is not one by itself: a one-line document is its own title) and fragments (under
    ``MIN_WORDS`` words) do not count as answers."""
    q_tokens = set(tokenize(context))
    wants_number = asks_for_number(question)
    seen: set[tuple[str, int, int]] = set()
    out = []
    for hit, cos in zip(hits, cosines):
        shift = calibration.cross_lingual if hit.chunk.lang != lang else 0.0
        for i, (span, c) in enumerate(zip(hit.chunk.sentences, cos.tolist())):
            key = (hit.chunk.doc_id, span.start, span.end)
            text = hit.chunk.sentence_text(span)
            if key in seen or len(text.split()) < MIN_WORDS or i in hit.chunk.headings:
                continue
            seen.add(key)
            ov = _overlap(q_tokens, text)
            penalty = settings.type_penalty if wants_number and not has_number(text) else 0.0
            out.append(Candidate(hit, span, c, ov, c + shift + settings.overlap_weight * ov - penalty))
    return sorted(out, key=lambda c: (-c.evidence, -c.overlap, c.hit.rank))


def _citation(n: int, c: Candidate, question: str) -> Citation:
    ch = c.hit.chunk
    sentence = ch.sentence_text(c.span)
    short = locate_short_answer(question, cues.question_type(question), sentence, c.span.start)
    return Citation(n=n, doc_id=ch.doc_id, title=ch.title, path=ch.path, chunk_id=ch.id,
                    lang=ch.lang, sentence=sentence, start=c.span.start,
                    end=c.span.end, passage_start=ch.start, passage_end=ch.end, score=round(c.cosine, 4),
                    answer_start=short[0] if short else None, answer_end=short[1] if short else None)


def abstains(ranked: list[Candidate], threshold: float) -> bool:
    """Today's rule, whatever ranker chooses the sentences: the best evidence (to 4 places) is below
    ``threshold``, or there is no candidate at all."""
    return not ranked or round(ranked[0].evidence, 4) < threshold


def compose(question: str, lang: str, hits: list[Hit], ranked: list[Candidate],
            threshold: float, settings: AnswerSettings, chosen: list[Candidate] | None = None) -> Answer:
    """The cited answer, or an abstention that keeps ``hits`` as the closest passages. Whether to
    answer is ``ranked``'s best evidence against ``threshold``; the sentences cited are ``chosen``
    (in order; default: the evidence's own choice, ``ranking.by_evidence``)."""
    evidence = round(ranked[0].evidence, 4) if ranked else None
    if abstains(ranked, threshold):
        return Answer(question=question, text=message("abstain", lang), language=lang,
                      abstained=True, citations=(), passages=tuple(hits), evidence=evidence)
    chosen = chosen or ranking.by_evidence(ranked, settings.margin, settings.max_sentences)
    citations = tuple(_citation(n, c, question) for n, c in enumerate(chosen, 1))
    # A sentence's line wraps (PDF lines) are spaces in the answer; offsets stay those of the sentence.
    body = " ".join(f"{c.sentence.replace(chr(13), ' ').replace(chr(10), ' ')} [{c.n}]" for c in citations)
    source_langs = {c.lang for c in citations}
    cross = lang in ("ar", "en") and lang not in source_langs  # every cited sentence in another language
    if cross:
        other = sorted(source_langs)[0]
        names = LANGUAGE_NAMES["ar" if lang == "ar" else "en"]
        body = message("cross", lang, source=names[other]) + "\n" + body
    return Answer(question=question, text=body, language=lang, abstained=False,
                  citations=citations, passages=tuple(hits), cross_lingual=cross, evidence=evidence)


def has_content(question: str) -> bool:
    """A question with at least one word that is not a stop word (or a number)."""
    return bool(tokenize(question))


def kept_after_veto(top: list[Hit], vetoed: frozenset[str], lang: str) -> list[int]:
    """Positions in ``top`` (best first) of the passages that may answer once the ``vetoed`` languages' may not:
    with the question's own language vetoed (a near miss, or its best sentence no more than typical), only those
    ranked above its best passage or of its documents. Another document in the other language ranked below is
    another topic ("What time does the museum open?" cited the Arabic marathon's start under the English museum
    note). The price: a translation indexed beside its original no longer answers when the model vetoes the
    original by mistake (docs/evaluation.md)."""
    own = [i for i, h in enumerate(top) if h.chunk.lang == lang]
    above = own[0] if lang in vetoed and own else len(top)
    docs = {top[i].chunk.doc_id for i in own} if lang in vetoed else set()
    return [i for i, h in enumerate(top) if h.chunk.lang not in vetoed and (i < above or h.chunk.doc_id in docs)]


def answer(question: str, lang: str, hits: list[Hit], query: np.ndarray, context: str,
           sentence_vectors: Callable[[Hit], np.ndarray], settings: AnswerSettings | None = None,
           embedder: str = "e5-small") -> Answer:
    """The one extractive entry point: the cited answer to ``question`` from ``hits``, or an
    abstention that keeps them as the closest passages. ``query`` is the vector of ``context`` (the
    question, expanded for a follow-up); ``sentence_vectors(hit)`` gives a hit's stored sentence
    vectors. A question with nothing to look for (emoji, punctuation, one stop word) gets a request
    for a question instead of an answer."""
    settings = settings or AnswerSettings()
    if not has_content(question):
        return Answer(question=question, text=message("ask", lang), language=lang, abstained=True,
                      citations=(), passages=())
    if settings.ranker not in ranking.RANKERS:
        raise ValueError(f"unknown answer ranker {settings.ranker!r}: use one of {sorted(ranking.RANKERS)}")
    if settings.abstention not in answerability.ABSTENTIONS:
        raise ValueError(f"unknown abstention {settings.abstention!r}: use one of {sorted(answerability.ABSTENTIONS)}")
    calibration = calibration_for(embedder, settings)
    n, k = settings.passages, max(settings.passages, settings.rank_passages or settings.passages)
    top = hits[:k]
    cosines = [np.asarray(sentence_vectors(h) @ query) for h in top]
    ranked = score(top[:n], cosines[:n], question, context, lang, calibration, settings)
    if abstains(ranked, calibration.threshold):  # the evidence alone decides; compose says so
        return compose(question, lang, hits, ranked, calibration.threshold, settings)
    verdict = answerability.ABSTENTIONS[settings.abstention](answerability.Request(
        question, context, lang, top, cosines, embedder, settings.answerability_threshold, np.asarray(query),
        settings.background_margin, settings.reader_threshold))
    if verdict.vetoed:  # the passages of the other languages, scored again (a sentence counts once)
        evidence = round(ranked[0].evidence, 4)
        kept = kept_after_veto(top, verdict.vetoed, lang)
        n = sum(i < n for i in kept)
        top, cosines = [top[i] for i in kept], [cosines[i] for i in kept]
        ranked = score(top[:n], cosines[:n], question, context, lang, calibration, settings)
        if abstains(ranked, calibration.threshold):  # vetoed, and no passage left clears the bar
            return replace(compose(question, lang, hits, [], calibration.threshold, settings), evidence=evidence)
    pool = ranked if len(top) == n else score(top, cosines, question, context, lang, calibration, settings)
    chosen = ranking.RANKERS[settings.ranker](ranking.Request(question, context, lang, top, cosines, ranked, pool,
                                                              settings.margin, settings.max_sentences, embedder))
    return compose(question, lang, hits, ranked, calibration.threshold, settings, chosen)
