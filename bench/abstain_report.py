"""Abstention through the product: the evidence's bar alone against the learned answerability veto.

    PYTHONPATH=. python bench/abstain_report.py /path/to/arcd.json --work /tmp/answer-work \\
        [--split test] [--xarcd ...] [--nearmiss ...] [--arcd-en ...] [--short bench/data/short]

Every question of the split (``bench/answer_data.py``, ``bench/answer_short.py``; retrieval cached in
``--work``) is answered by ``qa.answer.answer`` with ``AnswerSettings(abstention="evidence")`` (today's
rule) and ``abstention="learned"`` (the shipped threshold). Per kind (answerable, near-miss, off-topic),
source (ARCD/xarcd, short documents) and language pair: the share abstained by each. Then the
precision/recall curve of the learned veto as its threshold moves (``answerability_threshold``):
each question's answerability probability is computed once, and whether it abstains at a threshold
follows from two product answers (the evidence's, and one with the veto always on); at the shipped
threshold the curve is checked against the product's own answers. The ``heldout`` split is the test
suite's mixed corpus (never trained, tuned or chosen on).
"""

from __future__ import annotations

from collections import defaultdict
from typing import NamedTuple

import numpy as np
from answer_data import Raw, data_arguments, items, raw_records

from qa.answer import AnswerSettings, answer
from qa.answer.answerability import Request, probability
from qa.answer.model import load

THRESHOLDS = (0.0, 0.1, 0.15, 0.2, 0.25, 0.3, 0.35, 0.4, 0.45, 0.5, 0.55, 0.6)


class Outcome(NamedTuple):
    raw: Raw
    evidence_abstains: bool  # today's rule
    learned_abstains: bool  # the shipped veto
    vetoed_abstains: bool  # the veto always on: does another language clear the bar?
    probability: float | None


def _ask(raw: Raw, settings: AnswerSettings) -> bool:
    by_hit = {id(h): c.reshape(-1, 1).astype(np.float64) for h, c in zip(raw.hits, raw.cosines)}
    q = raw.item
    return answer(q.question, q.lang, raw.hits, np.ones(1), q.question, lambda h: by_hit[id(h)], settings).abstained


def outcome(raw: Raw) -> Outcome:
    q = raw.item
    k = AnswerSettings().rank_passages or AnswerSettings().passages
    prob = probability(Request(q.question, q.question, q.lang, raw.hits[:k], raw.cosines[:k], "e5-small"))
    return Outcome(raw, _ask(raw, AnswerSettings(abstention="evidence")), _ask(raw, AnswerSettings()),
                   _ask(raw, AnswerSettings(answerability_threshold=2.0)), prob)


def abstains_at(o: Outcome, threshold: float) -> bool:
    if o.evidence_abstains:
        return True
    return o.vetoed_abstains if o.probability is not None and o.probability < threshold else False


def key(o: Outcome) -> tuple[str, str, str]:
    q = o.raw.item
    source = "short" if q.qid.startswith(("short:", "mixed:")) else "arcd"
    return q.kind, source, f"{q.lang}->{q.target}" if q.kind != "offtopic" else f"{q.lang}->any"


def table(outcomes: list[Outcome]) -> list[str]:
    groups: dict[tuple[str, str, str], list[Outcome]] = defaultdict(list)
    for o in outcomes:
        kind, source, p = key(o)
        for g in ((kind, source, p), (kind, source, "all"), (kind, "both", "all")):
            groups[g].append(o)
    out = ["| kind | source | pair | n | abstained: evidence (today) | learned veto |", "|---|---|---|---|---|---|"]
    for (kind, source, p), rows in sorted(groups.items()):
        e = np.mean([o.evidence_abstains for o in rows])
        learned = np.mean([o.learned_abstains for o in rows])
        out.append(f"| {kind} | {source} | {p} | {len(rows)} | {e:.3f} | {learned:.3f} |")
    return out


def curve(outcomes: list[Outcome], shipped: float) -> list[str]:
    out = ["| threshold | answerable abstained | near-miss: precision | recall | off-topic: precision | recall |",
           "|---|---|---|---|---|---|"]
    kinds = np.array([o.raw.item.kind for o in outcomes])
    for t in sorted({*THRESHOLDS, shipped}):
        said = np.array([abstains_at(o, t) for o in outcomes])
        cells = [f"{np.mean(said[kinds == 'answerable']):.3f}"]
        for kind in ("nearmiss", "offtopic"):
            scope = (kinds == kind) | (kinds == "answerable")
            hit = said & (kinds == kind)
            precision, recall = hit.sum() / max(1, (said & scope).sum()), hit.sum() / max(1, (kinds == kind).sum())
            cells += [f"{precision:.3f}", f"{recall:.3f}"]
        label = f"**{t:.3f}** (shipped)" if t == shipped else f"{t:.2f}" if t else "0 (evidence only)"
        out.append(f"| {label} | " + " | ".join(cells) + " |")
    return out


def main() -> None:
    parser = data_arguments(__doc__.split("\n\n")[0])
    parser.add_argument("--split", default="test", choices=("train", "val", "test", "heldout"))
    args = parser.parse_args()
    chosen = [i for i in items(args.arcd, args.xarcd, args.nearmiss, args.arcd_en, args.short) if i.split == args.split]
    outcomes = [outcome(r) for r in raw_records(chosen, args.arcd, args.xarcd, args.work)]
    shipped = load("e5-small").threshold(False)
    assert all(abstains_at(o, shipped) == o.learned_abstains for o in outcomes), "the curve disagrees with answer()"
    print("\n".join([f"split {args.split}, shipped threshold {shipped}", "", *table(outcomes), "",
                     *curve(outcomes, shipped)]))


if __name__ == "__main__":
    main()
