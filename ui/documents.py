"""The Documents tab: upload files, see every indexed document, remove one.

Layout and callbacks only; every write goes through ``Library`` (shared with the HTTP API), and all
text from documents and file names is escaped by ``render.esc``. Callbacks are module-level
functions of the ``Library`` (bound with ``functools.partial``) so each can be tested on its own.
Out of scope: the chat (``app``) and the HTTP API (``api``).
"""

from __future__ import annotations

from functools import partial
from pathlib import Path
from typing import Any, NamedTuple

import gradio as gr

from .library import SUFFIXES, Library, human_bytes
from .render import esc


def documents_html(documents: list[dict[str, Any]]) -> str:
    if not documents:
        return '<p class="qa-docs-empty">No documents yet: upload some above.</p>'
    rows = "".join(
        f'<tr><td dir="auto">{esc(d["title"])}</td><td>{esc(d["lang"])}</td><td>{esc(d["chunks"])}</td>'
        f'<td>{esc(str(d.get("added", ""))[:16].replace("T", " "))}</td>'
        f'<td dir="auto" title="{esc(d["path"])}">{esc(Path(d["path"]).name)}</td>'
        f'<td><code>{esc(d["id"])}</code></td></tr>'
        for d in documents)
    return ('<table class="qa-docs"><thead><tr><th>Title</th><th>Language</th><th>Passages</th><th>Added (UTC)</th>'
            f"<th>File</th><th>Id</th></tr></thead><tbody>{rows}</tbody></table>")


def report_html(result) -> str:
    """An ingest result for people: what was added, and for each refused file its name and why."""
    parts = [f'<p class="qa-report-summary">{esc(result.summary())}</p>']
    if result.added:
        parts.append(f'<p class="qa-report-added" dir="auto">Added: {esc(", ".join(result.added))}</p>')
    parts += [f'<p class="qa-report-error" dir="auto"><b>{esc(name)}</b>: {esc(reason)}</p>'
              for name, reason in result.skipped]
    return f'<div class="qa-report">{"".join(parts)}</div>'


def status(library: Library) -> str:
    """One line for the sidebar: documents, passages, embedder."""
    i = library.info()
    plural = lambda n, word: f"{n} {word}{'' if n == 1 else 's'}"  # noqa: E731
    return f"{plural(i['documents'], 'document')} · {plural(i['chunks'], 'passage')} · embedder {i['embedder']}"


def doc_views(library: Library):
    """(the document table, the removal choices, the status line)."""
    docs = library.documents()
    choices = [(f"{d['title'][:70]} · {d['lang']} · {d['id']}", d["id"]) for d in docs]
    return documents_html(docs), gr.update(choices=choices, value=None), status(library)


def upload(library: Library, files: list[str] | None, progress=gr.Progress()):  # noqa: B008 - Gradio's idiom
    """Store and index the uploaded files; returns (table, choices, report, cleared file box)."""
    if not files:
        return (*doc_views(library)[:2], "", None)
    progress(0, desc="Storing the files")

    def step(done: int, total: int) -> None:
        progress(done / max(total, 1), desc=f"Embedding {done}/{total} passages")

    named = [(Path(f).name, Path(f)) for f in files]
    result = library.add(named, progress=step)
    for f in files:  # Gradio's temporary copy; ours is in the index's uploads folder
        Path(f).unlink(missing_ok=True)
    return (*doc_views(library)[:2], report_html(result), None)


def remove(library: Library, doc_id: str | None):
    """Remove the chosen document; returns (table, choices, report)."""
    if not doc_id:
        raise gr.Error("Choose a document to remove first.")
    try:
        gone = library.remove(doc_id)
    except KeyError as e:
        raise gr.Error(f"No document with id {doc_id}: it may have been removed already.") from e
    table, choices, _ = doc_views(library)
    names = ", ".join(d["title"][:60] for d in gone)
    return table, choices, f'<p class="qa-report-summary" dir="auto">Removed: {esc(names)}</p>'


class DocumentsTab(NamedTuple):
    tab: Any
    files: Any
    report: Any
    table: Any
    doc: Any
    remove_btn: Any


def layout(library: Library) -> DocumentsTab:
    """The tab's components; call inside ``gr.Tabs``."""
    with gr.Tab("Documents", id="documents") as tab:
        files = gr.File(label=f"Add documents ({' '.join(SUFFIXES)}; up to "
                              f"{human_bytes(library.max_upload_bytes)} each)",
                        file_count="multiple", file_types=list(SUFFIXES), type="filepath",
                        elem_id="qa-upload", height=140)
        report = gr.HTML("", elem_id="qa-report", js_on_load=None)
        table = gr.HTML(documents_html([]), elem_id="qa-docs", js_on_load=None)
        with gr.Row():
            doc = gr.Dropdown([], label="Document to remove", elem_id="qa-doc-select", scale=4)
            remove_btn = gr.Button("Remove", variant="stop", elem_id="qa-remove", scale=1)
    return DocumentsTab(tab, files, report, table, doc, remove_btn)


def wire(library: Library, tab: DocumentsTab, status_box: Any, demo: gr.Blocks) -> None:
    """Connect the tab's events (and the status line they update)."""
    views = partial(doc_views, library)
    refresh = partial(status, library)
    tab.files.upload(partial(upload, library), inputs=tab.files, outputs=[tab.table, tab.doc, tab.report, tab.files],
                     api_visibility="private", concurrency_limit=1).then(
        refresh, outputs=status_box, api_visibility="private")
    tab.remove_btn.click(partial(remove, library), inputs=tab.doc, outputs=[tab.table, tab.doc, tab.report],
                         api_visibility="private", concurrency_limit=1).then(
        refresh, outputs=status_box, api_visibility="private")
    tab.tab.select(views, outputs=[tab.table, tab.doc, status_box], api_visibility="private")
    demo.load(views, outputs=[tab.table, tab.doc, status_box], api_visibility="private")
