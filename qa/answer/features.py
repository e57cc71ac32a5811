"""Features of the candidate sentences of one question, and of the question's evidence as a whole.

A ``Pool`` holds every sentence of the top passages that could answer (headings, fragments under
``MIN_WORDS`` words and repeats from overlapping chunks left out) with one row of ``FEATURES`` each:
the sentence cosine (vectors stored at ingest, nothing embedded here) and its gap to the best, the
passage's rank, fused score and cosine, the sentence's BM25 among the pool's sentences and stemmed word
overlap (for both, a ``related`` stem counts: Snowball gives "مشار" for "مشارك" but "مشارك" for
"المشاركين", "منظم" for "المنظم" but "نظم" for "نظم"), the answer-type match (``cues``), position,
length, the cross-lingual flag, the neighbours' cosines and that of the section heading above.
``question_features`` turns a pool and the ranker's scores into the row of ``QUESTION_FEATURES`` the
answerability model reads (``answerability``): the best score and its gap to the next, the best cosine, how many of the
question's words the best sentence and its passage lack (a near-miss question names a detail its
paragraph does not give), whether a sentence of the asked type is among the best, within one
language and across.
Word statistics are the pool's own (no corpus idf), so a one-document corpus and a large one give
features on the same scale. Out of scope: the models (``model``) and composing the answer.
"""

from __future__ import annotations

import math
from collections import Counter
from dataclasses import replace
from typing import NamedTuple

import numpy as np

from ..lexical import K1, B, tokenize
from ..records import Hit, Span
from . import cues

MIN_WORDS = 4
FEATURES = (
    "cos", "cos_gap", "cos_rank", "passage_rank", "fused", "passage_cos", "bm25", "overlap", "overlap_rel",
    "asks_type", "type_match", "type_miss", "position", "lead", "log_words", "cross", "cross_cos",
    "cross_cos_gap", "cross_cos_rank", "cross_passage_rank", "cross_fused", "cross_type_match",
    "neighbour_gap", "heading_cos",
)
# No feature of the pool's size or spread (how many candidates, the best cosine against their mean, the
# top passage's cosine): they describe the corpus more than the answer, and a model fitted on ARCD's
# long paragraphs read them as "unanswerable" on a corpus of six two-sentence files (docs/eval/answerability.md).
QUESTION_FEATURES = (
    "best_logit", "gap_logit", "best_cos", "cross_best_cos", "cross", "miss_sentence", "miss_passage", "miss_any",
    "miss_passage_n", "asks_type", "typed_gap_cos", "typed_gap_logit", "cross_typed_gap_cos", "typed_overlap",
    "log_q_tokens",
)
# Words of the question itself rather than of its topic ("what is the NAME of", "in which YEAR", "عدد"):
# their absence from a passage says nothing. Stemmed like every token.
_GENERIC_WORDS = """name called call year number date day time first main kind type mean word known
اسم يسمي سميت تسمي عام سنه عدد تاريخ يوم اول اهم نوع معني كلمه يعرف عرف اشهر اكبر"""
GENERIC = frozenset(tokenize(_GENERIC_WORDS))


class Candidate(NamedTuple):
    """A sentence that could answer: its hit, its position in the chunk's sentences, span and cosine."""

    hit: Hit
    index: int
    span: Span
    text: str
    cosine: float


class Pool(NamedTuple):
    candidates: list[Candidate]
    matrix: np.ndarray  # (len(candidates), len(FEATURES))
    asked: str  # the question's answer type (cues.question_type)
    q_tokens: tuple[str, ...]  # the question's distinct stems
    lang: str


def related(a: str, b: str) -> bool:
    """Two stems of one word: sharing their first four letters where one is a prefix of the other; or,
    for an Arabic stem of three letters (Snowball leaves roots: "اختتم" gives "اخت", "اختتمت" "اختتم"),
    the other starts with it and is at most two letters longer, or is its participle م + root ("نظم",
    "المنظم")."""
    if len(a) >= 4 and len(b) >= 4:
        return a[:4] == b[:4] and (a.startswith(b) or b.startswith(a))
    short, long = sorted((a, b), key=len)
    if len(short) != 3 or short.isascii() or short.isdigit():
        return False
    return long.startswith(short) and len(long) <= 5 or long == "م" + short


def soft_match(token: str, tokens: set[str]) -> bool:
    """``token`` or a stem ``related`` to it."""
    if token in tokens:
        return True
    return not token.isdigit() and any(related(token, t) for t in tokens)


def _gather(hits: list[Hit], cosines: list[np.ndarray]) -> list[Candidate]:
    """Candidates in hit order (first occurrence of a repeated sentence)."""
    seen: set[tuple[str, int, int]] = set()
    out = []
    for hit, cos in zip(hits, cosines):
        for i, (span, c) in enumerate(zip(hit.chunk.sentences, cos.tolist())):
            key = (hit.chunk.doc_id, span.start, span.end)
            text = hit.chunk.sentence_text(span)
            if key in seen or i in hit.chunk.headings or len(text.split()) < MIN_WORDS:
                continue
            seen.add(key)
            out.append(Candidate(hit, i, span, text, float(c)))
    return out


def _bm25(counts: list[Counter], q_tokens: tuple[str, ...]) -> np.ndarray:
    """BM25 of each sentence over the pool's sentences as the corpus, normalised by its maximum."""
    n = len(counts)
    lengths = np.array([sum(c.values()) for c in counts], np.float64)
    avg = max(float(lengths.mean()) if n else 1.0, 1.0)
    out = np.zeros(n)
    for t in q_tokens:
        # a stem related to the question's counts as it does for the overlap ("منظم" for "نظم")
        tf = np.array([sum(k for w, k in c.items() if w == t or not t.isdigit() and related(t, w)) for c in counts],
                      np.float64)
        df = float((tf > 0).sum())
        if not df:
            continue
        idf = math.log(1 + (n - df + 0.5) / (df + 0.5))
        out += idf * tf * (K1 + 1) / (tf + K1 * ((1 - B) + B * lengths / avg))
    top = out.max() if n else 0.0
    return out / top if top > 0 else out


def _neighbour(cos: np.ndarray, headings: tuple[int, ...], i: int) -> float:
    near = [float(cos[j]) for j in (i - 1, i + 1) if 0 <= j < len(cos) and j not in headings]
    return max(near) - float(cos[i]) if near else 0.0


def _heading(cos: np.ndarray, headings: tuple[int, ...], i: int) -> float:
    above = [j for j in headings if j < i]
    return float(cos[max(above)]) if above else 0.0


def pool(question: str, context: str, lang: str, hits: list[Hit], cosines: list[np.ndarray]) -> Pool:
    """The candidates of ``hits`` with their features; ``cosines[h]`` are the cosines of hit h's
    sentences with the query (the vector of ``context``: the question, expanded for a follow-up).
    Overlap counts ``context``'s words; the answer type comes from the ``question`` itself."""
    q_tokens = tuple(dict.fromkeys(tokenize(context)))
    asked = cues.question_type(question)
    found = _gather(hits, cosines)
    by_hit = {id(h): cos for h, cos in zip(hits, cosines)}
    counts = [Counter(tokenize(c.text)) for c in found]
    bm25 = _bm25(counts, q_tokens)
    overlap = np.array([sum(soft_match(t, set(cn)) for t in q_tokens) / max(1, len(q_tokens)) for cn in counts])
    top_overlap = overlap.max() if len(found) else 0.0
    best_cos = max((c.cosine for c in found), default=0.0)
    order = sorted(range(len(found)), key=lambda j: -found[j].cosine)
    cos_rank = {j: r for r, j in enumerate(order, 1)}
    top_fused = max((abs(h.score) for h in hits), default=1.0) or 1.0
    rows = []
    for j, c in enumerate(found):
        ch, cos = c.hit.chunk, by_hit[id(c.hit)]
        match = cues.matches(asked, cues.sentence_types(c.text))
        cross = float(ch.lang != lang)
        n = len(ch.sentences)
        rows.append([
            c.cosine, c.cosine - best_cos, 1.0 / cos_rank[j], 1.0 / c.hit.rank, c.hit.score / top_fused,
            c.hit.dense if c.hit.dense is not None else c.cosine, bm25[j], overlap[j],
            overlap[j] / top_overlap if top_overlap > 0 else 0.0,
            float(asked != "other"), float(match), float(asked != "other" and not match),
            c.index / max(1, n - 1), float(ch.start == 0 and all(i in ch.headings for i in range(c.index))),
            math.log(len(c.text.split())), cross, cross * c.cosine,
            # across languages no word is shared: the ranker weighs cosine and rank differently there
            cross * (c.cosine - best_cos), cross / cos_rank[j], cross / c.hit.rank, cross * c.hit.score / top_fused,
            cross * float(match),
            _neighbour(cos, ch.headings, c.index), _heading(cos, ch.headings, c.index),
        ])
    matrix = np.asarray(rows, np.float64).reshape(len(found), len(FEATURES))
    return Pool(found, matrix, asked, q_tokens, lang)


def language_pool(question: str, context: str, lang: str, hits: list[Hit], cosines: list[np.ndarray],
                  of: str) -> Pool:
    """``pool`` over the hits in language ``of`` alone, renumbered from rank 1: the models were fitted
    on questions searched in one language."""
    part = [(h, c) for h, c in zip(hits, cosines) if h.chunk.lang == of]
    return pool(question, context, lang, [replace(h, rank=n) for n, (h, _) in enumerate(part, 1)],
                [c for _, c in part])


def _missing(q_tokens: tuple[str, ...], text: str) -> int:
    """How many of the question's topic words (not ``GENERIC``) ``text`` lacks."""
    have = set(tokenize(text))
    return sum(not soft_match(t, have) for t in q_tokens if t not in GENERIC)


def question_features(p: Pool, logits: np.ndarray, order: np.ndarray) -> np.ndarray:
    """The answerability row of a pool whose candidates the ranker scored ``logits`` (best first in
    ``order``); a pool without candidates gets the row of the weakest evidence. Word counts are
    those of the question's language only: across languages no word is shared, and the cosines
    and the answer type carry the evidence."""
    if not len(order):
        return np.array([-10.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, float(p.asked != "other"), 1.0, 10.0, 0.0, 0.0,
                         math.log1p(len(p.q_tokens))])
    f = {name: p.matrix[:, i] for i, name in enumerate(FEATURES)}
    b = int(order[0])
    best = p.candidates[b]
    gap = float(logits[b] - logits[order[1]]) if len(order) > 1 else 5.0
    cross = float(f["cross"][b])
    same = 1.0 - cross
    n = max(1, sum(t not in GENERIC for t in p.q_tokens))
    miss_sentence = same * _missing(p.q_tokens, best.text) / n
    miss_passage = same * _missing(p.q_tokens, best.hit.chunk.text) / n
    miss_any = same * _missing(p.q_tokens, " ".join(dict.fromkeys(c.hit.chunk.text for c in p.candidates))) / n
    typed = p.asked != "other"
    matching = np.flatnonzero(f["type_match"] > 0)
    if typed and len(matching):
        gap_cos = float(f["cos"][b] - f["cos"][matching].max())
        gap_logit = float(logits[b] - logits[matching].max())
        typed_overlap = float(f["overlap"][matching].max())  # the asked type beside the question's words
    else:
        gap_cos, gap_logit, typed_overlap = (0.2, 10.0, 0.0) if typed else (0.0, 0.0, 1.0)
    return np.array([
        float(logits[b]), gap, f["cos"][b], cross * f["cos"][b], cross, miss_sentence, miss_passage, miss_any,
        same * min(3.0, miss_passage * n), float(typed), same * gap_cos, min(gap_logit, 10.0), cross * gap_cos,
        same * typed_overlap, math.log1p(len(p.q_tokens)),
    ])
