"""``qa eval`` on the command line (the metrics themselves: tests/test_evaluate.py)."""

import json

from click.testing import CliRunner

from qa.cli import main
from tests.conftest import FIXTURES


def run(*args: str):
    return CliRunner().invoke(main, list(args))


def test_eval_reports_the_chunk_settings_of_the_index_it_used(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    squad = str(FIXTURES / "eval" / "squad_en.json")
    first = run("eval", squad, "--index", "ev", "--max-tokens", "120", "--overlap", "20", "--json")
    assert first.exit_code == 0, first.output
    assert json.loads(first.stdout)["config"]["chunking"]["max_tokens"] == 120
    again = run("eval", squad, "--index", "ev", "--json")  # no flags: the index's settings, reported as such
    chunking = json.loads(again.stdout)["config"]["chunking"]
    assert again.exit_code == 0 and {k: chunking[k] for k in ("max_tokens", "overlap_tokens", "passage_vectors")} \
        == {"max_tokens": 120, "overlap_tokens": 20, "passage_vectors": "embedded"}
    refused = run("eval", squad, "--index", "ev", "--max-tokens", "300")
    assert refused.exit_code == 1 and "--max-tokens" in refused.output and "rebuild" in refused.output
