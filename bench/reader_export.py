"""Export a trained reader for the engine: an E5O1 overlay of its layers and a small JSON for its head.

    PYTHONPATH=.:bench python bench/reader_export.py /path/to/arcd.json --work W --tag reader-3prev-ste-e4 \\
        --out DIR [--check 100]

Writes ``DIR/TAG.e5o`` (the trained layers' tensors: weight matrices Q4_0, biases and LayerNorms
float32, through ``qa.e5engine.overlay.write_overlay``) and ``DIR/TAG.json`` (``HEAD_FORMAT``: the
head's 384 weights and bias, the context and text format the reader was trained on, the overlay's
and base model's sha256, the training settings). Checks, printed: (1) the matrices read back from
the file are, bit for bit, the ones the forward pass used (a reader trained with ``--ste``; another
one is rounded here, which changes it: ``bench/reader_quant.py``); (2) the engine reads the same
token ids as training (counts per text); (3) on ``--check`` validation pairs (a seeded sample), the
engine's probabilities (``qa.e5engine.load_overlay``, the query vector of ``reader_text``, the head)
against the torch model's, float32 and bfloat16 autocast (the scores reader_report reads):
correlation and max |dP|. Out of scope: thresholds (chosen through the product's answer path) and
putting the files in the package.
"""

from __future__ import annotations

import hashlib
import json
import random
from pathlib import Path

import numpy as np
import torch
from answer_data import data_arguments, items, raw_records
from e5_weights import batch, load, model_path
from reader_data import MAX_TOKENS, PREVIOUS_CHARS, TEXT_FORMAT, question
from reader_model import MATRICES, Reader, loaded
from train_reader import token_ids

HEAD_FORMAT = 1


def sha256(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def write(reader: Reader, recorded: dict, out: Path, tag: str) -> tuple[Path, Path]:
    """The overlay and the head's JSON; checks the written matrices are the forward pass's."""
    from qa.e5engine.overlay import read_overlay, write_overlay

    tensors = {k: v.numpy().reshape(-1) for k, v in reader.matrices().items()}
    overlay = write_overlay(out / f"{tag}.e5o", tensors, "q4_0")
    back = read_overlay(overlay)
    matrices = [k for k in tensors if k.split(".")[1] in MATRICES and k.endswith(".w")]
    differ = {k: int((back[k].values != tensors[k]).sum()) for k in tensors}
    print(f"overlay {overlay}: {len(back)} tensors, {overlay.stat().st_size} bytes; values differing from the "
          f"forward pass's: {sum(differ[k] for k in matrices)} in {len(matrices)} Q4_0 matrices, "
          f"{sum(v for k, v in differ.items() if k not in matrices)} in the float32 vectors")
    weight = reader.head.weight.detach().double().reshape(-1).tolist()
    head = {"format": HEAD_FORMAT, "kind": "e5-reader-head", "dim": len(weight), "weight": weight,
            "bias": float(reader.head.bias.detach().double()), "context": recorded["context"],
            "text_format": TEXT_FORMAT, "previous_chars": PREVIOUS_CHARS, "max_tokens": MAX_TOKENS,
            "layers": sorted({int(k.split(".")[0][1:]) for k in tensors}),
            "overlay": overlay.name, "overlay_sha256": sha256(overlay),
            "base": model_path().name, "base_sha256": sha256(model_path()), "trained": recorded,
            "probability": "sigmoid(weight . v + bias), v = the engine's query vector (L2-normalised mean pool)"
                           " of reader_text(question, passage_text(title, previous, sentence))"}
    path = out / f"{tag}.json"
    path.write_text(json.dumps(head, indent=1))
    return overlay, path


def torch_probabilities(reader: Reader, rows: list[list[int]], bf16: bool) -> np.ndarray:
    ids, mask = batch(rows)
    with torch.no_grad(), torch.autocast("cpu", dtype=torch.bfloat16, enabled=bf16):
        return torch.sigmoid(reader.top(reader.lower(ids, mask), mask)).float().numpy()


def check(reader: Reader, tok, pairs, overlay: Path, head: Path) -> None:
    """The engine against the torch model on ``pairs``."""
    from qa.e5engine import load_overlay

    engine = load_overlay(overlay)
    h = json.loads(head.read_text())
    texts = [p.text.removeprefix("query: ") for p in pairs]
    rows = token_ids(tok, pairs)
    counts = [engine.token_count(t, True) for t in texts]
    print(f"token ids: engine count == training count for {sum(c == len(r) for c, r in zip(counts, rows))} of "
          f"{len(rows)} texts")
    vectors = np.asarray(engine.query(texts), np.float64)
    engine_p = 1 / (1 + np.exp(-(vectors @ np.asarray(h["weight"]) + h["bias"])))
    for name, bf16 in (("float32", False), ("bfloat16", True)):
        mine = np.concatenate([torch_probabilities(reader, rows[i:i + 16], bf16) for i in range(0, len(rows), 16)])
        diff = np.abs(engine_p - mine)
        print(f"engine vs torch {name} on {len(rows)} pairs: correlation {np.corrcoef(engine_p, mine)[0, 1]:.5f}, "
              f"|dP| mean {diff.mean():.5f} max {diff.max():.5f}")


def main() -> None:
    parser = data_arguments(__doc__.split("\n\n")[0])
    parser.add_argument("--tag", required=True, help="the checkpoint W/reader/TAG.pt")
    parser.add_argument("--out", type=Path, required=True)
    parser.add_argument("--check", type=int, default=100, help="validation pairs the engine is compared on")
    args = parser.parse_args()
    torch.set_num_threads(1)
    args.out.mkdir(parents=True, exist_ok=True)
    encoder, tok = load()
    reader, recorded = loaded(args.work / "reader" / f"{args.tag}.pt", encoder)
    if not recorded.get("ste"):
        print(f"NOTE: {args.tag} was not trained through Q4_0: the overlay rounds it (bench/reader_quant.py)")
    overlay, head = write(reader, recorded, args.out, args.tag)
    chosen = [i for i in items(args.arcd, args.xarcd, args.nearmiss, args.arcd_en, args.short) if i.split == "val"]
    pairs = [p for r in raw_records(chosen, args.arcd, args.xarcd, args.work)
             for p in question(r, recorded["context"]).pairs]
    check(reader, tok, random.Random(0).sample(pairs, min(args.check, len(pairs))), overlay, head)


if __name__ == "__main__":
    main()
