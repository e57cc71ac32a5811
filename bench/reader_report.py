"""The cross-encoder reader's scores (bench/train_reader.py) against today's shipped answer path, one split.

    PYTHONPATH=.:bench python bench/reader_report.py /path/to/arcd.json --work W --split val [--tag ...]
    PYTHONPATH=.:bench python bench/reader_report.py ... --split test --thresholds W/reader/thresholds.json

Per question of the split (bench/answer_data.py; candidates as in bench/reader_data.py): the
reader's answerability is its highest probability, its cited sentence the argmax. Reported beside
``qa.answer.answer`` as shipped (learned ranker + learned veto; the question's own vector):
- sentence accuracy per language pair (ARCD/xarcd answerable questions): the shipped answer's first
  citation holds the gold offset (an abstention counts wrong), the shipped ranker's top candidate
  of the same pool ignoring abstention, the reader's argmax, and whether any candidate holds it;
- abstention: the reader alone (abstain below t), the reader as a veto on the shipped answer, and
  on the shipped answer without its learned veto (the evidence's bar and the background veto),
  at the thresholds that abstain on at most 5% and 10% of answerable questions (all sources);
  chosen on ``val`` and written to ``--thresholds``; another split reads them from there. Near-miss
  and off-topic abstention at each, the shipped answer's at its own threshold and at the points of
  its curve (``answerability_threshold``) with the same answerable budget, and the reader's curve.
"""

from __future__ import annotations

import json
import pickle
from collections import defaultdict

import numpy as np
from abstain_report import THRESHOLDS, abstains_at
from abstain_report import Outcome as ShippedOutcome
from answer_background import question_vectors
from answer_data import data_arguments, items, raw_records
from rank_report import ask, first_ok
from rank_report import pair as pair_name
from reader_data import best, question, source

from qa.answer.features import pool
from qa.answer.model import load

BUDGETS = (0.05, 0.10)
# a rule: the reader's veto on top of what already abstains (None: the reader alone)
RULES = {"reader alone": None, "shipped + reader veto": "shipped_abstained",
         "evidence + background veto + reader veto": "base_abstained"}
GRID = tuple(round(x, 3) for x in np.arange(0.0, 1.0, 0.005))
WEIGHTS = (0.0, 0.1, 0.2, 0.3, 0.5, 0.75, 1.0, 1.5, 2.0, 3.0, 5.0)


def rows_of(raws, vectors, scores, top: int | None = None):
    """Per question: kind, pair, source, reader max / argmax-positive, shipped abstained / first ok,
    shipped ranker's top positive, any candidate positive; the shipped outcome for its curve.
    ``top``: the reader reads only the shipped ranker's ``top`` candidates (the others score 0)."""
    model = load("e5-small")
    out, shipped = [], []
    for r in raws:
        qn, v = question(r), vectors[r.item.question]
        a = ask(r, v, "learned")
        q = r.item
        matrix = pool(q.question, q.question, q.lang, r.hits[:5], r.cosines[:5]).matrix
        logits = model.scores(matrix)
        s = scores[r.item.qid].copy()
        if top is not None:
            s[np.argsort(-logits, kind="stable")[top:]] = 0.0
        top_p, arg = best(s)
        ranker_top = int(np.argmax(logits)) if len(matrix) else -1
        positive = [p.positive for p in qn.pairs]
        out.append(dict(kind=q.kind, pair=pair_name(r), source=source(r), reader=top_p,
                        reader_ok=arg >= 0 and positive[arg], shipped_abstained=a.abstained,
                        shipped_ok=first_ok(r, a), ranker_ok=ranker_top >= 0 and positive[ranker_top],
                        reachable=any(positive), logits=logits, probs=s, positive=np.array(positive)))
        shipped.append(ShippedOutcome(r, v, False, False, a.abstained))
        out[-1]["base_abstained"] = abstains_at(shipped[-1], 0.0, False)  # the evidence and the background veto
    return out, shipped


def combined_ok(x: dict, weight: float) -> bool:
    """The top candidate by the shipped ranker's logit + ``weight`` x the reader's logit holds the gold."""
    if not len(x["probs"]):
        return False
    p = np.clip(x["probs"].astype(np.float64), 1e-6, 1 - 1e-6)
    return bool(x["positive"][int(np.argmax(x["logits"] + weight * np.log(p / (1 - p))))])


def choose_weight(rows) -> float:
    """The reader's weight in the combined ranking that picks the most gold sentences (val)."""
    answerable = [x for x in rows if x["kind"] == "answerable" and x["source"] == "arcd"]
    return max(WEIGHTS, key=lambda w: (sum(combined_ok(x, w) for x in answerable), -w))


def accuracy_table(rows, weight: float) -> list[str]:
    for x in rows:
        x["combined_ok"] = combined_ok(x, weight)
    groups = defaultdict(list)
    for x in rows:
        if x["kind"] == "answerable" and x["source"] == "arcd":
            groups[x["pair"]].append(x)
            groups["all"].append(x)
    out = ["| pair | n | shipped answer (abstained = wrong) | shipped ranker, top of pool | reader argmax "
           f"| ranker + {weight} x reader logit | gold in pool |", "|---|---|---|---|---|---|---|"]
    for p in sorted(groups, key=lambda k: (k == "all", k)):
        g = groups[p]
        m = [np.mean([x[k] for x in g]) for k in ("shipped_ok", "ranker_ok", "reader_ok", "combined_ok", "reachable")]
        out.append(f"| {p} | {len(g)} | " + " | ".join(f"{v:.3f}" for v in m) + " |")
    return out


def choose(rows, budget: float, base: str | None) -> float:
    """The highest threshold abstaining on at most ``budget`` of the answerable questions."""
    said = np.array([x[base] for x in rows if x["kind"] == "answerable"]) if base else False
    probs = np.array([x["reader"] for x in rows if x["kind"] == "answerable"])
    ok = [t for t in GRID if np.mean(said | (probs < t)) <= budget]
    return max(ok) if ok else 0.0


def rates(rows, abstained) -> tuple[float, float, float]:
    kinds = np.array([x["kind"] for x in rows])
    return tuple(float(np.mean(abstained[kinds == k])) for k in ("answerable", "nearmiss", "offtopic"))


def abstention_table(rows, shipped, thresholds) -> list[str]:
    probs = np.array([x["reader"] for x in rows])
    said = np.array([x["shipped_abstained"] for x in rows])
    out = ["| rule | threshold | answerable abstained | near-miss abstained | off-topic abstained |",
           "|---|---|---|---|---|", "| shipped (as is) | model's | " +
           " | ".join(f"{v:.3f}" for v in rates(rows, said)) + " |"]
    curve = {t: np.array([abstains_at(o, t, False) for o in shipped]) for t in THRESHOLDS}
    for budget in BUDGETS:
        fits = [t for t in THRESHOLDS if rates(rows, curve[t])[0] <= budget]
        if fits:
            t = max(fits)
            out.append(f"| shipped, its curve at <= {budget:.0%} | {t:.2f} | " +
                       " | ".join(f"{v:.3f}" for v in rates(rows, curve[t])) + " |")
        for name, base in RULES.items():
            t = thresholds[f"{name}@{budget}"]
            a = (probs < t) | (np.array([x[base] for x in rows]) if base else False)
            out.append(f"| {name}, <= {budget:.0%} on val | {t:.3f} | " +
                       " | ".join(f"{v:.3f}" for v in rates(rows, a)) + " |")
    return out


def pair_table(rows, thresholds, budget: float = 0.10) -> list[str]:
    """Per kind and pair: abstained as shipped and under the combined rule at ``budget``."""
    rule = "evidence + background veto + reader veto"
    t = thresholds[f"{rule}@{budget}"]
    groups = defaultdict(list)
    for x in rows:
        groups[(x["kind"], x["source"], x["pair"])].append(x)
    out = [f"| kind | source | pair | n | shipped | {rule} ({t}) |", "|---|---|---|---|---|---|"]
    for key in sorted(groups):
        g = groups[key]
        new = np.mean([x["base_abstained"] or x["reader"] < t for x in g])
        out.append(f"| {' | '.join(key)} | {len(g)} | {np.mean([x['shipped_abstained'] for x in g]):.3f} | {new:.3f} |")
    return out


def curve_table(rows) -> list[str]:
    probs = np.array([x["reader"] for x in rows])
    out = ["| reader threshold | answerable abstained | near-miss abstained | off-topic abstained |",
           "|---|---|---|---|"]
    for t in (0.01, 0.02, 0.05, 0.1, 0.2, 0.3, 0.4, 0.5, 0.6, 0.7, 0.8, 0.9):
        out.append(f"| {t:.2f} | " + " | ".join(f"{v:.3f}" for v in rates(rows, probs < t)) + " |")
    return out


def main() -> None:
    parser = data_arguments(__doc__.split("\n\n")[0])
    parser.add_argument("--split", default="val", choices=("val", "test", "heldout"))
    parser.add_argument("--tag", default="reader-3", help="the scores' name: W/reader/scores-SPLIT-TAG.pkl")
    parser.add_argument("--thresholds", default=None, help="JSON of val's thresholds (default W/reader/)")
    parser.add_argument("--top", type=int, default=None, help="the reader reads the ranker's top N candidates only")
    args = parser.parse_args()
    chosen = [i for i in items(args.arcd, args.xarcd, args.nearmiss, args.arcd_en, args.short) if i.split == args.split]
    raws = raw_records(chosen, args.arcd, args.xarcd, args.work)
    scores = pickle.loads((args.work / "reader" / f"scores-{args.split}-{args.tag}.pkl").read_bytes())
    vectors = question_vectors([r.item.question for r in raws], args.work)
    rows, shipped = rows_of(raws, vectors, scores, args.top)
    default = args.work / "reader" / f"thresholds-{args.tag}-top{args.top}.json"
    th = thresholds(rows, args.split, args.thresholds or default)
    print("\n".join([f"split {args.split}, scores {args.tag}, top {args.top or 'all'}, {len(rows)} questions", "",
                     *accuracy_table(rows, th["weight"]), "", *abstention_table(rows, shipped, th), "",
                     *pair_table(rows, th), "", *curve_table(rows)]))


def thresholds(rows, split: str, path) -> dict:
    """On val: the reader's thresholds per budget and rule and its weight in the combined ranking,
    written to ``path``; on another split: read from there."""
    if split == "val":
        th = {f"{n}@{b}": choose(rows, b, v) for b in BUDGETS
              for n, v in RULES.items()}
        th["weight"] = choose_weight(rows)
        with open(path, "w") as f:
            json.dump(th, f, indent=1)
    with open(path) as f:
        return json.load(f)


if __name__ == "__main__":
    main()
