"""One ingest job's record: its state, each file's outcome, embedding progress and ETA.

Written by the job queue's worker (``jobs``), read by the API and the Documents tab; plain fields,
so a reader sees a slightly stale view at worst. Out of scope: running jobs (``jobs``).
"""

from __future__ import annotations

import threading
import time
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from .library import IngestResult


class JobCancelled(Exception):
    """Raised from a job's progress callback to abort its ingest before anything is applied."""


@dataclass
class FileOutcome:
    """One file of a job: ``queued`` until the job ends, then added, replaced, unchanged, skipped or
    not added (the job was cancelled or failed), or interrupted (the server stopped first); ``reason``
    says why a file was skipped."""

    file: str
    status: str
    reason: str | None = None


@dataclass(eq=False)
class Job:
    """One upload's ingest: queued → running → done | failed | cancelled (or interrupted: the server
    stopped before it finished, as the job journal tells after a restart)."""

    id: str
    files: list[FileOutcome]
    state: str = "queued"
    created: float = field(default_factory=time.time)
    started: float | None = None
    finished: float | None = None
    chunks_total: int | None = None
    chunks_embedded: int = 0
    cancel_requested: bool = False
    message: str | None = None
    result: IngestResult | None = None
    staged: list[Path] = field(default_factory=list, repr=False)
    finished_event: threading.Event = field(default_factory=threading.Event, repr=False)
    _clock: tuple[float, int] | None = field(default=None, repr=False)  # (monotonic, embedded) at the first step

    def step(self, done: int, total: int) -> None:
        """Record embedding progress, in passages (``ingest``'s progress callback)."""
        if self._clock is None:
            self._clock = (time.monotonic(), done)
        self.chunks_embedded, self.chunks_total = done, total

    def eta_seconds(self) -> float | None:
        """Seconds left at the rate seen since embedding began; None before a rate is known."""
        if self.state != "running" or not self.chunks_total or self._clock is None:
            return None
        since, first = self._clock
        done, elapsed = self.chunks_embedded - first, time.monotonic() - since
        return round((self.chunks_total - self.chunks_embedded) * elapsed / done, 1) if done > 0 else None

    @property
    def files_done(self) -> int:
        return sum(f.status != "queued" for f in self.files)

    def finish(self, state: str, result: IngestResult | None = None, message: str | None = None) -> None:
        """Enter a final state; each queued file gets its outcome from ``result`` (else "not added").
        The queue sets ``finished_event`` once the final event is logged, so a waiter sees it."""
        self.state, self.result, self.message, self.finished = state, result, message, time.time()
        outcomes: dict[str, list[tuple[str, str | None]]] = {}
        if result is not None:
            for status, names in (("added", result.added), ("replaced", result.replaced),
                                  ("unchanged", result.unchanged)):
                for name in names:
                    outcomes.setdefault(name, []).append((status, None))
            for name, reason in result.skipped:
                outcomes.setdefault(name, []).append(("skipped", reason))
        for f in self.files:
            if f.status == "queued":
                f.status, f.reason = (outcomes.get(f.file) or [("not added", None)]).pop(0)

    def to_record(self) -> dict[str, Any]:
        """What the job journal keeps (``job_journal``): the fields a client sees, times as epoch seconds."""
        return {"id": self.id, "state": self.state, "created": self.created, "started": self.started,
                "finished": self.finished, "files": [vars(f).copy() for f in self.files],
                "chunks_total": self.chunks_total, "chunks_embedded": self.chunks_embedded,
                "message": self.message, "result": None if self.result is None else asdict(self.result)}

    @classmethod
    def from_record(cls, record: dict[str, Any]) -> Job:
        """The job of a ``to_record`` dict (``KeyError``/``TypeError`` when it is not one)."""
        result = record["result"]
        if result is not None:
            result = IngestResult(**{**result, "skipped": [tuple(pair) for pair in result["skipped"]]})
        return cls(id=str(record["id"]), files=[FileOutcome(**f) for f in record["files"]],
                   state=str(record["state"]), created=float(record["created"]), started=record["started"],
                   finished=record["finished"], chunks_total=record["chunks_total"],
                   chunks_embedded=int(record["chunks_embedded"]), message=record["message"], result=result)

    def to_dict(self) -> dict[str, Any]:
        """Plain data for the API and the Documents tab."""
        return {"id": self.id, "state": self.state, "cancel_requested": self.cancel_requested,
                "created": iso(self.created), "started": iso(self.started), "finished": iso(self.finished),
                "files": [vars(f).copy() for f in self.files], "files_total": len(self.files),
                "files_done": self.files_done, "chunks_total": self.chunks_total,
                "chunks_embedded": self.chunks_embedded, "eta_seconds": self.eta_seconds(),
                "errors": [{"file": f.file, "reason": f.reason} for f in self.files if f.status == "skipped"],
                "message": self.message}


def iso(t: float | None) -> str | None:
    """A UTC ISO-8601 time of day to the second, or None."""
    return None if t is None else datetime.fromtimestamp(t, UTC).isoformat(timespec="seconds")
