"""The HTTP API under ``/api``: the routes (their request and response models are ``api_models``).

Errors are JSON ``{"message": ..., "detail"?: ...}`` with a 4xx status: 422 for an invalid body
(empty or over-long question, unknown mode, ...), 415 for a body that is not JSON or an unsupported
file type, 413 for a file over the upload limit, 404 for an unknown document, 401 for a missing or
wrong token. ``POST /api/ask`` with ``"stream": true`` answers with Server-Sent Events instead:
``delta`` events with the model's text as it arrives, then one ``answer`` event with the final
(verified) Answer. Routes are module-level functions on ``router``; what they need comes in by ``Depends``
from ``request.app.state`` (``library``, ``token``), which ``server.create_app`` sets. Out of scope:
mounting, the body-size limit and the error handlers (``server``); uploads and jobs (``api_jobs``).
"""

from __future__ import annotations

import hmac
import itertools
import logging
from typing import Annotated, Any

from fastapi import APIRouter, Depends, HTTPException, Request
from fastapi.responses import StreamingResponse
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer

from qa import Assistant

from . import sse
from .api_models import (
    ERRORS,
    AnswerOut,
    AskRequest,
    DocumentOut,
    DocumentsOut,
    ErrorOut,
    HealthOut,
    RemovedOut,
    SearchOut,
    SearchRequest,
)
from .library import Library

log = logging.getLogger("qa.http")


_bearer = HTTPBearer(auto_error=False, description="Only when the server was started with --token.")


def require_json(request: Request) -> None:
    kind = request.headers.get("content-type", "").split(";")[0].strip().lower()
    if kind != "application/json" and not kind.endswith("+json"):
        raise HTTPException(415, f"send the request body as application/json, not {kind or 'no content type'}")


def get_library(request: Request) -> Library:
    """The server's ``Library`` (set on ``app.state.library`` by ``server.create_app``)."""
    return request.app.state.library


def get_assistant(library: Library = Depends(get_library)) -> Assistant:  # noqa: B008 - FastAPI's idiom
    """The assistant the library writes to and questions are asked of."""
    return library.assistant


def authorised(request: Request, credentials: HTTPAuthorizationCredentials | None = Depends(_bearer)) -> None:  # noqa: B008
    """401 unless the bearer token equals ``app.state.token`` (no check when the server has no token)."""
    token: str | None = getattr(request.app.state, "token", None)
    if token is None:
        return
    given = credentials.credentials if credentials else ""
    if not hmac.compare_digest(given.encode(), token.encode()):
        raise HTTPException(401, "missing or wrong token: send Authorization: Bearer <token>",
                            headers={"WWW-Authenticate": "Bearer"})


LibraryDep = Annotated[Library, Depends(get_library)]
AssistantDep = Annotated[Assistant, Depends(get_assistant)]
router = APIRouter(prefix="/api", dependencies=[Depends(authorised)], responses=ERRORS)


@router.post("/ask", response_model=AnswerOut, dependencies=[Depends(require_json)], tags=["questions"],
             responses=sse.OPENAPI)
def ask(body: AskRequest, library: LibraryDep, request: Request) -> Any:
    """A cited answer (or an abstention in the question's language) with its passages and timings;
    with ``"stream": true``, Server-Sent Events (``delta`` ... then ``answer``)."""
    if getattr(request.app.state, "log_questions", False):
        log.info("question: %r", body.question)
    history = [t.model_dump() for t in body.history]
    items = library.assistant.ask_stream(body.question, history=history, generator=body.generator, **body.options())
    if not body.stream:
        *_, answer = items
        return library.public_answer(answer.to_dict())  # no server path leaves the server
    first = next(items)  # errors in the request (400) surface here, before the stream starts
    stream = sse.events(itertools.chain([first], items), library.public_answer)  # public paths here too
    return StreamingResponse(stream, media_type=sse.MEDIA_TYPE, headers=sse.HEADERS)


@router.post("/search", response_model=SearchOut, dependencies=[Depends(require_json)], tags=["questions"])
def search(body: SearchRequest, library: LibraryDep) -> dict[str, Any]:
    """The passages that best match the question, best first."""
    hits = library.assistant.search(body.question, **body.options())
    return library.public_answer({"question": body.question, "hits": [h.to_dict() for h in hits]})


@router.get("/documents", response_model=DocumentsOut, tags=["documents"])
def documents(library: LibraryDep) -> dict[str, Any]:
    """The indexed documents, newest first."""
    return {"documents": [DocumentOut.of(d, library) for d in library.documents()]}


@router.delete("/documents/{doc_id}", response_model=RemovedOut,
               responses={404: {"model": ErrorOut, "description": "No such document"}}, tags=["documents"])
def remove(doc_id: str, library: LibraryDep) -> dict[str, Any]:
    """Remove one document (and its uploaded file) from the index."""
    try:
        return {"removed": [DocumentOut.of(d, library) for d in library.remove(doc_id)]}
    except KeyError as e:
        raise HTTPException(404, f"no document with id {doc_id!r}; GET /api/documents lists them") from e


@router.get("/health", response_model=HealthOut, tags=["service"])
def health(library: LibraryDep, assistant: AssistantDep) -> dict[str, Any]:
    """Liveness, what the index holds and which generator writes the answers."""
    return {"status": "ok", **library.info(), "generator": assistant.generator_name}


fallback = APIRouter(prefix="/api")  # included after every other /api router


@fallback.api_route("/{path:path}", methods=["GET", "POST", "PUT", "PATCH", "DELETE"], include_in_schema=False)
def unknown(path: str) -> None:
    """Any other /api path: a JSON 404 like every API error (Gradio would answer {"detail": ...})."""
    raise HTTPException(404, f"no API route /api/{path}; the routes are listed at /docs")
