"""The metrics blocks of an evaluation: per-question records summed up, overall and by language.

Out of scope: scoring one question (``evaluate_question``), the metric definitions (``metrics``).
"""

from __future__ import annotations

from collections import defaultdict
from typing import Any

from . import metrics as m
from .evaluate_question import RECALL_KS


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
