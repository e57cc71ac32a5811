"""The HTTP API's upload and job routes (ui/api_jobs.py: /api/documents, /api/jobs) against a real
uvicorn server on a free port, over an index of a copy of seeds/."""

from __future__ import annotations

from pathlib import Path

import pytest

import ui  # noqa: F401 - first: sets the environment that keeps Gradio (and its client) from phoning home
from tests.serving import MAX_UPLOAD, follow, upload

pytestmark = pytest.mark.filterwarnings("ignore::Warning:gradio.queueing")  # pandas deprecations in Gradio


def test_upload_ask_list_and_remove(api_client, api_assistant):
    text = b"The Blue Owl Library opened in 1998 in Tangier.\n\nIt lends 4,200 books every month to its readers.\n"
    r = upload(api_client, ("owl library.txt", text), wait=False)
    assert r.status_code == 202, r.text
    job = r.json()
    assert r.headers["location"] == f"/api/jobs/{job['id']}" and job["state"] in ("queued", "running", "done")
    job = follow(api_client, job)
    assert job["state"] == "done" and job["files"] == [{"file": "owl library.txt", "status": "added", "reason": None}]
    assert job["id"] in [j["id"] for j in api_client.get("/api/jobs").json()["jobs"]]
    assert api_client.delete(f"/api/jobs/{job['id']}").status_code == 409  # finished: nothing to cancel
    assert api_client.get("/api/jobs/0000").status_code == 404
    report = job["result"]
    assert report["added"] == ["owl library.txt"] and report["chunks"] >= 1 and not report["skipped"]
    [doc] = report["documents"]
    assert doc["path"] == "uploads/owl library.txt"  # relative to the index: no server path leaves the server
    stored = (Path(api_assistant.index.folder) / doc["path"]).resolve()
    assert stored.parent == (Path(api_assistant.index.folder) / "uploads").resolve() and stored.read_bytes() == text
    assert doc["id"] in {d["id"] for d in api_client.get("/api/documents").json()["documents"]}
    question = "How many books does the Blue Owl Library lend every month?"
    a = api_client.post("/api/ask", json={"question": question}).json()
    assert "4,200" in a["text"] and a["citations"][0]["doc_id"] == doc["id"]
    r = api_client.delete(f"/api/documents/{doc['id']}")
    assert r.status_code == 200 and r.json()["removed"][0]["id"] == doc["id"]
    assert not stored.exists()
    assert doc["id"] not in {d["id"] for d in api_client.get("/api/documents").json()["documents"]}
    assert api_client.delete(f"/api/documents/{doc['id']}").status_code == 404


def test_upload_names_are_sanitised_and_a_re_upload_replaces(api_client, api_assistant):
    uploads = (Path(api_assistant.index.folder) / "uploads").resolve()
    r = upload(api_client, ("../../../evil\x00name.txt", b"Zebras in Fes number exactly 31.\n"),
               ("..\\..\\notes.md", b"# Notes\n\nThe river Sebou is long.\n"))
    assert r.status_code == 200, r.text
    docs = r.json()["result"]["documents"]
    folder = Path(api_assistant.index.folder)
    assert len(docs) == 2 and all((folder / d["path"]).resolve().parent == uploads for d in docs)
    evil, notes = sorted(Path(d["path"]).name for d in docs)
    assert evil.startswith("evil") and evil.endswith("name.txt") and "\x00" not in evil and notes == "notes.md"
    old = next(d for d in docs if d["file"] == "notes.md")
    r = upload(api_client, ("notes.md", b"# Notes\n\nThe river Oum Er-Rbia is longer.\n"))
    result = r.json()["result"]
    [again] = result["documents"]
    assert result["replaced"] == ["notes.md"] and not result["added"] and again["file"] == "notes.md"
    assert (uploads / "notes.md").read_bytes().endswith(b"Oum Er-Rbia is longer.\n")
    ids = {d["id"] for d in api_client.get("/api/documents").json()["documents"]}
    assert again["id"] in ids and old["id"] not in ids  # one document per upload name: the new version
    same = upload(api_client, ("notes.md", b"# Notes\n\nThe river Oum Er-Rbia is longer.\n")).json()
    assert same["result"]["unchanged"] == ["notes.md"] and same["files"][0]["status"] == "unchanged"
    for d in [docs[0] if docs[0]["file"] != "notes.md" else docs[1], again]:
        assert api_client.delete(f"/api/documents/{d['id']}").status_code == 200
    assert not [p for p in uploads.iterdir() if not p.name.startswith(".")]


def test_upload_errors(api_client):
    r = upload(api_client, ("big.txt", b"x " * MAX_UPLOAD))
    assert r.status_code == 413 and "big.txt" in r.json()["message"] and "limit" in r.json()["message"]
    r = upload(api_client, ("tool.exe", b"MZ..."))
    assert r.status_code == 415 and "tool.exe" in r.json()["message"]
    r = upload(api_client, ("empty.txt", b""))
    assert r.status_code == 400 and "empty" in r.json()["message"]
    r = api_client.post("/api/documents", json={"files": []})
    assert r.status_code == 422
    r = upload(api_client, ("empty.txt", b""), ("tool.exe", b"MZ"))
    assert r.status_code == 400 and "no file can be added" in r.json()["message"] and "tool.exe" in r.json()["message"]
    r = upload(api_client, ("broken.pdf", b"%PDF-1.4 not really a pdf"))
    result = r.json()["result"]
    assert r.status_code == 200 and result["skipped"][0]["file"] == "broken.pdf" and not result["added"]


def test_a_batch_with_one_empty_file_adds_the_others_and_reports_it(api_client):
    r = upload(api_client, ("empty.txt", b""), ("kasbah.txt", b"The kasbah of Tangier has 7 gates.\n"), wait=False)
    assert r.status_code == 202, r.text
    job = follow(api_client, r.json())
    assert job["state"] == "done" and job["result"]["added"] == ["kasbah.txt"]
    assert job["errors"] == [{"file": "empty.txt", "reason": "the file is empty"}]
    assert {f["file"]: f["status"] for f in job["files"]} == {"kasbah.txt": "added", "empty.txt": "skipped"}
    [doc] = job["result"]["documents"]
    assert api_client.delete(f"/api/documents/{doc['id']}").status_code == 200


def test_cancel_a_running_upload_job(api_client):
    before = api_client.get("/api/documents").json()["documents"]
    lines = "".join(f"Line {i}: the ferry {i} from Tangier carries {i + 40} cars.\n\n" for i in range(200))
    r = upload(api_client, ("ferries.txt", lines.encode()), wait=False)
    assert r.status_code == 202
    cancel = api_client.delete(f"/api/jobs/{r.json()['id']}")
    assert cancel.status_code == 202, cancel.text  # 200 sentences take seconds to embed: still going
    assert cancel.json()["state"] == "cancelled" or cancel.json()["cancel_requested"]
    job = follow(api_client, cancel.json())
    assert job["state"] == "cancelled" and job["files"][0]["status"] == "not added" and job["result"] is None
    assert api_client.get("/api/documents").json()["documents"] == before


def test_job_events_are_logged(api_client, caplog):
    import logging

    caplog.set_level(logging.INFO, logger="qa.jobs")
    r = upload(api_client, ("logged.txt", b"Logged\n\nThe kasbah of Tiznit has 5 gates.\n"))
    job = r.json()
    events = [r.getMessage() for r in caplog.records if r.name == "qa.jobs"]
    assert [e.split(":")[0] for e in events] == [f"job {job['id']} queued", f"job {job['id']} started",
                                                 f"job {job['id']} done"], events
    assert api_client.delete(f"/api/documents/{job['result']['documents'][0]['id']}").status_code == 200

