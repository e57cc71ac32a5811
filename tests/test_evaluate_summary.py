"""Summing per-question records up (qa/evaluate_summary.py)."""

from qa.evaluate_summary import summarise


def test_summarise_counts_only_answerable_for_retrieval():
    rows = [{"answerable": True, "recall@1": 1.0, "recall@5": 1.0, "recall@10": 1.0, "mrr@10": 1.0, "ndcg@10": 1.0,
             "doc_recall@1": 1.0, "doc_recall@5": 1.0, "doc_recall@10": 1.0, "contains": 1.0, "em": 0.0, "f1": 0.5,
             "cited_correct": [True, False], "abstained": False, "search_ms": 10, "ask_ms": 20},
            {"answerable": False, "recall@1": 0.0, "abstained": True, "search_ms": 30, "ask_ms": 40}]
    s = summarise(rows)
    assert s["retrieval"]["recall@1"] == 1.0 and s["answer"]["citation_precision"] == 0.5
    assert s["abstention"] == {"precision": 1.0, "recall": 1.0, "n": 1}
    assert s["latency_ms"]["ask_p50"] == 30.0
