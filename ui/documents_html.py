"""HTML of the Documents tab: the document table, job progress and outcomes, removal notes.

Every piece of text from documents, file names and reasons goes through ``render.esc``; each job
gets exactly one progress bar (a native ``<progress>``, so screen readers announce it).
Out of scope: the tab's layout and callbacks (``documents``).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from .render import esc

CSS = """
.qa-job { border: 1px solid var(--border-color-primary); border-radius: 8px; padding: .5em .7em; margin: .4em 0; }
.qa-job progress { width: 100%; height: .9em; }
.qa-job-line { margin: .2em 0; }
.qa-report-summary { font-weight: 600; }
.qa-confirm-question { margin: .3em 0; }
"""


def added_on(doc: dict[str, Any]) -> str:
    """``2025-01-02T03:04:05+00:00`` -> ``2025-01-02 03:04`` (UTC), or '' when unknown."""
    return str(doc.get("added") or "")[:16].replace("T", " ")


def doc_label(doc: dict[str, Any]) -> str:
    """How a document is named in a choice: its title, file name and date, never its hex id."""
    when = added_on(doc)
    return f"{doc['title'][:70]} — {Path(doc['path']).name}" + (f" · {when}" if when else "")


def documents_html(documents: list[dict[str, Any]]) -> str:
    if not documents:
        return '<p class="qa-docs-empty">No documents yet: upload some above.</p>'
    rows = "".join(
        f'<tr><td dir="auto">{esc(d["title"])}</td><td>{esc(d["lang"])}</td><td>{esc(d["chunks"])}</td>'
        f'<td>{esc(added_on(d))}</td><td dir="auto">{esc(Path(d["path"]).name)}</td></tr>'
        for d in documents)
    return ('<table class="qa-docs"><thead><tr><th>Title</th><th>Language</th><th>Passages</th><th>Added (UTC)</th>'
            f"<th>File</th></tr></thead><tbody>{rows}</tbody></table>")


def _files(label: str, names: list[str], css: str) -> str:
    return f'<p class="{css}" dir="auto">{esc(label)}: {esc(", ".join(names))}</p>' if names else ""


def report_html(result: Any) -> str:
    """An ingest result for people: what was added or replaced, what was already indexed, and each
    refused file with its reason."""
    seconds = getattr(result, "seconds", None)
    chunks = getattr(result, "chunks", None)
    if chunks is None:
        summary = result.summary()
    else:
        counts = [f"{len(v)} {k}" for k, v in (("added", result.added), ("replaced", result.replaced),
                                                ("already indexed", result.unchanged),
                                                ("not added", result.skipped)) if v]
        summary = f"{', '.join(counts) or 'nothing to add'}; {chunks} new passages in {seconds or 0:.1f}s"
    parts = [f'<p class="qa-report-summary">{esc(summary)}</p>',
             _files("Added", list(result.added), "qa-report-added"),
             _files("Replaced (new version)", list(getattr(result, "replaced", [])), "qa-report-replaced"),
             _files("Already indexed (same content)", list(getattr(result, "unchanged", [])), "qa-report-unchanged")]
    parts += [f'<p class="qa-report-error" dir="auto"><b>{esc(name)}</b>: {esc(reason)}</p>'
              for name, reason in result.skipped]
    return f'<div class="qa-report">{"".join(parts)}</div>'


def _progress(job: Any) -> str:
    """The one progress bar of a running job, with passages embedded and the time left."""
    if job.state == "queued":  # a bar too: an upload's first report is drawn before the worker takes it
        return ('<progress aria-label="Queued"></progress>'
                '<p class="qa-job-line">Queued: it starts when the upload before it, if any, has finished…</p>')
    if not job.chunks_total:
        return '<progress aria-label="Reading the files"></progress><p class="qa-job-line">Reading the files…</p>'
    eta = job.eta_seconds()
    left = f" · about {eta:.0f} s left" if eta is not None else ""
    stopping = " · cancelling…" if job.cancel_requested else ""
    return (f'<progress max="{job.chunks_total}" value="{job.chunks_embedded}" aria-label="Embedding passages">'
            f'</progress><p class="qa-job-line">Embedding {job.chunks_embedded}/{job.chunks_total} passages'
            f"{left}{stopping}</p>")


def job_html(job: Any) -> str:
    """One job: its progress while it runs, then its outcome."""
    names = ", ".join(f.file for f in job.files)
    head = f'<p class="qa-job-line" dir="auto">{esc(names)}</p>'
    if job.state == "done" and job.result is not None:
        body = report_html(job.result)
    elif job.state == "cancelled":
        body = '<p class="qa-report-summary">Upload cancelled: nothing of it was added.</p>'
    elif job.state == "failed":
        body = f'<p class="qa-report-error">The upload failed: {esc(job.message or "see the server log")}</p>'
    elif job.state == "interrupted":
        body = f'<p class="qa-report-error">The upload was interrupted: {esc(job.message or "")}</p>'
    else:
        body = _progress(job)
    return f'<div class="qa-job qa-job-{esc(job.state)}" data-job="{esc(job.id)}">{head}{body}</div>'


def jobs_html(jobs: list[Any]) -> str:
    """This session's recent jobs, newest first."""
    return "".join(job_html(j) for j in jobs)


def removed_html(gone: list[dict[str, Any]]) -> str:
    names = ", ".join(d["title"][:60] for d in gone)
    return f'<p class="qa-report-summary" dir="auto">Removed: {esc(names)}</p>'
