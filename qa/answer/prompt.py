"""The prompt contract between the assistant and a language model.

The retrieved passages are numbered in the user message, each starting on its own line with
``[n]`` followed by its title and text. The instructions ask for an answer in the question's
language (whatever the passages' language), every sentence ending with the ``[n]`` of the passages
that support it, and ``MARKER`` alone when the passages do not hold the answer. Passages are cut
to the model's context budget in rank order (whole sentences; a passage that does not fit at all
ends the list). A follow-up is first rewritten into a standalone question (``condense_messages``).
Out of scope: few-shot examples and model-specific templates (the server or the GGUF applies those).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import NamedTuple

from ..records import Hit
from .generators import GenerationError, Message

MARKER = "NOT_IN_DOCUMENTS"
LANGUAGES = {"ar": "Arabic", "en": "English"}
_SAFETY = 16  # tokens the chat template adds around each message, roughly

SYSTEM = (
    "You answer questions using only the numbered passages you are given.\n"
    "Rules:\n"
    "1. Answer in {language}, the language of the question, even when the passages are in another language.\n"
    "2. Be brief: one to three sentences. End every sentence with the number of the passage that supports it, "
    "in square brackets, like [1] or [2][3].\n"
    "3. Use only facts stated in the passages; copy numbers, names and places exactly.\n"
    f"4. If the passages do not contain the answer, reply with exactly {MARKER} and nothing else."
)
CONDENSE = (
    "Rewrite the user's last question as one standalone question that can be understood without the "
    "conversation. Keep its language. Reply with the question only."
)


class Prompt(NamedTuple):
    messages: list[Message]
    hits: tuple[Hit, ...]  # the passages as numbered in the prompt: [n] is hits[n - 1]


def _passage(n: int, hit: Hit, text: str) -> str:
    return f"[{n}] {hit.chunk.title}: {' '.join(text.split())}"


def _fitting_text(hit: Hit, n: int, budget: int, count: Callable[[str], int]) -> str | None:
    """The passage's text, cut after its last whole sentence that fits ``budget`` tokens."""
    chunk = hit.chunk
    if count(_passage(n, hit, chunk.text)) <= budget:
        return chunk.text
    text = None
    for span in chunk.sentences:
        candidate = chunk.text[: span.end - chunk.start]
        if count(_passage(n, hit, candidate)) > budget:
            break
        text = candidate
    return text


def answer_messages(question: str, lang: str, hits: Sequence[Hit], context_tokens: int, answer_tokens: int,
                    count: Callable[[str], int]) -> Prompt:
    """Chat messages for ``question`` over as many of ``hits`` as fit ``context_tokens`` (minus the
    ``answer_tokens`` kept for the answer); raises ``GenerationError`` when not even one sentence fits."""
    system = SYSTEM.format(language=LANGUAGES.get(lang, "the language of the question"))
    frame = f"Passages:\n\nQuestion: {question}\nAnswer in {LANGUAGES.get(lang, 'its language')}:"
    budget = context_tokens - answer_tokens - count(system) - count(frame) - 3 * _SAFETY
    lines: list[str] = []
    used: list[Hit] = []
    for hit in hits:
        text = _fitting_text(hit, len(used) + 1, budget, count)
        if text is None:
            break
        line = _passage(len(used) + 1, hit, text)
        budget -= count(line) + 1
        lines.append(line)
        used.append(hit)
        if text != hit.chunk.text:
            break
    if not used:
        raise GenerationError(f"the question and instructions leave no room for a passage in the model's context "
                              f"({context_tokens} tokens; raise --context-tokens)")
    user = "Passages:\n" + "\n".join(lines) + f"\n\nQuestion: {question}\nAnswer in " \
        f"{LANGUAGES.get(lang, 'the language of the question')}:"
    return Prompt([{"role": "system", "content": system}, {"role": "user", "content": user}], tuple(used))


def condense_messages(question: str, earlier: Sequence[tuple[str, str]]) -> list[Message]:
    """Messages asking for ``question`` as a standalone question, given ``earlier`` (role, text) turns."""
    talk = "\n".join(f"{'User' if role == 'user' else 'Assistant'}: {' '.join(text.split())[:600]}"
                     for role, text in earlier[-6:])
    return [{"role": "system", "content": CONDENSE},
            {"role": "user", "content": f"Conversation:\n{talk}\n\nLast question: {question}\nStandalone question:"}]


def is_abstention(text: str) -> bool:
    """The model's "not in the passages" marker (with or without the underscores, any case)."""
    flat = text.upper().replace(" ", "_")
    return MARKER in flat
