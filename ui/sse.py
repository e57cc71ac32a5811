"""Server-Sent Events for a streamed answer: ``delta`` events, then one ``answer`` event.

Each event is ``event: NAME`` and one ``data:`` line of JSON: ``delta`` carries ``{"text": ...}``
(the model's text as it arrives, not yet verified), ``answer`` the final ``Answer`` as in the
non-streamed response, and ``error`` ``{"message": ...}`` if the server fails mid-stream (the cause
goes to the server log). Out of scope: reconnection (no ids, no ``retry:``): ask again instead.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Callable, Iterator
from typing import Any

from qa import Answer

MEDIA_TYPE = "text/event-stream"
HEADERS = {"Cache-Control": "no-cache", "X-Accel-Buffering": "no"}  # no buffering by proxies
log = logging.getLogger("qa.ui")
OPENAPI: dict[int | str, dict[str, Any]] = {200: {
    "description": 'The Answer; with "stream": true a text/event-stream of delta events, then one answer event',
    "content": {MEDIA_TYPE: {"schema": {"type": "string"}, "example": (
        'event: delta\ndata: {"text": "More than 150 "}\n\n'
        'event: delta\ndata: {"text": "participants attended [1]."}\n\n'
        'event: answer\ndata: {"text": "More than 150 participants attended. [1]", "citations": [], "...": "..."}'
        "\n\n")}}}}


def event(name: str, data: dict[str, Any]) -> str:
    return f"event: {name}\ndata: {json.dumps(data, ensure_ascii=False)}\n\n"


def events(items: Iterator[str | Answer],
           public: Callable[[dict[str, Any]], dict[str, Any]] = lambda answer: answer) -> Iterator[str]:
    """The answer's items as events, the final ``Answer`` passed through ``public`` (the server makes its
    paths public there); a crash mid-stream becomes an ``error`` event, not a cut stream."""
    try:
        for item in items:
            if isinstance(item, Answer):
                yield event("answer", public(item.to_dict()))
            else:
                yield event("delta", {"text": item})
    except Exception:
        log.exception("unhandled error while streaming an answer")
        yield event("error", {"message": "internal error; the server log has the details"})
