"""The chat's questions to the ``Assistant``, answered as the dicts the page stores and renders.

``answer_stream`` is the one step the chat callbacks ask through: with a language model it yields the
draft as the model writes it (``streaming: true``, rendered as unverified), then the verified answer
that replaces it. ``ask_api`` is gradio_client's ``/ask``: the plain answer and structured citations.
A conversation limited to some documents (``scope``) asks only those that still exist.
Out of scope: the conversation store and the components (``chat``), rendering (``render``, ``sources``).
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from typing import Any

import gradio as gr

from qa import Answer, Assistant
from qa.text import detect_language

from . import conversations as convs
from . import plain
from .library import public_answer

DRAFT_EVERY_S = 0.15  # re-render a streaming draft at most this often (each render sends the whole chat)


def settings_of(k: float, mode: str, lang: str, doc_ids: list[str] | None) -> dict[str, Any]:
    return {"k": int(k), "mode": mode, "lang": lang or "all", "doc_ids": list(doc_ids or [])}


def scope(assistant: Assistant, doc_ids: list[str] | None) -> tuple[str, ...] | None:
    """The conversation's documents that still exist; an error when none of a chosen few is left."""
    if not doc_ids:
        return None
    known = {d["id"] for d in assistant.documents()}
    kept = tuple(d for d in doc_ids if d in known)
    if not kept:
        raise gr.Error("The documents this conversation was limited to are gone; choose others under "
                       "'Only these documents', or clear it to search everything.")
    return kept


def answer_stream(assistant: Assistant, question: str, settings: dict[str, Any],
                  earlier: list[dict[str, Any]]) -> Iterator[dict[str, Any]]:
    """Drafts of the answer as a model writes it (none on the extractive path), then the answer."""
    langs = None if settings["lang"] in ("", "all") else (settings["lang"],)
    try:
        items = assistant.ask_stream(question, history=convs.history(earlier), k=settings["k"],
                                     mode=settings["mode"], langs=langs, doc_ids=scope(assistant, settings["doc_ids"]))
        draft, shown = "", 0.0
        for item in items:
            if isinstance(item, Answer):
                yield public_answer(assistant.index.folder, item.to_dict())  # no server path reaches the page
                return
            draft += item
            if time.monotonic() - shown >= DRAFT_EVERY_S:
                shown = time.monotonic()
                yield draft_answer(question, draft)
    except ValueError as e:
        raise gr.Error(str(e)) from e


def draft_answer(question: str, text: str) -> dict[str, Any]:
    """A model's text so far, shown as a draft: no citations yet, not checked against the sources."""
    return {"text": text, "language": detect_language(question), "abstained": False, "citations": [],
            "passages": [], "streaming": True}


def ask_api(assistant: Assistant, question: str, k: int = 5, mode: str = "hybrid", lang: str = "all",
            doc_ids: list[str] | None = None, history: list[dict] | None = None) -> dict[str, Any]:
    """A cited answer as data: ``text`` (with ``[n]`` markers), ``citations`` and ``sources_text``."""
    langs = None if lang in (None, "", "all") else (lang,)
    try:
        answer = assistant.ask(question, history=history or [], k=int(k), mode=mode, langs=langs,
                               doc_ids=tuple(doc_ids) if doc_ids else None)
    except ValueError as e:
        raise gr.Error(str(e)) from e
    return plain.api_answer(answer.to_dict())
