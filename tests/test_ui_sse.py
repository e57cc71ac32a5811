"""POST /api/ask with a generator: Server-Sent Events, the choice of generator, failures as answers."""

from __future__ import annotations

import json

import httpx
import pytest

import ui  # noqa: F401 - first: keeps Gradio from phoning home
from qa import Assistant
from qa.answer.generators import GeneratorSettings, get_generator
from tests.llm_fake import ERROR_500, FakeLLM
from tests.serving import running_server

REPLY = "More than 150 high-level participants attended the forum [1]. It lasted 9 days [1]."
QUESTION = {"question": "How many participants attended the forum?"}


@pytest.fixture(scope="module")
def served(seed_assistant):
    from ui.server import create_app

    with FakeLLM(REPLY) as fake:
        assistant = Assistant(seed_assistant.index, generator=get_generator(fake.spec(), GeneratorSettings(timeout=5)))
        with running_server(create_app(assistant)) as url:
            yield url, fake


def _events(text: str) -> list[tuple[str, dict]]:
    out = []
    for block in text.strip().split("\n\n"):
        fields = dict(line.split(": ", 1) for line in block.splitlines())
        out.append((fields["event"], json.loads(fields["data"])))
    return out


def test_health_names_the_generator(served):
    url, fake = served
    assert httpx.get(f"{url}/api/health").json()["generator"] == fake.spec()


def test_a_streamed_answer_is_deltas_then_the_verified_answer(served):
    url, fake = served
    with httpx.stream("POST", f"{url}/api/ask", json={**QUESTION, "stream": True}, timeout=60) as r:
        assert r.status_code == 200 and r.headers["content-type"].startswith("text/event-stream")
        events = _events(r.read().decode("utf-8"))
    names = [name for name, _ in events]
    assert names[-1] == "answer" and set(names[:-1]) == {"delta"} and len(names) > 3
    assert "".join(d["text"] for _, d in events[:-1]) == REPLY
    answer = events[-1][1]
    assert answer["text"] == "More than 150 high-level participants attended the forum. [1]"
    assert answer["unsupported"] == ["It lasted 9 days."] and answer["notice"] and not answer["fallback"]
    assert answer["generator"] == fake.spec() and "150" in answer["citations"][0]["sentence"]


def test_the_streamed_answer_carries_no_server_path(served, seed_assistant):
    url, _ = served
    with httpx.stream("POST", f"{url}/api/ask", json={**QUESTION, "stream": True}, timeout=60) as r:
        answer = _events(r.read().decode("utf-8"))[-1][1]
    plain = httpx.post(f"{url}/api/ask", json=QUESTION, timeout=60).json()
    paths = [c["path"] for c in answer["citations"]] + [h["chunk"]["path"] for h in answer["passages"]]
    assert paths and all(not p.startswith("/") for p in paths), paths
    assert [c["path"] for c in answer["citations"]] == [c["path"] for c in plain["citations"]]
    assert str(seed_assistant.index.folder.resolve().parent) not in json.dumps(answer)


def test_a_request_chooses_extractive_or_the_configured_generator_never_a_new_address(served):
    url, fake = served
    before = len(fake.requests)
    extractive = httpx.post(f"{url}/api/ask", json={**QUESTION, "generator": "extractive"}, timeout=60).json()
    assert extractive["generator"] == "extractive" and len(fake.requests) == before
    refused = httpx.post(f"{url}/api/ask", json={**QUESTION, "generator": "openai:m@http://127.0.0.1:9/v1",
                                                 "stream": True}, timeout=60)
    assert refused.status_code == 400 and "not available here" in refused.json()["message"]
    assert len(fake.requests) == before


def test_a_failing_model_is_an_answer_with_a_notice_never_a_500(served):
    url, fake = served
    fake.script[:] = [ERROR_500, REPLY]
    r = httpx.post(f"{url}/api/ask", json=QUESTION, timeout=60)
    assert r.status_code == 200 and r.json()["fallback"] and "HTTP 500" in r.json()["notice"]


def test_the_openapi_schema_documents_the_stream(served):
    url, _ = served
    schema = httpx.get(f"{url}/openapi.json").json()
    ask = schema["paths"]["/api/ask"]["post"]
    assert "text/event-stream" in ask["responses"]["200"]["content"]
    props = schema["components"]["schemas"]["AskRequest"]["properties"]
    assert {"stream", "generator"} <= set(props)
    assert {"unsupported", "fallback", "notice", "generator"} <= set(schema["components"]["schemas"]["AnswerOut"][
        "properties"])
