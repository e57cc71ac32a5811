"""Settings in one place (qa/config.py): defaults < qa.toml < environment < flags, and `qa info` showing them."""

from __future__ import annotations

import json

import pytest
from click.testing import CliRunner

from qa import config
from qa.cli import main
from tests.conftest import PARALLEL, SEEDS


def test_precedence_defaults_file_environment_flags(tmp_path):
    (tmp_path / "qa.toml").write_text('[answer]\nk = 3\nmode = "dense"\n[chunking]\nmax_tokens = 120\n'
                                      '[log]\nquestions = true\n')
    cfg = config.load(tmp_path, env={"QA_K": "7"})
    assert cfg.get("answer.k") == 7 and cfg.source("answer.k") == "$QA_K"
    assert cfg.get("answer.mode") == "dense" and cfg.source("answer.mode").endswith("qa.toml")
    assert cfg.get("chunking.max_tokens") == 120 and cfg.get("log.questions") is True
    assert cfg.get("server.port") == 7860 and cfg.source("server.port") == "default"
    flagged = cfg.with_flags({"answer.k": 2})
    assert flagged.get("answer.k") == 2 and flagged.source("answer.k") == "command line" and cfg.get("answer.k") == 7
    assert config.load(tmp_path / "elsewhere", env={}).get("answer.k") == 5  # no file there: defaults


@pytest.mark.parametrize("text, message", [
    ("[answer]\nk = \"many\"\n", "answer.k = 'many' is not a int"),
    ("[answer]\nkk = 3\n", "unknown setting(s) answer.kk"),
    ("[answer\nk = 3\n", "cannot read the settings file"),
])
def test_bad_files_are_clear_errors(tmp_path, text, message):
    (tmp_path / "qa.toml").write_text(text)
    with pytest.raises(ValueError, match=message.replace("(", r"\(").replace(")", r"\)")):
        config.load(tmp_path, env={})


def test_adding_a_setting_is_one_line():
    config.setting("test.example", 1.5, "QA_TEST_EXAMPLE", "only for this test")
    try:
        assert config.load(None, env={"QA_TEST_EXAMPLE": "2.5"}).get("test.example") == 2.5
    finally:
        del config.SETTINGS["test.example"]


def test_the_cli_uses_qa_toml_and_qa_info_shows_the_settings_in_force(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    (tmp_path / "idx").mkdir()
    (tmp_path / "idx" / "qa.toml").write_text("[chunking]\nmax_tokens = 120\n[answer]\nk = 2\n")
    run = lambda *a, **kw: CliRunner().invoke(main, list(a), **kw)  # noqa: E731
    assert run("ingest", str(PARALLEL / "en"), "--index", "idx").exit_code == 0
    info = json.loads(run("info", "--index", "idx", "--json", env={"QA_MODE": "bm25"}).stdout)
    assert info["chunking"]["max_tokens"] == 120  # the new index was built with qa.toml's chunk size
    settings = info["settings"]
    assert settings["answer.k"] == {"value": 2, "source": "idx/qa.toml"}
    assert settings["answer.mode"] == {"value": "bm25", "source": "$QA_MODE"}
    hits = json.loads(run("search", "How long is the bridge?", "--index", "idx", "--json").stdout)
    assert len(hits) == 2  # k from qa.toml
    assert len(json.loads(run("search", "bridge", "--index", "idx", "--k", "3", "--json").stdout)) == 3
    text = run("info", "--index", "idx").stdout
    assert "answer.k" in text and "qa.toml" in text
    (tmp_path / "other.toml").write_text("[chunking]\nmax_tokens = 300\n")
    refused = run("--config", str(tmp_path / "other.toml"), "ingest", str(PARALLEL / "ar"), "--index", "idx")
    assert refused.exit_code == 1 and "--max-tokens 300" in refused.output and "rebuild" in refused.output
    assert "no settings file" in run("--config", "nope.toml", "info", "--index", "idx").output


def test_the_reader_is_opted_into_by_a_setting_and_a_bad_choice_is_a_clear_error(tmp_path, monkeypatch):
    """``answer.abstention`` / ``answer.ranker`` (qa.toml or $QA_ABSTENTION / $QA_RANKER) choose the
    reader; with it the seed's "What time does the forum open?" (the article gives no time; the default
    cites a sentence) abstains. A name that is not a rule is refused before anything is asked."""
    from qa.answer import reader

    if reader.load("e5-small") is None:
        pytest.skip("the engine is not built with overlays")
    monkeypatch.chdir(tmp_path)
    run = lambda *a, **kw: CliRunner().invoke(main, list(a), **kw)  # noqa: E731
    assert run("ingest", str(SEEDS), "--index", "idx").exit_code == 0
    q = ("ask", "What time does the forum open?", "--index", "idx", "--json")
    reading = json.loads(run(*q, env={"QA_ABSTENTION": "read", "QA_RANKER": "read"}).stdout)
    assert reading["abstained"] and not reading["citations"]
    (tmp_path / "idx" / "qa.toml").write_text('[answer]\nabstention = "reader"\n')
    bad = run(*q)
    assert bad.exit_code == 1 and "answer.abstention 'reader'" in bad.output and "'read'" in bad.output
