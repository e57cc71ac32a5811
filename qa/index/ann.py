"""FAISS indexes over unit vectors (inner product = cosine), chosen by name or by corpus size.

``ANN_KINDS`` maps a kind to a builder. ``auto`` picks exact search (``flat``) below ``EXACT_LIMIT``
chunks and ``hnsw`` from there on; any kind can be asked for by name (``qa ingest
--ann KIND``). Measured on ARCD-derived vectors (docs/benchmarks.md, ``bench/scale.py``):

- ``flat``: exact; nothing saved (rebuilt from ``vectors.npy`` on open). One query scans every
  vector: ~17 ms per 100k on one core here, so it stops at ``EXACT_LIMIT``.
- ``flat-fp16``: exact over fp16 copies, half the memory of ``flat`` and slower to scan.
- ``hnsw``: graph with ``HNSW_M`` links per node; recall@10 ≥ 0.99 of exact at 100k and 1M with
  ``EF_SEARCH`` / ``EF_SEARCH_LARGE``; 1-5 ms per query; memory = vectors + ~2·M·4 bytes per vector.
- ``hnsw-fp16``: the same graph over fp16 vectors (the compressed mode: half the vector memory).
- ``ivf``: inverted lists (4·√n clusters, ``NPROBE`` probed); 5-7x faster to build than HNSW, but
  its clusters are those of its first build, so it suits one-shot builds more than growing corpora.

Searches run on one thread: under contention (another process on a core) a parallel scan of one
query waits for the slowest thread, which made a 17 ms exact search take 50-80 ms here.
A removal leaves the removed vectors in an approximate index as deleted ids that searches skip (the
graph keeps routing through them), until they are ``MAX_DELETED`` of it and the next save rebuilds.
Out of scope: GPU indexes and training on a sample other than the corpus itself.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from pathlib import Path

import faiss  # noqa: E402
import numpy as np  # noqa: E402

Index = faiss.Index
EXACT_LIMIT = 50_000
HNSW_M = 32
EF_CONSTRUCTION = 200
EF_SEARCH = 256  # below EF_LARGE_FROM vectors; recall@10 0.999 at 100k, 0.975 at 1M
EF_SEARCH_LARGE = 1024  # from EF_LARGE_FROM; 0.995 at 1M (768: 0.994, 512: 0.989), ~4 ms
EF_LARGE_FROM = 300_000
NPROBE = 64
# Removed rows stay in an approximate index as deleted ids, skipped by its searches, until they
# are this share of it; the next save then rebuilds it.
MAX_DELETED = 0.2
ANN_FILE = "ann.faiss"
_BUILD_THREADS = os.cpu_count() or 1


def _flat(vectors: np.ndarray) -> faiss.Index:
    index = faiss.IndexFlatIP(vectors.shape[1])
    index.add(vectors)
    return index


def _hnsw(vectors: np.ndarray) -> faiss.Index:
    index = faiss.IndexHNSWFlat(vectors.shape[1], HNSW_M, faiss.METRIC_INNER_PRODUCT)
    index.hnsw.efConstruction = EF_CONSTRUCTION
    index.add(vectors)
    return index


def _hnsw_fp16(vectors: np.ndarray) -> faiss.Index:
    index = faiss.IndexHNSWSQ(vectors.shape[1], faiss.ScalarQuantizer.QT_fp16, HNSW_M, faiss.METRIC_INNER_PRODUCT)
    index.hnsw.efConstruction = EF_CONSTRUCTION
    index.train(vectors)
    index.add(vectors)
    return index


def _flat_fp16(vectors: np.ndarray) -> faiss.Index:
    index = faiss.IndexScalarQuantizer(vectors.shape[1], faiss.ScalarQuantizer.QT_fp16,
                                       faiss.METRIC_INNER_PRODUCT)
    index.add(vectors)
    return index


def ivf_lists(n: int) -> int:
    """Clusters for ``n`` vectors: 4·√n, with at least 39 training points per cluster."""
    return max(1, min(int(4 * np.sqrt(n)), n // 39))


def _ivf(vectors: np.ndarray) -> faiss.Index:
    d, nlist = vectors.shape[1], ivf_lists(len(vectors))
    index = faiss.IndexIVFFlat(faiss.IndexFlatIP(d), d, nlist, faiss.METRIC_INNER_PRODUCT)
    index.cp.spherical = True
    # k-means on an evenly spaced sample of at most 64 points per cluster (deterministic).
    sample = vectors[np.linspace(0, len(vectors) - 1, min(len(vectors), 64 * nlist)).astype(int)]
    index.train(np.ascontiguousarray(sample))
    index.add(vectors)
    return index


ANN_KINDS: dict[str, Callable[[np.ndarray], faiss.Index]] = {
    "flat": _flat,
    "hnsw": _hnsw,
    "flat-fp16": _flat_fp16,
    "hnsw-fp16": _hnsw_fp16,
    "ivf": _ivf,
}
REBUILT_ON_OPEN = {"flat"}


def choose_kind(requested: str, n: int) -> str:
    """The kind to build for ``n`` vectors (the largest language part) when ``requested``."""
    if requested == "auto":
        return "flat" if n < EXACT_LIMIT else "hnsw"
    if requested not in ANN_KINDS:
        raise ValueError(f"unknown index kind {requested!r}; choose auto or one of: {', '.join(ANN_KINDS)}")
    return requested


def _tune(index: faiss.Index) -> faiss.Index:
    """Search-time parameters are constants of this module, not of the file: retuning applies to
    indexes built before."""
    if hasattr(index, "hnsw"):
        index.hnsw.efSearch = EF_SEARCH if index.ntotal < EF_LARGE_FROM else EF_SEARCH_LARGE
    if isinstance(index, faiss.IndexIVF):
        index.nprobe = min(NPROBE, index.nlist)
    return index


def build(kind: str, vectors: np.ndarray) -> faiss.Index:
    faiss.omp_set_num_threads(_BUILD_THREADS)
    return _tune(ANN_KINDS[kind](np.ascontiguousarray(vectors, dtype=np.float32)))


def add(index: faiss.Index, vectors: np.ndarray) -> None:
    """Append ``vectors`` to ``index`` in place (their ids follow the existing ones)."""
    if len(vectors):
        faiss.omp_set_num_threads(_BUILD_THREADS)
        index.add(np.ascontiguousarray(vectors, dtype=np.float32))
        _tune(index)


def clone(index: faiss.Index) -> faiss.Index:
    return _tune(faiss.clone_index(index))


def save(index: faiss.Index, kind: str, folder: Path) -> None:
    if kind not in REBUILT_ON_OPEN:
        faiss.write_index(index, str(folder / ANN_FILE))


def load(kind: str, folder: Path, vectors: np.ndarray | None) -> faiss.Index:
    """Read a saved index; ``vectors`` (this part's rows) are only needed by kinds rebuilt on open."""
    if kind in REBUILT_ON_OPEN:
        return build(kind, vectors)
    return _tune(faiss.read_index(str(folder / ANN_FILE)))


def excluding(index: faiss.Index, ids: np.ndarray) -> faiss.SearchParameters | None:
    """Search parameters that skip ``ids`` with the index's own efSearch / nprobe (None: no ids).
    Build them once per index and id set: the selector is a hash set of the ids."""
    if not len(ids):
        return None
    inner = faiss.IDSelectorBatch(np.ascontiguousarray(ids, dtype=np.int64))
    selector = faiss.IDSelectorNot(inner)
    if hasattr(index, "hnsw"):
        params = faiss.SearchParametersHNSW(sel=selector, efSearch=index.hnsw.efSearch)
    elif isinstance(index, faiss.IndexIVF):
        params = faiss.SearchParametersIVF(sel=selector, nprobe=index.nprobe)
    else:
        params = faiss.SearchParameters(sel=selector)
    params.referenced = (inner, selector)  # the C++ objects hold raw pointers to these
    return params


def search(index: faiss.Index, queries: np.ndarray, k: int,
           params: faiss.SearchParameters | None = None) -> tuple[np.ndarray, np.ndarray]:
    """Top-``k`` (scores, ids) per query (``params`` from ``excluding``); missing slots have id -1."""
    k = max(1, min(k, index.ntotal))
    faiss.omp_set_num_threads(1)  # this thread only (an OpenMP setting is per calling thread)
    queries = np.ascontiguousarray(queries, dtype=np.float32)
    return index.search(queries, k) if params is None else index.search(queries, k, params=params)
