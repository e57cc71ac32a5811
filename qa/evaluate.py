"""Score retrieval and answers on a QA set, overall, per question language and per language pair.

A set that brings its own corpus (SQuAD contexts, BEIR) is indexed into a temporary folder through
the normal ingest pipeline; otherwise questions run against an existing index. Every question is
searched (top 10, for retrieval metrics) and asked (top ``k``, for answer metrics), both timed.
With a generator, every question is also asked of the model (``generated`` in each record and
block: the same answer metrics, plus verified share, fallback rate and generation latency).
Scoring one question is ``evaluate_question``, summing the records up ``evaluate_summary``.
Out of scope: file formats (``datasets``), metric definitions (``metrics``), rendering (``report``).
"""

from __future__ import annotations

import json
import random
import tempfile
from collections.abc import Callable
from pathlib import Path
from typing import Any, NamedTuple

from .answer.generators import Generator
from .assistant import Assistant
from .chunk import ChunkSettings
from .datasets import EvalSet, Question
from .evaluate_question import Gold, score_question
from .evaluate_summary import by_language, summarise


class EvalConfig(NamedTuple):
    k: int = 5
    mode: str = "hybrid"
    embedder: str | None = None
    limit: int | None = None
    seed: int | None = None
    chunking: ChunkSettings = ChunkSettings()
    store: str | None = None  # where the index lives (qa.index.stores); None: $QA_STORE or local


class Result(NamedTuple):
    metrics: dict[str, Any]
    per_question: list[dict[str, Any]]


def build_corpus_index(dataset: EvalSet, folder: Path, config: EvalConfig) -> tuple[Assistant, dict]:
    """Index the set's own corpus through the normal pipeline (a JSONL file of its documents).

    The JSONL file lives in the index folder, so a second run on the same folder embeds nothing."""
    folder.mkdir(parents=True, exist_ok=True)
    source = folder / "corpus.jsonl"
    lines = [json.dumps({"id": d.id, "title": d.title, "text": d.text}, ensure_ascii=False) + "\n"
             for d in dataset.corpus or []]
    if not source.exists() or source.read_text("utf-8") != "".join(lines):
        source.write_text("".join(lines), "utf-8")
    assistant = Assistant.create_or_open(folder, config.embedder, config.chunking, store=config.store)
    report = assistant.add([source])
    seconds = round(report.seconds, 3)
    # A reused index embeds nothing: its speed is unknown, not zero.
    return assistant, {"chunks": len(assistant.index.snapshot), "new_chunks": report.chunks, "seconds": seconds,
                       "chunks_per_s": round(report.chunks / seconds, 2) if report.chunks else None}


def indexed_ids(questions: list[Question], assistant: Assistant) -> list[Question]:
    """The questions with their gold document ids as the index names them: a set's own corpus is
    indexed as records of one JSONL file, whose ids are scoped by that file (``metadata.record_id``
    keeps the set's id)."""
    alias = {str(d["metadata"]["record_id"]): d["id"] for d in assistant.documents()
             if "record_id" in (d.get("metadata") or {})}
    return [q._replace(gold=tuple(g._replace(doc_id=alias.get(g.doc_id, g.doc_id)) for g in q.gold),
                       relevant_docs=q.relevant_docs and {alias.get(d, d): v for d, v in q.relevant_docs.items()})
            for q in questions]


def _select(questions: list[Question], config: EvalConfig) -> list[Question]:
    chosen = list(questions)
    if config.seed is not None:
        random.Random(config.seed).shuffle(chosen)
    return chosen[: config.limit] if config.limit else chosen


def evaluate(dataset: EvalSet, index_dir: Path | None, config: EvalConfig,
             progress: Callable[[int, int], None] | None = None, generator: Generator | None = None) -> Result:
    """Run every selected question and return the metrics (schema in docs/evaluation.md); with a
    ``generator``, each question is also answered by it."""
    questions = _select(dataset.questions, config)
    if not questions:
        raise ValueError("the dataset has no usable questions; see the skipped entries")
    with tempfile.TemporaryDirectory(prefix="qa-eval-") as tmp:
        if dataset.corpus is not None:
            assistant, index_stats = build_corpus_index(dataset, index_dir or Path(tmp) / "index", config)
            questions = indexed_ids(questions, assistant)
        else:
            assistant = Assistant.open(index_dir or Path("embeddings"), embedder=config.embedder, store=config.store)
            index_stats = {"chunks": len(assistant.index.snapshot), "new_chunks": 0, "seconds": None,
                           "chunks_per_s": None}
        assistant.generator = generator
        gold = Gold(assistant, dataset.kind)
        langs = assistant.index.snapshot.chunks_by_language()
        corpus_lang = max(langs, key=langs.get) if langs else "none"
        rows = []
        for i, q in enumerate(questions, 1):
            rows.append(score_question(assistant, gold, q, config, corpus_lang))
            if progress:
                progress(i, len(questions))
        embedder, chunking = assistant.embedder_name, assistant.index.chunking  # what was used, not asked for
    metrics = {**summarise(rows), "skipped": len(dataset.skipped), "index": index_stats,
               "by_lang": by_language(rows),
               "config": {"embedder": embedder, "mode": config.mode, "k": config.k,
                          "chunking": chunking._asdict(), "limit": config.limit, "seed": config.seed,
                          "generator": assistant.generator_name}}
    return Result(metrics, rows)
