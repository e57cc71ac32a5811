"""Fitting the answer models with scikit-learn (bench/train_answer.py): the sentence rankers and answerability.

The rankers are logistic regressions on pairs of candidates of one answerable training question (the
sentence holding the gold answer's offset minus another), one for the question's own language and one
across languages; cross-fitting over article folds gives every training record ranker scores from
rankers that did not see it, so that answerability is fitted on scores like those of unseen questions.
Answerability is a logistic regression on the rows the product computes (``Row``: one per language
of a question's top passages), weighted so that each language group counts as much with its positive
as with its negative rows, and typed questions (who / when / how many) weigh the same share of each
class. Out of scope: the data (``answer_data``), thresholds and margins (chosen on validation by
``train_answer``).
"""

from __future__ import annotations

from dataclasses import replace
from typing import NamedTuple

import numpy as np
from answer_data import bucket
from answer_report import Scored

from qa.answer.features import FEATURES, QUESTION_FEATURES, pool, question_features
from qa.answer.model import AnswerModel, Linear, group

# Pools of 5 passages, although the product ranks the candidates of AnswerSettings.passages (3): on
# validation the 5-passage ranker chose better in 3 of 4 language pairs (docs/eval/answer-rank-only.md, --passages 3).
PASSAGES = 5


def _standardise(x: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    mean, scale = x.mean(axis=0), x.std(axis=0)
    scale[scale < 1e-9] = 1.0
    return mean, scale


def fit_ranker(recs: list[Scored], c: float = 1.0) -> Linear:
    """A linear ranker fitted on pairs (answer sentence − other sentence of the same question): only
    what tells sentences of one question apart counts; each question counts once."""
    from sklearn.linear_model import LogisticRegression

    usable = [r for r in recs if r.raw.item.kind == "answerable" and any(r.labels) and not all(r.labels)]
    mean, scale = _standardise(np.vstack([r.pool.matrix for r in usable]))
    diffs, weights = [], []
    for r in usable:
        z = (r.pool.matrix - mean) / scale
        pos, neg = [i for i, ok in enumerate(r.labels) if ok], [i for i, ok in enumerate(r.labels) if not ok]
        diffs += [z[p] - z[n] for p in pos for n in neg]
        weights += [1.0 / (len(pos) * len(neg))] * (len(pos) * len(neg))
    d, w = np.asarray(diffs), np.asarray(weights)
    lr = LogisticRegression(C=c, fit_intercept=False, max_iter=3000)
    lr.fit(np.vstack([d, -d]), np.r_[np.ones(len(d)), np.zeros(len(d))], sample_weight=np.r_[w, w] * len(usable))
    return Linear(FEATURES, mean, scale, lr.coef_[0].astype(np.float64), 0.0)


def fit_rankers(recs: list[Scored], c: float = 1.0) -> dict[str, Linear]:
    """One ranker for questions answered from their own language, one for the other language."""
    return {group(cross): fit_ranker([r for r in recs if is_cross(r) == cross], c) for cross in (False, True)}


def logits_of(rankers: dict[str, Linear], r: Scored) -> np.ndarray:
    return AnswerModel(rankers, None, {}, {}, {}).scores(r.pool.matrix)


def fold_rankers(train: list[Scored], folds: int = 5, c: float = 1.0) -> dict[int, dict[str, Linear]]:
    """For every training record, rankers fitted without its fold (cross-fitting)."""
    fold = {id(r): bucket(r.raw.item.article + "fold", folds) for r in train}
    fitted = [fit_rankers([r for r in train if fold[id(r)] != f and not is_short(r)], c) for f in range(folds)]
    return {id(r): fitted[fold[id(r)]] for r in train}


def cross_fitted(train: list[Scored], by_record: dict[int, dict[str, Linear]]) -> dict[int, np.ndarray]:
    """Ranker scores of every training record from its cross-fitted rankers."""
    return {id(r): logits_of(by_record[id(r)], r) for r in train}


def is_short(r: Scored) -> bool:
    return r.raw.item.qid.startswith(("short:", "mixed:"))


def is_cross(r: Scored) -> bool:
    """The question is answered from the other language (off-topic: by its best sentence's)."""
    if r.raw.item.target != "any":
        return r.raw.item.target != r.raw.item.lang
    best = r.pool.candidates[0].hit.chunk.lang if r.pool.candidates else r.raw.item.lang
    return best != r.raw.item.lang


class Row(NamedTuple):
    """One answerability row: the passages of one language of a question's top passages."""

    same: bool  # in the question's language
    x: np.ndarray
    positive: bool


def group_rows(r: Scored, rankers: dict[str, Linear]) -> list[Row]:
    """The rows the product would compute (``answerability.probability``), per language of the top
    ``PASSAGES`` passages, ranked by ``rankers``."""
    q = r.raw.item
    out = []
    hits, cosines = r.raw.hits[:PASSAGES], r.raw.cosines[:PASSAGES]
    for same in (True, False):
        part = [(h, c) for h, c in zip(hits, cosines) if (h.chunk.lang == q.lang) == same]
        if not part:
            continue
        lang = part[0][0].chunk.lang
        p = pool(q.question, q.question, q.lang, [replace(h, rank=n) for n, (h, _) in enumerate(part, 1)],
                 [c for _, c in part])
        if p.candidates:
            logits = logits_of(rankers, Scored(r.raw, p, [], r.old))
            out.append(Row(same, question_features(p, logits, np.argsort(-logits, kind="stable")),
                           q.kind == "answerable" and lang == q.target))
    return out


def training_weights(rows: list[tuple[Row, bool]]) -> np.ndarray:
    """Equal weight per (same/cross language, positive or not) group, and within each class typed and
    untyped questions (``(row, typed)``) weigh the same."""
    groups = [(row.same, row.positive, typed) for row, typed in rows]
    sizes = {g: groups.count(g) for g in set(groups)}
    return np.array([1.0 / sizes[g] for g in groups]) * len(groups) / len(sizes)


def fit_answerability(rows: list[tuple[Row, bool]], c: float = 1.0) -> Linear:
    from sklearn.linear_model import LogisticRegression

    x = np.vstack([row.x for row, _ in rows])
    y = np.array([row.positive for row, _ in rows], int)
    mean, scale = _standardise(x)
    lr = LogisticRegression(C=c, max_iter=5000)
    lr.fit((x - mean) / scale, y, sample_weight=training_weights(rows))
    return Linear(QUESTION_FEATURES, mean, scale, lr.coef_[0].astype(np.float64), float(lr.intercept_[0]))
