"""Uploads as jobs under ``/api``: ``POST /api/documents`` (202 and a job), ``GET /api/jobs[/{id}]``,
``DELETE /api/jobs/{id}`` (cancel).

An upload answers at once with the job (``Location: /api/jobs/{id}``); follow it until its ``state``
is ``done``, ``failed`` or ``cancelled``. ``?wait=true`` blocks until then and answers 200 (handy in
scripts). Files refused before ingesting (unsupported type 415, over the limit 413, empty 400) are
reported in the job's ``errors`` while the others are added; only when no file can be added at all
does the request fail with that status. A file named like an earlier upload replaces it.
Out of scope: the job queue itself (``jobs``) and the other routes (``api``).
"""

from __future__ import annotations

from typing import Annotated, Literal

from fastapi import APIRouter, Depends, File, HTTPException, Query, Request, Response, UploadFile
from fastapi.concurrency import run_in_threadpool
from pydantic import BaseModel, Field

from .api import LibraryDep, authorised
from .api_models import ERRORS, MAX_FILES, ErrorOut, IngestOut, SkippedOut
from .jobs import Job, JobQueue
from .library import Library, UploadError, check_upload


class JobFileOut(BaseModel):
    file: str = Field(description="The name the file was uploaded under.")
    status: Literal["queued", "added", "replaced", "unchanged", "skipped", "not added", "interrupted"]
    reason: str | None = Field(None, description="Why a file was skipped.")


class JobOut(BaseModel):
    id: str
    state: Literal["queued", "running", "done", "failed", "cancelled", "interrupted"] = Field(
        description="interrupted: the server stopped before the job finished (see message).")
    cancel_requested: bool
    created: str
    started: str | None
    finished: str | None
    files: list[JobFileOut]
    files_total: int
    files_done: int = Field(description="Files with a final outcome (refused ones at once, the rest at the end).")
    chunks_total: int | None = Field(description="Passages to embed, once known.")
    chunks_embedded: int
    eta_seconds: float | None = Field(description="Seconds left at the rate seen so far, while running.")
    errors: list[SkippedOut] = Field(description="The files not added, each with the reason.")
    message: str | None = Field(description="Why the job failed or was interrupted.")
    result: IngestOut | None = Field(description="What the ingest did, once done.")

    @classmethod
    def of(cls, job: Job, library: Library) -> JobOut:
        result = IngestOut.of(job.result, library) if job.result is not None else None
        return cls(**job.to_dict(), result=result)


class JobsOut(BaseModel):
    jobs: list[JobOut]


def get_jobs(request: Request) -> JobQueue:
    """The server's ``JobQueue`` (``app.state.jobs``, set by ``server.create_app``)."""
    return request.app.state.jobs


JobsDep = Annotated[JobQueue, Depends(get_jobs)]
router = APIRouter(prefix="/api", dependencies=[Depends(authorised)], responses=ERRORS)
_UNKNOWN = {404: {"model": ErrorOut, "description": "No such job"}}


def _job(jobs: JobQueue, job_id: str) -> Job:
    try:
        return jobs.get(job_id)
    except KeyError as e:
        raise HTTPException(404, f"no job with id {job_id!r}; GET /api/jobs lists the recent ones") from e


def _refusal(refused: list[UploadError]) -> HTTPException:
    """The error for an upload none of whose files can be added: the first one's status, every reason."""
    message = "; ".join(str(e) for e in refused)
    return HTTPException(refused[0].status, message if len(refused) == 1 else f"no file can be added: {message}")


@router.post("/documents", status_code=202, response_model=JobOut, tags=["documents"],
             responses={200: {"model": JobOut, "description": "With wait=true: the finished job"}})
async def upload(library: LibraryDep, jobs: JobsDep, response: Response,
                 files: list[UploadFile] = File(..., description="One or more files."),  # noqa: B008
                 wait: bool = Query(False, description="Answer when the job has finished.")) -> JobOut:  # noqa: B008
    """Queue files (.txt .md .html .htm .pdf .docx .json .jsonl) for ingest; returns the job (202).

    A file uploaded under the name of an earlier upload replaces that document (a new version);
    it is reported ``unchanged`` when its content is the same."""
    if len(files) > MAX_FILES:
        raise HTTPException(413, f"{len(files)} files in one request; send at most {MAX_FILES}")
    accepted, refused = [], []
    for f in files:
        name = f.filename or "upload"
        try:
            check_upload(name, f.size, library.max_upload_bytes)
            accepted.append((name, f.file))
        except UploadError as e:
            refused.append(e)
    if not accepted:
        raise _refusal(refused)
    job = await run_in_threadpool(jobs.submit, accepted, [(e.name, e.reason) for e in refused])
    response.headers["Location"] = f"/api/jobs/{job.id}"
    if wait:
        job = await run_in_threadpool(jobs.wait, job.id)
        response.status_code = 200
    return JobOut.of(job, library)


@router.get("/jobs", response_model=JobsOut, tags=["documents"])
def list_jobs(library: LibraryDep, jobs: JobsDep) -> JobsOut:
    """The recent ingest jobs of this server, newest first."""
    return JobsOut(jobs=[JobOut.of(j, library) for j in jobs.jobs()])


@router.get("/jobs/{job_id}", response_model=JobOut, responses=_UNKNOWN, tags=["documents"])
def get_job(job_id: str, library: LibraryDep, jobs: JobsDep) -> JobOut:
    """One job: its state, each file's outcome, passages embedded, ETA and errors."""
    return JobOut.of(_job(jobs, job_id), library)


@router.delete("/jobs/{job_id}", status_code=202, response_model=JobOut, tags=["documents"],
               responses={**_UNKNOWN, 409: {"model": ErrorOut, "description": "The job has already finished"}})
def cancel_job(job_id: str, library: LibraryDep, jobs: JobsDep) -> JobOut:
    """Cancel a job: nothing of it becomes visible. A queued job stops at once, a running one at its
    next embedding batch; one already past its last batch finishes anyway (its state says so)."""
    job = _job(jobs, job_id)
    if job.finished is not None:
        raise HTTPException(409, f"job {job_id} has already finished ({job.state}); remove its documents with "
                                 "DELETE /api/documents/{doc_id}")
    return JobOut.of(jobs.cancel(job_id), library)
