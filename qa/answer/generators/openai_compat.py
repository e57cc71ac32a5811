"""``openai:MODEL@BASE_URL``: any server that speaks OpenAI's ``POST {BASE_URL}/chat/completions``.

Streams with ``"stream": true`` (Server-Sent Events, one ``data:`` JSON per piece, ``[DONE]`` at
the end) and also takes a server that ignores the flag and answers one JSON body. The key, when
the server wants one, comes from ``$QA_LLM_API_KEY`` (never from the spec, so it is never shown).
A base URL without a path gets ``/v1`` (Ollama, llama.cpp and vLLM all serve there).
Out of scope: the legacy completions endpoint, function calling, retries (a failure falls back).
"""

from __future__ import annotations

import json
import os
import time
from collections.abc import Iterator
from urllib.parse import urlsplit

import httpx

from . import GenerationError, GeneratorSettings, Message, estimate_tokens

KEY_ENV = "QA_LLM_API_KEY"
_OVERFLOW_WORDS = ("context", "too long", "maximum", "exceed")


def parse_target(target: str) -> tuple[str, str]:
    """``MODEL@BASE_URL`` → (model, base URL ending in its API path)."""
    model, at, url = target.partition("@")
    parts = urlsplit(url)
    if not at or not model or parts.scheme not in ("http", "https") or not parts.netloc:
        raise ValueError(f"openai generator {target!r}: write it as openai:MODEL@BASE_URL, "
                         "e.g. openai:llama3.2@http://127.0.0.1:11434/v1")
    base = url.rstrip("/") if parts.path.strip("/") else url.rstrip("/") + "/v1"
    return model, base


class OpenAICompatible:
    def __init__(self, target: str, settings: GeneratorSettings):
        self.model, self.base_url = parse_target(target)
        self.name = f"openai:{self.model}@{self.base_url}"
        self.settings = settings
        headers = {"Accept": "text/event-stream, application/json"}
        if key := os.environ.get(KEY_ENV):
            headers["Authorization"] = f"Bearer {key}"
        self._client = httpx.Client(headers=headers, timeout=httpx.Timeout(settings.timeout))

    def count_tokens(self, text: str) -> int:
        return estimate_tokens(text)

    def stream(self, messages: list[Message], max_tokens: int) -> Iterator[str]:
        body = {"model": self.model, "messages": messages, "stream": True, "max_tokens": max_tokens,
                "temperature": self.settings.temperature}
        deadline = time.monotonic() + self.settings.timeout
        where = f"the model server at {self.base_url}"
        try:
            with self._client.stream("POST", f"{self.base_url}/chat/completions", json=body) as response:
                if response.status_code >= 400:
                    raise _http_error(response, where)
                if response.headers.get("content-type", "").startswith("application/json"):
                    yield _whole_body(response.read(), where)
                    return
                for piece in _events(response.iter_lines(), where):
                    if time.monotonic() > deadline:
                        raise GenerationError(f"{where} did not finish within {self.settings.timeout:g} s")
                    yield piece
        except httpx.TimeoutException as e:
            raise GenerationError(f"{where} did not answer within {self.settings.timeout:g} s") from e
        except httpx.ConnectError as e:
            raise GenerationError(f"cannot connect to {where} ({e})") from e
        except (httpx.RemoteProtocolError, httpx.ReadError) as e:
            raise GenerationError(f"{where} closed the connection mid-answer ({e.__class__.__name__})") from e
        except httpx.HTTPError as e:
            raise GenerationError(f"{where} failed: {e.__class__.__name__}: {e}") from e


def _http_error(response: httpx.Response, where: str) -> GenerationError:
    text = response.read().decode("utf-8", "replace")[:300]
    if response.status_code in (400, 413) and any(w in text.lower() for w in _OVERFLOW_WORDS):
        return GenerationError(f"the passages and question exceed the model's context ({where} said: {text})")
    return GenerationError(f"{where} answered HTTP {response.status_code}: {text or response.reason_phrase}")


def _choice_text(event: dict, key: str, where: str) -> str:
    if "error" in event:
        raise GenerationError(f"{where} reported an error: {str(event['error'])[:300]}")
    try:
        part = event["choices"][0][key] if event["choices"] else {}
        return part.get("content") or ""
    except (KeyError, TypeError, AttributeError) as e:
        raise GenerationError(f"{where} sent a malformed answer (no choices[0].{key}.content)") from e


def _whole_body(raw: bytes, where: str) -> str:
    try:
        return _choice_text(json.loads(raw), "message", where)
    except json.JSONDecodeError as e:
        raise GenerationError(f"{where} sent malformed JSON") from e


def _events(lines: Iterator[str], where: str) -> Iterator[str]:
    """Text pieces of an SSE chat-completions stream (comments and blank keep-alives skipped)."""
    done = False
    for line in lines:
        if not line.strip() or line.startswith(":"):
            continue
        if not line.startswith("data:"):
            raise GenerationError(f"{where} sent a malformed stream (a line that is not an event: {line[:80]!r})")
        data = line[5:].strip()
        if data == "[DONE]":
            done = True
            break
        try:
            event = json.loads(data)
        except json.JSONDecodeError as e:
            raise GenerationError(f"{where} sent a malformed stream (not JSON: {data[:80]!r})") from e
        if not isinstance(event, dict):
            raise GenerationError(f"{where} sent a malformed stream (an event that is not an object)")
        if piece := _choice_text(event, "delta", where):
            yield piece
        done = done or bool(event["choices"] and event["choices"][0].get("finish_reason"))
    if not done:
        raise GenerationError(f"{where} ended the stream without finishing it (no finish_reason, no [DONE])")
