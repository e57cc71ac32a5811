"""The ``milvus`` store: chunks, vectors and BM25 in Milvus (a milvus-lite file, or a Milvus server).

Collections of a store named NAME (``--store milvus:URI#NAME``; NAME is ``qa`` unless given):

    NAME_meta          one row: the settings, the live build, its generation, the next chunk id and
                       the documents removed at recent generations that are not purged yet
    NAME_bK_docs       one row per document version: its entry, the generation that added it
    NAME_bK_chunks     one row per chunk: id, generation, document, language, the chunk record,
                       its BM25 tokens (normalised and stemmed here by ``qa.lexical.tokenize``: Milvus
                       has no Arabic stemmer; they are split on whitespace and scored by Milvus's BM25
                       function), the passage vector, the sentence vectors (fp16, base64, in a JSON list)

A save adds rows stamped with the next generation (invisible to readers of the current one), then
flips the generation in the meta row (one upsert: atomic). A reader's filter (``gen <= G``, minus
the documents removed at generations up to G) is its snapshot. The rows of removed documents are
deleted by document id by the save after next, once no reader of the previous generation can still
be using them (readers follow the meta row within ``REFRESH_SECONDS``). ``rebuild`` writes the
live rows into a new build's collections and switches the meta row (and, on a server, the aliases
NAME_chunks / NAME_docs) to them at once: a collection per build behind an alias. Writers on one
machine take the index folder's file lock, as the local store does. Out of scope: writers on several
hosts (nothing locks across them), milvus-lite opened by two processes at once (milvus-lite itself
refuses it; a server allows it).
"""

from __future__ import annotations

import json
import threading
import time
from collections import Counter
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from ..chunk import ChunkSettings
from .generation import Addition, doc_entry
from .lock import WriterLock
from .milvus_schema import (
    EXTRA,
    PAGE,
    REFRESH_SECONDS,
    Names,
    chunk_rows,
    connect,
    create_build,
    meta_schema,
    read_state,
    unb64,
    visible,
    write_state,
)

__all__ = ["EXTRA", "PAGE", "MilvusIndex", "Names", "chunk_rows", "connect", "read_state", "unb64", "visible"]

def _entry(a: Addition) -> dict[str, Any]:
    """A document's entry, with its chunks' token count (``milvus_bm25`` sums them for the mean length)."""
    return {**doc_entry(a), "tokens": sum(len(t) for t in a.tokens)}


class MilvusIndex:
    """An index in Milvus; the same interface as ``qa.index.Index``."""

    def __init__(self, client: Any, uri: str, name: str, folder: Path, state: dict[str, Any]):
        self.client, self.uri, self.name = client, uri, name
        self.folder = Path(folder)
        self.lock = threading.RLock()
        self._writer = WriterLock(self.folder, self.lock)
        self._refreshing = threading.Lock()
        self._snapshot = self._open(state)
        self._checked = time.monotonic()

    @property
    def store(self) -> str:
        return f"milvus:{self.uri}#{self.name}"

    @classmethod
    def create(cls, uri: str, name: str, folder: Path, embedder: str, dim: int, chunking: ChunkSettings) -> MilvusIndex:
        client = connect(uri)
        with WriterLock(Path(folder)).hold():
            if read_state(client, name) is not None:
                from .live import IndexExists

                raise IndexExists(f"a Milvus store {name!r} already exists at {uri}; open it, or choose another name")
            meta, index = meta_schema(client)
            if not client.has_collection(f"{name}_meta"):
                client.create_collection(f"{name}_meta", schema=meta, index_params=index)
            create_build(client, Names(name, 1), dim)
            state = {"settings": {"embedder": embedder, "dim": dim, "chunking": chunking._asdict(),
                                  "ann_request": "milvus"}, "build": 1, "gen": 0, "next_pk": 0, "next_seq": 0,
                     "removed": []}
            write_state(client, name, state)
            return cls(client, uri, name, folder, state)

    @classmethod
    def open(cls, uri: str, name: str, folder: Path, embedder: str | None = None) -> MilvusIndex:
        client = connect(uri)
        state = read_state(client, name)
        if state is None:
            raise ValueError(f"no Milvus store {name!r} at {uri}; build one with "
                             f"`qa ingest PATH --store milvus:{uri}#{name}`")
        built_with = state["settings"]["embedder"]
        if embedder is not None and embedder != built_with:
            raise ValueError(f"the Milvus store {name!r} was built with embedder {built_with!r}, not {embedder!r}")
        names = Names(name, state["build"])
        for collection in (names.docs, names.chunks):
            client.load_collection(collection)
        return cls(client, uri, name, folder, state)

    def _open(self, state: dict[str, Any]) -> Any:
        from .milvus_snapshot import MilvusSnapshot

        return MilvusSnapshot(self.client, Names(self.name, state["build"]), state)

    @property
    def snapshot(self) -> Any:
        """The newest generation: the meta row is read at most every REFRESH_SECONDS."""
        if time.monotonic() - self._checked > REFRESH_SECONDS:
            self.refresh()
        return self._snapshot

    def refresh(self) -> Any:
        with self._refreshing:
            state = read_state(self.client, self.name)
            if state is not None and (state["build"], state["gen"], state["removed"]) != (
                    self._snapshot.state["build"], self._snapshot.state["gen"], self._snapshot.state["removed"]):
                self._snapshot = self._open(state)
            self._checked = time.monotonic()
        return self._snapshot

    @contextmanager
    def writer(self, timeout: float | None = None, on_wait: Callable[[str], None] | None = None) -> Iterator[Any]:
        with self._writer.hold(timeout, on_wait):
            yield self.refresh()

    @property
    def embedder(self) -> str:
        return self._snapshot.manifest["embedder"]

    @property
    def chunking(self) -> ChunkSettings:
        return ChunkSettings(**self._snapshot.manifest["chunking"])

    def file_hashes(self) -> dict[str, str]:
        docs = self.snapshot.documents
        held = Counter(d["path"] for d in docs)
        return {d["path"]: d["file_hash"] for d in docs if held[d["path"]] >= d.get("file_records", 1)}

    def stage(self, additions: list[Addition]) -> list[Addition]:
        """As ``Index.stage``, but kept in memory until ``commit``: rows inserted before the commit
        would be cleared by another writer's save (``_purge``), so nothing is written yet."""
        return list(additions)

    def staging(self) -> Any:
        from .staging import Staging

        return Staging(self)

    def discard(self, staged: list[list[Addition]]) -> None:
        pass  # nothing was written

    def commit(self, staged: list[list[Addition]], remove: set[str], timeout: float | None = None) -> Any:
        return self.apply([a for batch in staged for a in batch], remove, timeout)

    def apply(self, additions: list[Addition], remove: set[str], timeout: float | None = None) -> Any:
        """As ``Index.apply``: against the newest generation, under the writer lock; one new generation."""
        with self.writer(timeout) as old:
            state = dict(old.state)
            names = Names(self.name, state["build"])
            self._purge(names, state, before=state["gen"])  # readers of the previous generation keep theirs
            versions = {a.document.path: a.file_hash for a in additions}
            drop = set(remove) | {a.document.id for a in additions}
            removed = sorted(d["id"] for d in old.documents
                             if d["id"] in drop or versions.get(d["path"], d["file_hash"]) != d["file_hash"])
            if not additions and not removed:
                return old
            gen = state["gen"] + 1
            rows = chunk_rows(additions, gen, state["next_pk"])
            docs = [{"key": f"{a.document.id}@{gen}", "gen": gen, "seq": state["next_seq"] + i, "doc": a.document.id,
                     "entry": json.dumps(_entry(a), ensure_ascii=False), "dummy": [0.0, 0.0]}
                    for i, a in enumerate(additions)]
            for start in range(0, len(rows), 500):
                self.client.insert(names.chunks, rows[start : start + 500])
            if docs:
                self.client.insert(names.docs, docs)
            state.update(gen=gen, next_pk=state["next_pk"] + len(rows), next_seq=state["next_seq"] + len(docs),
                         removed=[*state["removed"], [gen, removed]] if removed else state["removed"])
            write_state(self.client, self.name, state)  # the switch: readers see all of it from here
            return self.refresh()

    def _purge(self, names: Names, state: dict[str, Any], before: int) -> None:
        """Delete the rows a writer added but never made live, and (by document id) those of documents
        removed at generations before ``before``: no reader of the current or the previous generation
        still sees them. The rest waits for a later save."""
        due = [(at, ids) for at, ids in state["removed"] if at < before]
        for collection in (names.chunks, names.docs):
            self.client.delete(collection, filter=f"gen > {state['gen']}")
            for at, ids in due:
                if ids:
                    self.client.delete(collection, filter=f"doc in {json.dumps(ids)} and gen < {at}")
        if due:
            state["removed"] = [entry for entry in state["removed"] if entry[0] >= before]
            write_state(self.client, self.name, state)

    def rebuild(self, timeout: float | None = None) -> Any:
        """Copy the live rows into a new build's collections and switch to it at once (then drop the old)."""
        with self.writer(timeout) as old:
            state = dict(old.state)
            source, target = Names(self.name, state["build"]), Names(self.name, state["build"] + 1)
            create_build(self.client, target, int(state["settings"]["dim"]))
            for rows in old.pages(["pk", "gen", "doc", "lang", "chunk", "tokens", "vec", "sentences"]):
                self.client.insert(target.chunks, rows)
            docs = old.document_rows()
            if docs:
                self.client.insert(target.docs, docs)
            state.update(build=target.build, removed=[])
            write_state(self.client, self.name, state)
            self._alias(target)
            # The build just left stays for readers still on it; the one before it goes.
            older = Names(self.name, source.build - 1)
            for collection in (older.docs, older.chunks):
                if self.client.has_collection(collection):
                    self.client.drop_collection(collection)
            return self.refresh()

    def _alias(self, names: Names) -> None:
        """Point NAME_chunks / NAME_docs at the build, where the server has aliases (milvus-lite has none)."""
        for alias, collection in ((names.chunks_alias, names.chunks), (names.docs_alias, names.docs)):
            try:
                try:
                    self.client.alter_alias(collection, alias)
                except Exception:
                    self.client.create_alias(collection, alias)
            except Exception:
                return

    def merge(self) -> int:
        return 0  # Milvus compacts its own segments
