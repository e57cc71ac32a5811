"""The job journal (ui/job_journal.py): an upload's outcome outlives a restart of the server, a job the
server did not see finish comes back as interrupted, and a damaged journal costs only its bad lines."""

from __future__ import annotations

import json
import signal
import time

import httpx

from tests.serving import seed_index, serve_process
from tests.test_index_processes import TIMEOUT, free_port
from ui.api_jobs import JobOut
from ui.job import FileOutcome, Job
from ui.job_journal import INTERRUPTED, VERSION, JobJournal
from ui.jobs import JobQueue
from ui.library import Library


def test_finished_jobs_come_back_after_a_restart_as_they_ended(tmp_path):
    assistant = seed_index(tmp_path)
    library = Library(assistant)
    jobs = JobQueue(library)
    (tmp_path / "kasbah.txt").write_text("The kasbah of Tangier has 7 gates.\n")
    job = jobs.submit([("kasbah.txt", tmp_path / "kasbah.txt")], refused=[("tool.exe", "not a supported type")])
    jobs.wait(job.id, TIMEOUT)
    jobs.close()
    assert job.state == "done"

    again = JobQueue(Library(assistant))  # what a restarted server reads
    restored = again.get(job.id)
    assert restored is not job and restored.state == "done" and restored.finished == job.finished
    assert [vars(f) for f in restored.files] == [vars(f) for f in job.files]
    assert restored.result == job.result and restored.result.skipped == [("tool.exe", "not a supported type")]
    assert JobOut.of(restored, again.library).model_dump() == JobOut.of(job, library).model_dump()
    assert restored.finished_event.is_set() and again.wait(job.id, 0) is restored


def test_a_job_the_server_did_not_see_finish_is_interrupted(tmp_path):
    journal = JobJournal(tmp_path / ".jobs.jsonl")
    running = Job(id="r1", files=[FileOutcome("big.txt", "queued"), FileOutcome("x.exe", "skipped", "no")])
    journal(running, "queued")
    running.state, running.started = "running", time.time()
    journal(running, "started")
    journal(running, "progress")  # not journaled
    [job] = journal.restore(keep=10)
    assert job.state == "interrupted" and job.message == INTERRUPTED and job.finished == running.started
    assert [(f.file, f.status) for f in job.files] == [("big.txt", "interrupted"), ("x.exe", "skipped")]
    assert len((tmp_path / ".jobs.jsonl").read_text().splitlines()) == 1  # rewritten: one line per job


def test_bad_lines_are_skipped_and_the_journal_keeps_the_last_jobs(tmp_path, caplog):
    path = tmp_path / ".jobs.jsonl"
    journal = JobJournal(path)
    for i in range(5):
        job = Job(id=f"j{i}", files=[], created=1000.0 + i)
        job.finish("cancelled")
        journal(job, "cancelled")
    with open(path, "a") as out:
        out.write("{not json\n")
        out.write(json.dumps({"v": VERSION + 1, "job": {"id": "future"}}) + "\n")
        out.write(json.dumps({"v": VERSION, "job": {"id": "half"}}) + "\n")
    jobs = journal.restore(keep=3)
    assert [j.id for j in jobs] == ["j4", "j3", "j2"]  # newest first; the three bad lines skipped
    assert sum("skipped" in r.getMessage() for r in caplog.records) == 3
    assert [json.loads(line)["job"]["id"] for line in path.read_text().splitlines()] == ["j2", "j3", "j4"]


def test_an_upload_running_when_the_server_is_killed_is_reported_interrupted_after_a_restart(tmp_path):
    index = seed_index(tmp_path).index.folder
    port = free_port()
    lines = "".join(f"Line {i}: the ferry {i} from Tangier carries {i + 40} cars.\n\n" for i in range(300))


    server = serve_process(index, port)
    with httpx.Client(base_url=f"http://127.0.0.1:{port}", timeout=60) as client:
        before = client.get("/api/documents").json()["documents"]
        job = client.post("/api/documents", files={"files": ("ferries.txt", lines.encode())}).json()
        deadline = time.monotonic() + TIMEOUT
        while client.get(f"/api/jobs/{job['id']}").json()["state"] != "running":
            assert time.monotonic() < deadline
            time.sleep(0.05)
    server.send_signal(signal.SIGKILL)
    server.communicate(timeout=30)
    server = serve_process(index, port)
    try:
        with httpx.Client(base_url=f"http://127.0.0.1:{port}", timeout=60) as client:
            r = client.get(f"/api/jobs/{job['id']}")
            assert r.status_code == 200, r.text  # was 404: jobs lived in memory only
            after = r.json()
            assert after["state"] == "interrupted" and after["message"] == INTERRUPTED and after["finished"]
            assert after["files"] == [{"file": "ferries.txt", "status": "interrupted", "reason": None}]
            assert job["id"] in [j["id"] for j in client.get("/api/jobs").json()["jobs"]]
            assert client.get("/api/documents").json()["documents"] == before  # nothing of it was applied
    finally:
        server.send_signal(signal.SIGINT)
        server.communicate(timeout=30)
