"""Ingest jobs (ui/jobs.py) over a real seed index and the packaged embedder: outcomes, cancel, questions
answered from the live snapshot while a job embeds. The HTTP side is in tests/test_ui_api_jobs.py."""

from __future__ import annotations

import io

import pytest

import ui  # noqa: F401 - first: sets the environment that keeps Gradio from phoning home
from tests.serving import seed_index
from ui.job_journal import FILE
from ui.jobs import Job, JobQueue
from ui.library import IngestResult, Library

LONG = "".join(f"Line {i}: the tram line {i} of Rabat has {i + 10} stations and {i + 3} bridges.\n\n"
               for i in range(12)).encode() + b"The Bouregreg bridge of Rabat is 950 metres long.\n"

HARBOUR = b"Asilah\n\nThe harbour of Asilah has %d boats.\n"  # a title line: a document's only sentence is not it


@pytest.fixture(scope="module")
def library(tmp_path_factory):
    return Library(seed_index(tmp_path_factory.mktemp("jobs")), max_upload_bytes=200_000)


def _state(library: Library) -> tuple:
    """What a user can see: the documents, the live generation, the uploads folder and its bytes (the job
    journal aside: it records the job, which is what the test is about)."""
    files = sorted((p.name, p.read_bytes()) for p in library.folder.iterdir() if p.is_file() and p.name != FILE)
    return sorted(d["id"] for d in library.documents()), library.assistant.index.snapshot.folder.name, files


def test_a_job_reports_each_file_and_a_re_upload_replaces(library):
    jobs = JobQueue(library)
    try:
        job = jobs.wait(jobs.submit([("harbour.txt", io.BytesIO(HARBOUR % 120))],
                                    refused=[("empty.txt", "the file is empty")]).id, 120)
        assert job.state == "done" and job.files_done == len(job.files) == 2
        assert [(f.file, f.status, f.reason) for f in job.files] == [
            ("harbour.txt", "added", None), ("empty.txt", "skipped", "the file is empty")]
        assert job.to_dict()["errors"] == [{"file": "empty.txt", "reason": "the file is empty"}]
        again = jobs.wait(jobs.submit([("harbour.txt", io.BytesIO(HARBOUR % 140))]).id)
        assert [f.status for f in again.files] == ["replaced"]
        assert "140" in library.assistant.ask("How many boats does the harbour of Asilah have?").text
        same = jobs.wait(jobs.submit([("harbour.txt", io.BytesIO(HARBOUR % 140))]).id)
        assert [f.status for f in same.files] == ["unchanged"]
        assert [j.id for j in jobs.jobs()] == [same.id, again.id, job.id]
        assert not (library.folder / ".incoming" / job.id).exists()  # the staged copies are gone
        library.remove(again.result.documents[0]["id"])
    finally:
        jobs.close()


def test_cancel_while_embedding_leaves_nothing_visible(library):
    library.add([("notes.txt", io.BytesIO(b"Tram\n\nThe Rabat tram has 31 stations.\n"))])
    before = _state(library)
    seen = []

    def cancel_at_first_batch(job: Job, event: str) -> None:
        seen.append(event)
        if event == "progress" and not job.cancel_requested:
            jobs.cancel(job.id)  # the next progress call (after an embedding batch) aborts the ingest

    jobs = JobQueue(library, [cancel_at_first_batch])
    try:
        job = jobs.submit([("notes.txt", io.BytesIO(LONG)), ("new.txt", io.BytesIO(b"The Fes medina has 9,400 "
                                                                                   b"streets.\n"))])
        jobs.wait(job.id, 300)
    finally:
        jobs.close()
    assert job.state == "cancelled" and [f.status for f in job.files] == ["not added", "not added"]
    assert seen[:3] == ["queued", "started", "progress"] and seen[-1] == "cancelled"
    assert _state(library) == before  # same documents, same generation, notes.txt still the first version
    assert "31" in library.assistant.ask("How many stations does the Rabat tram have?").text


def test_a_queued_job_is_dropped_and_questions_use_the_live_snapshot_meanwhile(library):
    answers, dropped = [], []

    def meanwhile(job: Job, event: str) -> None:
        if event == "started" and job.files[0].file == "bridges.txt":
            queued = jobs.submit([("later.txt", io.BytesIO(b"The Oujda clock tower is 30 m tall.\n"))])
            dropped.append(jobs.cancel(queued.id))  # the worker is busy with this job: the new one waits
        if event == "progress" and job.chunks_embedded and not answers:  # mid-embedding, from the worker
            answers.append(library.assistant.ask("How long is the Bouregreg bridge?"))
            answers.append(library.assistant.ask("كم عدد المشاركين في المنتدى؟"))

    jobs = JobQueue(library, [meanwhile])
    try:
        job = jobs.wait(jobs.submit([("bridges.txt", io.BytesIO(LONG))]).id, 300)
    finally:
        jobs.close()
    assert job.state == "done" and dropped[0].state == "cancelled" and dropped[0].files[0].status == "not added"
    bridges, forum = answers
    assert "950" not in bridges.text and "150" in forum.text  # the old snapshot, answered at once
    assert "950" in library.assistant.ask("How long is the Bouregreg bridge?").text
    assert "later.txt" not in {f.name for f in library.folder.iterdir()}
    library.remove(job.result.documents[0]["id"])


def test_job_outcomes_progress_and_eta():
    job = Job(id="j", files=[])
    from ui.jobs import FileOutcome

    job.files = [FileOutcome(n, "queued") for n in ("a.txt", "b.txt", "a.txt", "c.pdf")]
    job.state = "running"
    assert job.eta_seconds() is None
    job.step(0, 40)
    job.step(10, 40)
    assert job.eta_seconds() is None or job.eta_seconds() >= 0
    job.finish("done", IngestResult(added=["a.txt"], unchanged=["b.txt"], skipped=[("a.txt", "same name"),
                                                                                   ("c.pdf", "no text layer")]))
    assert [(f.status, f.reason) for f in job.files] == [("added", None), ("unchanged", None),
                                                         ("skipped", "same name"), ("skipped", "no text layer")]
    assert job.eta_seconds() is None and job.finished is not None


def test_public_messages_carry_no_server_paths(library):
    root = library.assistant.index.folder.resolve()
    message = library.public_message(f"cannot read {root}/uploads/a.txt (in {root})")
    assert str(root) not in message and message == "cannot read uploads/a.txt (in .)"
