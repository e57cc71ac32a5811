"""What a pending removal costs questions, on an index built by ``bench/segments.py`` (issue 11).

    python bench/removals.py INDEX_FOLDER /work/shared/data/arcd/arcd.json [--questions 600] [--rounds 2] [--out FILE]

The live snapshot of INDEX_FOLDER (after ``bench/segments.py``: a large segment with a document removed,
plus the small merged one) is searched three ways, interleaved question by question, with the real ARCD
question vectors: as a view of the same segments with nothing removed (the baseline: what the removal
itself costs is the difference), as before (the removed rows skipped by a FAISS id selector, as
before ``dense.OVERFETCH_DEAD``, and BM25 postings mapped through the segment's row map, as before
``lexical._past``), and as today (over-fetched and filtered; postings renumbered past the few removed
rows). Timed: ``qa.retrieve.search`` and,
apart, its dense and BM25 parts. Wall and CPU milliseconds; compare ratios within the table.
"""

from __future__ import annotations

import argparse
import time
from pathlib import Path

import numpy as np
from common import emit, header, percentiles, table
from synthetic import real_vectors

from qa.index import Index, dense
from qa.index.snapshot import Snapshot
from qa.lexical import tokenize
from qa.lexical_combined import Combined
from qa.retrieve import SearchOptions, search
from qa.text import detect_language

PARTS = {"search": lambda s, v, t, lang: search(s, v, t, lang, SearchOptions()),
         "dense part": lambda s, v, t, lang: s.dense_search(lang, v, SearchOptions().candidates),
         "BM25 part": lambda s, v, t, lang: s.lexical_search(t, lang, SearchOptions().candidates)}


def twin(snap: Snapshot, as_before: bool = False) -> Snapshot:
    """The same generation as ``snap``, with caches of its own; ``as_before``: its BM25 maps the
    postings of a segment with removals through the segment's row map (``Combined.FEW_DEAD``
    off), as before ``lexical._past``."""
    few = Combined.FEW_DEAD
    Combined.FEW_DEAD = -1 if as_before else few
    try:
        return Snapshot(snap.folder, snap.manifest, list(snap.segments), [d.tolist() for d in snap.deleted])
    finally:
        Combined.FEW_DEAD = few


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("index", type=Path)
    ap.add_argument("arcd", type=Path)
    ap.add_argument("--questions", type=int, default=600)
    ap.add_argument("--rounds", type=int, default=2)
    ap.add_argument("--out", type=Path, default=None)
    args = ap.parse_args()
    emit(header("Pending removals (bench/removals.py)"), args.out)
    real = real_vectors(args.arcd)
    questions = [str(q) for q in real["questions"][: args.questions]]
    vectors = np.asarray(real["question_vectors"][: args.questions], np.float32)
    snap = Index.open(args.index, verify=False).snapshot
    removed = sum(int(np.count_nonzero(np.isin(seg.doc_rows, gone))) for seg, gone in zip(snap.segments, snap.deleted))
    # One snapshot object per variant: a snapshot caches per-question work (BM25 per term), which a
    # variant sharing it with another would find done by that one.
    plain = Snapshot(snap.folder, snap.manifest, list(snap.segments), [[] for _ in snap.segments])
    variants = {"nothing removed (baseline)": (plain, dense.OVERFETCH_DEAD),
                "removal pending, as before (id selector, BM25 row map)": (twin(snap, as_before=True), 0),
                "removal pending, over-fetch (now)": (twin(snap), dense.OVERFETCH_DEAD)}
    names = list(variants)
    emit(f"\n{len(snap)} live chunks in {len(snap.segments)} segments, {removed} rows removed "
         f"(pending); {len(questions)} questions x {args.rounds} rounds, interleaved.\n", args.out)
    for part, run in PARTS.items():
        wall: dict[str, list[float]] = {n: [] for n in names}
        cpu: dict[str, list[float]] = {n: [] for n in names}
        for name in names:  # warm-up: per-snapshot caches, pages of the maps
            s, dense.OVERFETCH_DEAD = variants[name]
            run(s, vectors[0], tokenize(questions[0]), "ar")
        for i in range(args.rounds * len(questions)):
            q, v = questions[i % len(questions)], vectors[i % len(questions)]
            tokens, lang = tokenize(q), detect_language(q)
            for name in names[i % len(names):] + names[: i % len(names)]:
                s, dense.OVERFETCH_DEAD = variants[name]
                c, t = time.process_time(), time.perf_counter()
                run(s, v, tokens, lang)
                wall[name].append((time.perf_counter() - t) * 1000)
                cpu[name].append((time.process_time() - c) * 1000)
        base, base_cpu = float(np.median(wall[names[0]])), float(np.median(cpu[names[0]]))
        rows = [{"variant": n, **percentiles(wall[n]), "p50 / baseline": float(np.median(wall[n])) / base,
                 "p50 CPU ms": float(np.median(cpu[n])), "CPU p50 / baseline": float(np.median(cpu[n])) / base_cpu}
                for n in names]
        emit(f"\n{part}:\n\n" + table(rows), args.out)
    dense.OVERFETCH_DEAD = variants[names[-1]][1]


if __name__ == "__main__":
    main()
