from qa.evaluate import Result
from qa.report import markdown, table, write

BLOCK = {"n": 2, "retrieval": {"recall@1": 0.5, "recall@5": 1.0, "recall@10": 1.0, "mrr@10": 0.75, "ndcg@10": 0.8},
         "answer": {"contains": 0.5, "em": 0.0, "f1": 0.2, "citation_precision": 0.5},
         "abstention": {"precision": 0.0, "recall": 0.0, "n": 0},
         "latency_ms": {"search_p50": 10.0, "search_p95": 12.0, "ask_p50": 20.0, "ask_p95": 22.0}}
METRICS = {**BLOCK, "skipped": 1, "index": {"chunks": 3}, "config": {"k": 5},
           "by_lang": {"en": BLOCK, "en->ar": BLOCK}}
ROWS = [{"answerable": True, "lang": "en", "source_lang": "ar", "rank": r, "search_ms": 10.0, "ask_ms": 20.0}
        for r in (1, None)]


def test_table_has_a_row_per_group_and_dashes_without_no_answer_questions():
    lines = table(METRICS).splitlines()
    assert [line.split()[0] for line in lines] == ["group", "all", "en", "en->ar"]
    assert " - " in lines[1] and "0.500" in lines[1]


def test_write_produces_every_output(tmp_path):
    write(Result(METRICS, ROWS), tmp_path, "qa eval x.json", [("q9", "bad offset")])
    assert {p.name for p in tmp_path.iterdir()} == {"metrics.json", "per_question.jsonl", "report.md",
                                                     "recall_at_k.png", "latency.png"}
    report = (tmp_path / "report.md").read_text()
    assert "`qa eval x.json`" in report and "`q9`: bad offset" in report
    assert markdown(Result(METRICS, ROWS), "c", []).count("![") == 2
