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
Out of scope: abstention (the evidence's threshold, unchanged) and the answerability model that the
shipped file also holds (measured in docs/eval/answer-rank-only.md, not used).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import replace
from typing import TYPE_CHECKING, NamedTuple

import numpy as np

from ..records import Hit
from .features import pool
from .model import load

if TYPE_CHECKING:
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


def learned(r: Request) -> list[Candidate]:
    """The learned ranker's choice among the candidates of the best-evidence sentence's language."""
    lang_of_best = r.ranked[0].hit.chunk.lang
    part = [(h, c) for h, c in zip(r.hits, r.cosines) if h.chunk.lang == lang_of_best]
    hits = [replace(h, rank=n) for n, (h, _) in enumerate(part, 1)]
    p = pool(r.question, r.context, r.lang, hits, [c for _, c in part])
    by_key = {_key(c.hit, c.span.start, c.span.end): c for c in r.pool}
    # the features' pool gathers by the same rules as the evidence, over some of the same passages
    found = [by_key[_key(c.hit, c.span.start, c.span.end)] for c in p.candidates]
    model = load(r.embedder)
    logits = model.scores(p.matrix)
    order = np.argsort(-logits, kind="stable")
    margin = model.margin(lang_of_best != r.lang)
    top = logits[order[0]]
    return [found[int(j)] for j in order if logits[j] >= top - margin][: max(1, r.max_sentences)]


RANKERS: dict[str, Callable[[Request], list[Candidate]]] = {"learned": learned, "scorer": scorer}
