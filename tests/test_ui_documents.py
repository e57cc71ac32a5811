"""The Documents tab's callbacks (ui/documents.py) and HTML (ui/documents_html.py) over a real index,
without a browser; tests/test_ui_documents_browser.py drives the same tab in Chromium."""

from __future__ import annotations

import pytest

import ui  # noqa: F401 - first: sets the environment that keeps Gradio from phoning home
from tests.serving import seed_index
from ui import documents, documents_html
from ui.jobs import JobQueue
from ui.library import Library


@pytest.fixture(scope="module")
def jobs(tmp_path_factory):
    queue = JobQueue(Library(seed_index(tmp_path_factory.mktemp("ui-docs")), max_upload_bytes=10_000))
    yield queue
    queue.close()


def _gradio_copy(tmp_path, name: str, data: bytes) -> str:
    """A file as Gradio hands it to the callback: a path in its cache, which the callback deletes."""
    path = tmp_path / name
    path.write_bytes(data)
    return str(path)


def _finish(jobs: JobQueue, job_ids: list[str]) -> tuple:
    for job_id in job_ids:
        jobs.wait(job_id, 120)
    return documents.poll(jobs, job_ids, "")


def test_a_batch_with_an_empty_file_reports_it_and_adds_the_rest(jobs, tmp_path):
    files = [_gradio_copy(tmp_path, "empty.txt", b""),
             _gradio_copy(tmp_path, "kasbah.txt", b"Kasbah\n\nThe kasbah of Tangier has 7 gates.\n")]
    report, job_ids, timer, cleared, cancel = documents.upload(jobs, files, [])
    assert cleared is None and len(job_ids) == 1 and timer.active and cancel["visible"]
    assert not any((tmp_path / n).exists() for n in ("empty.txt", "kasbah.txt"))  # Gradio's copies are gone
    report, table, choices, status, timer, cancel, shown = _finish(jobs, job_ids)
    assert not timer.active and not cancel["visible"] and shown == f"{job_ids[0]}:done"
    assert "Added: kasbah.txt" in report and "<b>empty.txt</b>: the file is empty" in report
    assert "The kasbah of Tangier" not in table and "Kasbah" in table and "kasbah.txt" in table
    assert status.startswith("2 documents")
    [(label, doc_id)] = [c for c in choices["choices"] if "Kasbah" in c[0]]
    assert label.startswith("Kasbah — kasbah.txt · 20") and doc_id not in label  # title, file, date; no id
    # The same file again: said as such, not "1 unchanged".
    report, job_ids, *_ = documents.upload(jobs, [_gradio_copy(tmp_path, "kasbah.txt", b"Kasbah\n\nThe kasbah "
                                                              b"of Tangier has 7 gates.\n")], job_ids)
    report = _finish(jobs, job_ids)[0]
    assert "Already indexed (same content): kasbah.txt" in report and "1 unchanged" not in report
    assert report.count("<progress") == 0 and len(job_ids) == 2


def test_one_progress_bar_per_unfinished_job(jobs):
    from ui.jobs import FileOutcome, Job

    job = Job(id="j1", files=[FileOutcome("a.txt", "queued")], state="running")
    job.step(0, 40)
    job.step(10, 40)
    html = documents_html.jobs_html([job, Job(id="j2", files=[FileOutcome("b.txt", "queued")])])
    assert html.count("<progress") == 2 and 'value="10"' in html and "Embedding 10/40 passages" in html
    assert "Queued: it starts when the upload before it" in html
    job.finish("cancelled")
    assert documents_html.jobs_html([job]).count("<progress") == 0


def test_removal_asks_first_and_names_the_document(jobs, tmp_path):
    report, job_ids, *_ = documents.upload(jobs, [_gradio_copy(tmp_path, "souk.md", b"# Souk\n\nThe souk of "
                                                              b"Fes has 300 stalls.\n")], [])
    _finish(jobs, job_ids)
    doc = next(d for d in jobs.library.documents() if d["title"] == "Souk")
    row, question = documents.ask_remove(jobs.library, doc["id"])
    assert row["visible"] and "Souk — souk.md" in question and doc["id"] not in question
    assert doc["id"] in {d["id"] for d in jobs.library.documents()}  # asking removes nothing
    assert not documents.keep()["visible"]
    table, choices, removed, row = documents.remove(jobs.library, doc["id"])
    assert "Removed: Souk" in removed and not row["visible"] and "souk.md" not in table
    import gradio as gr

    for step in (documents.ask_remove, documents.remove):
        with pytest.raises(gr.Error):
            step(jobs.library, doc["id"])  # gone already
        with pytest.raises(gr.Error):
            step(jobs.library, None)


def test_cancel_button_cancels_this_sessions_jobs(jobs, tmp_path):
    lines = b"".join(b"Line %d: the ferry %d carries %d cars.\n\n" % (i, i, i + 40) for i in range(150))
    before = {d["id"] for d in jobs.library.documents()}
    _, job_ids, *_ = documents.upload(jobs, [_gradio_copy(tmp_path, "ferries.txt", lines)], [])
    documents.cancel(jobs, job_ids)
    report = _finish(jobs, job_ids)[0]
    assert "Upload cancelled: nothing of it was added." in report
    assert {d["id"] for d in jobs.library.documents()} == before


def test_a_refresh_when_an_upload_ends_keeps_the_document_picked_for_removal(jobs, tmp_path):
    """Under load a last timer tick can arrive after the user picked a document: the pick stays
    (it was cleared, and the removal then said "Choose a document to remove first")."""
    picked = jobs.library.documents()[0]["id"]
    _, job_ids, *_ = documents.upload(jobs, [_gradio_copy(tmp_path, "dunes.txt", b"Dunes\n\nThe dunes of "
                                                         b"Merzouga rise 150 metres.\n")], [])
    for job_id in job_ids:
        jobs.wait(job_id, 120)
    choices = documents.poll(jobs, job_ids, "", picked)[2]
    assert choices["value"] == picked and picked in {c[1] for c in choices["choices"]}
    assert documents.poll(jobs, job_ids, "", "no-such-id")[2]["value"] is None  # gone: nothing stays picked
    assert documents.doc_views(jobs.library)[1]["value"] is None
