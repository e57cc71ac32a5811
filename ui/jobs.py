"""Ingest as background jobs: uploads are queued and ingested one job at a time, off the request.

``JobQueue.submit`` copies the uploaded files into a staging folder (``uploads/.incoming/<job>``) and
returns a ``Job`` at once; one worker thread runs the jobs in order through ``Library.add`` (so one
writer job at a time in this process), while questions keep being answered from the live snapshot.
A job reports its state, each file's outcome, the passages embedded out of the total and an ETA.
Cancelling a queued job drops it; cancelling a running one raises ``JobCancelled`` from its progress
callback, which aborts the ingest before anything is applied, and the uploads folder is put back
(nothing of the job becomes visible). A job already past its last embedding batch finishes anyway.
The last ``KEEP`` finished jobs are kept, across restarts too (``job_journal``: a job the server did
not see finish comes back as interrupted). Out of scope: resuming an interrupted job, and writers in
other processes (the index's own lock orders those).
"""

from __future__ import annotations

import contextlib
import logging
import queue
import shutil
import threading
import time
import uuid
from collections.abc import Callable
from pathlib import Path
from typing import BinaryIO

from . import job_journal
from .job import FileOutcome, Job, JobCancelled
from .library import IngestResult, Library

KEEP = 100
log = logging.getLogger("qa.jobs")
__all__ = ["FileOutcome", "Job", "JobCancelled", "JobQueue"]
Listener = Callable[[Job, str], None]


class JobQueue:
    """Ingest jobs of one ``Library``, run one at a time by a worker thread started on first use."""

    def __init__(self, library: Library, listeners: list[Listener] | None = None):
        self.library = library
        self.journal = job_journal.JobJournal(library.folder / job_journal.FILE)
        self.listeners: list[Listener] = [_log_event, self.journal, *(listeners or [])]
        self.staging = library.folder / ".incoming"
        self._jobs: dict[str, Job] = {job.id: job for job in self.journal.restore(KEEP)}
        self._queue: queue.Queue[Job | None] = queue.Queue()
        self._lock = threading.Lock()
        self._worker: threading.Thread | None = None
        shutil.rmtree(self.staging, ignore_errors=True)  # left by a crash: those jobs are gone

    def submit(self, files: list[tuple[str, BinaryIO | Path]], refused: list[tuple[str, str]] = ()) -> Job:
        """Queue an ingest of ``(given name, stream or path)`` pairs; ``refused`` files are reported only."""
        job = Job(id=uuid.uuid4().hex[:16], files=[FileOutcome(n, "queued") for n, _ in files])
        job.files += [FileOutcome(n, "skipped", reason) for n, reason in refused]
        folder = self.staging / job.id
        with self._lock:  # not while the worker removes an empty staging folder
            folder.mkdir(parents=True)
        for i, (_, source) in enumerate(files):
            job.staged.append(_stage(source, folder / str(i)))
        with self._lock:
            self._jobs[job.id] = job
            self._forget_old()
        self._emit(job, "queued")
        if not files:
            job.finish("done", IngestResult(skipped=list(refused)))
            self._emit(job, "done")
            job.finished_event.set()
            return job
        with self._lock:
            self._queue.put(job)
            self._start()
        return job

    def get(self, job_id: str) -> Job:
        """The job with this id (``KeyError`` if unknown or long forgotten)."""
        return self._jobs[job_id]

    def jobs(self) -> list[Job]:
        """Every remembered job, newest first."""
        return sorted(self._jobs.values(), key=lambda j: j.created, reverse=True)

    def cancel(self, job_id: str) -> Job:
        """Ask a job to stop; a queued job is dropped at once, a running one at its next batch."""
        job = self.get(job_id)
        with self._lock:
            dropped = job.state == "queued"
            if dropped:
                job.finish("cancelled")
            elif job.state == "running":
                job.cancel_requested = True
        self._emit(job, "cancelled" if dropped else "cancel")
        if dropped:
            job.finished_event.set()
        return job

    def wait(self, job_id: str, timeout: float | None = None) -> Job:
        """Block until the job has finished (or ``timeout`` seconds passed); returns it."""
        job = self.get(job_id)
        job.finished_event.wait(timeout)
        return job

    def close(self) -> None:
        """Stop the worker after the running job (queued jobs are cancelled)."""
        for job in self.jobs():
            if job.state == "queued":
                self.cancel(job.id)
        self._queue.put(None)
        if self._worker is not None:
            self._worker.join(60)

    def _start(self) -> None:
        if self._worker is None or not self._worker.is_alive():
            self._worker = threading.Thread(target=self._run, name="qa-ingest-jobs", daemon=True)
            self._worker.start()

    def _run(self) -> None:
        while (job := self._queue.get()) is not None:
            with self._lock:
                if job.state != "queued":
                    continue
                job.state, job.started = "running", time.time()
            self._emit(job, "started")
            self._execute(job)
            self._emit(job, job.state)
            job.finished_event.set()

    def _execute(self, job: Job) -> None:
        """Run one job to its end state: done, cancelled or failed (the log has the failure's details)."""
        named = [(f.file, path) for f, path in zip(job.files, job.staged)]
        refused = [(f.file, f.reason or "") for f in job.files[len(job.staged):]]
        try:
            result = self.library.add(named, progress=lambda done, total: self._progress(job, done, total))
        except JobCancelled:
            job.finish("cancelled")
        except ValueError as e:
            job.finish("failed", message=self.library.public_message(str(e)))
        except Exception:
            log.exception("ingest job %s failed", job.id)
            job.finish("failed", message="the ingest failed; the server log has the details")
        else:
            result.skipped += refused  # the result tells the whole upload, refused files included
            job.finish("done", result)
        finally:
            shutil.rmtree(self.staging / job.id, ignore_errors=True)
            with self._lock, contextlib.suppress(OSError):
                self.staging.rmdir()  # only when no other job is staged

    def _progress(self, job: Job, done: int, total: int) -> None:
        if job.cancel_requested:
            raise JobCancelled(job.id)
        job.step(done, total)
        self._emit(job, "progress")

    def _emit(self, job: Job, event: str) -> None:
        for listener in self.listeners:
            try:
                listener(job, event)
            except Exception:  # a broken listener must not break the job
                log.exception("job listener failed on %s", event)

    def _forget_old(self) -> None:
        finished = [j for j in self.jobs() if j.finished is not None]
        for job in finished[KEEP:]:
            del self._jobs[job.id]


def _stage(source: BinaryIO | Path, target: Path) -> Path:
    """A private copy of an upload (the request's temporary file or Gradio's cache goes away)."""
    if isinstance(source, Path):
        shutil.copyfile(source, target)
    else:
        with open(target, "wb") as out:
            shutil.copyfileobj(source, out, 1 << 20)
    return target


def _log_event(job: Job, event: str) -> None:
    """One log line per job event (progress at debug level); file names only, never contents."""
    if event == "progress":
        log.debug("job %s: %s/%s passages embedded", job.id, job.chunks_embedded, job.chunks_total)
        return
    extra = f" ({job.message})" if job.message else ""
    log.info("job %s %s: %d file(s)%s", job.id, event, len(job.files), extra)
