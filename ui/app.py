"""The Gradio page: a settings sidebar (with past conversations), the Chat tab (``chat``) and the
Documents tab (``documents``).

Settings: passages to retrieve (k, one bounded slider), the retrieval mode (with a note in BM25
mode that it matches the question's words in its own language) and the passage language. The
sidebar starts closed on a narrow screen (``static/chat.js``). Out of scope: the HTTP API, access
control and limits (``server``); the conversation's own callbacks (``chat``).
"""

from __future__ import annotations

import gradio as gr

from qa.retrieve import MODES

from . import chat, documents
from .jobs import JobQueue
from .library import Library

# System fonts instead of the default theme's Source Sans Pro and IBM Plex Mono files: four font
# downloads fewer before the first paint, and neither font has Arabic letters anyway.
THEME = gr.themes.Default(font=["system-ui", "Segoe UI", "Noto Sans", "Arial", "sans-serif"],
                          font_mono=["ui-monospace", "DejaVu Sans Mono", "monospace"])
LANGS = [("All languages", "all"), ("العربية (ar)", "ar"), ("English (en)", "en")]
K_MIN, K_MAX, K_DEFAULT = 1, 20, 5
BM25_NOTE = ("BM25 matches the words of the question in its own language: an English question finds no "
             "Arabic passage (and the other way round). Use hybrid or dense to ask across languages.")


def mode_note(mode: str) -> str:
    """The BM25 note, shown only in BM25 mode (the browser runs the same rule: ``MODE_NOTE_JS``)."""
    return BM25_NOTE if mode == "bm25" else ""


MODE_NOTE_JS = "(mode) => mode === 'bm25' ? " + repr(BM25_NOTE) + " : ''"


def build(library: Library, jobs: JobQueue | None = None) -> gr.Blocks:
    """The page over ``library``; uploads become jobs of ``jobs`` (a queue of its own if None)."""
    assistant = library.assistant
    jobs = jobs or JobQueue(library)
    with gr.Blocks(title="qa — ask your documents", analytics_enabled=False, fill_width=True,
                   delete_cache=(3600, 3600)) as demo:
        store = chat.saved_conversations()
        with gr.Sidebar(label="Settings", open=True, elem_id="qa-settings"):
            gr.Markdown("### Settings")
            k = gr.Slider(K_MIN, K_MAX, value=K_DEFAULT, step=1, label="Passages to retrieve (k)", elem_id="qa-k")
            mode = gr.Radio(list(MODES), value="hybrid", label="Retrieval mode", elem_id="qa-mode")
            note = gr.Markdown("", elem_id="qa-bm25-note")
            lang = gr.Radio(LANGS, value="all", label="Passage language", elem_id="qa-lang")
            history = gr.Radio([], label="Past conversations", elem_id="qa-history")
            status = gr.Markdown(documents.status(library), elem_id="qa-status")
            gr.Markdown(f"Answers by: `{assistant.generator_name}`", elem_id="qa-generator")
            gr.Markdown("[HTTP API docs](/docs) · answers cite their sources: click **[n]**")
        gr.Markdown("## Ask your documents · اسأل وثائقك", elem_id="qa-header")
        with gr.Tabs():
            view = chat.layout(store, history)
            docs = documents.layout(library)
        mode.change(None, inputs=mode, outputs=note, js=MODE_NOTE_JS, api_visibility="private")
        chat.wire(assistant, view, k, mode, lang, demo)
        documents.wire(library, jobs, docs, status, demo)
    return demo
