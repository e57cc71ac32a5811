"""Score retrieval and answers on a QA set, overall, per question language and per language pair.

A set that brings its own corpus (SQuAD contexts, BEIR) is indexed into a temporary folder through
the normal ingest pipeline; otherwise questions run against an existing index. Every question is
searched (top 10, for retrieval metrics) and asked (top ``k``, for answer metrics), both timed.
With a generator, every question is also asked of the model (``generated`` in each record and
block: the same answer metrics, plus verified share, fallback rate and generation latency).
Out of scope: file formats (``datasets``), metric definitions (``metrics``), rendering (``report``).
"""

from __future__ import annotations

import json
import random
import re
import tempfile
import time
from collections import defaultdict
from collections.abc import Callable
from pathlib import Path
from typing import Any, NamedTuple

from . import metrics as m
from .answer.generators import Generator
from .assistant import Assistant
from .chunk import ChunkSettings
from .datasets import EvalSet, Question
from .records import Answer

RECALL_KS = (1, 5, 10)
SEARCH_K = 10


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


class _Gold:
    """Relevance of chunks for each question, from offsets, answer strings or qrels."""

    def __init__(self, assistant: Assistant, kind: str):
        snap = assistant.index.snapshot
        self.kind = kind
        self.chunks = list(snap.all_chunks())
        self.doc_lang = {d["id"]: d["lang"] for d in snap.documents}
        self.norm = [f" {' '.join(m.answer_tokens(c.text))} " for c in self.chunks] if kind == "jsonl" else []

    def relevant(self, q: Question) -> tuple[set[str], set[str]]:
        """(relevant chunk ids, relevant document ids)."""
        if q.relevant_docs:
            docs = set(q.relevant_docs)
            return {c.id for c in self.chunks if c.doc_id in docs}, docs
        if q.gold:
            ids = {c.id for c in self.chunks for g in q.gold if c.doc_id == g.doc_id and c.start <= g.start < c.end}
            return ids, {g.doc_id for g in q.gold}
        needles = [n for a in q.answers if (n := " ".join(m.answer_tokens(a)))]
        ids = {c.id for c, text in zip(self.chunks, self.norm) if any(f" {n} " in text for n in needles)}
        return ids, {c.doc_id for c in self.chunks if c.id in ids}

    def source_lang(self, q: Question, relevant_docs: set[str], fallback: str) -> str:
        langs = sorted({self.doc_lang.get(d, fallback) for d in relevant_docs})
        return langs[0] if langs else fallback


def _score_question(assistant: Assistant, gold: _Gold, q: Question, config: EvalConfig, corpus_lang: str) -> dict:
    t0 = time.perf_counter()
    hits = assistant.search(q.question, k=SEARCH_K, mode=config.mode)
    t1 = time.perf_counter()
    answer = assistant.ask(q.question, k=config.k, mode=config.mode, generator="extractive")
    t2 = time.perf_counter()
    chunk_ids = [h.chunk.id for h in hits]
    doc_ids = list(dict.fromkeys(h.chunk.doc_id for h in hits))
    rel_chunks, rel_docs = gold.relevant(q)
    record: dict[str, Any] = {
        "id": q.id, "question": q.question, "lang": q.lang, "answerable": q.answerable,
        "source_lang": gold.source_lang(q, rel_docs, corpus_lang), "gold": list(q.answers),
        "retrieved": chunk_ids, "retrieved_docs": doc_ids, "relevant": sorted(rel_chunks),
        "rank": next((i for i, c in enumerate(chunk_ids, 1) if c in rel_chunks), None),
        "answer": answer.text, "abstained": answer.abstained, "evidence": answer.evidence,
        "citations": [[c.doc_id, c.start, c.end] for c in answer.citations],
        "scores": [round(c.score, 4) for c in answer.citations],
        "search_ms": round((t1 - t0) * 1000, 2), "ask_ms": round((t2 - t1) * 1000, 2),
    }
    gains = q.relevant_docs and {c.id: q.relevant_docs[c.doc_id] for c in gold.chunks if c.id in rel_chunks}
    for k in RECALL_KS:
        record[f"recall@{k}"] = m.recall_at(chunk_ids, rel_chunks, k)
        record[f"doc_recall@{k}"] = m.recall_at(doc_ids, rel_docs, k)
    if assistant.generator is not None:
        record["generated"] = _score_generated(assistant.ask(q.question, k=config.k, mode=config.mode), q)
    record["mrr@10"] = m.mrr_at(chunk_ids, rel_chunks, 10)
    record["ndcg@10"] = m.ndcg_at(chunk_ids, gains or dict.fromkeys(rel_chunks, 1.0), 10)
    if q.answers:
        cited = [c.sentence for c in answer.citations]
        record["contains"] = float(not answer.abstained and m.contains(answer.text, q.answers))
        record["cited_correct"] = [m.contains(s, q.answers) for s in cited]
        record["em"] = m.exact_match(cited[0], q.answers) if cited else 0.0
        record["f1"] = m.token_f1(cited[0], q.answers) if cited else 0.0
        first = answer.citations[0] if answer.citations else None
        if first is not None and first.answer_start is not None:  # the short answer, where one is marked
            short = first.sentence[first.answer_start - first.start : first.answer_end - first.start]
            record["short_answer"] = short
            record["span_em"], record["span_f1"] = m.exact_match(short, q.answers), m.token_f1(short, q.answers)
    return record


def _score_generated(answer: Answer, q: Question) -> dict[str, Any]:
    """A generated answer's record: its text without the ``[n]`` markers is what EM/F1 compare."""
    t = answer.timings
    text = " ".join(re.sub(r"\[\d+\]", " ", answer.text).split())
    record: dict[str, Any] = {
        "answer": answer.text, "abstained": answer.abstained, "fallback": answer.fallback,
        "called": "generate_ms" in t or answer.fallback, "unsupported": list(answer.unsupported),
        "sentences": t.get("generated_sentences", 0), "verified": t.get("verified_sentences", 0),
        **{k: t[k] for k in ("first_token_ms", "generate_ms", "tokens_per_s") if k in t},
    }
    if q.answers:
        record["contains"] = float(not answer.abstained and m.contains(answer.text, q.answers))
        record["em"] = m.exact_match(text, q.answers) if not answer.abstained else 0.0
        record["f1"] = m.token_f1(text, q.answers) if not answer.abstained else 0.0
    return record


def _percentiles(values: list[float]) -> dict[str, float | None]:
    return {f"p{q}": round(m.percentile(values, q), 2) if values else None for q in (50, 95)}


def summarise_generated(rows: list[dict]) -> dict[str, Any]:
    """The generated answers' block: answer metrics, verification, fallbacks, abstention, latency."""
    gens = [r["generated"] for r in rows]
    answerable = [r["generated"] for r in rows if r["answerable"]]
    called = [g for g in gens if g["called"]]
    sentences = sum(g["sentences"] for g in gens)
    return {
        "n": len(gens), "model_called": len(called),
        "answer": {k: _mean(answerable, k) for k in ("contains", "em", "f1")},
        "verified_share": round(sum(g["verified"] for g in gens) / sentences, 4) if sentences else None,
        "fallback_rate": round(sum(g["fallback"] for g in called) / len(called), 4) if called else None,
        "abstention": {k: round(v, 4) for k, v in m.abstention(
            [g["abstained"] for g in gens], [not r["answerable"] for r in rows]).items()},
        "first_token_ms": _percentiles([g["first_token_ms"] for g in gens if "first_token_ms" in g]),
        "generate_ms": _percentiles([g["generate_ms"] for g in gens if "generate_ms" in g]),
        "tokens_per_s": _percentiles([g["tokens_per_s"] for g in gens if "tokens_per_s" in g]),
    }


def _mean(rows: list[dict], key: str) -> float:
    values = [r[key] for r in rows if key in r]
    return round(sum(values) / len(values), 4) if values else 0.0


def summarise(rows: list[dict]) -> dict[str, Any]:
    """The metrics block for a group of per-question records."""
    answerable = [r for r in rows if r["answerable"]]
    cited = [ok for r in answerable for ok in r.get("cited_correct", [])]
    keys = [f"recall@{k}" for k in RECALL_KS] + ["mrr@10", "ndcg@10"]
    return {
        "n": len(rows),
        **({"generated": summarise_generated(rows)} if rows and "generated" in rows[0] else {}),
        "retrieval": {k: _mean(answerable, k) for k in keys},
        "documents": {f"recall@{k}": _mean(answerable, f"doc_recall@{k}") for k in RECALL_KS},
        "answer": {"contains": _mean(answerable, "contains"), "em": _mean(answerable, "em"),
                   "f1": _mean(answerable, "f1"),
                   "citation_precision": round(sum(cited) / len(cited), 4) if cited else 0.0},
        # EM/F1 of the short answer on the questions where one was marked (``n`` of them)
        "short_answer": {"n": sum("span_em" in r for r in answerable), "em": _mean(answerable, "span_em"),
                         "f1": _mean(answerable, "span_f1")},
        "abstention": {k: round(v, 4) for k, v in m.abstention(
            [r["abstained"] for r in rows], [not r["answerable"] for r in rows]).items()},
        "latency_ms": {f"{op}_p{q}": round(m.percentile([r[f"{op}_ms"] for r in rows], q), 2)
                       for op in ("search", "ask") for q in (50, 95)},
    }


def by_language(rows: list[dict]) -> dict[str, dict]:
    groups: dict[str, list[dict]] = defaultdict(list)
    for r in rows:
        groups[r["lang"]].append(r)
        groups[f"{r['lang']}->{r['source_lang']}"].append(r)
    return {key: summarise(group) for key, group in sorted(groups.items())}


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
        gold = _Gold(assistant, dataset.kind)
        langs = assistant.index.snapshot.chunks_by_language()
        corpus_lang = max(langs, key=langs.get) if langs else "none"
        rows = []
        for i, q in enumerate(questions, 1):
            rows.append(_score_question(assistant, gold, q, config, corpus_lang))
            if progress:
                progress(i, len(questions))
        embedder, chunking = assistant.embedder_name, assistant.index.chunking  # what was used, not asked for
    metrics = {**summarise(rows), "skipped": len(dataset.skipped), "index": index_stats,
               "by_lang": by_language(rows),
               "config": {"embedder": embedder, "mode": config.mode, "k": config.k,
                          "chunking": chunking._asdict(), "limit": config.limit, "seed": config.seed,
                          "generator": assistant.generator_name}}
    return Result(metrics, rows)
