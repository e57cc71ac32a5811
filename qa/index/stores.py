"""Index stores by registry: where the chunks, vectors and BM25 of an index live (``--store``).

    local                 the index folder itself: generations of segments (``live``), the default
    milvus:URI[#NAME]     Milvus (``milvus``): URI is a milvus-lite file (``./qa.db``) or a server
                          (``http://host:19530``); NAME names its collections (default ``qa``)

Both give an object with the ``Index`` interface (``snapshot``, ``apply``, ``writer``, ...), so the
assistant, the CLI, the server and ``qa eval`` run the same over either. The index folder is still
used with Milvus: uploads and the writer lock live there. ``QA_STORE`` sets the default.
``additions_of`` gives a local snapshot's documents as additions, so another store can take the very
same chunks and vectors without embedding again (how the tests and ``bench/stores.py`` compare stores).
Out of scope: a command that moves an index from one store to another (ingest the files again).
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any, Protocol

import numpy as np

from ..chunk import ChunkSettings
from ..lexical import tokenize
from ..records import Document
from . import store as local_files
from .generation import Addition
from .live import Index
from .snapshot import Snapshot

DEFAULT_NAME = "qa"


class Store(Protocol):
    def exists(self, target: str, folder: Path) -> bool: ...
    def open(self, target: str, folder: Path, embedder: str | None) -> Any: ...
    def create(self, target: str, folder: Path, embedder: str, dim: int, chunking: ChunkSettings,
               ann: str) -> Any: ...


class LocalStore:
    def exists(self, target: str, folder: Path) -> bool:
        return local_files.live_generation(folder) is not None

    def open(self, target: str, folder: Path, embedder: str | None) -> Index:
        return Index.open(folder, embedder=embedder)

    def create(self, target: str, folder: Path, embedder: str, dim: int, chunking: ChunkSettings, ann: str) -> Index:
        return Index.create(folder, embedder, dim, chunking, ann)


def _milvus_target(target: str) -> tuple[str, str]:
    uri, _, name = target.partition("#")
    if not uri:
        raise ValueError("--store milvus: needs an address: milvus:./qa.db (milvus-lite) or milvus:http://host:19530")
    if "://" not in uri:
        if not uri.endswith(".db"):
            raise ValueError(f"a milvus-lite store is a file ending in .db, not {uri!r}: e.g. --store milvus:./qa.db")
        uri = str(Path(uri).resolve())
    return uri, name or DEFAULT_NAME


class MilvusStore:
    def exists(self, target: str, folder: Path) -> bool:
        from .milvus import connect, read_state

        uri, name = _milvus_target(target)
        return read_state(connect(uri), name) is not None

    def open(self, target: str, folder: Path, embedder: str | None) -> Any:
        from .milvus import MilvusIndex

        uri, name = _milvus_target(target)
        return MilvusIndex.open(uri, name, folder, embedder)

    def create(self, target: str, folder: Path, embedder: str, dim: int, chunking: ChunkSettings, ann: str) -> Any:
        from .milvus import MilvusIndex

        if ann != "auto":
            raise ValueError(f"--ann {ann} is for the local store; Milvus chooses its own index")
        uri, name = _milvus_target(target)
        return MilvusIndex.create(uri, name, folder, embedder, dim, chunking)


STORES: dict[str, Store] = {"local": LocalStore(), "milvus": MilvusStore()}


def parse(spec: str | None) -> tuple[Store, str]:
    """(the store, its target) of ``--store`` (``QA_STORE``, then ``local``, when not given)."""
    spec = spec or os.environ.get("QA_STORE") or "local"
    kind, _, target = spec.partition(":")
    if kind not in STORES:
        raise ValueError(f"unknown store {spec!r}; choose local or milvus:URI (a milvus-lite .db file or "
                         "http://host:19530)")
    if kind == "milvus" and not target:
        _milvus_target(target)
    return STORES[kind], target


def exists(spec: str | None, folder: Path) -> bool:
    backend, target = parse(spec)
    return backend.exists(target, Path(folder))


def open_index(spec: str | None, folder: Path, embedder: str | None = None) -> Any:
    backend, target = parse(spec)
    return backend.open(target, Path(folder), embedder)


def create_index(spec: str | None, folder: Path, embedder: str, dim: int, chunking: ChunkSettings,
                 ann: str = "auto") -> Any:
    backend, target = parse(spec)
    return backend.create(target, Path(folder), embedder, dim, chunking, ann)


def additions_of(snap: Snapshot) -> list[Addition]:
    """The documents of a local snapshot as additions: their chunks, stored vectors and BM25 tokens
    (the document text itself is not kept by an index, so it is left empty)."""
    out = []
    for position, d in enumerate(snap.documents):
        rows = np.flatnonzero(snap.doc_rows == position)
        chunks = [snap.chunk(int(r)) for r in rows]
        out.append(Addition(Document(d["id"], d["title"], d["path"], d["lang"], ""), d["file_hash"], chunks,
                            snap.vectors_of(rows), [snap.sentences_of(int(r)) for r in rows],
                            [tokenize(c.text) for c in chunks], d.get("file_records", 1)))
    return out
