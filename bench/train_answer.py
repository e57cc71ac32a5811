"""Fit the shipped answer models (sentence ranker + answerability) and report them on the test split.

    pip install -e '.[train]'
    nice -n 10 python bench/train_answer.py /path/to/arcd.json --work /tmp/answer-work \
        [--xarcd bench/data/xarcd] [--nearmiss bench/data/nearmiss] [--arcd-en bench/data/arcd_en] \
        [--short bench/data/short] [--out qa/answer/models/e5-small.json] [--report docs/eval/answer-model.md]

Builds (or reuses, in ``--work``) the index of ARCD + xarcd's English paragraphs and a small
off-topic index, retrieves every question once (``bench/answer_data.py``, cached), computes the
features, then fits with scikit-learn (``bench/answer_fit.py``): the rankers on pairs of candidates
of one answerable training question, answerability on the rows the product computes
(``qa.answer.answerability``): one per language of a question's top passages (renumbered from rank
1), positive when the question is answerable and the passages are in its gold document's language,
fed with ranker scores cross-fitted over article folds. The rankers are fitted without the short
documents' questions (``bench/answer_short.py``), which train answerability only. Typed questions
(who / when / how many) weigh the same share of each class: the near-miss sets ask mostly for such
details, and a model must not learn "a 'how many' question is unanswerable". On the validation
split it picks the margin for runner-up
sentences and the abstention thresholds (within a language and across: the highest that vetoes at
most ``--max-abstain`` of that group's answerable questions that the evidence answers); the test
split, never trained or tuned on, gives the ranker report (``answer_report``);
``bench/abstain_report.py`` reports abstention through the product.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
from answer_background import centroids, choose_margin, question_vectors  # noqa: E402
from answer_data import ROOT, Raw, data_arguments, items, labels, raw_records  # noqa: E402
from answer_fit import (  # noqa: E402
    PASSAGES,
    cross_fitted,
    fit_answerability,
    fit_rankers,
    fold_rankers,
    group_rows,
    is_cross,
    is_short,
    logits_of,
)
from answer_report import Scored, old_evidence, render  # noqa: E402

from qa.answer import AnswerSettings, answer  # noqa: E402
from qa.answer.features import pool  # noqa: E402
from qa.answer.model import AnswerModel, Linear, group  # noqa: E402

MARGINS = (0.0, 0.5, 1.0, 1.5, 2.0)


def scored(raw: Raw, passages: int = PASSAGES) -> Scored:
    q = raw.item
    p = pool(q.question, q.question, q.lang, raw.hits[:passages], raw.cosines[:passages])
    return Scored(raw, p, labels(raw, p.candidates), old_evidence(q, raw))


def pair(r: Scored) -> str:
    return f"{r.raw.item.lang}->{r.raw.item.target}"


def choose_threshold(probs: list[float], max_abstain: float) -> float:
    """The highest probability threshold that vetoes at most ``max_abstain`` of ``probs`` (those of
    validation questions that are answerable and that the evidence answers)."""
    answerable = np.asarray(probs)
    best = 0.0
    for t in np.arange(0.01, 0.99, 0.005):
        if len(answerable) and np.mean(answerable < t) <= max_abstain:
            best = float(t)
    return round(best, 3)


def evidence_abstains(raw: Raw) -> bool:
    """Whether the product's evidence alone (``AnswerSettings(abstention="evidence")``) abstains."""
    by_hit = {id(h): c.reshape(-1, 1).astype(np.float64) for h, c in zip(raw.hits, raw.cosines)}
    q = raw.item
    return answer(q.question, q.lang, raw.hits, np.ones(1), q.question, lambda h: by_hit[id(h)],
                  # the scorer: no model is read, so a model of a new format can be trained
                  AnswerSettings(abstention="evidence", ranker="scorer")).abstained


def veto_probabilities(val: list[Scored], answerability: Linear, rankers: dict[str, Linear], same: bool) -> list[float]:
    """The answerability of the gold language's passages of answerable ``val`` questions (of one
    group) that the evidence answers: what the threshold may veto."""
    out = []
    for r in val:
        if r.raw.item.kind != "answerable" or (r.raw.item.target == r.raw.item.lang) != same:
            continue
        if evidence_abstains(r.raw):
            continue
        out += [float(answerability.probability(row.x)[0]) for row in group_rows(r, rankers) if row.positive]
    return out


def chosen(logits: np.ndarray, margin: float, k: int = 3) -> list[int]:
    order = np.argsort(-logits, kind="stable")
    return [int(j) for j in order if logits[j] >= logits[order[0]] - margin][:k]


def pick_margin(val: list[Scored], logits: dict[int, np.ndarray]) -> float:
    """Contains-gold rewards more sentences, citation precision fewer: the margin balances the two."""
    from answer_report import contains_gold

    def value(m: float) -> float:
        total = 0.0
        for r in val:
            if r.raw.item.kind != "answerable" or not r.pool.candidates:
                continue
            picked = chosen(logits[id(r)], m)
            texts = [r.pool.candidates[j].text for j in picked]
            total += contains_gold(texts, r.raw.item.answers)
            total += float(np.mean([contains_gold([t], r.raw.item.answers) for t in texts]))
        return total
    return max(MARGINS, key=value)


def arguments():
    parser = data_arguments(__doc__.split("\n\n")[0])
    parser.add_argument("--out", type=Path, default=ROOT / "qa/answer/models/e5-small.json")
    parser.add_argument("--report", type=Path)
    parser.add_argument("--max-abstain", type=float, default=0.07)
    parser.add_argument("--max-abstain-cross", type=float, default=None,
                        help="the same across languages (default: --max-abstain)")
    parser.add_argument("--max-abstain-background", type=float, default=0.01,
                        help="the share of validation answerable questions whose gold language the background "
                             "margin may veto")
    parser.add_argument("--passages", type=int, default=PASSAGES, help="passages per training pool")
    parser.add_argument("--c", type=float, default=1.0, help="inverse regularisation of both regressions")
    return parser.parse_args()


def describe(args, by: dict[str, list[Scored]], cross_max: float) -> dict:
    """The model file's ``meta``: what it was trained on and with which choices."""
    counts = {s: {k: sum(r.raw.item.kind == k for r in v) for k in ("answerable", "nearmiss", "offtopic")}
              for s, v in by.items()}
    return {"trained_on": "ARCD + xarcd + bench/data/arcd_en + bench/data/nearmiss (rankers and answerability) + "
                          "bench/data/short (answerability); split by ARCD article / short topic hash",
            "counts": counts, "margin_grid": list(MARGINS), "max_abstain_on_val": args.max_abstain,
            "max_abstain_cross_on_val": cross_max, "max_abstain_background_on_val": args.max_abstain_background,
            "background": "mean sentence vector of the training split's documents per language", "c": args.c,
            "passages": args.passages}


def main() -> None:
    args = arguments()
    args.work.mkdir(parents=True, exist_ok=True)
    chosen_items = items(args.arcd, args.xarcd, args.nearmiss, args.arcd_en, args.short)
    raws = raw_records(chosen_items, args.arcd, args.xarcd, args.work)
    recs = [scored(r, args.passages) for r in raws]
    by = {s: [r for r in recs if r.raw.item.split == s] for s in ("train", "val", "test")}
    rank_by = {s: [r for r in v if not is_short(r)] for s, v in by.items()}  # the rankers' data, as before
    rankers = fit_rankers(rank_by["train"], args.c)
    folds = fold_rankers(by["train"], c=args.c)
    logits = cross_fitted(rank_by["train"], folds)
    logits.update({id(r): logits_of(rankers, r) for r in rank_by["val"] + rank_by["test"]})
    margins = {group(cross): pick_margin([r for r in rank_by["val"] if is_cross(r) == cross], logits)
               for cross in (False, True)}
    rows = [(row, r.pool.asked != "other") for r in by["train"] for row in group_rows(r, folds[id(r)])]
    answerability = fit_answerability(rows, args.c)
    cross_max = args.max_abstain if args.max_abstain_cross is None else args.max_abstain_cross
    thresholds = {group(not same): choose_threshold(veto_probabilities(by["val"], answerability, rankers, same),
                                                    args.max_abstain if same else cross_max)
                  for same in (True, False)}
    background = centroids(chosen_items, args.arcd, args.xarcd, args.work)
    val_raws = [r.raw for r in by["val"]]
    vectors = question_vectors([r.item.question for r in val_raws], args.work)
    background_margin = choose_margin(val_raws, vectors, background, evidence_abstains, args.max_abstain_background)
    model = AnswerModel(rankers, answerability, thresholds, margins, describe(args, by, cross_max), background,
                        background_margin)
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(model.to_dict(), indent=1) + "\n", "utf-8")
    report = render(rank_by, logits, model, chosen, pair, is_cross)
    print(report)
    if args.report:
        args.report.write_text(report + "\n", "utf-8")


if __name__ == "__main__":
    main()
