import math

import pytest

from qa.metrics import (
    abstention,
    answer_tokens,
    contains,
    exact_match,
    mrr_at,
    ndcg_at,
    percentile,
    recall_at,
    token_f1,
)


def test_recall_mrr_ndcg_hand_computed():
    ranked = ["a", "b", "c", "d"]
    assert recall_at(ranked, {"c"}, 1) == 0 and recall_at(ranked, {"c"}, 5) == 1
    assert recall_at(ranked, {"b", "x"}, 5) == 0.5
    assert recall_at(ranked, set(), 5) == 0
    assert mrr_at(ranked, {"c", "d"}) == pytest.approx(1 / 3)
    assert mrr_at(ranked, {"z"}) == 0
    # one relevant at rank 3: DCG = 1/log2(4) = 0.5, IDCG = 1
    assert ndcg_at(ranked, {"c": 1.0}) == pytest.approx(0.5)
    # graded: gains a=1 at rank 1, d=2 at rank 4 → DCG = 1 + 2/log2(5); IDCG = 2 + 1/log2(3)
    assert ndcg_at(ranked, {"a": 1.0, "d": 2.0}) == pytest.approx((1 + 2 / math.log2(5)) / (2 + 1 / math.log2(3)))


def test_answer_normalisation_extends_squad_to_arabic():
    assert answer_tokens("The Eiffel Tower!") == ["eiffel", "tower"]
    assert answer_tokens("المُنْتَدَى، ١٥٠") == ["منتدي", "150"]
    assert exact_match("the  Eiffel tower.", ["Eiffel Tower"]) == 1.0
    assert exact_match("في المدينة", ["مدينة"]) == 0.0
    assert exact_match("المدينة", ["مدينة"]) == 1.0


def test_token_f1_hand_computed():
    # prediction 4 tokens, gold 2 tokens, 2 shared: P = 0.5, R = 1, F1 = 2/3
    assert token_f1("about 850 meters long", ["850 meters"]) == pytest.approx(2 / 3)
    assert token_f1("nothing shared", ["850"]) == 0.0
    assert token_f1("850", ["x", "850"]) == 1.0


def test_contains_is_normalised_substring():
    assert contains("وعرف المنتدى حضور أزيد من ١٥٠ مشارك", ["150 مشارك"])
    assert not contains("1500 people", ["150"])
    assert not contains("anything", [""])


def test_abstention_precision_recall():
    # abstained on 3: two were impossible (right), one answerable (wrong); 4 impossible in all
    result = abstention([True, True, True, False, False, False], [True, True, False, True, True, False])
    assert result == {"precision": pytest.approx(2 / 3), "recall": 0.5, "n": 4}
    assert abstention([False], [False]) == {"precision": 0.0, "recall": 0.0, "n": 0}


def test_percentile_interpolates():
    assert percentile([1, 2, 3, 4], 50) == 2.5
    assert percentile([5], 95) == 5 and percentile([], 50) == 0


def test_retrieval_metrics_agree_with_trec_eval_on_the_same_runs():
    """recall@k, MRR@10 and nDCG@10 of qa.metrics against pytrec_eval (trec_eval's C code) on 300 random runs
    with graded relevance. Our recall@k divides by min(|relevant|, k) (a capped recall, as BEIR reports):
    it equals trec_eval's recall.k times |relevant| / min(|relevant|, k)."""
    import random

    import pytrec_eval

    from qa.metrics import mrr_at, ndcg_at, recall_at

    rng = random.Random(9)
    qrels, runs = {}, {}
    for q in range(300):
        docs = [f"d{i}" for i in range(40)]
        qrels[f"q{q}"] = {d: rng.choice([1, 2, 3]) for d in rng.sample(docs, rng.randint(1, 12))}
        ranked = rng.sample(docs, rng.randint(1, 30))
        runs[f"q{q}"] = {d: float(len(ranked) - i) for i, d in enumerate(ranked)}  # distinct scores: no ties
    measures = {"recall.1", "recall.5", "recall.10", "ndcg_cut.10"}
    trec = pytrec_eval.RelevanceEvaluator(qrels, measures).evaluate(runs)
    top10 = {q: dict(sorted(r.items(), key=lambda kv: -kv[1])[:10]) for q, r in runs.items()}
    trec_rr = pytrec_eval.RelevanceEvaluator(qrels, {"recip_rank"}).evaluate(top10)
    for q, run in runs.items():
        ranked = sorted(run, key=lambda d: -run[d])
        relevant = set(qrels[q])
        for k in (1, 5, 10):
            expected = trec[q][f"recall_{k}"] * len(relevant) / min(len(relevant), k)
            assert recall_at(ranked, relevant, k) == pytest.approx(expected, abs=1e-9), (q, k)
        assert mrr_at(ranked, relevant, 10) == pytest.approx(trec_rr[q]["recip_rank"], abs=1e-9), q
        assert ndcg_at(ranked, {d: float(g) for d, g in qrels[q].items()}, 10) == pytest.approx(
            trec[q]["ndcg_cut_10"], abs=1e-9), q
