"""The report of bench/train_answer.py: the learned models beside the scorer they replace, test split.

Per language pair, on answerable questions: answer-sentence accuracy (the first cited sentence holds
the gold answer's offset) and "answer contains gold", for the learned ranker and the hand-set scorer
side by side; abstention per kind (answerable, near-miss, off-topic) and pair, for both; the
precision/recall curve of abstention on near-miss and off-topic questions as the threshold moves.
"""

from __future__ import annotations

import json
import re
from collections import defaultdict
from collections.abc import Callable
from dataclasses import replace
from typing import NamedTuple

import numpy as np
from answer_data import Item, Raw, contains_gold

from qa.answer.features import FEATURES, MIN_WORDS, Pool, pool, question_features
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
            ok = bool(item.gold) and hit.chunk.doc_id == item.gold[0] and span.start <= item.gold[1] < span.end
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


def learned_answers(question: str, lang: str, hits: list, cosines: list, model, shift: float = 0.0) -> bool:
    """The learned abstention that branch ``answer-ranker`` tried in the product (not used there now:
    it abstained on right cross-lingual answers over short documents): the passages split by
    language, each part renumbered and scored alone, answering when a part's answerability
    probability clears its threshold (``model.passes``)."""
    verdicts = []
    for same in (True, False):
        part = [(h, c) for h, c in zip(hits, cosines) if (h.chunk.lang == lang) == same]
        if not part:
            continue
        p = pool(question, question, lang, [replace(h, rank=n) for n, (h, _) in enumerate(part, 1)],
                 [c for _, c in part])
        if not p.candidates:
            continue
        logits = model.scores(p.matrix)
        prob = float(model.answerability.probability(question_features(p, logits, np.argsort(-logits)))[0])
        verdicts.append(model.passes(prob, float(p.matrix[:, FEATURES.index("cos")].max()), not same, shift))
    return any(verdicts)


def abstained(r: Scored, probs: dict, model, is_cross: Callable, shift: float = 0.0) -> bool:
    q = r.raw.item
    return not learned_answers(q.question, q.lang, r.raw.hits[:PASSAGES], r.raw.cosines[:PASSAGES], model, shift)


def old_abstained(r: Scored) -> bool:
    return r.old.evidence is None or r.old.evidence < OLD_THRESHOLD


def abstention(recs: list[Scored], probs: dict, model, pair: Callable, is_cross: Callable) -> dict[str, dict]:
    groups: dict[tuple[str, str], list[tuple[bool, bool]]] = defaultdict(list)
    for r in recs:
        p = pair(r) if r.raw.item.kind != "offtopic" else f"{r.raw.item.lang}->any"
        row = (abstained(r, probs, model, is_cross), old_abstained(r))
        groups[(r.raw.item.kind, p)].append(row)
        groups[(r.raw.item.kind, "all")].append(row)
    return {f"{kind} {p}": {"n": len(v), "new": float(np.mean([a for a, _ in v])),
                            "old": float(np.mean([b for _, b in v]))}
            for (kind, p), v in sorted(groups.items())}


def pr_curve(recs: list[Scored], probs: dict, kind: str, offsets: np.ndarray, model,
             is_cross: Callable) -> list[tuple[float, float, float, float]]:
    """(threshold shift, abstention precision, recall on ``kind``, share of answerable abstained) as
    both thresholds move by the same shift: precision counts ``kind`` against answerable questions."""
    out = []
    for shift in offsets:
        said = neg = should = answerable = wrong = 0
        for r in recs:
            if r.raw.item.kind not in (kind, "answerable"):
                continue
            is_neg = r.raw.item.kind == kind
            a = abstained(r, probs, model, is_cross, shift)
            said += a
            neg += a and is_neg
            should += is_neg
            answerable += not is_neg
            wrong += a and not is_neg
        out.append((round(float(shift), 2), neg / said if said else 1.0, neg / should if should else 0.0,
                    wrong / answerable if answerable else 0.0))
    return out


def render(by: dict[str, list[Scored]], logits: dict, probs: dict, model, chosen: Chooser, pair: Callable,
           is_cross: Callable) -> str:
    test = by["test"]
    lines = [f"thresholds {json.dumps(model.thresholds)} (answerability probability), margins "
             f"{json.dumps(model.margins)} (ranker units)", f"counts {json.dumps(model.meta['counts'])}", "",
             "| pair (test) | n | in pool | sentence acc: before | learned | contains gold: before | learned "
             "| sentences |", "|---|---|---|---|---|---|---|---|"]
    for p, v in answer_metrics(test, logits, lambda r: model.margin(is_cross(r)), chosen, pair).items():
        lines.append(f"| {p} | {v['n']} | {v['in_pool']:.3f} | {v['old_acc']:.3f} | {v['new_acc']:.3f} | "
                     f"{v['old_contains']:.3f} | {v['new_contains']:.3f} | {v['sentences']:.2f} |")
    lines += ["", "| test: kind and pair | n | abstained: before (0.84) | learned |", "|---|---|---|---|"]
    for key, v in abstention(test, probs, model, pair, is_cross).items():
        lines.append(f"| {key} | {v['n']} | {v['old']:.3f} | {v['new']:.3f} |")
    lines += ["", "Moving both thresholds by a shift (0 = shipped):", "",
              "| shift | answerable abstained | near-miss: precision | recall | off-topic: precision | recall |",
              "|---|---|---|---|---|---|"]
    shifts = np.round(np.arange(-0.3, 0.31, 0.05), 2)
    for (s, p1, r1, w), (_, p2, r2, _) in zip(pr_curve(test, probs, "nearmiss", shifts, model, is_cross),
                                              pr_curve(test, probs, "offtopic", shifts, model, is_cross)):
        lines.append(f"| {s:+.2f} | {w:.3f} | {p1:.3f} | {r1:.3f} | {p2:.3f} | {r2:.3f} |")
    return "\n".join(lines)
