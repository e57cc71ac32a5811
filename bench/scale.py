"""Scale: FAISS kinds at 100k and 1M chunks (recall@10 vs exact, build time, memory, latency), the cost of
an incremental add and a removal, BM25 build memory, bytes per chunk, opening RSS and `ask` latency at that size.

    python bench/scale.py /work/shared/data/arcd/arcd.json [--sizes 100000 1000000] [--batch 250000]
                          [--kinds flat flat-fp16 hnsw hnsw-fp16 ivf] [--work DIR] [--out FILE]

Embedding a million real chunks takes about a day here, so the corpus is synthetic but made of real
material (``bench/synthetic.synthetic_additions``): chunk texts are 3-6 ARCD sentences drawn at random
(so BM25 and the chunk store are full size), passage and sentence vectors are real e5 vectors of ARCD
chunks and sentences, each mixed with a random share of another and Gaussian noise, renormalised.
Queries are the real e5 vectors of the ARCD questions. The index is built through the real
``Index.apply`` in batches of ``--batch`` chunks (auto kind), so every batch after the first is an
incremental add. Recall@10 is the share of the exact top 10 (brute force over all vectors) that a
kind returns; latency is one query at a time, one thread (``scale_kinds``; memory probes in ``memory``).
"""

from __future__ import annotations

import argparse
import shutil
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
from common import (
    dir_bytes,
    emit,
    header,
    hwm_mib,
    percentiles,
    reset_peak_rss,
    rss_mib,
    table,
)
from memory import AnonPeak, mapped_rss, status_mib
from scale_kinds import exact_top, kinds_table
from synthetic import real_vectors, synthetic_additions

from qa.chunk import ChunkSettings
from qa.index import Index
from qa.lexical import BM25
from qa.retrieve import SearchOptions, search
from qa.text import detect_language


def build_index(folder: Path, real: dict, n: int, batch: int) -> list[dict]:
    index = Index.create(folder, "e5-small", 384, ChunkSettings())
    rows = []
    for additions in synthetic_additions(real, n, seed=n, batch=batch):
        before = len(index.snapshot)
        reset_peak_rss()
        t = time.perf_counter()
        with AnonPeak() as anon:
            index.apply(additions, set())
        rows.append({"index before": before, "chunks added": sum(len(a.chunks) for a in additions),
                     "kind": index.snapshot.manifest["ann"], "apply s": time.perf_counter() - t,
                     "peak RSS MiB (incl. mapped files)": hwm_mib(), "peak RssAnon MiB": anon.peak})
        print(f"  applied {len(index.snapshot)} / {n} in {rows[-1]['apply s']:.0f}s", file=sys.stderr, flush=True)
        del additions
    return rows


def small_add(folder: Path, real: dict, n: int) -> dict:
    index = Index.open(folder, verify=False)
    # A seed of its own: the same synthetic document again would be a replacement, not an add.
    [additions] = list(synthetic_additions(real, 10, seed=n + len(index.snapshot)))
    before = len(index.snapshot)
    reset_peak_rss()
    t = time.perf_counter()
    with AnonPeak() as anon:
        index.apply(additions, set())
    return {"index before": before, "chunks added": 10, "kind": index.snapshot.manifest["ann"],
            "apply s": time.perf_counter() - t, "peak RSS MiB (incl. mapped files)": hwm_mib(),
            "peak RssAnon MiB": anon.peak}


def small_remove(folder: Path) -> dict:
    """Remove the last document (10 chunks): the approximate index is carried with deleted ids."""
    index = Index.open(folder, verify=False)
    before = len(index.snapshot)
    reset_peak_rss()
    t = time.perf_counter()
    with AnonPeak() as anon:
        index.apply([], {index.snapshot.documents[-1]["id"]})
    return {"index before": before, "chunks added": -(before - len(index.snapshot)),
            "kind": index.snapshot.manifest["ann"], "apply s": time.perf_counter() - t,
            "peak RSS MiB (incl. mapped files)": hwm_mib(), "peak RssAnon MiB": anon.peak}


def bm25_build(folder: Path) -> dict:
    """BM25 of the largest segment rebuilt from its stored token ids (what a merge does)."""
    snap = Index.open(folder, verify=False).snapshot
    bm25 = max(snap.segments, key=lambda seg: seg.rows).bm25
    tokens, offsets = np.asarray(bm25.tokens), np.asarray(bm25.token_offsets)
    reset_peak_rss()
    base = rss_mib()
    t = time.perf_counter()
    BM25.from_ids(tokens, offsets, bm25.vocab)
    return {"chunks": bm25.size, "tokens": len(tokens), "vocabulary": len(bm25.vocab),
            "BM25 build s": time.perf_counter() - t, "peak RSS above start MiB": hwm_mib() - base}


def open_and_query(folder: Path, real: dict, questions: int) -> tuple[dict, list[dict]]:
    from qa import Assistant
    from qa.lexical import tokenize

    reset_peak_rss()
    before = {k: status_mib(k) for k in ("RssAnon", "RssFile")}
    t = time.perf_counter()
    assistant = Assistant.open(folder)
    open_s = time.perf_counter() - t
    snap = assistant.index.snapshot
    after_open = {k: status_mib(k) for k in ("RssAnon", "RssFile")}
    qs = [str(q) for q in real["questions"][:questions]]
    vecs = real["question_vectors"][:questions]
    ops = {"embed (baseline)": lambda q, v: assistant.embedder.embed_queries([q]),
           "search (retrieval only)": lambda q, v: search(snap, v, tokenize(q), detect_language(q), SearchOptions()),
           "search": lambda q, v: assistant.search(q),
           "ask": lambda q, v: assistant.ask(q)}
    times = {k: [] for k in ops}
    cpu = {k: [] for k in ops}
    assistant.ask(qs[0])
    for q, v in zip(qs, vecs):
        for name, fn in ops.items():
            c, t = time.process_time(), time.perf_counter()
            fn(q, v)
            times[name].append((time.perf_counter() - t) * 1000)
            cpu[name].append((time.process_time() - c) * 1000)
    after = {k: status_mib(k) for k in ("RssAnon", "RssFile")}
    chunk_bytes = sum(dir_bytes(seg.folder).get("chunks.jsonl", 0) for seg in snap.segments)
    opened = {"chunks": len(snap), "kind": snap.manifest["ann"], "open s (with checksums)": open_s,
              "RssAnon after open MiB": after_open["RssAnon"] - before["RssAnon"],
              "RssFile after open MiB": after_open["RssFile"] - before["RssFile"],
              f"RssFile after {questions} asks MiB": after["RssFile"] - before["RssFile"],
              "chunks.jsonl MiB": chunk_bytes / 2**20, "segments": len(snap.segments),
              "largest file mappings after the asks (MiB)": mapped_rss()}
    base = np.median(times["embed (baseline)"])
    lat = [{"chunks": len(snap), "operation": k, **percentiles(v), "p50 CPU ms": float(np.median(cpu[k])),
            "p50 / embed p50": np.median(v) / base} for k, v in times.items()]
    return opened, lat


def bytes_per_chunk(folder: Path) -> dict:
    n = len(Index.open(folder, verify=False).snapshot)
    groups: dict[str, int] = {}
    sizes = [item for seg in (folder / "segments").glob("seg-*") for item in dir_bytes(seg).items()]
    for name, size in sizes:
        key = ("FAISS (" + name.split("/")[0] + ")" if name.startswith("ann-") else
               "BM25 matrix + vocabulary" if name.startswith("bm25/") and "token" not in name else
               "BM25 token ids (for adds)" if name.startswith("bm25/") else
               "chunk store (chunks.jsonl + offsets)" if name in ("chunks.jsonl", "offsets.npy") else
               "passage vectors (fp32)" if name == "vectors.npy" else
               "sentence vectors (fp16) + offsets" if name.startswith("sentence_") else "other")
        groups[key] = groups.get(key, 0) + size
    row = {"chunks": n, **{k: v / n for k, v in sorted(groups.items())}}
    row["total"] = sum(groups.values()) / n
    return row


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("arcd", type=Path)
    ap.add_argument("--sizes", type=int, nargs="*", default=[100_000, 1_000_000])
    ap.add_argument("--batch", type=int, default=250_000)
    ap.add_argument("--kinds", nargs="*", default=["flat", "flat-fp16", "hnsw", "hnsw-fp16", "ivf"])
    ap.add_argument("--questions", type=int, default=100, help="questions for the ask/search latency")
    ap.add_argument("--work", type=Path, default=None, help="keep the built indexes here (default: temporary)")
    ap.add_argument("--reuse", action="store_true", help="reuse an index of that size already in --work")
    ap.add_argument("--out", type=Path, default=None)
    args = ap.parse_args()
    real = real_vectors(args.arcd)
    queries = real["question_vectors"]
    work = args.work or Path(tempfile.mkdtemp(prefix="qa-scale-"))
    text = header("Scale (bench/scale.py)")
    text += (f"Synthetic corpora from real ARCD material (see the script's docstring); {len(queries)} real ARCD "
             f"question vectors as queries; indexes in {work}.\n")
    emit(text, args.out)
    for n in args.sizes:
        folder = work / f"synthetic-{n}"
        if args.reuse and (folder / "CURRENT").exists():
            applies = []
        else:
            shutil.rmtree(folder, ignore_errors=True)
            applies = build_index(folder, real, n, args.batch)
        applies.append(small_add(folder, real, n))
        applies.append(small_remove(folder))
        emit(f"\n### {n} chunks: building through Index.apply (auto kind), a 10-chunk add, its removal\n\n"
             + table(applies), args.out)
        emit("\nBM25 rebuilt from the stored token ids:\n\n" + table([bm25_build(folder)]), args.out)
        emit("\nBytes per chunk on disk:\n\n" + table([bytes_per_chunk(folder)]), args.out)
        opened, lat = open_and_query(folder, real, args.questions)
        emit("\nOpening (Assistant.open, checksums verified) and memory:\n\n" + table([opened]), args.out)
        emit(f"\nQuery latency at {n} chunks ({args.questions} ARCD questions, auto kind):\n\n" + table(lat),
             args.out)
        snap = Index.open(folder, verify=False).snapshot
        vectors = np.ascontiguousarray(snap.vectors, dtype=np.float32)
        exact = exact_top(vectors, queries)
        built = {}
        part = snap.segments[0].parts.get("ar") if len(snap.segments) == 1 else None
        if part is not None and snap.manifest["ann"] in args.kinds and len(part[1]) == len(snap):
            built[snap.manifest["ann"]] = (part[0], float("nan"))  # built incrementally above
        rows = kinds_table(len(snap), vectors, queries, exact, args.kinds, built)
        emit(f"\nIndex kinds at {len(snap)} vectors (build s = nan: built incrementally by the applies above):\n\n"
             + table(rows), args.out)
        del snap, vectors


if __name__ == "__main__":
    sys.exit(main())
