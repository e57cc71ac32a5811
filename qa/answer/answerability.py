"""Whether the passages answer the question, beyond the evidence's bar (``ABSTENTIONS``).

The evidence (``extractive.score``: the best sentence's cosine + shifts over the top passages, against
the embedder's calibrated threshold) decides first, as it always did: below the bar the answer
abstains. ``evidence`` stops there. ``learned`` then asks the shipped answerability model (``model``:
a logistic regression on ``features.question_features``, fitted by ``bench/train_answer.py``) about
the passages in the question's own language, scored as in training (renumbered from rank 1, ranked
by the learned ranker): below its threshold they may not answer. That is a near miss (on the
topic, without the detail asked: "who owns the bakery?" of a note on its opening hours), and the
answer then comes from passages in another language if their evidence clears the bar and they rank above the
question's language's best passage (``extractive.kept_after_veto``), or abstains.
Passages in another language are never vetoed by that model: no word is shared there, and right
cross-lingual answers over short documents score like near misses (docs/eval/answerability.md).
Every language, the question's or not, is vetoed when its best sentence does not stand out of that
language's typical text for this question (``typical``: its cosine minus the question's cosine with
the language's background vector, below the model's margin): an off-topic question comes about as
close to its best passage as to any text of that language (English questions over Arabic notes at
cosine 0.77-0.79, as high as right cross-lingual answers), an answer stands above it.
``read`` replaces the learned model by the reader (``reader``: e5-small fine-tuned to read a question
and a candidate sentence together): every language whose best candidates it finds none answering is
vetoed, the question's or not (it reads across languages; the lexical model does not), the background
veto kept. The learned model sees lexical and embedding features only, so many near misses pass it
(measured in docs/evaluation.md).
Out of scope: span extraction and entailment proper.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import NamedTuple

import numpy as np

from ..records import Hit
from . import reader
from .features import language_pool, question_features
from .model import load, model_path


class Request(NamedTuple):
    """The question, the passages the answer may come from with their sentence cosines, the embedder,
    and the probability threshold (None: the shipped model's)."""

    question: str
    context: str
    lang: str
    hits: list[Hit]
    cosines: list[np.ndarray]
    embedder: str
    threshold: float | None = None
    query: np.ndarray | None = None  # the vector the cosines were taken with (None: no background check)
    background_margin: float | None = None  # None: the shipped model's
    reader_threshold: float | None = None  # None: the shipped reader's


class Verdict(NamedTuple):
    """Languages whose passages may not answer, and the answerability probability of the passages in
    the question's language (None when not computed: no such passage, or no model asked)."""

    vetoed: frozenset[str]
    probability: float | None = None


def probability(r: Request) -> float | None:
    """The probability that the passages in ``r.lang`` answer, or None when none has a candidate."""
    p = language_pool(r.question, r.context, r.lang, r.hits, r.cosines, r.lang)
    if not p.candidates:
        return None
    model = load(r.embedder)
    logits = model.scores(p.matrix)
    row = question_features(p, logits, np.argsort(-logits, kind="stable"))
    return float(model.answerability.probability(row)[0])


def evidence(r: Request) -> Verdict:
    """The evidence's bar alone: nothing vetoed."""
    return Verdict(frozenset())


def standing(hits: list[Hit], cosines: list[np.ndarray], query: np.ndarray,
             background: dict[str, np.ndarray]) -> dict[str, float]:
    """Per language of ``hits`` with a background vector of the query's size: its best sentence
    cosine minus the query's dot product with that vector (how far the best passage stands out). The
    background is a mean of unit vectors (norm ~0.88, not 1), so the dot product is not a cosine: it is
    what the margin was chosen on (bench/answer_background.py), and both sides scale alike."""
    best: dict[str, float] = {}
    for h, c in zip(hits, cosines):
        if len(c):
            best[h.chunk.lang] = max(best.get(h.chunk.lang, -1.0), float(np.max(c)))
    return {lang: cosine - float(background[lang] @ query) for lang, cosine in best.items()
            if lang in background and background[lang].shape == np.shape(query)}


def typical(r: Request) -> frozenset[str]:
    """The languages whose best sentence stands less than the model's margin above the query's
    dot product with that language's background vector (``standing``). None without a query vector or with a model
    that is not this embedder's own (another embedder's cosines differ)."""
    model = load(r.embedder)
    if r.query is None or not model.background or model_path(r.embedder).stem != r.embedder:
        return frozenset()
    margin = model.background_margin if r.background_margin is None else r.background_margin
    return frozenset(lang for lang, above in standing(r.hits, r.cosines, r.query, model.background).items()
                     if above < margin)


def learned(r: Request) -> Verdict:
    """The question's language vetoed when its passages' answerability is below the threshold, and
    every language whose best sentence is ``typical``."""
    prob = probability(r)
    threshold = r.threshold if r.threshold is not None else load(r.embedder).threshold(False)
    own = frozenset({r.lang}) if prob is not None and prob < threshold else frozenset()
    return Verdict(own | typical(r), prob)


def read_best(r: Request, rdr: reader.Reader) -> dict[str, float]:
    """Per language of ``r.hits``: the reader's best probability over the learned ranker's top
    ``rdr.reads`` candidates of that language's passages."""
    model, best = load(r.embedder), {}
    for lang in dict.fromkeys(h.chunk.lang for h in r.hits):
        p = language_pool(r.question, r.context, r.lang, r.hits, r.cosines, lang)
        if p.candidates:
            top = rdr.chosen(model.scores(p.matrix))
            best[lang] = float(rdr.probabilities(r.question, [p.candidates[int(i)] for i in top]).max())
    return best


def read(r: Request) -> Verdict:
    """Every language whose candidates the reader finds none answering (best probability below its
    threshold), and every language whose best sentence is ``typical``; the learned veto stands in
    when there is no reader (``reader.load`` logs why)."""
    rdr = reader.load(r.embedder)
    if rdr is None:
        return learned(r)
    best = read_best(r, rdr)
    threshold = rdr.threshold if r.reader_threshold is None else r.reader_threshold
    return Verdict(frozenset(lang for lang, p in best.items() if p < threshold) | typical(r), best.get(r.lang))


ABSTENTIONS: dict[str, Callable[[Request], Verdict]] = {"evidence": evidence, "learned": learned, "read": read}
