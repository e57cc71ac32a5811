"""Abstention through the product: the evidence's bar alone against the learned answerability veto.

    PYTHONPATH=. python bench/abstain_report.py /path/to/arcd.json --work /tmp/answer-work \\
        [--split test] [--xarcd ...] [--nearmiss ...] [--arcd-en ...] [--short bench/data/short]

Every question of the split (``bench/answer_data.py``, ``bench/answer_short.py``; retrieval cached in
``--work``, question vectors in ``WORK/questions.pkl``) is answered by ``qa.answer.answer`` with
``AnswerSettings(abstention="evidence")`` (the bar alone), ``abstention="learned"`` without the
background veto (``background_margin=-1``) and with it, and with ``--reader`` the reader's veto
(``abstention="read"``, ``ranker="read"``). Per kind (answerable, near-miss, off-topic),
source (ARCD/xarcd, short documents) and language pair: the share abstained by each. Then the
precision/recall curve as the answerability threshold moves (``answerability_threshold``, or with
``--reader`` the reader's ``reader_threshold``; the background veto as shipped), each point a
product answer per question. The ``heldout`` split is the test suite's mixed corpus (never trained, tuned or chosen on).
"""

from __future__ import annotations

from collections import defaultdict
from typing import NamedTuple

import numpy as np
from answer_background import question_vectors
from answer_data import Raw, data_arguments, items, raw_records

from qa.answer import AnswerSettings, answer, reader
from qa.answer.model import load

THRESHOLDS = (0.0, 0.1, 0.15, 0.2, 0.25, 0.3, 0.35, 0.4, 0.45, 0.5, 0.55, 0.6)
READER_THRESHOLDS = (0.01, 0.02, 0.03, 0.05, 0.07, 0.1, 0.15, 0.2, 0.3)


class Outcome(NamedTuple):
    raw: Raw
    vector: np.ndarray  # the question's
    evidence_abstains: bool  # the bar alone
    unbackground_abstains: bool  # the learned veto without the background veto
    learned_abstains: bool  # the learned veto with the background veto
    read_abstains: bool | None = None  # the reader's veto with the background veto (--reader)


def sentence_vectors(raw: Raw, vector: np.ndarray):
    """Per hit, vectors whose products with the question's ``vector`` are the cached sentence cosines
    (each cosine times the unit vector itself, in float64): ``answer`` takes the question's own vector,
    which the background veto reads."""
    v = np.asarray(vector, np.float64)
    by_hit = {id(h): np.outer(c.astype(np.float64), v) / (v @ v) for h, c in zip(raw.hits, raw.cosines)}
    return lambda hit: by_hit[id(hit)]


def ask(raw: Raw, vector: np.ndarray, settings: AnswerSettings) -> bool:
    q = raw.item
    return answer(q.question, q.lang, raw.hits, vector, q.question, sentence_vectors(raw, vector), settings).abstained


def outcome(raw: Raw, vector: np.ndarray, with_reader: bool) -> Outcome:
    read = ask(raw, vector, AnswerSettings(abstention="read", ranker="read")) if with_reader else None
    return Outcome(raw, vector, ask(raw, vector, AnswerSettings(abstention="evidence")),
                   ask(raw, vector, AnswerSettings(abstention="learned", background_margin=-1.0)),
                   ask(raw, vector, AnswerSettings(abstention="learned")), read)


def abstains_at(o: Outcome, threshold: float, with_reader: bool) -> bool:
    if with_reader:
        return ask(o.raw, o.vector, AnswerSettings(abstention="read", ranker="read", reader_threshold=threshold))
    return ask(o.raw, o.vector, AnswerSettings(abstention="learned", answerability_threshold=threshold))


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
    out = ["| kind | source | pair | n | abstained: evidence | learned veto, no background | learned veto "
           "| reader veto |", "|---|---|---|---|---|---|---|---|"]
    for (kind, source, p), rows in sorted(groups.items()):
        e = np.mean([o.evidence_abstains for o in rows])
        unbackground = np.mean([o.unbackground_abstains for o in rows])
        learned = np.mean([o.learned_abstains for o in rows])
        read = "-" if rows[0].read_abstains is None else f"{np.mean([o.read_abstains for o in rows]):.3f}"
        out.append(f"| {kind} | {source} | {p} | {len(rows)} | {e:.3f} | {unbackground:.3f} | {learned:.3f} "
                   f"| {read} |")
    return out


def curve(outcomes: list[Outcome], shipped: float, with_reader: bool) -> list[str]:
    out = [f"| {'reader' if with_reader else 'answerability'} threshold | answerable abstained "
           "| near-miss: precision | recall | off-topic: precision | recall |",
           "|---|---|---|---|---|---|"]
    kinds = np.array([o.raw.item.kind for o in outcomes])
    for t in sorted({*(READER_THRESHOLDS if with_reader else THRESHOLDS), shipped}):
        said = np.array([abstains_at(o, t, with_reader) for o in outcomes])
        cells = [f"{np.mean(said[kinds == 'answerable']):.3f}"]
        for kind in ("nearmiss", "offtopic"):
            scope = (kinds == kind) | (kinds == "answerable")
            hit = said & (kinds == kind)
            precision, recall = hit.sum() / max(1, (said & scope).sum()), hit.sum() / max(1, (kinds == kind).sum())
            cells += [f"{precision:.3f}", f"{recall:.3f}"]
        label = f"**{t:.3f}** (shipped)" if t == shipped else f"{t:.2f}" if t else "0 (background veto only)"
        out.append(f"| {label} | " + " | ".join(cells) + " |")
    return out


def main() -> None:
    parser = data_arguments(__doc__.split("\n\n")[0])
    parser.add_argument("--split", default="test", choices=("train", "val", "test", "heldout"))
    parser.add_argument("--reader", action="store_true", help="also the reader's veto; its curve, not the model's")
    args = parser.parse_args()
    chosen = [i for i in items(args.arcd, args.xarcd, args.nearmiss, args.arcd_en, args.short) if i.split == args.split]
    raws = raw_records(chosen, args.arcd, args.xarcd, args.work)
    vectors = question_vectors([r.item.question for r in raws], args.work)
    rdr = reader.require("e5-small") if args.reader else None
    if rdr is not None:
        rdr.memo_size = 10**7  # every pair of the split read once, whatever the thresholds asked
    outcomes = [outcome(r, vectors[r.item.question], rdr is not None) for r in raws]
    shipped = rdr.threshold if rdr is not None else load("e5-small").threshold(False)
    print("\n".join([f"split {args.split}, shipped threshold {shipped}", "", *table(outcomes), "",
                     *curve(outcomes, shipped, rdr is not None)]))


if __name__ == "__main__":
    main()
