"""Plain text of the chat, for the copy buttons and for API consumers: no HTML, ever.

An answer is its text with the ``[n]`` markers as written, then its sources as a list, one line
per citation (``[n] title — file, p. 3: "sentence"``); an abstention lists the closest passages by
title. A conversation is every turn's question and answer in order. Out of scope: HTML (``render``).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

SNIPPET_CHARS = 300


def _snippet(text: str) -> str:
    text = " ".join(str(text).split())
    return text if len(text) <= SNIPPET_CHARS else text[: SNIPPET_CHARS - 1] + "…"


def citation_line(c: dict[str, Any]) -> str:
    page = f", p. {c['page']}" if c.get("page") else ""
    return f'[{c["n"]}] {c["title"]} — {Path(c["path"]).name}{page}: "{_snippet(c["sentence"])}"'


def sources_text(answer: dict[str, Any]) -> str:
    """The answer's sources as lines; for an abstention, the closest passages it did not rely on."""
    ar = answer.get("language") == "ar"
    if answer.get("citations"):
        return ("المصادر:" if ar else "Sources:") + "\n" + "\n".join(citation_line(c) for c in answer["citations"])
    passages = answer.get("passages") or ()
    if not passages:
        return ""
    head = "أقرب المقاطع (لا تكفي للإجابة):" if ar else "Closest passages (not sufficient to answer):"
    return head + "\n" + "\n".join(f"#{h['rank']} {h['chunk']['title']} — {Path(h['chunk']['path']).name}"
                                   for h in passages[:3])


def answer_text(answer: dict[str, Any]) -> str:
    """The answer as a reader copies it: its text with ``[n]``, a blank line, its sources."""
    src = sources_text(answer)
    return str(answer["text"]).strip() + (f"\n\n{src}" if src else "")


def turn_text(turn: dict[str, Any]) -> str:
    return answer_text(turn["answer"])


def conversation_text(turns: list[dict[str, Any]]) -> str:
    """Every turn as ``Q: ...`` / ``A: ...`` with its sources, turns separated by a blank line."""
    return "\n\n".join(f"Q: {t['question'].strip()}\nA: {answer_text(t['answer'])}" for t in turns)


def api_answer(answer: dict[str, Any]) -> dict[str, Any]:
    """What ``gradio_client``'s ``/ask`` returns: the plain answer and structured citations (with the
    document id, title, file name, PDF page, the sentence and its offsets, and its similarity)."""
    keep = ("n", "doc_id", "title", "page", "sentence", "start", "end", "score")
    # "file", not "path": gradio_client takes any dict with a "path" for a file to download.
    return {"text": answer["text"], "language": answer["language"], "abstained": answer["abstained"],
            "cross_lingual": answer.get("cross_lingual", False),
            "citations": [{**{k: c.get(k) for k in keep}, "file": Path(c["path"]).name}
                          for c in answer.get("citations", ())],
            "sources_text": sources_text(answer)}
