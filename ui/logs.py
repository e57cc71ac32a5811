"""Request logs: one line per HTTP request under ``/api`` (method, route, status, milliseconds).

Lines go to the ``qa.http`` logger at INFO (the page's own requests, Gradio's, at DEBUG), so
``qa serve --log-level info`` shows the API traffic and ``debug`` everything. Question text is never
logged unless the server was started with ``log.questions`` on (``QA_LOG_QUESTIONS=1``); then
``/api/ask`` and ``/api/search`` add it (``api`` does, where the body is parsed). Job events go to
``qa.jobs`` (``jobs``). Out of scope: access-log formats of proxies, log files (redirect stderr).
"""

from __future__ import annotations

import logging
import time

from starlette.types import ASGIApp, Message, Receive, Scope, Send

log = logging.getLogger("qa.http")


class RequestLog:
    """Log each HTTP request once its response has started (status) and ended (time)."""

    def __init__(self, app: ASGIApp):
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            return await self.app(scope, receive, send)
        started, status = time.perf_counter(), {"code": 500}

        async def observed(message: Message) -> None:
            if message["type"] == "http.response.start":
                status["code"] = message["status"]
            await send(message)

        try:
            await self.app(scope, receive, observed)
        finally:
            api = scope["path"].startswith("/api/")
            log.log(logging.INFO if api else logging.DEBUG, "%s %s %d %.1f ms", scope["method"], scope["path"],
                    status["code"], (time.perf_counter() - started) * 1000)
