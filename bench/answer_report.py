"""The report of bench/train_answer.py: the learned models beside the scorer they replace, test split.

Per language pair, on answerable questions: answer-sentence accuracy (the first cited sentence holds
the gold answer's offset) and "answer contains gold", for the learned ranker and the hand-set scorer
side by side. Abstention is reported through the product by ``bench/abstain_report.py``.
"""

from __future__ import annotations

import json
import re
from collections import defaultdict
from collections.abc import Callable
from typing import NamedTuple

import numpy as np
from answer_data import Item, Raw, contains_gold, is_gold_document

from qa.answer.features import MIN_WORDS, Pool
from qa.lexical import tokenize
from qa.text import normalize

__all__ = ["Scored", "contains_gold", "old_evidence", "render"]


class OldPick(NamedTuple):
    """What the hand-set scorer (before the learned models) cites: its sentences, whether the first
    holds the gold offset, and its evidence (it abstains below ``OLD_THRESHOLD``)."""

    texts: list[str]
    first_ok: bool
    evidence: float | None


class Scored(NamedTuple):
    raw: Raw
    pool: Pool
    labels: list[bool]
    old: OldPick


OLD_THRESHOLD = 0.84
PASSAGES = 3  # as bench/train_answer.py and AnswerSettings.passages
_OLD_NUMBER_Q = re.compile(
    r"\bhow (many|much|long|old|far|large|big|tall|high)\b|\b(what|which|in what) (year|number|percentage)\b"
    r"|\bwhen\b|(^|\W)و?(كم|متي)(\W|$)|في اي (عام|سنه)|ما (عدد|نسبه)")
_OLD_NUMBER = re.compile(
    r"\d|\b(one|two|three|four|five|six|seven|eight|nine|ten|eleven|twelve|twenty|thirty|forty|fifty|hundred|"
    r"thousand|million|billion|dozen)\b|(^|\W)و?(واحد|اثنان|اثنين|اثني|ثلاث|ثلاثه|اربع|اربعه|خمس|خمسه|ست|سته|سبع|"
    r"سبعه|ثمان|ثماني|ثمانيه|تسع|تسعه|عشر|عشره|عشرون|عشرين|مائه|مئه|مئات|الف|الاف|مليون|ملايين|مليار)(\W|$)")


def old_evidence(item: Item, raw: Raw) -> OldPick:
    """The scorer of qa/answer/extractive.py before the learned models (commit 28d47d7): the top 3
    passages' sentences by cosine + 0.07 across languages + 0.05 x word overlap - 0.02 for a number
    question without a number; sentences within 0.02 of the best join it (3 at most)."""
    q_tokens = set(tokenize(item.question))
    wants = bool(_OLD_NUMBER_Q.search(normalize(item.question)))
    seen, scored = set(), []
    for hit, cos in zip(raw.hits[:3], raw.cosines[:3]):
        for i, (span, c) in enumerate(zip(hit.chunk.sentences, cos.tolist())):
            text = hit.chunk.sentence_text(span)
            key = (hit.chunk.doc_id, span.start, span.end)
            if key in seen or len(text.split()) < MIN_WORDS or i in hit.chunk.headings:
                continue
            seen.add(key)
            ov = len(q_tokens & set(tokenize(text))) / len(q_tokens) if q_tokens else 0.0
            ev = c + (0.07 if hit.chunk.lang != item.lang else 0.0) + 0.05 * ov
            ev -= 0.02 if wants and not _OLD_NUMBER.search(normalize(text)) else 0.0
            ok = bool(item.gold) and is_gold_document(hit.chunk, item.gold[0]) and span.start <= item.gold[1] < span.end
            scored.append((ev, ov, hit.rank, text, ok))
    if not scored:
        return OldPick([], False, None)
    scored.sort(key=lambda s: (-s[0], -s[1], s[2]))
    picked = [s for s in scored if s[0] >= scored[0][0] - 0.02][:3]
    return OldPick([s[3] for s in picked], picked[0][4], scored[0][0])


Chooser = Callable[[np.ndarray, float], list[int]]


def answer_metrics(recs: list[Scored], logits: dict, margin: Callable[[Scored], float], chosen: Chooser,
                   pair: Callable) -> dict[str, dict]:
    groups: dict[str, list] = defaultdict(list)
    for r in recs:
        if r.raw.item.kind != "answerable":
            continue
        new = chosen(logits[id(r)], margin(r)) if r.pool.candidates else []
        texts = [c.text for c in r.pool.candidates]
        groups[pair(r)].append((bool(new) and r.labels[new[0]], r.old.first_ok,
                                contains_gold([texts[j] for j in new], r.raw.item.answers),
                                contains_gold(r.old.texts, r.raw.item.answers), len(new), any(r.labels)))
    keys = ("new_acc", "old_acc", "new_contains", "old_contains", "sentences", "in_pool")
    out = {p: {"n": len(rows), **{k: float(np.mean([x[i] for x in rows])) for i, k in enumerate(keys)}}
           for p, rows in sorted(groups.items())}
    every = [x for rows in groups.values() for x in rows]
    out["all"] = {"n": len(every), **{k: float(np.mean([x[i] for x in every])) for i, k in enumerate(keys)}}
    return out


def render(by: dict[str, list[Scored]], logits: dict, model, chosen: Chooser, pair: Callable,
           is_cross: Callable) -> str:
    test = by["test"]
    lines = [f"thresholds {json.dumps(model.thresholds)} (answerability probability), margins "
             f"{json.dumps(model.margins)} (ranker units), background margin {model.background_margin} (cosine)",
             f"counts {json.dumps(model.meta['counts'])}", "",
             "| pair (test) | n | in pool | sentence acc: before | learned | contains gold: before | learned "
             "| sentences |", "|---|---|---|---|---|---|---|---|"]
    for p, v in answer_metrics(test, logits, lambda r: model.margin(is_cross(r)), chosen, pair).items():
        lines.append(f"| {p} | {v['n']} | {v['in_pool']:.3f} | {v['old_acc']:.3f} | {v['new_acc']:.3f} | "
                     f"{v['old_contains']:.3f} | {v['new_contains']:.3f} | {v['sentences']:.2f} |")
    return "\n".join(lines)
