"""Two rankers side by side (today's scorer and the learned ranker unless ``--rankers``), through ``qa.answer.answer``.

    PYTHONPATH=. python bench/rank_report.py /path/to/arcd.json --work /tmp/answer-work [--split test] \
        [--xarcd bench/data/xarcd] [--nearmiss bench/data/nearmiss] [--arcd-en bench/data/arcd_en]

Every question of the split (``bench/answer_data.py``: the split bench/train_answer.py never trains
or tunes on; retrieval cached in ``--work``) is answered twice by the product's one entry point,
with ``AnswerSettings(ranker="scorer")`` (the hand-set evidence chooses the sentences, as before)
and ``ranker="learned"`` (the shipped ranker chooses them; the evidence still decides whether to
answer). Per language pair, on answerable questions: sentence accuracy (the first cited sentence
holds the gold answer's offset) and "answer contains gold" (among all cited sentences); per kind and
pair: the share abstained by each, which must be the same, and how many answers changed.
"""

from __future__ import annotations

from collections import defaultdict

import numpy as np
from abstain_report import sentence_vectors
from answer_background import question_vectors
from answer_data import Raw, contains_gold, data_arguments, is_gold_document, items, raw_records

from qa.answer import AnswerSettings, answer, reader
from qa.records import Answer


def ask(raw: Raw, vector: np.ndarray, ranker: str, rank_passages: int | None = None,
        abstention: str | None = None) -> Answer:
    """``raw``'s question answered from its cached retrieval and its own vector (the background veto
    reads it; ``abstain_report.sentence_vectors`` gives back the cached cosines)."""
    q = raw.item
    return answer(q.question, q.lang, raw.hits, vector, q.question, sentence_vectors(raw, vector),
                  AnswerSettings(ranker=ranker, rank_passages=rank_passages,
                                 abstention=abstention or AnswerSettings().abstention))


def first_ok(raw: Raw, a: Answer) -> bool:
    gold = raw.item.gold
    if a.abstained or not a.citations or gold is None:
        return False
    c = a.citations[0]
    return is_gold_document(c, gold[0]) and c.start <= gold[1] < c.end  # a Citation has doc_id and path too


def pair(raw: Raw) -> str:
    q = raw.item
    return f"{q.lang}->{q.target}" if q.kind != "offtopic" else f"{q.lang}->any"


def report(raws: list[Raw], vectors: dict[str, np.ndarray], rank_passages: int | None = None,
           rankers: tuple[str, str] = ("scorer", "learned"), abstention: str | None = None) -> str:
    acc: dict[str, list[tuple]] = defaultdict(list)
    abst: dict[tuple[str, str], list[tuple]] = defaultdict(list)
    for r in raws:
        v = vectors[r.item.question]
        old = ask(r, v, rankers[0], abstention=abstention)
        new = ask(r, v, rankers[1], rank_passages, abstention)
        row = (old.abstained, new.abstained, [c.start for c in old.citations] != [c.start for c in new.citations])
        abst[(r.item.kind, pair(r))].append(row)
        abst[(r.item.kind, "all")].append(row)
        if r.item.kind == "answerable":
            line = (first_ok(r, old), first_ok(r, new),
                    contains_gold([c.sentence for c in old.citations], r.item.answers),
                    contains_gold([c.sentence for c in new.citations], r.item.answers),
                    len(old.citations), len(new.citations))
            acc[pair(r)].append(line)
            acc["all"].append(line)
    a, b = rankers
    out = [f"| pair | n | sentence acc: {a} | {b} | contains gold: {a} | {b} | sentences: {a} | {b} |",
           "|---|---|---|---|---|---|---|---|"]
    for p in sorted(acc, key=lambda k: (k == "all", k)):
        m = np.mean(np.asarray(acc[p], np.float64), axis=0)
        out.append(f"| {p} | {len(acc[p])} | {m[0]:.3f} | {m[1]:.3f} | {m[2]:.3f} | {m[3]:.3f} | {m[4]:.2f} | "
                   f"{m[5]:.2f} |")
    out += ["", f"| kind and pair | n | abstained: {a} | {b} | answers changed |", "|---|---|---|---|---|"]
    for (kind, p), rows in sorted(abst.items()):
        m = np.mean(np.asarray(rows, np.float64), axis=0)
        out.append(f"| {kind} {p} | {len(rows)} | {m[0]:.3f} | {m[1]:.3f} | {m[2]:.3f} |")
    return "\n".join(out)


def main() -> None:
    parser = data_arguments(__doc__.split("\n\n")[0])
    parser.add_argument("--rank-passages", type=int, default=AnswerSettings().rank_passages,
                        help="AnswerSettings.rank_passages of the learned ranker (default: the shipped one)")
    parser.add_argument("--split", default="test", choices=("train", "val", "test"))
    parser.add_argument("--rankers", nargs=2, default=("scorer", "learned"), metavar=("OLD", "NEW"),
                        help="the two AnswerSettings.ranker compared (e.g. learned read)")
    parser.add_argument("--abstention", default=None, help="AnswerSettings.abstention of both (default: shipped)")
    parser.add_argument("--rank-weight", type=float, default=None,
                        help="the shipped reader's weight in ranker 'read' replaced by this (a sweep)")
    args = parser.parse_args()
    if args.rank_weight is not None:
        rdr = reader.require("e5-small")
        rdr.rank_weight, rdr.memo_size = args.rank_weight, 10**7
    chosen = [i for i in items(args.arcd, args.xarcd, args.nearmiss, args.arcd_en) if i.split == args.split]
    raws = raw_records(chosen, args.arcd, args.xarcd, args.work)
    vectors = question_vectors([r.item.question for r in raws], args.work)
    print(report(raws, vectors, args.rank_passages, tuple(args.rankers), args.abstention))


if __name__ == "__main__":
    main()
