"""The browser's saved conversations: a small versioned JSON kept in its local storage.

``{"version": 1, "current": id, "conversations": [{"id", "title", "created", "doc_ids", "turns"}]}``,
newest conversation first. A turn is ``{"question", "settings", "answer"}`` with the answer trimmed
to what the chat shows (the cited passages, or the three closest on an abstention), so that the
store stays small: it travels with every question. Pure functions that return new stores; out of
scope: asking (``chat``) and rendering (``render``).
"""

from __future__ import annotations

import time
import uuid
from typing import Any

VERSION = 1
MAX_CONVERSATIONS = 30
MAX_TURNS = 50
HISTORY_TURNS = 3
TITLE_CHARS = 60


def new_conversation(doc_ids: list[str] | None = None) -> dict[str, Any]:
    return {"id": uuid.uuid4().hex[:12], "title": "", "created": int(time.time()), "doc_ids": list(doc_ids or []),
            "turns": []}


def new_store() -> dict[str, Any]:
    first = new_conversation()
    return {"version": VERSION, "current": first["id"], "conversations": [first]}


def valid(store: Any) -> dict[str, Any]:
    """``store`` if it is a store of this version (a copy), else a fresh one (old or damaged data)."""
    if not isinstance(store, dict) or store.get("version") != VERSION or not store.get("conversations"):
        return new_store()
    conversations = [dict(c) for c in store["conversations"] if isinstance(c, dict) and "id" in c]
    if not conversations:
        return new_store()
    ids = {c["id"] for c in conversations}
    current = store.get("current") if store.get("current") in ids else conversations[0]["id"]
    return {"version": VERSION, "current": current, "conversations": conversations}


def current(store: dict[str, Any]) -> dict[str, Any]:
    return next(c for c in store["conversations"] if c["id"] == store["current"])


def turns(store: dict[str, Any]) -> list[dict[str, Any]]:
    return list(current(store).get("turns") or [])


def _replace_current(store: dict[str, Any], conversation: dict[str, Any]) -> dict[str, Any]:
    rest = [c for c in store["conversations"] if c["id"] != conversation["id"]]
    return {**store, "current": conversation["id"], "conversations": [conversation, *rest][:MAX_CONVERSATIONS]}


def compact(answer: dict[str, Any]) -> dict[str, Any]:
    """The answer without what the chat never shows: uncited passages, sentence spans, vectors' scores."""
    cited = {c["chunk_id"] for c in answer.get("citations", ())}
    hits = answer.get("passages", ())
    keep = [h for h in hits if h["chunk"]["id"] in cited] if cited else list(hits[:3])
    passages = [{"rank": h["rank"], "chunk": {k: v for k, v in h["chunk"].items() if k != "sentences"}}
                for h in keep]
    return {k: answer.get(k) for k in ("text", "language", "abstained", "cross_lingual", "evidence", "timings",
                                         "citations", "generator", "unsupported", "fallback", "notice",
                                         "streaming")} | {"passages": passages}


def add_turn(store: dict[str, Any], question: str, settings: dict[str, Any], answer: dict[str, Any]) -> dict:
    """The store with a new turn in the current conversation (titled by its first question)."""
    conv = dict(current(store))
    conv["turns"] = [*conv.get("turns", []), {"question": question, "settings": settings,
                                              "answer": compact(answer)}][-MAX_TURNS:]
    conv["title"] = conv.get("title") or " ".join(question.split())[:TITLE_CHARS]
    conv["doc_ids"] = list(settings.get("doc_ids") or [])
    return _replace_current(store, conv)


def drop_last(store: dict[str, Any]) -> tuple[dict[str, Any], dict[str, Any] | None]:
    """The store without the current conversation's last turn, and that turn (None if there is none)."""
    conv = dict(current(store))
    if not conv.get("turns"):
        return store, None
    last = conv["turns"][-1]
    conv["turns"] = conv["turns"][:-1]
    return {**store, "conversations": [conv if c["id"] == conv["id"] else c for c in store["conversations"]]}, last


def start_new(store: dict[str, Any], doc_ids: list[str] | None = None) -> dict[str, Any]:
    """A fresh current conversation; an untouched empty one is reused rather than piled up."""
    conv = current(store)
    if not conv.get("turns"):
        return _replace_current(store, {**conv, "doc_ids": list(doc_ids or [])})
    return _replace_current(store, new_conversation(doc_ids))


def switch(store: dict[str, Any], conversation_id: str) -> dict[str, Any]:
    if conversation_id not in {c["id"] for c in store["conversations"]}:
        return store
    return {**store, "current": conversation_id}


def set_scope(store: dict[str, Any], doc_ids: list[str] | None) -> dict[str, Any]:
    conv = {**current(store), "doc_ids": list(doc_ids or [])}
    return {**store, "conversations": [conv if c["id"] == conv["id"] else c for c in store["conversations"]]}


def choices(store: dict[str, Any]) -> list[tuple[str, str]]:
    """(label, id) of every conversation that has a question, newest first, for the history list."""
    return [(c["title"] or "(new chat)", c["id"]) for c in store["conversations"] if c.get("turns")]


def history(turns_: list[dict[str, Any]]) -> list[dict[str, str]]:
    """The last turns as ``Assistant.ask`` history (role/content messages)."""
    out = []
    for t in turns_[-HISTORY_TURNS:]:
        out += [{"role": "user", "content": t["question"]}, {"role": "assistant", "content": t["answer"]["text"]}]
    return out
