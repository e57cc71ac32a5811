"""What the cross-encoder reader costs per question: tokens read and ms on one thread.

    PYTHONPATH=.:bench python bench/reader_cost.py /path/to/arcd.json --work W [--tag reader-3] [--questions 40]

For the first ``--questions`` validation questions (bench/answer_data.py order), their top-N
candidates by sentence cosine (N = every candidate, 8, 4) are read by the trained reader
(``W/reader/TAG.pt``, with the context it was trained on), float32 and bfloat16 autocast, one
thread, one batch per question as a product would, and with ``--overlay`` by the engine (its
OpenMP threads, the exported reader); median ms per question and mean tokens per
question (``query: ... passage: ...``, with <s> and </s>). The share of answerable ones whose gold
sentence is among the N says what a smaller N gives up. Timings are of this machine at this load:
compare them as ratios in one run.
"""

from __future__ import annotations

import time

import numpy as np
import torch
from answer_data import data_arguments, items, raw_records
from e5_weights import batch, load
from reader_data import question
from reader_model import Reader, loaded
from train_reader import token_ids


def run(reader: Reader, rows: list[list[int]], bf16: bool) -> float:
    ids, mask = batch(rows)
    t0 = time.perf_counter()
    with torch.no_grad(), torch.autocast("cpu", dtype=torch.bfloat16, enabled=bf16):
        reader.top(reader.lower(ids, mask), mask)
    return (time.perf_counter() - t0) * 1000


def run_engine(engine, pairs) -> float:
    """ms of the engine's one batch of the pairs' query texts (``query: `` is the engine's), or nan."""
    if engine is None:
        return float("nan")
    t0 = time.perf_counter()
    engine.query([p.text.removeprefix("query: ") for p in pairs])
    return (time.perf_counter() - t0) * 1000


def main() -> None:
    parser = data_arguments(__doc__.split("\n\n")[0])
    parser.add_argument("--tag", default="reader-3")
    parser.add_argument("--questions", type=int, default=40)
    parser.add_argument("--overlay", help="also time the engine with this exported reader (bench/reader_export.py)")
    args = parser.parse_args()
    torch.set_num_threads(1)
    chosen = [i for i in items(args.arcd, args.xarcd, args.nearmiss, args.arcd_en, args.short) if i.split == "val"]
    encoder, tok = load()
    reader, recorded = loaded(args.work / "reader" / f"{args.tag}.pt", encoder)
    context = recorded.get("context", "none")
    raws = raw_records(chosen, args.arcd, args.xarcd, args.work)[: args.questions]
    questions = [question(r, context) for r in raws]
    engine = None
    if args.overlay:
        from qa.e5engine import load_overlay

        engine = load_overlay(args.overlay)
    print(f"context {context}")
    print("| candidates | tokens per question | ms float32 | ms bfloat16 | ms engine | gold among them (answerable) |")
    print("|---|---|---|---|---|---|")
    for n in (None, 8, 4):
        tokens, fp32, bf16, native, gold = [], [], [], [], []
        for qn in questions:
            pairs = sorted(qn.pairs, key=lambda p: -p.cosine)[:n]
            if not pairs:
                continue
            rows = token_ids(tok, pairs)
            tokens.append(sum(map(len, rows)))
            fp32.append(run(reader, rows, False))
            bf16.append(run(reader, rows, True))
            native.append(run_engine(engine, pairs))
            if qn.raw.item.kind == "answerable" and any(p.positive for p in qn.pairs):
                gold.append(any(p.positive for p in pairs))
        print(f"| {n or 'all'} | {np.mean(tokens):.0f} | {np.median(fp32):.0f} | {np.median(bf16):.0f} | "
              f"{np.median(native):.0f} | {np.mean(gold):.3f} |")


if __name__ == "__main__":
    main()
