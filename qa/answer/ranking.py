"""Which of the candidate sentences an answer cites, and in what order (``RANKERS``).

The evidence (``extractive.score``, over the top ``AnswerSettings.passages``) has already decided
that the passages answer; a ranker only chooses among the candidate sentences (those of the top
``rank_passages``, gathered by the same rules). ``by_evidence`` is the hand-set scorer's own choice (the best
evidence and runner-ups within ``margin``). ``learned`` keeps the candidates in the language of the
best-evidence sentence (the question's or the other one: the evidence's cross-lingual shift
decides, as before), scores them with the shipped ranker of that group (``model``: a logistic
regression on ``features``, fitted on ARCD/xarcd by ``bench/train_answer.py``) and takes the best
and those within the model's margin. Its features are computed over that language's passages
renumbered from rank 1, as in training, where every question was searched in one language.
``read`` takes the learned ranker's top candidates of that language and chooses among them by the
ranker's score plus the reader's logit (``reader``: the question and the sentence read together) times
the reader's ``rank_weight``, both fitted on validation data.
Out of scope: abstention (the evidence's threshold, unchanged) and the answerability model that the
shipped file also holds (measured in docs/eval/answer-rank-only.md, not used).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, NamedTuple

import numpy as np

from ..records import Hit
from . import reader
from .features import language_pool
from .model import load

if TYPE_CHECKING:
    from . import features
    from .extractive import Candidate


class Request(NamedTuple):
    """What a ranker sees: the question, the passages it chooses among with their sentence cosines,
    the evidence's candidates (of the first ``AnswerSettings.passages``) best first, the candidates of
    all those passages, the evidence margin, how many sentences at most, the embedder."""

    question: str
    context: str
    lang: str
    hits: list[Hit]
    cosines: list[np.ndarray]
    ranked: list[Candidate]
    pool: list[Candidate]
    margin: float
    max_sentences: int
    embedder: str


def by_evidence(ranked: list[Candidate], margin: float, max_sentences: int) -> list[Candidate]:
    """The best evidence and the runner-ups within ``margin`` of it."""
    best = ranked[0]
    return ([best] + [c for c in ranked[1:] if c.evidence >= best.evidence - margin])[: max(1, max_sentences)]


def scorer(r: Request) -> list[Candidate]:
    return by_evidence(r.ranked, r.margin, r.max_sentences)


def _key(hit: Hit, start: int, end: int) -> tuple[str, int, int]:
    return hit.chunk.doc_id, start, end


def _scored(r: Request) -> tuple[list[Candidate], np.ndarray, bool, list[features.Candidate]]:
    """The candidates of the best-evidence sentence's language (as the evidence's ``Candidate``), their
    learned ranker scores, whether that language is not the question's, and the same candidates as
    the features' ``Candidate`` (what the reader reads)."""
    lang_of_best = r.ranked[0].hit.chunk.lang
    p = language_pool(r.question, r.context, r.lang, r.hits, r.cosines, lang_of_best)
    by_key = {_key(c.hit, c.span.start, c.span.end): c for c in r.pool}
    # the features' pool gathers by the same rules as the evidence, over some of the same passages
    found = [by_key[_key(c.hit, c.span.start, c.span.end)] for c in p.candidates]
    return found, load(r.embedder).scores(p.matrix), lang_of_best != r.lang, p.candidates


def _best_within(found: list[Candidate], scores: np.ndarray, margin: float, max_sentences: int) -> list[Candidate]:
    order = np.argsort(-scores, kind="stable")
    top = scores[order[0]]
    return [found[int(j)] for j in order if scores[j] >= top - margin][: max(1, max_sentences)]


def learned(r: Request) -> list[Candidate]:
    """The learned ranker's choice among the candidates of the best-evidence sentence's language."""
    found, logits, cross, _ = _scored(r)
    return _best_within(found, logits, load(r.embedder).margin(cross), r.max_sentences)


def read(r: Request) -> list[Candidate]:
    """The learned ranker's top ``reads`` candidates, chosen among by its score plus the reader's logit
    times the reader's ``rank_weight`` (``learned`` when there is no reader)."""
    rdr = reader.load(r.embedder)
    if rdr is None:
        return learned(r)
    found, logits, cross, features = _scored(r)
    top = rdr.chosen(logits)
    combined = logits[top] + rdr.rank_weight * rdr.read(r.question, [features[int(j)] for j in top])
    return _best_within([found[int(j)] for j in top], combined, load(r.embedder).margin(cross), r.max_sentences)


RANKERS: dict[str, Callable[[Request], list[Candidate]]] = {"learned": learned, "read": read, "scorer": scorer}
