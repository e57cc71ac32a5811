"""A generation of the ``milvus`` store, as retrieval reads it (``qa.retrieve.SnapshotView``).

Rows are Milvus chunk ids. Every query carries the generation's filter (``milvus.visible``), so a
question sees one generation whatever is written meanwhile. Dense search is Milvus's vector search
per language (exact on milvus-lite), BM25 is Milvus's full-text search over the app's own tokens;
the per-language standardisation, fusion, sentence scores and MMR stay in ``qa.retrieve``, as for
the local store. Fields fetched for a row (language, vectors, sentence vectors, record) are kept
for the snapshot's life, so a question fetches each row once. Out of scope: writing (``milvus``).
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from functools import cached_property
from typing import Any

import numpy as np

from ..lexical import K1
from ..records import Chunk
from .milvus_bm25 import CANDIDATES, LiveBM25
from .milvus_schema import PAGE, Names, unb64, visible
from .store import StoreError

LANGS = ("ar", "en", "other")
STRONG = {"consistency_level": "Strong"}
OVERFETCH = 10  # extra hits asked for, so that ties at the cut are broken by row, as locally
QUERY_WINDOW = 16_384  # Milvus's largest query result


class MilvusSnapshot:
    def __init__(self, client: Any, names: Names, state: dict[str, Any]):
        self.client, self.names, self.state = client, names, state
        self.dim = int(state["settings"]["dim"])
        self.filter = visible(state)
        self._rows: dict[int, dict[str, Any]] = {}
        self.cache: dict[Any, Any] = {}
        self.segments: tuple = ()

    # -- what the rest of the app reads --------------------------------------------------------

    @cached_property
    def documents(self) -> list[dict[str, Any]]:
        out, seq = [], 0
        while seq < self.state["next_seq"]:
            rows = self.client.query(self.names.docs, filter=f"{self.filter} and seq >= {seq} and seq < {seq + PAGE}",
                                     output_fields=["seq", "entry"], **STRONG)
            out += sorted(rows, key=lambda r: r["seq"])
            seq += PAGE
        return [json.loads(r["entry"]) for r in out]

    def document_rows(self) -> list[dict[str, Any]]:
        """The raw rows of the live documents (for a rebuild)."""
        out, seq = [], 0
        while seq < self.state["next_seq"]:
            out += self.client.query(self.names.docs, filter=f"{self.filter} and seq >= {seq} and seq < {seq + PAGE}",
                                     output_fields=["key", "gen", "seq", "doc", "entry", "dummy"], **STRONG)
            seq += PAGE
        return out

    @cached_property
    def manifest(self) -> dict[str, Any]:
        return {**self.state["settings"], "ann": "milvus", "documents": self.documents, "chunks": len(self),
                "store": "milvus", "collection": self.names.chunks, "generation": self.state["gen"]}

    @property
    def generation(self) -> str:
        return f"{self.names.chunks}@{self.state['gen']}"

    def _count(self, extra: str = "") -> int:
        rows = self.client.query(self.names.chunks, filter=self.filter + extra, output_fields=["count(*)"], **STRONG)
        return int(rows[0]["count(*)"])

    def count_where(self, condition: str) -> int:
        """Live rows of this generation that meet ``condition`` (a Milvus filter)."""
        return self._count(f" and {condition}")

    def rows_where(self, condition: str, fields: tuple[str, ...] = ("tokens",)) -> list[dict[str, Any]]:
        """``fields`` of the live rows that meet ``condition`` (at most ``QUERY_WINDOW`` of them)."""
        return self.client.query(self.names.chunks, filter=f"{self.filter} and {condition}", output_fields=list(fields),
                                 limit=QUERY_WINDOW, **STRONG)

    def count_all(self) -> int:
        """Every row of the collection, seen by this generation or not."""
        rows = self.client.query(self.names.chunks, filter="pk >= 0", output_fields=["count(*)"], **STRONG)
        return int(rows[0]["count(*)"])

    @cached_property
    def bm25(self) -> LiveBM25:
        return LiveBM25(self)

    @cached_property
    def _by_language(self) -> dict[str, int]:
        return {lang: n for lang in LANGS if (n := self._count(f' and lang == "{lang}"'))}

    def chunks_by_language(self) -> dict[str, int]:
        return dict(self._by_language)

    def __len__(self) -> int:
        return sum(self._by_language.values())

    @property
    def languages(self) -> tuple[str, ...]:
        return tuple(sorted(self._by_language))

    def bytes_on_disk(self) -> int | None:
        return None  # the server's business

    def pages(self, fields: list[str]) -> Iterator[list[dict[str, Any]]]:
        """The live rows, ``PAGE`` chunk ids at a time."""
        for start in range(0, self.state["next_pk"], PAGE):
            where = f"{self.filter} and pk >= {start} and pk < {start + PAGE}"
            rows = self.client.query(self.names.chunks, filter=where, output_fields=fields, **STRONG)
            if rows:
                yield sorted(rows, key=lambda r: r["pk"])

    def all_chunks(self) -> Iterator[Chunk]:
        for rows in self.pages(["chunk"]):
            for r in rows:
                yield Chunk.from_dict(json.loads(r["chunk"]))

    def document_chunks(self, doc_id: str) -> list[Chunk]:
        """The chunks of one live document in document order (empty if it is not here)."""
        where = f"{self.filter} and doc == {json.dumps(doc_id)}"
        rows = self.client.query(self.names.chunks, filter=where, output_fields=["chunk"], limit=QUERY_WINDOW,
                                 **STRONG)
        if len(rows) >= QUERY_WINDOW:  # maybe cut at Milvus's largest result: page through all of them
            rows = self._iterate(where, ["chunk"])
        return sorted((Chunk.from_dict(json.loads(r["chunk"])) for r in rows), key=lambda c: c.start)

    def _iterate(self, where: str, fields: list[str]) -> list[dict[str, Any]]:
        """Every row that meets ``where``, ``QUERY_WINDOW`` at a time (pymilvus's query iterator, which
        pages by primary key; only for results larger than one query may return, as it costs more)."""
        pages = self.client.query_iterator(self.names.chunks, batch_size=QUERY_WINDOW, filter=where,
                                           output_fields=fields, **STRONG)
        rows: list[dict[str, Any]] = []
        try:
            while page := pages.next():
                rows += page
        finally:
            pages.close()
        return rows

    # -- retrieval (qa.retrieve.SnapshotView) ---------------------------------------------------

    def _where(self, lang: str, doc_ids: tuple[str, ...] | None) -> str:
        where = f'{self.filter} and lang == "{lang}"'
        return where + (f" and doc in {json.dumps(list(doc_ids))}" if doc_ids is not None else "")

    def _keep(self, hits: list[dict[str, Any]], m: int) -> tuple[np.ndarray, np.ndarray]:
        """The hits' rows and scores, best first and ties by row (as the local store breaks them)."""
        for h in hits:
            self._rows.setdefault(int(h["id"]), {}).update(h.get("entity", {}))
        rows = np.asarray([int(h["id"]) for h in hits], np.int64)
        scores = np.asarray([float(h["distance"]) for h in hits], np.float32)
        order = np.lexsort((rows, -scores))[:m]
        return rows[order], scores[order]

    def dense_search(self, lang: str, query: np.ndarray, m: int,
                     doc_ids: tuple[str, ...] | None = None) -> tuple[np.ndarray, np.ndarray]:
        # A few more than m: Milvus returns tied scores in any order, so the cut is made here, by row.
        hits = self.client.search(self.names.chunks, data=[np.asarray(query, np.float32).tolist()], anns_field="vec",
                                  limit=m + OVERFETCH, filter=self._where(lang, doc_ids),
                                  search_params={"metric_type": "IP"}, output_fields=["lang", "vec", "sentences"],
                                  **STRONG)[0]
        return self._keep(hits, m)

    def lexical_search(self, tokens: list[str], lang: str, m: int,
                       doc_ids: tuple[str, ...] | None = None) -> tuple[np.ndarray, np.ndarray]:
        if not tokens:
            return np.zeros(0, np.int64), np.zeros(0, np.float32)
        # Milvus's statistics count rows this generation does not see: then its hits are only
        # candidates, scored here with this generation's own (``milvus_bm25``).
        rescore = self.bm25.needed
        limit = min(QUERY_WINDOW, (m + OVERFETCH) * CANDIDATES) if rescore else m + OVERFETCH
        hits = self.client.search(self.names.chunks, data=[" ".join(tokens)], anns_field="sparse", limit=limit,
                                  filter=self._where(lang, doc_ids), search_params={"metric_type": "BM25"},
                                  output_fields=["lang", "tokens"] if rescore else ["lang"], **STRONG)[0]
        if rescore:
            rows, scores = self.bm25.scores(hits, tokens)
            order = np.lexsort((rows, -scores))[:m]
            rows, scores = rows[order], scores[order]
        else:
            rows, scores = self._keep(hits, m)
            # Milvus scores tf·(k1 + 1) / (tf + norm); Lucene (and qa.lexical) drop the constant (k1 + 1).
            scores = scores / np.float32(K1 + 1)
        keep = scores > 0
        return rows[keep], scores[keep]

    def _fields(self, rows: np.ndarray, field: str) -> list[Any]:
        """``field`` of each row, fetched once for the rows not seen yet."""
        missing = sorted({int(r) for r in rows if field not in self._rows.get(int(r), {})})
        for start in range(0, len(missing), 1000):
            ids = missing[start : start + 1000]
            for row in self.client.query(self.names.chunks, filter=f"pk in {ids}",
                                         output_fields=["lang", "vec", "sentences", "chunk"], **STRONG):
                self._rows.setdefault(int(row["pk"]), {}).update(row)
        try:
            return [self._rows[int(r)][field] for r in rows]
        except KeyError:  # deleted since this snapshot was taken, two saves ago
            raise StoreError("the index changed while this question was answered; ask again") from None

    def sentences_of(self, row: int) -> np.ndarray:
        return unb64(self._fields(np.asarray([row]), "sentences")[0]["fp16"], self.dim)

    def best_sentence(self, rows: np.ndarray, query: np.ndarray) -> np.ndarray:
        best = np.full(len(rows), -2.0)
        for i, items in enumerate(self._fields(rows, "sentences")):
            if items["fp16"]:
                best[i] = float(np.max(unb64(items["fp16"], self.dim) @ np.asarray(query, np.float32)))
        return best

    def vectors_of(self, rows: np.ndarray) -> np.ndarray:
        vectors = self._fields(rows, "vec")
        return np.asarray(vectors, np.float32).reshape(len(rows), self.dim)

    def langs_of(self, rows: np.ndarray) -> np.ndarray:
        return np.asarray(self._fields(rows, "lang"), dtype="<U8")

    def chunk(self, row: int) -> Chunk:
        return Chunk.from_dict(json.loads(self._fields(np.asarray([row]), "chunk")[0]))

    def _rows_of(self, lang: str) -> np.ndarray:
        """Every live row in ``lang``, ascending (chunk ids in ingest order, as local rows are)."""
        key = ("rows", lang)
        if key not in self.cache:
            found = []
            for start in range(0, self.state["next_pk"], QUERY_WINDOW):
                where = f"{self._where(lang, None)} and pk >= {start} and pk < {start + QUERY_WINDOW}"
                found += [r["pk"] for r in self.client.query(self.names.chunks, filter=where, output_fields=["pk"],
                                                             limit=QUERY_WINDOW, **STRONG)]
            self.cache[key] = np.sort(np.asarray(found, np.int64))
        return self.cache[key]

    def background_sample(self, lang: str, size: int) -> tuple[np.ndarray, ...]:
        """The local store's sample: ``size`` rows of ``lang`` evenly spaced in row order, fetched once."""
        key = ("background", lang, size)
        if key not in self.cache:
            rows = self._rows_of(lang)
            sample = rows[np.linspace(0, len(rows) - 1, min(size, len(rows))).astype(int)] if len(rows) else rows
            passages = self.vectors_of(sample)
            per_row = [unb64(items["fp16"], self.dim) for items in self._fields(sample, "sentences")]
            lengths = np.asarray([len(x) for x in per_row], np.int64)
            ends = np.cumsum(lengths)
            sentences = np.vstack(per_row) if per_row else np.zeros((0, self.dim), np.float32)
            self.cache[key] = (passages, sentences.astype(np.float32), (ends - lengths)[lengths > 0], lengths > 0)
        return self.cache[key]
