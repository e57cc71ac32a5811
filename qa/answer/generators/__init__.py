"""Language models that write an answer from the retrieved passages, chosen from ``GENERATORS``.

A spec names a backend and its target: ``extractive`` (no model: the extractive answer, the
default), ``openai:MODEL@BASE_URL`` (any OpenAI-compatible chat-completions server: llama.cpp's,
Ollama, vLLM, LM Studio, a hosted API; key from ``$QA_LLM_API_KEY``) or ``llama-cpp:/path/model.gguf``
(in-process through llama-cpp-python, the ``[llm]`` extra). A generator only streams text for a
list of chat messages; prompting, verification and fallbacks live in ``qa.answer.generated``.
Every failure of a model (down, refused, slow, HTTP error, malformed output, context overflow) is a
``GenerationError`` saying what failed. Out of scope: tool calls, images, sampling beyond temperature.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Iterator
from typing import NamedTuple, Protocol

EXTRACTIVE = "extractive"
ENV = "QA_GENERATOR"
Message = dict[str, str]


class GenerationError(Exception):
    """A model failed to give an answer; the message says what failed, for a user notice and the log."""


class GeneratorSettings(NamedTuple):
    timeout: float = 60.0  # seconds for the whole answer
    context_tokens: int = 4096  # the model's context window that prompt and answer share
    max_answer_tokens: int = 384
    temperature: float = 0.0


class Generator(Protocol):
    name: str  # the spec it was made from
    settings: GeneratorSettings

    def stream(self, messages: list[Message], max_tokens: int) -> Iterator[str]:
        """The answer's text in pieces as the model writes it; raises ``GenerationError``."""
        ...

    def count_tokens(self, text: str) -> int:
        """Tokens of ``text`` by the model's tokenizer, or an estimate when it has none reachable."""
        ...


def estimate_tokens(text: str) -> int:
    """A tokenizer-free upper estimate: ~3 characters per token (Arabic and English BPE vocabularies
    of current models average 3.5-4.5 characters per token on prose; under-counting risks overflow)."""
    return len(text) // 3 + 1


def _openai(target: str, settings: GeneratorSettings) -> Generator:
    from .openai_compat import OpenAICompatible

    return OpenAICompatible(target, settings)


def _llama_cpp(target: str, settings: GeneratorSettings) -> Generator:
    from .llamacpp import LlamaCpp

    return LlamaCpp(target, settings)


def _extractive(target: str, settings: GeneratorSettings) -> None:
    if target:
        raise ValueError(f"the extractive answer takes no model (got 'extractive:{target}'); use 'extractive'")
    return None


# A factory returns None for "no model": the extractive answer is the answer.
GENERATORS: dict[str, Callable[[str, GeneratorSettings], Generator | None]] = {
    EXTRACTIVE: _extractive,
    "openai": _openai,
    "llama-cpp": _llama_cpp,
}
EXAMPLES = "'extractive', 'openai:MODEL@http://127.0.0.1:8080/v1' or 'llama-cpp:/path/to/model.gguf'"


def parse_spec(spec: str) -> tuple[str, str]:
    backend, _, target = spec.strip().partition(":")
    if backend not in GENERATORS:
        raise ValueError(f"unknown generator {spec!r}; choose one of: {', '.join(GENERATORS)} (e.g. {EXAMPLES})")
    if backend != EXTRACTIVE and not target:
        raise ValueError(f"generator {backend!r} needs a target, e.g. {EXAMPLES}")
    return backend, target


def get_generator(spec: str | None = None, settings: GeneratorSettings | None = None) -> Generator | None:
    """The generator for ``spec`` (default ``$QA_GENERATOR``, else extractive: None), ready to use.

    A backend that cannot be set up (a missing package or model file, a bad URL) is a ValueError
    that says how to fix it; a server that is down is found out at the first question instead."""
    spec = spec or os.environ.get(ENV) or EXTRACTIVE
    backend, target = parse_spec(spec)
    return GENERATORS[backend](target, settings or GeneratorSettings())


def spec_of(generator: Generator | None) -> str:
    return EXTRACTIVE if generator is None else generator.name
