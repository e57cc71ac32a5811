import socket

import pytest

from qa.answer.generators import GENERATORS, GenerationError, GeneratorSettings, get_generator
from qa.answer.generators.openai_compat import parse_target
from tests.llm_fake import CLOSE, ERROR_500, GARBAGE, HANG, OVERFLOW, FakeLLM

MESSAGES = [{"role": "user", "content": "hello"}]


def test_specs_come_from_the_registry_with_errors_that_name_the_fix(monkeypatch):
    assert set(GENERATORS) == {"extractive", "openai", "llama-cpp"}
    monkeypatch.delenv("QA_GENERATOR", raising=False)
    assert get_generator() is None and get_generator("extractive") is None
    for spec, fix in [("gpt4", "choose one of"), ("openai:", "needs a target"), ("openai:model", "MODEL@BASE_URL"),
                      ("openai:m@ftp://x", "MODEL@BASE_URL"), ("llama-cpp:/no/such.gguf", "no model file"),
                      ("extractive:x", "takes no model")]:
        with pytest.raises(ValueError, match=fix):
            get_generator(spec)
    assert parse_target("llama3.2:3b@http://127.0.0.1:11434") == ("llama3.2:3b", "http://127.0.0.1:11434/v1")
    assert parse_target("m@https://host.example/api/v1/") == ("m", "https://host.example/api/v1")
    monkeypatch.setenv("QA_GENERATOR", "openai:m@http://127.0.0.1:9/v1")
    assert get_generator().name == "openai:m@http://127.0.0.1:9/v1"


def test_openai_streams_pieces_and_sends_the_key(monkeypatch):
    monkeypatch.setenv("QA_LLM_API_KEY", "k-123")
    with FakeLLM("It opened in 2019 [1].") as fake:
        gen = get_generator(fake.spec("m"))
        pieces = list(gen.stream(MESSAGES, 64))
        assert len(pieces) > 1 and "".join(pieces) == "It opened in 2019 [1]."
        [request] = fake.requests
        assert request["path"] == "/v1/chat/completions" and request["auth"] == "Bearer k-123"
        assert request["body"]["stream"] is True and request["body"]["model"] == "m"
        assert request["body"]["messages"] == MESSAGES and request["body"]["max_tokens"] == 64


@pytest.mark.parametrize("step, what", [(CLOSE, "closed the connection"), (HANG, "did not answer within 0.5 s"),
                                        (ERROR_500, "answered HTTP 500"), (GARBAGE, "malformed stream"),
                                        (OVERFLOW, "exceed the model's context")])
def test_each_server_failure_is_a_generation_error_saying_what_failed(step, what):
    with FakeLLM(step) as fake:
        gen = get_generator(fake.spec(), GeneratorSettings(timeout=0.5))
        with pytest.raises(GenerationError, match=what):
            list(gen.stream(MESSAGES, 16))


def test_a_server_that_is_down_is_a_generation_error():
    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))
    port = sock.getsockname()[1]
    sock.close()  # nothing listens there now: connection refused
    gen = get_generator(f"openai:m@http://127.0.0.1:{port}/v1", GeneratorSettings(timeout=2))
    with pytest.raises(GenerationError, match="cannot connect"):
        list(gen.stream(MESSAGES, 16))
