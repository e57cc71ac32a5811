"""Parquet shards of embedded chunks: what a distributed ingest hands to the generation writer.

One row per chunk, in document order within a shard: the document (JSON, on the document's first
chunk only), its file's hash, the chunk record (JSON, as in the chunk store), its BM25 tokens
(normalised and stemmed words; the generation writer maps them to its vocabulary's ids), its
vector and its sentences' vectors (flattened, ``n_sentences`` × dim). Every shard carries
``SHARD_VERSION`` in its schema metadata. Shards are written one at a time as batches arrive and
read back one at a time (``Documents``), so the reader holds only the documents not complete yet.
Out of scope: where shards are stored (the runner picks a folder).
"""

from __future__ import annotations

import json
from dataclasses import asdict
from pathlib import Path

import numpy as np

from ..index import Addition
from ..records import Chunk, Document

SHARD_VERSION = "1"
_META = b"qa_shard_version"


def to_table(additions: list[Addition]):
    """The rows of ``additions`` as a pyarrow Table."""
    import pyarrow as pa

    cols: dict[str, list] = {k: [] for k in ("doc_id", "document", "file_hash", "chunk", "tokens", "vector",
                                             "sentence_vectors", "n_sentences")}
    for a in additions:
        for i, (c, v, sv, toks) in enumerate(zip(a.chunks, a.vectors, a.sentence_vectors, a.tokens)):
            cols["doc_id"].append(a.document.id)
            cols["document"].append(json.dumps(asdict(a.document), ensure_ascii=False) if i == 0 else "")
            cols["file_hash"].append(a.file_hash)
            cols["chunk"].append(json.dumps(c.to_dict(), ensure_ascii=False))
            cols["tokens"].append(list(toks))
            cols["vector"].append(np.asarray(v, np.float32))
            cols["sentence_vectors"].append(np.asarray(sv, np.float32).ravel())
            cols["n_sentences"].append(len(sv))
    types = {"tokens": pa.list_(pa.string()), "vector": pa.list_(pa.float32()),
             "sentence_vectors": pa.list_(pa.float32()), "n_sentences": pa.int32()}
    return pa.table({k: pa.array(v, type=types.get(k)) for k, v in cols.items()})


def write(table, folder: Path, n: int) -> Path:
    """Shard ``n`` of ``folder``: ``table`` (rows of ``to_table``) with the format version."""
    import pyarrow.parquet as pq

    folder.mkdir(parents=True, exist_ok=True)
    path = folder / f"shard-{n:06d}.parquet"
    pq.write_table(table.replace_schema_metadata({_META: SHARD_VERSION.encode()}), path)
    return path


def read_rows(path: Path):
    """The rows of one shard, a batch at a time (a shard of another format is refused)."""
    import pyarrow.parquet as pq

    f = pq.ParquetFile(path)
    version = (f.schema_arrow.metadata or {}).get(_META, b"?").decode()
    if version != SHARD_VERSION:
        raise ValueError(f"{path}: shard format {version!r}, this version reads {SHARD_VERSION!r}; "
                         "run the ingest again with this version")
    for batch in f.iter_batches():
        yield from batch.to_pylist()


class Documents:
    """Additions put together from shards as they arrive: a document is handed out as soon as all
    its ``expected[doc_id]`` chunks have come (a document's rows may be spread over shards), so only
    the rows of documents still incomplete are held between shards."""

    def __init__(self, expected: dict[str, int], dim: int):
        self.expected, self.dim = dict(expected), dim
        self._open: dict[str, dict] = {}

    @property
    def held(self) -> int:
        """Chunks of incomplete documents held now."""
        return sum(len(e["rows"]) for e in self._open.values())

    def take(self, path: Path) -> list[Addition]:
        """The documents that the rows of shard ``path`` complete, in the order they completed."""
        done = []
        for row in read_rows(path):
            entry = self._open.setdefault(row["doc_id"], {"doc": None, "hash": row["file_hash"], "rows": []})
            if row["document"]:
                entry["doc"] = Document(**json.loads(row["document"]))
            chunk = Chunk.from_dict(json.loads(row["chunk"]))
            sentences = np.asarray(row["sentence_vectors"], np.float32).reshape(row["n_sentences"], self.dim)
            entry["rows"].append((chunk, np.asarray(row["vector"], np.float32), sentences, row["tokens"]))
            if len(entry["rows"]) == self.expected.get(row["doc_id"], -1):
                done.append(self._addition(row["doc_id"], self._open.pop(row["doc_id"])))
        return done

    def finish(self) -> None:
        """Refuse a job whose shards left a document incomplete."""
        if self._open:
            doc_id, entry = next(iter(self._open.items()))
            raise ValueError(f"the shards hold {len(entry['rows'])} chunks of document {doc_id}, "
                             f"not {self.expected.get(doc_id, '?')}; run the ingest again")

    def _addition(self, doc_id: str, entry: dict) -> Addition:
        if entry["doc"] is None:
            raise ValueError(f"the shards hold chunks of document {doc_id} but not the document")
        rows = sorted(entry["rows"], key=lambda r: r[0].start)
        return Addition(entry["doc"], entry["hash"], [r[0] for r in rows], np.vstack([r[1] for r in rows]),
                        [r[2] for r in rows], [r[3] for r in rows])
