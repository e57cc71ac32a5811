"""The Documents tab: upload files (as background jobs), see every indexed document, remove one.

An upload becomes a job (``jobs``) at once; a ``gr.Timer`` polls this session's jobs and draws one
progress bar per job in the report box, then each job's outcome (added, replaced, already indexed,
each refused file with its reason), and refreshes the table when a job ends. A removal asks for a
confirmation first. Documents are chosen by title, file name and date. Every write goes through
``Library``/``JobQueue`` (shared with the HTTP API); callbacks are module-level functions bound with
``functools.partial`` so each can be tested on its own. Out of scope: the chat (``app``), the HTTP
API (``api``) and the HTML (``documents_html``).
"""

from __future__ import annotations

from functools import partial
from pathlib import Path
from typing import Any, NamedTuple

import gradio as gr

from .documents_html import doc_label, documents_html, jobs_html, removed_html, report_html
from .jobs import JobQueue
from .library import SUFFIXES, Library, UploadError, check_upload, human_bytes
from .render import esc

POLL_SECONDS = 1.0
SHOWN_JOBS = 5
__all__ = ["documents_html", "report_html", "layout", "wire"]


def status(library: Library) -> str:
    """One line for the sidebar: documents, passages, embedder."""
    i = library.info()
    plural = lambda n, word: f"{n} {word}{'' if n == 1 else 's'}"  # noqa: E731
    return f"{plural(i['documents'], 'document')} · {plural(i['chunks'], 'passage')} · embedder {i['embedder']}"


def doc_views(library: Library, chosen: str | None = None):
    """(the document table, the removal choices, the status line).

    ``chosen`` (the document picked for removal) stays picked while it is still indexed: a refresh
    when some upload ends must not clear a choice the user just made."""
    docs = library.documents()
    ids = {d["id"] for d in docs}
    return documents_html(docs), gr.update(choices=[(doc_label(d), d["id"]) for d in docs],
                                           value=chosen if chosen in ids else None), status(library)


def upload(jobs: JobQueue, files: list[str] | None, job_ids: list[str] | None):
    """Queue the uploaded files as a job; returns (report, job ids, timer, cleared file box, cancel button).

    Files refused at once (type, size, empty) are reported in the job; the others are ingested."""
    job_ids = list(job_ids or [])
    if not files:
        return gr.skip(), job_ids, gr.skip(), None, gr.skip()
    accepted, refused = [], []
    for f in map(Path, files):
        try:
            check_upload(f.name, f.stat().st_size, jobs.library.max_upload_bytes)
            accepted.append((f.name, f))
        except UploadError as e:
            refused.append((e.name, e.reason))
    job = jobs.submit(accepted, refused)
    for f in files:  # Gradio's temporary copy; the job staged its own
        Path(f).unlink(missing_ok=True)
    job_ids = [job.id, *job_ids][:SHOWN_JOBS]
    return jobs_html(_jobs(jobs, job_ids)), job_ids, gr.Timer(active=True), None, gr.update(visible=True)


def poll(jobs: JobQueue, job_ids: list[str] | None, shown: str | None, chosen: str | None = None):
    """A timer tick: (report, table, choices, status, timer, cancel button) for this session's jobs.

    The table is refreshed only when a job has ended since the last tick (``shown`` is the state
    string of the previous tick); the timer stops when no job of this session is still going."""
    session = _jobs(jobs, job_ids or [])
    running = any(j.finished is None for j in session)
    states = ",".join(f"{j.id}:{j.state}" for j in session)
    refresh = states != (shown or "")
    views = doc_views(jobs.library, chosen) if refresh else (gr.skip(),) * 3
    return (jobs_html(session), *views, gr.Timer(active=running), gr.update(visible=running), states)


def cancel(jobs: JobQueue, job_ids: list[str] | None):
    """Cancel this session's unfinished jobs; returns the report."""
    session = _jobs(jobs, job_ids or [])
    for job in session:
        if job.finished is None:
            jobs.cancel(job.id)
    return jobs_html(session)


def _jobs(jobs: JobQueue, job_ids: list[str]) -> list:
    out = []
    for job_id in job_ids:
        try:
            out.append(jobs.get(job_id))
        except KeyError:  # forgotten by the queue: nothing to show
            continue
    return out


def ask_remove(library: Library, doc_id: str | None):
    """The confirmation step of a removal: (confirmation row, its question)."""
    if not doc_id:
        raise gr.Error("Choose a document to remove first.")
    doc = next((d for d in library.documents() if d["id"] == doc_id), None)
    if doc is None:
        raise gr.Error("That document is no longer indexed: it may have been removed already.")
    question = f'<p class="qa-confirm-question" dir="auto">Remove <b>{esc(doc_label(doc))}</b> from the index? ' \
               "Its uploaded file is deleted too.</p>"
    return gr.update(visible=True), question


def remove(library: Library, doc_id: str | None):
    """Remove the chosen document; returns (table, choices, removal note, hidden confirmation row)."""
    if not doc_id:
        raise gr.Error("Choose a document to remove first.")
    try:
        gone = library.remove(doc_id)
    except KeyError as e:
        raise gr.Error("That document is no longer indexed: it may have been removed already.") from e
    table, choices, _ = doc_views(library)
    return table, choices, removed_html(gone), gr.update(visible=False)


def keep() -> Any:
    """Close the confirmation without removing anything."""
    return gr.update(visible=False)


class DocumentsTab(NamedTuple):
    tab: Any
    files: Any
    report: Any
    removed: Any
    cancel_btn: Any
    table: Any
    doc: Any
    remove_btn: Any
    confirm_row: Any
    confirm_text: Any
    confirm_btn: Any
    keep_btn: Any
    timer: Any
    job_ids: Any
    shown: Any


def layout(library: Library) -> DocumentsTab:
    """The tab's components; call inside ``gr.Tabs``."""
    with gr.Tab("Documents", id="documents") as tab:
        files = gr.File(label=f"Add documents ({' '.join(SUFFIXES)}; up to "
                              f"{human_bytes(library.max_upload_bytes)} each; a file named like an earlier "
                              "upload replaces it)",
                        file_count="multiple", file_types=list(SUFFIXES), type="filepath",
                        elem_id="qa-upload", height=140)
        report = gr.HTML("", elem_id="qa-report", js_on_load=None)
        # Removals report apart from uploads: a timer tick still queued could overwrite a shared box.
        removed = gr.HTML("", elem_id="qa-removed", js_on_load=None)
        cancel_btn = gr.Button("Cancel upload", variant="secondary", size="sm", visible=False, elem_id="qa-cancel")
        table = gr.HTML(documents_html([]), elem_id="qa-docs", js_on_load=None)
        with gr.Row():
            doc = gr.Dropdown([], label="Document to remove (title — file · added)", elem_id="qa-doc-select",
                              scale=4)
            remove_btn = gr.Button("Remove…", variant="stop", elem_id="qa-remove", scale=1)
        with gr.Row(visible=False, elem_id="qa-confirm") as confirm_row:
            confirm_text = gr.HTML("", elem_id="qa-confirm-text", js_on_load=None)
            confirm_btn = gr.Button("Yes, remove it", variant="stop", elem_id="qa-confirm-remove", scale=0)
            keep_btn = gr.Button("Keep it", elem_id="qa-confirm-keep", scale=0)
        timer = gr.Timer(POLL_SECONDS, active=False)
    return DocumentsTab(tab, files, report, removed, cancel_btn, table, doc, remove_btn, confirm_row, confirm_text,
                        confirm_btn, keep_btn, timer, gr.State([]), gr.State(""))


def wire(library: Library, jobs: JobQueue, tab: DocumentsTab, status_box: Any, demo: gr.Blocks) -> None:
    """Connect the tab's events (and the status line they update)."""
    quiet: dict[str, Any] = {"api_visibility": "private", "show_progress": "hidden"}
    # Reads run outside the queue: a queued event that ends as the page's first question is sent
    # can make Gradio's client lose that question's answer (chat.resume_stream).
    unqueued = {**quiet, "queue": False}
    views = partial(doc_views, library)
    tab.files.upload(partial(upload, jobs), inputs=[tab.files, tab.job_ids],
                     outputs=[tab.report, tab.job_ids, tab.timer, tab.files, tab.cancel_btn], **quiet)
    tab.timer.tick(partial(poll, jobs), inputs=[tab.job_ids, tab.shown, tab.doc],
                   outputs=[tab.report, tab.table, tab.doc, status_box, tab.timer, tab.cancel_btn, tab.shown],
                   **quiet)
    tab.cancel_btn.click(partial(cancel, jobs), inputs=tab.job_ids, outputs=tab.report, **quiet)
    tab.remove_btn.click(partial(ask_remove, library), inputs=tab.doc, outputs=[tab.confirm_row, tab.confirm_text],
                         **quiet)
    tab.confirm_btn.click(partial(remove, library), inputs=tab.doc,
                          outputs=[tab.table, tab.doc, tab.removed, tab.confirm_row], concurrency_limit=1,
                          **quiet).then(partial(status, library), outputs=status_box, **quiet)
    tab.keep_btn.click(keep, outputs=tab.confirm_row, **quiet)
    tab.doc.change(keep, outputs=tab.confirm_row, **unqueued)  # the question named the previous choice
    tab.tab.select(views, inputs=tab.doc, outputs=[tab.table, tab.doc, status_box], **unqueued)
    demo.load(views, outputs=[tab.table, tab.doc, status_box], **unqueued)
