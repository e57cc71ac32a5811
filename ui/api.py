"""The HTTP API under ``/api``: pydantic models (so ``/openapi.json`` means something) and routes.

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
from pathlib import Path
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Depends, HTTPException, Request
from fastapi.responses import StreamingResponse
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer
from pydantic import BaseModel, ConfigDict, Field, field_validator

from qa import Assistant
from qa.assistant import MAX_QUESTION_CHARS

from . import sse
from .library import IngestResult, Library

log = logging.getLogger("qa.http")
Mode = Literal["hybrid", "dense", "bm25"]
Lang = Literal["ar", "en"]
MAX_FILES = 20


class Turn(BaseModel):
    role: Literal["user", "assistant", "system"]
    content: str = Field(max_length=20_000)


class _Query(BaseModel):
    model_config = ConfigDict(extra="forbid")
    question: str = Field(min_length=1, max_length=MAX_QUESTION_CHARS, description="Arabic or English.")
    k: int = Field(5, ge=1, le=50, description="Passages to retrieve.")
    mode: Mode = "hybrid"
    langs: list[Lang] | None = Field(None, description="Only passages in these languages.")
    doc_ids: list[str] | None = Field(None, max_length=100, description="Only passages of these documents.")
    mmr: float | None = Field(None, ge=0, le=1, description="Diversify with MMR (1 = relevance only).")

    @field_validator("question")
    @classmethod
    def _not_blank(cls, v: str) -> str:
        if not v.strip():
            raise ValueError("the question is empty; type a question")
        return v

    def options(self) -> dict[str, Any]:
        return {"k": self.k, "mode": self.mode, "langs": tuple(self.langs) if self.langs else None,
                "doc_ids": tuple(self.doc_ids) if self.doc_ids else None, "mmr": self.mmr}


class AskRequest(_Query):
    model_config = ConfigDict(extra="forbid", json_schema_extra={"examples": [
        {"question": "How many participants attended the forum?"},
        {"question": "كم عدد المشاركين في المنتدى؟", "k": 5, "mode": "hybrid"}]})
    history: list[Turn] = Field(default_factory=list, max_length=50,
                                description="Earlier turns, oldest first, so that follow-ups work.")
    generator: str | None = Field(None, max_length=500, description=(
        "Who writes the answer: 'extractive', or the generator the server was started with (its name is in "
        "GET /api/health). Default: the server's. No other model or address can be chosen."))
    stream: bool = Field(False, description=(
        "Answer with Server-Sent Events (text/event-stream): 'delta' events {\"text\": ...} with the model's "
        "unverified text as it arrives, then one 'answer' event holding the final, verified Answer."))


class SearchRequest(_Query):
    model_config = ConfigDict(extra="forbid", json_schema_extra={"examples": [{"question": "منتدى مراكش للأمن"}]})


PATH = Field(description="The file, relative to the index folder (uploads/notes.md), or its name.")


class ChunkOut(BaseModel):
    id: str
    doc_id: str
    path: str = PATH
    title: str
    lang: str
    text: str
    start: int = Field(description="Offset of the passage in its document.")
    end: int
    sentences: list[tuple[int, int]]


class HitOut(BaseModel):
    rank: int
    score: float
    dense: float | None
    chunk: ChunkOut


class CitationOut(BaseModel):
    n: int = Field(description="The number of the [n] marker in the answer text.")
    doc_id: str
    title: str
    path: str = PATH
    chunk_id: str
    lang: str
    sentence: str
    start: int = Field(description="Offset of the cited sentence in its document.")
    end: int
    passage_start: int
    passage_end: int
    score: float = Field(description="Cosine similarity of the cited sentence to the question.")
    page: int | None = Field(None, description="For a PDF: the page the sentence starts on (from 1).")


class AnswerOut(BaseModel):
    question: str
    text: str = Field(description="The answer; each sentence ends with its [n] citation.")
    language: str
    abstained: bool = Field(description="True when the documents do not hold the answer.")
    cross_lingual: bool
    citations: list[CitationOut]
    passages: list[HitOut] = Field(description="The retrieved passages (the closest ones on abstention).")
    timings: dict[str, float] = Field(description="search_ms, answer_ms, total_ms; with a model also "
                                      "first_token_ms, generate_ms, tokens_per_s, verify_ms")
    generator: str = Field("extractive", description="What was asked to write the answer.")
    unsupported: list[str] = Field(default_factory=list,
                                   description="Generated sentences dropped: their cited passages do not support them.")
    fallback: bool = Field(False, description="True when the extractive answer stands in for a generated one.")
    notice: str | None = Field(None, description="What happened to the generated answer (sentences removed, a "
                                                 "model failure), in the question's language.")


class SearchOut(BaseModel):
    question: str
    hits: list[HitOut]


class DocumentOut(BaseModel):
    id: str
    title: str
    path: str = PATH
    file: str
    lang: str
    chunks: int
    chars: int | None = None
    added: str | None = None

    @classmethod
    def of(cls, d: dict[str, Any], library: Library) -> DocumentOut:
        return cls(id=d["id"], title=d["title"], path=library.public_path(d["path"]), file=Path(d["path"]).name,
                   lang=d["lang"], chunks=d["chunks"], chars=d.get("chars"), added=d.get("added"))


class DocumentsOut(BaseModel):
    documents: list[DocumentOut]


class SkippedOut(BaseModel):
    file: str
    reason: str


class IngestOut(BaseModel):
    added: list[str]
    replaced: list[str]
    unchanged: list[str]
    skipped: list[SkippedOut] = Field(description="Files not added, each with the reason.")
    documents: list[DocumentOut] = Field(description="The indexed documents of the uploaded files.")
    chunks: int
    seconds: float

    @classmethod
    def of(cls, result: IngestResult, library: Library) -> IngestOut:
        return cls(added=result.added, replaced=result.replaced, unchanged=result.unchanged,
                   skipped=[SkippedOut(file=n, reason=r) for n, r in result.skipped],
                   documents=[DocumentOut.of(d, library) for d in result.documents],
                   chunks=result.chunks, seconds=round(result.seconds, 3))


class RemovedOut(BaseModel):
    removed: list[DocumentOut]


class HealthOut(BaseModel):
    status: Literal["ok"]
    documents: int
    chunks: int
    embedder: str
    generator: str = Field("extractive", description="The generator this server was started with.")


class ErrorOut(BaseModel):
    message: str
    detail: Any | None = None


ERRORS: dict[int | str, dict[str, Any]] = {
    code: {"model": ErrorOut, "description": text} for code, text in [
        (400, "Bad request"), (401, "Missing or wrong token"), (413, "Too large"),
        (415, "Unsupported media type"), (422, "Invalid request")]}
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
