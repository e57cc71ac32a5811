import json

import pytest
from click.testing import CliRunner

from qa.cli import main
from qa.datasets import load
from qa.evaluate import EvalConfig, evaluate
from tests.conftest import FIXTURES

EVAL = FIXTURES / "eval"
KEYS = {"n", "skipped", "retrieval", "answer", "abstention", "latency_ms", "index", "by_lang", "config"}


def test_squad_end_to_end_with_outputs(tmp_path):
    out = tmp_path / "out"
    result = CliRunner().invoke(main, ["eval", str(EVAL / "squad_v2_en.json"), "--out", str(out), "--k", "3"])
    assert result.exit_code == 0, result.output
    metrics = json.loads((out / "metrics.json").read_text())
    assert set(metrics) >= KEYS and metrics["n"] == 4 and metrics["skipped"] == 1
    assert metrics["retrieval"]["recall@1"] == 1.0 and metrics["answer"]["contains"] == 1.0
    assert set(metrics["retrieval"]) == {"recall@1", "recall@5", "recall@10", "mrr@10", "ndcg@10"}
    assert set(metrics["answer"]) == {"contains", "em", "f1", "citation_precision"}
    assert set(metrics["latency_ms"]) == {"search_p50", "search_p95", "ask_p50", "ask_p95"}
    assert metrics["abstention"]["n"] == 1 and metrics["index"]["chunks"] == 3
    assert metrics["config"]["k"] == 3 and metrics["config"]["embedder"] == "e5-small"
    rows = [json.loads(line) for line in (out / "per_question.jsonl").read_text().splitlines()]
    assert len(rows) == 4 and rows[0]["rank"] == 1 and rows[0]["retrieved"]
    assert (out / "report.md").read_text().startswith("# Evaluation report")
    assert (out / "recall_at_k.png").stat().st_size > 1000 and (out / "latency.png").exists()
    assert "bad-offset" in result.output  # reported, and the run went on


def test_cross_lingual_pairing_scores_english_questions_on_arabic_contexts():
    dataset = load([EVAL / "squad_en.json"], [EVAL / "squad_ar.json"])
    metrics = evaluate(dataset, None, EvalConfig(k=3)).metrics
    assert set(metrics["by_lang"]) == {"en", "en->ar"}
    assert metrics["by_lang"]["en->ar"]["retrieval"]["recall@1"] == 1.0
    assert metrics["answer"]["contains"] == 1.0  # Arabic gold answers inside the Arabic cited sentences


def test_jsonl_against_an_existing_index(seed_assistant):
    dataset = load([EVAL / "seed_questions.jsonl"])
    result = evaluate(dataset, seed_assistant.index.folder, EvalConfig(k=5))
    m = result.metrics
    assert m["n"] == 4 and m["skipped"] == 2
    assert m["retrieval"]["recall@5"] == 1.0 and m["answer"]["contains"] >= 2 / 3
    assert m["abstention"]["n"] == 1 and m["abstention"]["recall"] == 1.0
    assert {"en", "ar", "en->ar", "ar->ar"} <= set(m["by_lang"])


def test_json_flag_prints_only_metrics(seed_assistant):
    result = CliRunner().invoke(main, ["eval", str(EVAL / "seed_questions.jsonl"), "--index",
                                       str(seed_assistant.index.folder), "--json", "--limit", "2", "--seed", "1"])
    assert result.exit_code == 0
    metrics = json.loads(result.stdout)
    assert metrics["n"] == 2 and metrics["config"]["seed"] == 1


def test_missing_file_and_empty_set_are_clear_errors(tmp_path):
    result = CliRunner().invoke(main, ["eval", str(tmp_path / "nope.json")])
    assert result.exit_code != 0 and "does not exist" in result.output
    (tmp_path / "empty.jsonl").write_text("")
    with pytest.raises(ValueError, match="no usable questions"):
        evaluate(load([tmp_path / "empty.jsonl"]), tmp_path, EvalConfig())


def _by_question(body: dict) -> str:
    """A model that answers the library and bridge questions, one with a wrong number."""
    question = body["messages"][1]["content"].rsplit("Question: ", 1)[1]
    if "library" in question:
        return "The Al-Noor Public Library opened in 2019 [1]."
    if "bridge" in question:
        return "The new bridge over the river is 950 meters long [1]."
    return "NOT_IN_DOCUMENTS"


def test_eval_with_a_generator_reports_generated_answers_next_to_the_extractive_ones(tmp_path):
    from tests.llm_fake import FakeLLM

    out = tmp_path / "out"
    with FakeLLM(_by_question) as fake:
        result = CliRunner().invoke(main, ["eval", str(EVAL / "squad_v2_en.json"), "--out", str(out),
                                           "--generator", fake.spec()])
        called = len(fake.requests)
    assert result.exit_code == 0, result.output
    metrics = json.loads((out / "metrics.json").read_text())
    gen = metrics["generated"]
    assert metrics["config"]["generator"] == fake.spec() and gen["n"] == 4 and gen["model_called"] == called == 3
    # 2019 kept; the 950 claim dropped, so the extractive fallback (which holds 850) answers; solar abstained.
    assert gen["answer"]["contains"] == pytest.approx(2 / 3, abs=1e-3)
    assert gen["verified_share"] == 0.5 and gen["fallback_rate"] == pytest.approx(1 / 3, abs=1e-3)
    assert gen["abstention"]["n"] == 1 and gen["first_token_ms"]["p50"] is not None
    assert metrics["answer"]["contains"] == 1.0  # the extractive numbers stay, in the same report
    rows = [json.loads(line) for line in (out / "per_question.jsonl").read_text().splitlines()]
    library = next(r for r in rows if r["id"] == "q0")["generated"]
    assert library["em"] == 0.0 and library["f1"] > 0 and library["answer"].endswith("2019. [1]")
    assert "Generated answers (openai:fake@" in result.output and "Generated answers" in (out / "report.md").read_text()
