"""FAISS index kinds on one set of vectors: recall@10 against the exact top 10 (brute force), build time,
bytes per vector and single-query latency, at each kind's default search parameter and over a sweep of
it (``SWEEP``). Used by ``bench/scale.py`` at 100k and 1M chunks and by ``bench/segments.py``."""

from __future__ import annotations

import sys
import time

import faiss
import numpy as np
from common import percentiles, table

from qa.index import ann

SWEEP = {"hnsw": [64, 128, 256, 512, 768, 1024, 1536], "hnsw-fp16": [256, 512, 1024], "ivf": [16, 32, 64, 128, 256]}


def exact_top(vectors: np.ndarray, queries: np.ndarray, k: int = 10, block: int = 200_000) -> np.ndarray:
    best_s = np.full((len(queries), 0), -np.inf, np.float32)
    best_i = np.zeros((len(queries), 0), np.int64)
    for a in range(0, len(vectors), block):
        s = queries @ np.asarray(vectors[a : a + block], np.float32).T
        i = np.argpartition(-s, min(k, s.shape[1] - 1), axis=1)[:, :k]
        best_s = np.hstack([best_s, np.take_along_axis(s, i, 1)])
        best_i = np.hstack([best_i, i + a])
        keep = np.argsort(-best_s, axis=1)[:, :k]
        best_s, best_i = np.take_along_axis(best_s, keep, 1), np.take_along_axis(best_i, keep, 1)
    return best_i


def recall(found: np.ndarray, exact: np.ndarray) -> float:
    return float(np.mean([len(set(f.tolist()) & set(e.tolist())) / len(e) for f, e in zip(found, exact)]))


def latency(index, queries: np.ndarray, k: int = 50, n: int = 200) -> float:
    ms = []
    for q in queries[:n]:
        t = time.perf_counter()
        ann.search(index, q[None, :], k)
        ms.append((time.perf_counter() - t) * 1000)
    return percentiles(ms)["p50 ms"]


def set_param(index, kind: str, value: int) -> None:
    if kind.startswith("hnsw"):
        index.hnsw.efSearch = value
    elif kind == "ivf":
        index.nprobe = value


def kinds_table(n: int, vectors: np.ndarray, queries: np.ndarray, exact: np.ndarray, kinds: list[str],
                built: dict) -> list[dict]:
    rows = []
    for kind in kinds:
        print(f"  {kind}: {table(rows)}" if rows else f"  {kind} ...", file=sys.stderr, flush=True)
        if kind in built:
            index, seconds = built[kind]
        else:
            t = time.perf_counter()
            index = ann.build(kind, vectors)
            seconds = time.perf_counter() - t
        size = len(faiss.serialize_index(index)) if kind != "flat" else vectors.nbytes
        _, found = ann.search(index, queries, 10)
        default = {"n": n, "kind": kind, "build s": seconds, "bytes/vector": size / n,
                   "recall@10": recall(found, exact), "p50 ms (k=50)": latency(index, queries)}
        setting = ("efSearch", index.hnsw.efSearch) if kind.startswith("hnsw") else \
            ("nprobe", ann.NPROBE) if kind == "ivf" else ("", "")
        rows.append({**default, "search parameter": f"{setting[0]} {setting[1]} (default)".strip()})
        for value in SWEEP.get(kind, []):
            if value == setting[1]:
                continue
            set_param(index, kind, value)
            _, found = ann.search(index, queries, 10)
            rows.append({"n": n, "kind": kind, "search parameter": f"{setting[0]} {value}",
                         "recall@10": recall(found, exact), "p50 ms (k=50)": latency(index, queries)})
        set_param(index, kind, setting[1]) if setting[0] else None
        del index
    return rows
