import json
import shutil

import pytest
from click.testing import CliRunner

from qa.cli import main
from tests.conftest import PARALLEL, SEEDS


@pytest.fixture()
def project(tmp_path, monkeypatch):
    """A fresh project folder with only seeds/ in it, as after a clone."""
    shutil.copytree(SEEDS, tmp_path / "seeds")
    monkeypatch.chdir(tmp_path)
    monkeypatch.delenv("QA_INDEX", raising=False)
    return tmp_path


def run(*args: str):
    return CliRunner().invoke(main, list(args))


def test_ask_builds_the_index_from_seeds_then_answers_with_sources(project):
    result = run("ask", "How many participants attended the forum?")
    assert result.exit_code == 0, result.output
    assert "building one from seeds/" in result.stderr
    assert "150" in result.stdout and "[1]" in result.stdout and "Sources:" in result.stdout
    assert "(sentence cosine 0." in result.stdout  # what the number is, not a bare "score"
    assert (project / "embeddings" / "CURRENT").exists()


def test_ask_json_abstains_in_arabic(project):
    result = run("ask", "من فاز بكأس العالم 2018؟", "--json")
    answer = json.loads(result.stdout)
    assert answer["abstained"] and answer["text"] == "لم أجد الإجابة في الوثائق." and answer["passages"]


def test_ingest_docs_search_info_remove(project):
    result = run("ingest", str(PARALLEL / "en"), "--index", "idx")
    assert result.exit_code == 0 and "6 added" in result.stdout
    assert "0 added" in run("ingest", str(PARALLEL / "en"), "--index", "idx").stdout
    listing = run("docs", "--index", "idx", "--json")
    docs = json.loads(listing.stdout)
    assert len(docs) == 6 and {d["lang"] for d in docs} == {"en"}
    hits = json.loads(run("search", "How long is the bridge?", "--index", "idx", "--k", "2", "--json").stdout)
    assert len(hits) == 2 and hits[0]["chunk"]["path"].endswith("bridge.txt")
    shown = run("search", "How long is the bridge?", "--index", "idx", "--k", "1").stdout
    assert shown.startswith("#1 rank score=0.") and " cosine=0." in shown, shown  # a fused rank and a cosine
    info = json.loads(run("info", "--index", "idx", "--json").stdout)
    assert info["documents"] == 6 and info["embedder"] == "e5-small"
    bridge = next(d for d in docs if d["path"].endswith("bridge.txt"))
    assert bridge["id"] in run("remove", bridge["id"], "--index", "idx").stdout
    assert len(json.loads(run("docs", "--index", "idx", "--json").stdout)) == 5


@pytest.mark.parametrize("args, message", [
    (["docs", "--index", "nowhere"], "no index at nowhere"),
    (["ask", "   ", "--index", "nowhere"], "no index at nowhere"),
    (["ask", "q", "--mode", "magic"], "Invalid value for '--mode'"),
    (["ingest", "x.txt", "--index", "i2", "--embedder", "word2vec"], "unknown embedder 'word2vec'"),
])
def test_errors_are_one_clean_line(tmp_path, monkeypatch, args, message):
    monkeypatch.chdir(tmp_path)
    result = run(*args)
    assert result.exit_code != 0 and message in result.output
    assert "Traceback" not in result.output


def test_empty_question_and_skipped_files_are_reported(project):
    (project / "bad.pdf").write_bytes(b"%PDF-1.4 broken")
    result = run("ingest", str(project / "bad.pdf"), str(project / "seeds"))
    assert result.exit_code == 0 and "skipped" in result.stderr and "bad.pdf" in result.stderr
    assert "question is empty" in run("ask", "   ").output


def test_every_command_has_help():
    for command in ("ingest", "ask", "search", "docs", "remove", "info", "eval", "serve"):
        result = run(command, "--help")
        assert result.exit_code == 0 and "Usage:" in result.output


def test_ask_with_a_generator_streams_the_draft_then_prints_the_verified_answer(project, monkeypatch):
    from tests.llm_fake import FakeLLM

    reply = "More than 150 high-level participants attended the forum [1]. The forum had 900 guests [1]."
    with FakeLLM(reply) as fake:
        monkeypatch.setenv("QA_GENERATOR", fake.spec())
        result = run("ask", "How many participants attended the forum?")
        assert len(fake.requests) == 1
    assert result.exit_code == 0, result.output
    assert reply in result.stderr  # the draft, as it streamed
    out = result.stdout
    assert out.startswith("More than 150 high-level participants attended the forum. [1]\n")
    assert "900" not in out.split("removed:")[0] and "removed: The forum had 900 guests." in out
    assert "Sources:" in out


def test_ask_with_an_unknown_generator_is_one_clean_line(project):
    result = run("ask", "How many participants?", "--generator", "gpt:x")
    assert result.exit_code == 1 and result.stderr.startswith("Error: unknown generator 'gpt:x'")
    assert "Traceback" not in result.output


def test_serve_with_a_generator_that_cannot_load_is_one_line_and_starts_nothing(project):
    result = run("serve", "--generator", "llama-cpp:/no/such/model.gguf")
    assert result.exit_code == 1 and "Traceback" not in result.output
    assert result.stderr.strip().splitlines() == [
        "Error: llama-cpp generator: no model file at '/no/such/model.gguf'; give the path of a .gguf file"]
    assert not (project / "embeddings").exists()


def test_ingest_refuses_new_index_flags_that_differ_from_the_existing_index(project):
    (project / "a.txt").write_text("Asilah\n\nThe harbour of Asilah has 120 boats.\n")
    assert run("ingest", str(PARALLEL / "en" / "bridge.txt"), "--index", "idx", "--max-tokens", "120").exit_code == 0
    for flags in (["--max-tokens", "200"], ["--overlap", "10"], ["--passage-vectors", "from-sentences"],
                  ["--ann", "hnsw"]):
        result = run("ingest", str(project / "a.txt"), "--index", "idx", *flags)
        assert result.exit_code == 1 and flags[0] in result.output and "Traceback" not in result.output, result.output
        assert "rebuild" in result.output and "--index NEW_DIR" in result.output
    assert len(json.loads(run("docs", "--index", "idx", "--json").stdout)) == 1  # nothing was added
    same = run("ingest", str(project / "a.txt"), "--index", "idx", "--max-tokens", "120", "--overlap", "40")
    assert same.exit_code == 0 and "1 added" in same.stdout  # the index's own settings, said again, are fine

