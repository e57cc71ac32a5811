"""FAISS indexes over unit vectors (inner product = cosine), chosen by name or by corpus size.

``ANN_KINDS`` maps a kind to a builder; ``auto`` picks exact search below ``EXACT_LIMIT`` vectors
and HNSW above. Exact indexes are rebuilt from the vectors on open (it is a copy); the others
are saved with ``faiss.write_index`` because building them is the slow part.
Out of scope: GPU indexes and training on a sample other than the corpus itself.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import faiss
import numpy as np

EXACT_LIMIT = 200_000
ANN_FILE = "ann.faiss"


def _flat(vectors: np.ndarray) -> faiss.Index:
    index = faiss.IndexFlatIP(vectors.shape[1])
    index.add(vectors)
    return index


def _hnsw(vectors: np.ndarray) -> faiss.Index:
    index = faiss.IndexHNSWFlat(vectors.shape[1], 32, faiss.METRIC_INNER_PRODUCT)
    index.hnsw.efConstruction = 80
    index.hnsw.efSearch = 128
    index.add(vectors)
    return index


def _flat_fp16(vectors: np.ndarray) -> faiss.Index:
    index = faiss.IndexScalarQuantizer(vectors.shape[1], faiss.ScalarQuantizer.QT_fp16,
                                       faiss.METRIC_INNER_PRODUCT)
    index.add(vectors)
    return index


ANN_KINDS: dict[str, Callable[[np.ndarray], faiss.Index]] = {
    "flat": _flat,
    "hnsw": _hnsw,
    "flat-fp16": _flat_fp16,
}
REBUILT_ON_OPEN = {"flat"}


def choose_kind(requested: str, n: int) -> str:
    if requested == "auto":
        return "flat" if n < EXACT_LIMIT else "hnsw"
    if requested not in ANN_KINDS:
        raise ValueError(f"unknown index kind {requested!r}; choose auto or one of: {', '.join(ANN_KINDS)}")
    return requested


def build(kind: str, vectors: np.ndarray) -> faiss.Index:
    return ANN_KINDS[kind](np.ascontiguousarray(vectors, dtype=np.float32))


def save(index: faiss.Index, kind: str, folder: Path) -> None:
    if kind not in REBUILT_ON_OPEN:
        faiss.write_index(index, str(folder / ANN_FILE))


def load(kind: str, folder: Path, vectors: np.ndarray) -> faiss.Index:
    if kind in REBUILT_ON_OPEN:
        return build(kind, vectors)
    return faiss.read_index(str(folder / ANN_FILE))


def search(index: faiss.Index, queries: np.ndarray, k: int) -> tuple[np.ndarray, np.ndarray]:
    """Top-``k`` (scores, ids) per query; missing slots have id -1."""
    k = max(1, min(k, index.ntotal))
    return index.search(np.ascontiguousarray(queries, dtype=np.float32), k)
