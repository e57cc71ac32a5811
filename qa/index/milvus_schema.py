"""The milvus store's collections: connection, schemas, the meta row and the rows of a chunk.

Out of scope: when to write what (``milvus``) and reading (``milvus_snapshot``).
"""

from __future__ import annotations

import base64
import json
import threading
from typing import Any

import numpy as np

from .generation import Addition
from .store import StoreError, chunk_line

MAX_VARCHAR = 65_535
REFRESH_SECONDS = 0.25  # how stale a reader's view of the meta row may be (one query per refresh)
PAGE = 2_000
EXTRA = "pip install -e '.[scale]'"


_CLIENTS: dict[str, Any] = {}
_CLIENTS_LOCK = threading.Lock()


def connect(uri: str) -> Any:
    """The process's client for ``uri`` (one per address: pymilvus shares the connection between
    clients of one address, and closing one would close it for all)."""
    try:
        from pymilvus import MilvusClient
    except ImportError as e:
        raise ValueError(f"the milvus store needs the scale extra: {EXTRA}") from e
    with _CLIENTS_LOCK:
        if uri not in _CLIENTS:
            try:
                _CLIENTS[uri] = MilvusClient(uri)
            except Exception as e:  # pymilvus raises its own types; say what to check
                raise StoreError(f"cannot open Milvus at {uri} ({e}); check the address, or that no other "
                                 "process has this milvus-lite file open") from e
        return _CLIENTS[uri]


def b64(vectors: np.ndarray) -> list[str]:
    return [base64.b64encode(np.asarray(v, np.float16).tobytes()).decode("ascii") for v in vectors]


def unb64(items: list[str], dim: int) -> np.ndarray:
    if not items:
        return np.zeros((0, dim), np.float32)
    return np.vstack([np.frombuffer(base64.b64decode(s), np.float16) for s in items]).astype(np.float32)


class Names:
    def __init__(self, name: str, build: int):
        self.meta, self.build = f"{name}_meta", build
        self.docs, self.chunks = f"{name}_b{build}_docs", f"{name}_b{build}_chunks"
        self.docs_alias, self.chunks_alias = f"{name}_docs", f"{name}_chunks"


def _schemas(client: Any, dim: int) -> tuple[Any, Any, Any, Any]:
    from pymilvus import DataType, Function, FunctionType

    docs = client.create_schema(auto_id=False)
    docs.add_field("key", DataType.VARCHAR, is_primary=True, max_length=128)
    for name in ("gen", "seq"):
        docs.add_field(name, DataType.INT64)
    docs.add_field("doc", DataType.VARCHAR, max_length=64)
    docs.add_field("entry", DataType.VARCHAR, max_length=MAX_VARCHAR)
    docs.add_field("dummy", DataType.FLOAT_VECTOR, dim=2)  # Milvus wants a vector field in every collection
    chunks = client.create_schema(auto_id=False)
    chunks.add_field("pk", DataType.INT64, is_primary=True)
    chunks.add_field("gen", DataType.INT64)
    chunks.add_field("doc", DataType.VARCHAR, max_length=64)
    chunks.add_field("lang", DataType.VARCHAR, max_length=8)
    chunks.add_field("chunk", DataType.VARCHAR, max_length=MAX_VARCHAR)
    chunks.add_field("tokens", DataType.VARCHAR, max_length=MAX_VARCHAR, enable_analyzer=True,
                     analyzer_params={"tokenizer": "whitespace"})
    chunks.add_field("sparse", DataType.SPARSE_FLOAT_VECTOR)
    chunks.add_field("vec", DataType.FLOAT_VECTOR, dim=dim)
    # JSON, not ARRAY: milvus-lite 2.5.1 fails every query that matches nothing in a collection with
    # an ARRAY field ("Unsupported data type: 0"); JSON has no such bug and no 64 KB cap either.
    chunks.add_field("sentences", DataType.JSON)
    chunks.add_function(Function(name="bm25", function_type=FunctionType.BM25, input_field_names=["tokens"],
                                 output_field_names=["sparse"]))
    docs_index, chunks_index = client.prepare_index_params(), client.prepare_index_params()
    docs_index.add_index("dummy", index_type="FLAT", metric_type="L2")
    # Exact search on milvus-lite (it has FLAT and IVF); a server picks its own (AUTOINDEX: HNSW).
    chunks_index.add_index("vec", index_type="AUTOINDEX", metric_type="IP")
    chunks_index.add_index("sparse", index_type="SPARSE_INVERTED_INDEX", metric_type="BM25",
                           params={"bm25_k1": 1.5, "bm25_b": 0.75})
    return docs, docs_index, chunks, chunks_index


def create_build(client: Any, names: Names, dim: int) -> None:
    docs, docs_index, chunks, chunks_index = _schemas(client, dim)
    for name in (names.docs, names.chunks):
        if client.has_collection(name):
            client.drop_collection(name)
    client.create_collection(names.docs, schema=docs, index_params=docs_index)
    client.create_collection(names.chunks, schema=chunks, index_params=chunks_index)


def meta_schema(client: Any) -> Any:
    from pymilvus import DataType

    meta = client.create_schema(auto_id=False)
    meta.add_field("key", DataType.VARCHAR, is_primary=True, max_length=32)
    meta.add_field("state", DataType.VARCHAR, max_length=MAX_VARCHAR)
    meta.add_field("dummy", DataType.FLOAT_VECTOR, dim=2)
    index = client.prepare_index_params()
    index.add_index("dummy", index_type="FLAT", metric_type="L2")
    return meta, index


def read_state(client: Any, name: str) -> dict[str, Any] | None:
    meta = f"{name}_meta"
    if not client.has_collection(meta):
        return None
    rows = client.query(meta, filter='key == "state"', output_fields=["state"], consistency_level="Strong")
    return json.loads(rows[0]["state"]) if rows else None


def write_state(client: Any, name: str, state: dict[str, Any]) -> None:
    data = json.dumps(state, ensure_ascii=False)
    if len(data.encode("utf-8")) > MAX_VARCHAR:
        raise StoreError(f"the Milvus store {name} has too many removals pending; run the removal again")
    client.upsert(f"{name}_meta", [{"key": "state", "state": data, "dummy": [0.0, 0.0]}])


def chunk_rows(additions: list[Addition], gen: int, first_pk: int) -> list[dict[str, Any]]:
    """The chunk rows of ``additions`` (ids from ``first_pk``), refused when a field is over Milvus's limit."""
    rows, pk = [], first_pk
    for a in additions:
        for chunk, vector, sentences, tokens in zip(a.chunks, a.vectors, a.sentence_vectors, a.tokens):
            record = chunk_line(chunk).decode("utf-8").rstrip("\n")
            joined = " ".join(tokens)
            for what, value in (("chunk record", record), ("BM25 token list", joined)):
                if len(value.encode("utf-8")) > MAX_VARCHAR:
                    raise StoreError(f"{a.document.path}: a {what} is over Milvus's {MAX_VARCHAR}-byte text limit; "
                                     "use the local store or a smaller --max-tokens")
            rows.append({"pk": pk, "gen": gen, "doc": a.document.id, "lang": chunk.lang, "chunk": record,
                         "tokens": joined, "vec": np.asarray(vector, np.float32).tolist(),
                         "sentences": {"fp16": b64(np.asarray(sentences).reshape(-1, len(vector)))}})
            pk += 1
    return rows


def visible(state: dict[str, Any], gen: int | None = None) -> str:
    """The filter of the generation ``gen`` (default: the state's): rows it added, minus the
    documents removed since that are not purged yet."""
    gen = state["gen"] if gen is None else gen
    parts = [f"gen <= {gen}"]
    for at, ids in state.get("removed", []):
        if at <= gen and ids:
            parts.append(f"(doc not in {json.dumps(ids)} or gen >= {at})")
    return " and ".join(parts)
