"""A journal of ingest jobs, so that an upload's outcome outlives a restart of the server.

Each job event a client can see (queued, started, done, failed, cancelled) appends the job's record as one
JSON line to ``<index folder>/uploads/.jobs.jsonl``. When a ``JobQueue`` starts it reads the journal back:
a finished job is shown as it ended; a job that was queued or running when the server stopped becomes
``interrupted`` (its staged files went with the process; ``Library`` puts the uploads folder back on
start, and an ingest becomes visible only when it is applied at its very end, so such a job added
nothing unless it was past that point). The journal is then rewritten with the last ``keep`` jobs (a
temporary file and a rename), so it never grows without bound.
Out of scope: resuming an interrupted job (its files must be uploaded again); progress (not journaled:
a write per embedding batch would cost more than it tells after a restart); several servers writing
one uploads folder (each keeps its own view; the last to start rewrites the file).
"""

from __future__ import annotations

import contextlib
import json
import logging
import os
from pathlib import Path

from .job import FileOutcome, Job

FILE = ".jobs.jsonl"  # hidden: never ingested as a document, and no upload is stored under a leading dot
VERSION = 1  # of one journal line: {"v": VERSION, "job": Job.to_record()}
EVENTS = frozenset({"queued", "started", "done", "failed", "cancelled"})
INTERRUPTED = ("the server stopped before this upload finished; the files missing from the documents list "
               "must be uploaded again")
log = logging.getLogger("qa.jobs")


class JobJournal:
    """The job records of one uploads folder; a ``JobQueue`` listener (``journal(job, event)``)."""

    def __init__(self, path: Path):
        self.path = Path(path)

    def __call__(self, job: Job, event: str) -> None:
        """Append ``job``'s record after an event a client can see; a failed write is logged, never raised
        (the job itself matters more than its history)."""
        if event not in EVENTS:
            return
        try:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            with open(self.path, "a", encoding="utf-8") as out:
                out.write(json.dumps({"v": VERSION, "job": job.to_record()}, ensure_ascii=False) + "\n")
        except OSError as e:
            log.warning("job %s: the job journal %s cannot be written (%s)", job.id, self.path.name, e)

    def restore(self, keep: int) -> list[Job]:
        """The last ``keep`` jobs of the journal, newest first, unfinished ones marked interrupted; the
        journal is rewritten to hold just those. Unreadable lines are skipped with a warning."""
        latest: dict[str, dict] = {}
        for record in self._records():
            latest.pop(record["id"], None)  # re-inserted: the dict keeps the order of last writes
            latest[record["id"]] = record
        jobs = sorted((_job(r) for r in latest.values()), key=lambda j: j.created, reverse=True)[:keep]
        self._rewrite(jobs)
        return jobs

    def _records(self) -> list[dict]:
        try:
            lines = self.path.read_text(encoding="utf-8").splitlines()
        except FileNotFoundError:
            return []
        except (OSError, UnicodeDecodeError) as e:
            log.warning("the job journal %s cannot be read (%s): earlier jobs are not shown", self.path.name, e)
            return []
        records = []
        for number, line in enumerate(lines, 1):
            try:
                entry = json.loads(line)
                if entry.get("v") != VERSION:
                    raise ValueError(f"format version {entry.get('v')!r}, this version reads {VERSION}")
                Job.from_record(entry["job"])  # only records that make a job
            except (ValueError, KeyError, TypeError, AttributeError) as e:
                log.warning("job journal %s line %d skipped: %s", self.path.name, number, e)
                continue
            records.append(entry["job"])
        return records

    def _rewrite(self, jobs: list[Job]) -> None:
        if not self.path.exists():
            return
        temporary = self.path.with_name(self.path.name + ".tmp")
        try:
            with open(temporary, "w", encoding="utf-8") as out:
                for job in reversed(jobs):
                    out.write(json.dumps({"v": VERSION, "job": job.to_record()}, ensure_ascii=False) + "\n")
            os.replace(temporary, self.path)
        except OSError as e:
            log.warning("the job journal %s cannot be rewritten (%s)", self.path.name, e)
            with contextlib.suppress(OSError):
                temporary.unlink()


def _job(record: dict) -> Job:
    """The job of a record; one the server did not see finish is interrupted."""
    job = Job.from_record(record)
    if job.finished is None:
        job.state, job.message, job.finished = "interrupted", INTERRUPTED, job.started or job.created
        job.files = [f if f.status != "queued" else FileOutcome(f.file, "interrupted") for f in job.files]
    job.finished_event.set()
    return job
