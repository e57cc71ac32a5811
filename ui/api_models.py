"""The HTTP API's request and response models (pydantic), so that ``/openapi.json`` means something.

Scope: the shapes only, with their validation (question length, modes, languages) and field
descriptions; the routes that fill them are ``api`` (questions, documents, health) and ``api_jobs``
(uploads and jobs). Paths in responses are relative to the index folder or bare file names.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator

from qa.assistant import MAX_QUESTION_CHARS

from .library import IngestResult, Library

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
    answer_start: int | None = Field(None, description="Offset in the document of the short answer inside the "
                                     "cited sentence (a count, quantity, date or name), when one is marked.")
    answer_end: int | None = Field(None, description="End offset of the short answer (with answer_start).")


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
