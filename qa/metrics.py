"""Evaluation metrics as pure functions of ranks, sets and strings.

Retrieval: ``recall_at`` is the share of relevant items found in the top k (with a single gold
chunk, the familiar hit rate), ``mrr_at`` and ``ndcg_at`` (graded gains when given). Answers:
SQuAD exact match and token F1 with the SQuAD normalisation extended to Arabic (``qa.text``
rules, punctuation, English articles and the Arabic article ``ال``). Out of scope: significance
tests; aggregation by language lives in ``evaluate``.
"""

from __future__ import annotations

import math
import re
import unicodedata
from collections import Counter
from collections.abc import Iterable, Sequence

from .text import normalize

_ARTICLES_EN = re.compile(r"\b(a|an|the)\b")


def recall_at(ranked: Sequence[str], relevant: set[str], k: int) -> float:
    if not relevant:
        return 0.0
    return len(set(ranked[:k]) & relevant) / min(len(relevant), k)


def mrr_at(ranked: Sequence[str], relevant: set[str], k: int = 10) -> float:
    for i, item in enumerate(ranked[:k], 1):
        if item in relevant:
            return 1.0 / i
    return 0.0


def ndcg_at(ranked: Sequence[str], gains: dict[str, float], k: int = 10) -> float:
    dcg = sum(gains.get(item, 0.0) / math.log2(i + 1) for i, item in enumerate(ranked[:k], 1))
    ideal = sorted(gains.values(), reverse=True)[:k]
    idcg = sum(g / math.log2(i + 1) for i, g in enumerate(ideal, 1))
    return dcg / idcg if idcg else 0.0


def _strip_article(word: str) -> str:
    return word[2:] if word.startswith("ال") and len(word) > 3 else word


def answer_tokens(text: str) -> list[str]:
    """SQuAD-style normalisation (case, punctuation, articles) plus the Arabic rules of ``normalize``."""
    text = "".join(" " if unicodedata.category(c).startswith("P") else c for c in normalize(text))
    text = _ARTICLES_EN.sub(" ", text)
    return [_strip_article(w) for w in text.split()]


def exact_match(prediction: str, golds: Iterable[str]) -> float:
    p = answer_tokens(prediction)
    return float(any(p == answer_tokens(g) for g in golds))


def token_f1(prediction: str, golds: Iterable[str]) -> float:
    best = 0.0
    p = answer_tokens(prediction)
    for g in golds:
        t = answer_tokens(g)
        common = sum((Counter(p) & Counter(t)).values())
        if common:
            precision, recall = common / len(p), common / len(t)
            best = max(best, 2 * precision * recall / (precision + recall))
    return best


def contains(text: str, golds: Iterable[str]) -> bool:
    """A gold answer appears in ``text`` as whole tokens once both are normalised the same way."""
    hay = " " + " ".join(answer_tokens(text)) + " "
    return any((needle := " ".join(answer_tokens(g))) and f" {needle} " in hay for g in golds)


def abstention(abstained: Sequence[bool], impossible: Sequence[bool]) -> dict[str, float | int]:
    """Precision and recall of abstaining, with no-answer questions as the positives."""
    right = sum(a and i for a, i in zip(abstained, impossible, strict=True))
    said, should = sum(abstained), sum(impossible)
    return {"precision": right / said if said else 0.0, "recall": right / should if should else 0.0,
            "n": should}


def percentile(values: Sequence[float], q: float) -> float:
    if not values:
        return 0.0
    s = sorted(values)
    pos = (len(s) - 1) * q / 100
    lo, hi = math.floor(pos), math.ceil(pos)
    return s[lo] + (s[hi] - s[lo]) * (pos - lo)
