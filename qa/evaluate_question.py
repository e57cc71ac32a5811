"""One question of an evaluation scored: its relevant chunks (``Gold``), then its search and its
answer (and, with a generator, its generated answer) against them, timed, as one record.

Out of scope: the run over a set (``evaluate``), summing the records up (``evaluate_summary``), the
metric definitions (``metrics``).
"""

from __future__ import annotations

import re
import time
from typing import TYPE_CHECKING, Any

from . import metrics as m
from .assistant import Assistant
from .datasets import Question
from .records import Answer

if TYPE_CHECKING:
    from .evaluate import EvalConfig

RECALL_KS = (1, 5, 10)
SEARCH_K = 10


class Gold:
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


def score_question(assistant: Assistant, gold: Gold, q: Question, config: EvalConfig, corpus_lang: str) -> dict:
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
