"""The one object every consumer uses: wires load → chunk → embed → index → retrieve → answer.

``Assistant.open`` reads an index folder and lazily loads the embedder it was built with;
``Assistant.build`` creates or extends one. Questions go through one path: the retrieval query
(expanded with the previous question for short follow-ups), its vector and tokens, the per-language
search, then sentence selection; with a generator (``qa.answer.generators``) whose gate the
extractive answer passes, the model writes the answer and the verifier checks it (``ask_stream``
yields its text as it comes). Out of scope: presentation (CLI, web UI and HTTP API format it).
"""

from __future__ import annotations

import time
from collections.abc import Iterable, Iterator
from dataclasses import replace
from pathlib import Path
from typing import Any

from .answer import AnswerSettings, answer, generated, verify
from .answer.generators import EXTRACTIVE, Generator, spec_of
from .chunk import ChunkSettings
from .embed import DEFAULT_EMBEDDER, Embedder, get_embedder
from .follow_up import History, user_turns, with_context
from .index import Index, IndexExists, stores
from .index.snapshot import Snapshot
from .ingest import IngestReport, Progress, Runner, ingest
from .lexical import tokenize
from .load import DEFAULT_MAX_BYTES
from .records import Answer, Hit
from .retrieve import SearchOptions, search
from .text import detect_language

DEFAULT_INDEX = Path("embeddings")
MAX_QUESTION_CHARS = 2000


class Assistant:
    def __init__(self, index: Index, answer_settings: AnswerSettings | None = None,
                 max_bytes: int = DEFAULT_MAX_BYTES, generator: Generator | None = None):
        self.index = index
        self.embedder_name = index.embedder
        self.answer_settings = answer_settings or AnswerSettings()
        self.max_bytes = max_bytes
        self.generator = generator  # None: extractive answers only; fixed for the assistant's life

    @property
    def generator_name(self) -> str:
        return spec_of(self.generator)

    def _chosen(self, generator: str | None) -> Generator | None:
        """The generator a question asked for: the configured one (None or its name) or extractive.
        A question can never name a new model or address."""
        if generator is None or generator == self.generator_name:
            return self.generator
        if generator == EXTRACTIVE:
            return None
        raise ValueError(f"generator {generator!r} is not available here; choose {EXTRACTIVE!r}"
                         + (f" or {self.generator_name!r}" if self.generator else ""))

    @classmethod
    def open(cls, index_dir: str | Path = DEFAULT_INDEX, embedder: str | None = None, store: str | None = None,
             **kw: Any) -> Assistant:
        """Open an existing index; ``embedder``, if given, must be the one it was built with;
        ``store`` is where it lives (``qa.index.stores``: local, the default, or milvus:URI)."""
        return cls(stores.open_index(store, Path(index_dir), embedder), **kw)

    @classmethod
    def create_or_open(cls, index_dir: str | Path = DEFAULT_INDEX, embedder: str | None = None,
                       chunking: ChunkSettings | None = None, ann: str = "auto", store: str | None = None,
                       **kw: Any) -> Assistant:
        """The index at ``index_dir`` (in ``store``), created empty (default embedder e5-small) if there is none."""
        if stores.exists(store, Path(index_dir)):
            return cls.open(index_dir, embedder, store, **kw)
        spec = embedder or DEFAULT_EMBEDDER
        model = get_embedder(spec)
        settings = (chunking or ChunkSettings()).check(model.max_tokens)
        try:
            return cls(stores.create_index(store, Path(index_dir), spec, model.dim, settings, ann), **kw)
        except IndexExists:  # another process created it meanwhile
            return cls.open(index_dir, embedder, store, **kw)

    @classmethod
    def build(cls, paths: Iterable[str | Path], index_dir: str | Path = DEFAULT_INDEX,
              embedder: str | None = None, chunking: ChunkSettings | None = None, ann: str = "auto",
              progress: Progress | None = None, store: str | None = None, **kw: Any) -> Assistant:
        """Open the index at ``index_dir`` (or create it) and add ``paths`` to it."""
        assistant = cls.create_or_open(index_dir, embedder, chunking, ann, store, **kw)
        assistant.add(paths, progress=progress)
        return assistant

    @property
    def embedder(self) -> Embedder:
        return get_embedder(self.embedder_name)

    def add(self, paths: Iterable[str | Path], progress: Progress | None = None,
            runner: Runner | None = None) -> IngestReport:
        """Ingest ``paths`` in this process, or through ``runner`` (``qa.ingest.get_runner("ray", ...)``)."""
        if runner is not None:
            return runner.ingest(self.index, self.embedder, paths, self.max_bytes, progress)
        return ingest(self.index, self.embedder, paths, self.max_bytes, progress)

    def remove(self, doc: str) -> list[dict[str, Any]]:
        """Remove a document by id (or by the path it was ingested from); returns what went."""
        target = str(Path(doc).resolve()) if Path(doc).exists() else doc
        with self.index.lock:
            gone = [d for d in self.documents() if d["id"] == doc or d["path"] in (doc, target)]
            if not gone:
                raise ValueError(f"no document with id or path {doc!r}; `qa docs` lists them")
            self.index.apply([], {d["id"] for d in gone})
        return gone

    def documents(self) -> list[dict[str, Any]]:
        return list(self.index.snapshot.documents)

    def info(self) -> dict[str, Any]:
        """Index statistics for `qa info`."""
        snap = self.index.snapshot
        return {"index": str(self.index.folder.resolve()), "store": self.index.store,
                "embedder": snap.manifest["embedder"], "dim": snap.manifest["dim"], "ann": snap.manifest["ann"],
                "chunking": snap.manifest["chunking"], "documents": len(snap.documents),
                "chunks": len(snap), "chunks_by_language": snap.chunks_by_language(),
                "bytes_on_disk": snap.bytes_on_disk(), "generation": snap.generation,
                "segments": len(snap.segments)}

    def _prepare(self, question: str, history: History | None) -> tuple[str, str]:
        if not isinstance(question, str) or not question.strip():
            raise ValueError("the question is empty; type a question")
        if len(question) > MAX_QUESTION_CHARS:
            raise ValueError(f"the question is {len(question)} characters long; keep it under "
                             f"{MAX_QUESTION_CHARS}")
        lang = detect_language(question)
        return lang, with_context(question, history)

    def _search(self, snap: Snapshot, query: str, lang: str, options: SearchOptions) -> tuple[list[Hit], Any]:
        if len(snap) == 0:
            raise ValueError("the index holds no documents; add some with `qa ingest PATH`")
        options = options.check()
        vector = None if options.mode == "bm25" else self.embedder.embed_queries([query])[0]
        return search(snap, vector, tokenize(query), lang, options), vector

    def search(self, question: str, k: int = 5, mode: str = "hybrid", history: History | None = None,
               **kw: Any) -> list[Hit]:
        """The passages ``ask`` reads for ``question`` (a follow-up's query expanded from ``history``)."""
        lang, query = self._prepare(question, history)
        hits, _ = self._search(self.index.snapshot, query, lang, SearchOptions(k=k, mode=mode, **kw))
        return hits

    def ask(self, question: str, history: History | None = None, k: int = 5, mode: str = "hybrid",
            generator: str | None = None, **kw: Any) -> Answer:
        """A cited answer, or an abstention in the question's language (``generator``: None for the
        configured one, ``"extractive"`` for the extractive answer)."""
        *_, answer = self.ask_stream(question, history, k, mode, generator, **kw)
        return answer

    def ask_stream(self, question: str, history: History | None = None, k: int = 5, mode: str = "hybrid",
                   generator: str | None = None, **kw: Any) -> Iterator[str | Answer]:
        """The model's text pieces as it writes (none on the extractive path), then the final Answer."""
        t0 = time.perf_counter()
        model = self._chosen(generator)
        snap = self.index.snapshot  # one snapshot for the whole question: hits' rows point into it
        asked, extra = question, {}
        if model is not None and user_turns(history):
            asked, extra["condense_ms"] = self._condense(model, question, history)
        answer = self._extractive(snap, question, history, k, mode, query=asked if extra else None, **kw)
        answer = replace(answer, timings={**answer.timings, **extra})
        if model is None or answer.abstained:  # the gate: evidence too low, the model is not called
            yield answer if model is None else replace(answer, generator=model.name)
            return
        for item in generated.stream_answer(asked, answer.language, answer, answer.passages, model,
                                            self.embedder.embed_queries, lambda h: snap.sentences_of(h.row),
                                            verify.calibration_for(self.embedder_name)):
            if isinstance(item, Answer):
                total_ms = round((time.perf_counter() - t0) * 1000, 2)
                item = with_pages(replace(item, timings={**item.timings, "total_ms": total_ms}), snap)
            yield item

    def _condense(self, model: Generator, question: str, history: History) -> tuple[str, float]:
        """The model's standalone version of a question asked in a conversation (the question itself,
        expanded as on the extractive path, when the model fails or answers something unusable)."""
        t0 = time.perf_counter()
        text = generated.condense(model, question, _turns(history), MAX_QUESTION_CHARS)
        return text or with_context(question, history), round((time.perf_counter() - t0) * 1000, 2)

    def _extractive(self, snap: Snapshot, question: str, history: History | None, k: int, mode: str,
                    query: str | None = None, **kw: Any) -> Answer:
        t0 = time.perf_counter()
        lang, context = self._prepare(question, history)
        query = query or context
        hits, vector = self._search(snap, query, lang, SearchOptions(k=k, mode=mode, **kw))
        t1 = time.perf_counter()
        if vector is None:
            vector = self.embedder.embed_queries([query])[0]
        result = with_pages(answer(question, lang, hits, vector, query, lambda h: snap.sentences_of(h.row),
                                   self.answer_settings, self.embedder_name), snap)
        t2 = time.perf_counter()
        timings = {"search_ms": round((t1 - t0) * 1000, 2), "answer_ms": round((t2 - t1) * 1000, 2),
                   "total_ms": round((t2 - t0) * 1000, 2)}
        return replace(result, timings=timings)


def with_pages(answer: Answer, snap: Snapshot) -> Answer:
    """The answer with each citation's PDF page (from its document's ``page_starts``), when known."""
    if not answer.citations:
        return answer
    pages = snap.cache.get("page_starts")
    if pages is None:  # once per snapshot: only documents with pages (PDFs) are kept
        pages = snap.cache["page_starts"] = {d["id"]: d["metadata"]["page_starts"] for d in snap.documents
                                             if (d.get("metadata") or {}).get("page_starts")}
    if not pages:
        return answer
    from .pdf import page_at  # pypdf is imported only once an index holds a PDF

    return replace(answer, citations=tuple(replace(c, page=page_at(pages[c.doc_id], c.start))
                                           if c.doc_id in pages else c for c in answer.citations))


def _turns(history: History | None) -> list[tuple[str, str]]:
    """(role, text) of every earlier turn, oldest first (messages dicts or (user, assistant) pairs)."""
    out: list[tuple[str, str]] = []
    for turn in history or []:
        if isinstance(turn, dict) and turn.get("role") in ("user", "assistant"):
            out.append((str(turn["role"]), str(turn.get("content", ""))))
        elif isinstance(turn, (list, tuple)):
            out += [(role, str(text)) for role, text in zip(("user", "assistant"), turn) if isinstance(text, str)]
    return out
