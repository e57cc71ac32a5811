"""One process, one port: the HTTP API (FastAPI) with the Gradio web chat mounted at ``/``.

``create_app`` builds the ASGI app (tests run it under uvicorn); ``serve`` is what ``qa serve`` runs.
Safety: listening on anything but a loopback address needs a token, which the API takes as
``Authorization: Bearer <token>`` and the web page as the password of user ``qa``. Without a token
the server answers this machine only (a Host that is not a loopback name gets 403: DNS rebinding);
with or without one, a page of another origin may not change anything (``security``). Request
bodies under ``/api`` are size-limited; errors are JSON ``{"message": ...}`` (unknown ``/api`` paths
too), never a traceback, an exception's text or an absolute server path. Out of scope: TLS (put a
reverse proxy in front when exposing the server beyond the machine).
"""

from __future__ import annotations

import contextlib
import logging
import threading
from collections.abc import AsyncIterator

import gradio as gr
import uvicorn
from fastapi import FastAPI, HTTPException, Request
from fastapi.concurrency import run_in_threadpool
from fastapi.encoders import jsonable_encoder
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.types import ASGIApp, Receive, Scope, Send

from qa import Assistant
from qa.index import WriterBusy
from qa.text import detect_language

from . import api, api_jobs, api_models, apidocs, app, documents_html, render, viewer
from .jobs import JobQueue
from .library import DEFAULT_MAX_UPLOAD_BYTES, Library
from .logs import RequestLog
from .security import OriginGuard, is_local_name, is_loopback

__all__ = ["check_exposure", "create_app", "is_local_name", "is_loopback", "serve"]

JSON_BODY_LIMIT = 1_000_000
USER = "qa"
log = logging.getLogger("qa.ui")


class BodyLimit:
    """413 for a body over the limit under /api: by Content-Length at once, else while it streams."""

    def __init__(self, app: ASGIApp, json_limit: int, upload_limit: int):
        self.app, self.json_limit, self.upload_limit = app, json_limit, upload_limit

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or not scope["path"].startswith("/api/"):
            return await self.app(scope, receive, send)
        limit = self.upload_limit if scope["path"].rstrip("/") == "/api/documents" else self.json_limit
        length = dict(scope["headers"]).get(b"content-length", b"")
        if length.isdigit() and int(length) > limit:
            response = JSONResponse({"message": f"request body of {int(length)} bytes is over the {limit} limit"},
                                    status_code=413)
            return await response(scope, receive, send)
        seen = 0

        async def counted() -> dict:
            nonlocal seen
            message = await receive()
            seen += len(message.get("body", b""))
            if seen > limit:
                raise HTTPException(413, f"request body is over the {limit} bytes limit")
            return message

        return await self.app(scope, counted, send)


def _error(status: int, message: str, detail=None) -> JSONResponse:
    body = {"message": message} if detail is None else {"message": message, "detail": jsonable_encoder(detail)}
    return JSONResponse(body, status_code=status)


def _install_error_handlers(fastapi_app: FastAPI) -> None:
    @fastapi_app.exception_handler(StarletteHTTPException)
    async def http_error(request: Request, exc: StarletteHTTPException) -> JSONResponse:
        response = _error(exc.status_code, str(exc.detail))
        response.headers.update(exc.headers or {})
        return response

    @fastapi_app.exception_handler(RequestValidationError)
    async def invalid(request: Request, exc: RequestValidationError) -> JSONResponse:
        errors = exc.errors()
        first = errors[0] if errors else {}
        where = ".".join(str(p) for p in first.get("loc", ()) if p != "body")
        message = f"invalid request: {where + ': ' if where else ''}{first.get('msg', 'malformed body')}"
        return _error(422, message, [{k: e.get(k) for k in ("loc", "msg", "type")} for e in errors])

    @fastapi_app.exception_handler(WriterBusy)
    async def busy(request: Request, exc: WriterBusy) -> JSONResponse:  # another process is writing the index
        return _error(503, request.app.state.library.public_message(str(exc)))

    @fastapi_app.exception_handler(ValueError)
    async def domain(request: Request, exc: ValueError) -> JSONResponse:
        return _error(400, request.app.state.library.public_message(str(exc)))

    @fastapi_app.exception_handler(Exception)
    async def crash(request: Request, exc: Exception) -> JSONResponse:
        log.exception("unhandled error on %s %s", request.method, request.url.path)
        return _error(500, "internal error; the server log has the details")


def create_app(assistant: Assistant, max_upload_bytes: int = DEFAULT_MAX_UPLOAD_BYTES,
               token: str | None = None, log_questions: bool = False) -> FastAPI:
    """The API under /api (docs at /docs) and the web chat at /, over ``assistant``."""
    token = token or None
    library = Library(assistant, max_upload_bytes)
    jobs = JobQueue(library)

    @contextlib.asynccontextmanager
    async def lifespan(_app: FastAPI) -> AsyncIterator[None]:
        yield
        await run_in_threadpool(jobs.close)  # the running job finishes, queued ones are cancelled

    fastapi_app = FastAPI(
        lifespan=lifespan,
        title="qa — Arabic/English document QA",
        version="0.1.0",
        description="Ask questions about your documents in Arabic or English; every answer sentence is "
                    "cited. Send `Authorization: Bearer <token>` when the server was started with a token.",
        docs_url=None, redoc_url=None,  # apidocs serves /docs from local files (no CDN)
    )
    _install_error_handlers(fastapi_app)
    fastapi_app.state.library, fastapi_app.state.token = library, token  # read by api's dependencies
    fastapi_app.state.jobs, fastapi_app.state.log_questions = jobs, log_questions
    fastapi_app.include_router(api.router)
    fastapi_app.include_router(api_jobs.router)
    fastapi_app.include_router(api.fallback)
    apidocs.install(fastapi_app)
    fastapi_app.include_router(viewer.router)
    fastapi_app.add_middleware(BodyLimit, json_limit=JSON_BODY_LIMIT,
                               upload_limit=api_models.MAX_FILES * library.max_upload_bytes + JSON_BODY_LIMIT)
    fastapi_app.add_middleware(OriginGuard, local_only=token is None)
    fastapi_app.add_middleware(RequestLog)  # outermost: refusals are logged too
    mounted = gr.mount_gradio_app(
        fastapi_app, app.build(library, jobs), path="/", auth=(USER, token) if token else None,
        auth_message="Sign in with user name qa and the server's token as the password.",
        footer_links=["api"], run_history=False, max_file_size=library.max_upload_bytes, ssr_mode=False,
        mcp_server=False, pwa=False, css=render.CSS + documents_html.CSS, js=render.SCRIPT, show_error=False,
        theme=app.THEME,
    )
    fastapi_app.state.signed_in = viewer.gradio_sign_in(mounted)
    return mounted


def check_exposure(host: str, token: str | None) -> None:
    if not is_loopback(host) and not token:
        raise ValueError(f"refusing to listen on {host} without an access token: anyone who can reach it could "
                         "read and change your documents. Pass --token TOKEN or set QA_TOKEN (or keep the "
                         "default --host 127.0.0.1).")


def _warm_up(assistant: Assistant) -> None:
    """Load the embedder and the language detector while the page loads, so the first question is quick."""
    assistant.embedder.embed_queries(["warm up"])
    detect_language("Warm up the language detector, please.")


def serve(assistant: Assistant, host: str = "127.0.0.1", port: int = 7860,
          max_upload_bytes: int = DEFAULT_MAX_UPLOAD_BYTES, token: str | None = None,
          log_questions: bool = False) -> None:
    """Run the web chat and the API until interrupted (blocks)."""
    check_exposure(host, token)
    fastapi_app = create_app(assistant, max_upload_bytes=max_upload_bytes, token=token, log_questions=log_questions)
    threading.Thread(target=_warm_up, args=(assistant,), daemon=True).start()
    shown = f"[{host}]" if ":" in host else host
    print(f"qa: web chat on http://{shown}:{port}/  ·  API docs on http://{shown}:{port}/docs"
          + (f"  ·  sign in as '{USER}' with the token" if token else ""), flush=True)
    uvicorn.run(fastapi_app, host=host, port=port, log_level="warning")
