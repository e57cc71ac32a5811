"""Export a trained reader for the engine: an E5O1 overlay of its layers and a small JSON for its head.

    PYTHONPATH=.:bench python bench/reader_export.py /path/to/arcd.json --work W --tag reader-3title-ste-e4 \\
        --out DIR [--thresholds W/reader/thresholds-TAG-top4.json] [--reads 4] [--check 100]

Writes ``DIR/TAG.e5o`` (the trained layers' tensors: weight matrices Q4_0, biases and LayerNorms
float32, through ``qa.e5engine.overlay.write_overlay``) and ``DIR/TAG.json`` in
``qa.answer.reader``'s head format: the head's 384 weights and bias, the context it was trained on,
how many candidates it reads, the threshold and rank weight chosen on validation by
``bench/reader_report.py`` (``--rule`` of its thresholds file), the overlay's and base model's
sha256, the training settings. Checks, printed: (1) the matrices read back from the file are, bit
for bit, the ones the forward pass used (for a reader trained with ``--ste``; another one is
rounded here, which changes it: ``bench/reader_quant.py``); (2) the product's pair texts equal the
training's and the engine reads as many token ids; (3) on ``--check`` validation pairs (a seeded
sample), the probabilities of the product's reader (``qa.answer.reader.Reader`` on
``qa.e5engine.load_overlay``) against the torch model's, float32 and bfloat16 autocast (the scores
reader_report reads): correlation and max |dP|. Out of scope: thresholds refitted through the
product's answer path (``bench/abstain_report.py --reader``), putting the files in the package.
"""

from __future__ import annotations

import hashlib
import json
import random
import subprocess
from pathlib import Path

import numpy as np
import torch
from answer_data import data_arguments, items, raw_records
from e5_weights import batch, load, model_path
from reader_data import MAX_TOKENS, PASSAGES, question
from reader_model import MATRICES, Reader, loaded
from train_reader import token_ids

from qa.answer import reader as product
from qa.answer.features import pool

RULE = "evidence + background veto + reader veto@0.1"  # the product's read rule: a veto beside the others


def sha256(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def meta(recorded: dict, args) -> dict:
    """How the reader was trained: the command that rebuilds it, its data, the commit of this tree."""
    flags = " ".join(f"--{k.replace('_', '-')} {v}" for k, v in recorded.items() if k not in ("ste", "context"))
    commit = subprocess.run(["git", "-C", str(Path(__file__).parent), "rev-parse", "HEAD"], capture_output=True,
                            text=True).stdout.strip()
    return {"command": f"PYTHONPATH=.:bench python bench/train_reader.py ARCD --work W --context {recorded['context']}"
                       f"{' --ste' if recorded.get('ste') else ''} {flags}",
            "epochs": recorded.get("epochs"), "data": {"arcd": str(args.arcd), "xarcd": str(args.xarcd),
            "nearmiss": str(args.nearmiss), "arcd_en": str(args.arcd_en), "short": str(args.short),
            "retrieval cache": str(args.work)}, "commit": commit}


def write(reader: Reader, recorded: dict, chosen: dict, out: Path, tag: str) -> tuple[Path, Path]:
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
    head = {"format": product.FORMAT_VERSION, "text_format": product.TEXT_FORMAT, "kind": "e5-reader-head",
            "dim": len(weight), "weight": weight,
            "bias": float(reader.head.bias.detach().double()), "context": recorded["context"], **chosen,
            "max_tokens": MAX_TOKENS,
            "layers": sorted({int(k.split(".")[0][1:]) for k in tensors}),
            "overlay": overlay.name, "overlay_sha256": sha256(overlay),
            "base": model_path().name, "base_sha256": sha256(model_path()), "trained": recorded,
            "probability": "sigmoid(weight . v + bias), v = the engine's query vector (L2-normalised mean pool)"
                           " of qa.answer.reader.pair_text(question, candidate, context)"}
    path = out / f"{tag}.json"
    path.write_text(json.dumps(head, indent=1))
    return overlay, path


def torch_probabilities(reader: Reader, rows: list[list[int]], bf16: bool) -> np.ndarray:
    ids, mask = batch(rows)
    with torch.no_grad(), torch.autocast("cpu", dtype=torch.bfloat16, enabled=bf16):
        return torch.sigmoid(reader.top(reader.lower(ids, mask), mask)).float().numpy()


def check(reader: Reader, tok, sample: list[tuple], overlay: Path, head: Path) -> None:
    """The product's reader on the engine against the torch model on ``sample`` ((raw, candidate, pair))."""
    from qa.e5engine import load_overlay

    engine = load_overlay(overlay)
    rdr = product.Reader(engine.query, json.loads(head.read_text()))
    texts = [product.pair_text(r.item.question, c, rdr.context) for r, c, _ in sample]
    pairs = [p for _, _, p in sample]
    print(f"pair texts: the product's == training's for {sum(t == p.text[7:] for t, p in zip(texts, pairs))} "
          f"of {len(pairs)}")
    rows = token_ids(tok, pairs)
    counts = [engine.token_count(t, True) for t in texts]
    print(f"token ids: engine count == training count for {sum(c == len(r) for c, r in zip(counts, rows))} of "
          f"{len(rows)} texts")
    engine_p = np.concatenate([rdr.probabilities(r.item.question, [c]) for r, c, _ in sample])
    for name, bf16 in (("float32", False), ("bfloat16", True)):
        mine = np.concatenate([torch_probabilities(reader, rows[i:i + 16], bf16) for i in range(0, len(rows), 16)])
        diff = np.abs(engine_p - mine)
        print(f"engine vs torch {name} on {len(rows)} pairs (P {mine.min():.3f}-{mine.max():.3f}): correlation "
              f"{np.corrcoef(engine_p, mine)[0, 1]:.5f}, |dP| mean {diff.mean():.5f} max {diff.max():.5f}")


def validation_sample(args, context: str, n: int) -> list[tuple]:
    """``n`` seeded (raw, product candidate, training pair) triples of the validation questions."""
    chosen = [i for i in items(args.arcd, args.xarcd, args.nearmiss, args.arcd_en, args.short) if i.split == "val"]
    out = []
    for r in raw_records(chosen, args.arcd, args.xarcd, args.work):
        q = r.item
        candidates = pool(q.question, q.question, q.lang, r.hits[:PASSAGES], r.cosines[:PASSAGES]).candidates
        out += [(r, c, p) for c, p in zip(candidates, question(r, context).pairs)]
    return random.Random(0).sample(out, min(n, len(out)))


def main() -> None:
    parser = data_arguments(__doc__.split("\n\n")[0])
    parser.add_argument("--tag", required=True, help="the checkpoint W/reader/TAG.pt")
    parser.add_argument("--out", type=Path, required=True)
    parser.add_argument("--check", type=int, default=100, help="validation pairs the engine is compared on")
    parser.add_argument("--thresholds", type=Path, help="reader_report's validation thresholds (default: TAG's top 4)")
    parser.add_argument("--rule", default=RULE, help="which of its thresholds the head's threshold is")
    parser.add_argument("--reads", type=int, default=4, help="candidates per language the reader reads")
    args = parser.parse_args()
    torch.set_num_threads(1)
    args.out.mkdir(parents=True, exist_ok=True)
    encoder, tok = load()
    reader, recorded = loaded(args.work / "reader" / f"{args.tag}.pt", encoder)
    if not recorded.get("ste"):
        print(f"NOTE: {args.tag} was not trained through Q4_0: the overlay rounds it (bench/reader_quant.py)")
    th_path = args.thresholds or args.work / "reader" / f"thresholds-{args.tag}-top{args.reads}.json"
    th = json.loads(th_path.read_text())
    chosen = {"threshold": th[args.rule], "rank_weight": th["weight"], "reads": args.reads,
              "chosen_on": f"validation, bench/reader_report.py --top {args.reads}: {args.rule}; rank weight",
              "meta": meta(recorded, args)}
    overlay, head = write(reader, recorded, chosen, args.out, args.tag)
    check(reader, tok, validation_sample(args, recorded["context"], args.check), overlay, head)


if __name__ == "__main__":
    main()
