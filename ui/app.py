"""The Gradio page: a Chat tab (conversation, sources panel, settings sidebar) and a Documents tab.

Each browser session keeps its own conversation in a ``gr.State`` (question, answer and settings per
turn); the chatbot and the sources panel are rendered from it by ``render``. Follow-up questions
pass the previous turns to ``Assistant.ask`` as history. The chat is also served to
``gradio_client`` as ``/ask``. Out of scope: the HTTP API, access control and limits (``server``).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import gradio as gr

from qa.assistant import MAX_QUESTION_CHARS
from qa.retrieve import MODES

from . import render
from .library import SUFFIXES, Library, human_bytes

LANGS = [("All languages", "all"), ("العربية (ar)", "ar"), ("English (en)", "en")]
EXAMPLES = ["How many participants attended the forum?", "كم عدد المشاركين في المنتدى؟",
            "ما هو شعار المنتدى؟", "Who organised the forum?"]
HISTORY_TURNS = 3


def _history(conversation: list[dict[str, Any]]) -> list[dict[str, str]]:
    turns = []
    for t in conversation[-HISTORY_TURNS:]:
        turns += [{"role": "user", "content": t["question"]}, {"role": "assistant", "content": t["answer"]["text"]}]
    return turns


def build(library: Library) -> gr.Blocks:
    assistant = library.assistant

    def ask(question: str, k: float, mode: str, lang: str, conversation: list | None):
        """Answer ``question`` in this session's conversation; returns the chat, the sources and ''."""
        conversation = list(conversation or [])
        if not (question or "").strip():
            return render.messages(conversation), render.sources_html(conversation), conversation, ""
        langs = None if lang in (None, "", "all") else (lang,)
        try:
            answer = assistant.ask(question, history=_history(conversation), k=int(k), mode=mode, langs=langs)
        except ValueError as e:
            raise gr.Error(str(e)) from e
        settings = f"{mode} · k={int(k)} · {lang if langs else 'all languages'}"
        conversation.append({"question": question, "answer": answer.to_dict(), "settings": settings})
        return render.messages(conversation), render.sources_html(conversation), conversation, ""

    def ask_example(evt: gr.SelectData, k: float, mode: str, lang: str, conversation: list | None):
        value = evt.value if isinstance(evt.value, dict) else {"text": str(evt.value)}
        return ask(str(value.get("text", "")), k, mode, lang, conversation)

    def clear():
        return [], render.sources_html([]), []

    def doc_views():
        docs = library.documents()
        choices = [(f"{d['title'][:70]} · {d['lang']} · {d['id']}", d["id"]) for d in docs]
        return render.documents_html(docs), gr.update(choices=choices, value=None), _status()

    def upload(files: list[str] | None, progress=gr.Progress()):  # noqa: B008 - Gradio's idiom
        if not files:
            return (*doc_views()[:2], "", None)
        progress(0, desc="Storing the files")

        def step(done: int, total: int) -> None:
            progress(done / max(total, 1), desc=f"Embedding {done}/{total} passages")

        named = [(Path(f).name, Path(f)) for f in files]
        result = library.add(named, progress=step)
        for f in files:  # Gradio's temporary copy; ours is in the index's uploads folder
            Path(f).unlink(missing_ok=True)
        return (*doc_views()[:2], render.report_html(result), None)

    def remove(doc_id: str | None):
        if not doc_id:
            raise gr.Error("Choose a document to remove first.")
        try:
            gone = library.remove(doc_id)
        except KeyError as e:
            raise gr.Error(f"No document with id {doc_id}: it may have been removed already.") from e
        table, choices, _ = doc_views()
        names = ", ".join(d["title"][:60] for d in gone)
        return table, choices, f'<p class="qa-report-summary" dir="auto">Removed: {render.esc(names)}</p>'

    def _status() -> str:
        i = library.info()
        plural = lambda n, word: f"{n} {word}{'' if n == 1 else 's'}"  # noqa: E731
        return f"{plural(i['documents'], 'document')} · {plural(i['chunks'], 'passage')} · embedder {i['embedder']}"

    with gr.Blocks(title="qa — ask your documents", analytics_enabled=False, fill_width=True,
                   delete_cache=(3600, 3600)) as demo:
        conversation = gr.State([])
        with gr.Sidebar(label="Settings", open=True, elem_id="qa-settings"):
            gr.Markdown("### Settings")
            k = gr.Slider(1, 20, value=5, step=1, label="Passages to retrieve (k)", elem_id="qa-k")
            mode = gr.Radio(list(MODES), value="hybrid", label="Retrieval mode", elem_id="qa-mode")
            lang = gr.Radio(LANGS, value="all", label="Passage language", elem_id="qa-lang")
            status = gr.Markdown(_status(), elem_id="qa-status")
            gr.Markdown("[HTTP API docs](/docs) · answers cite their sources: click **[n]**")
        gr.Markdown("## Ask your documents · اسأل وثائقك", elem_id="qa-header")
        with gr.Tabs():
            with gr.Tab("Chat", id="chat"), gr.Row(equal_height=False):
                with gr.Column(scale=3):
                    chat = gr.Chatbot(
                        elem_id="qa-chat", height=560, label="Conversation", buttons=["copy", "copy_all"],
                        examples=[{"text": q} for q in EXAMPLES], sanitize_html=True,
                        placeholder="Ask a question in Arabic or English · اسأل بالعربية أو بالإنجليزية")
                    with gr.Row():
                        question = gr.Textbox(show_label=False, placeholder="Your question · سؤالك", elem_id="qa-input",
                                              scale=5, max_length=MAX_QUESTION_CHARS, autofocus=True)
                        send = gr.Button("Ask", variant="primary", elem_id="qa-send", scale=1, min_width=80)
                with gr.Column(scale=2, min_width=320):
                    gr.Markdown("### Sources")
                    sources = gr.HTML(render.sources_html([]), elem_id="qa-sources", js_on_load=None)
            with gr.Tab("Documents", id="documents") as docs_tab:
                files = gr.File(label=f"Add documents ({' '.join(SUFFIXES)}; up to "
                                      f"{human_bytes(library.max_upload_bytes)} each)",
                                file_count="multiple", file_types=list(SUFFIXES), type="filepath",
                                elem_id="qa-upload", height=140)
                report = gr.HTML("", elem_id="qa-report", js_on_load=None)
                table = gr.HTML(render.documents_html([]), elem_id="qa-docs", js_on_load=None)
                with gr.Row():
                    doc = gr.Dropdown([], label="Document to remove", elem_id="qa-doc-select", scale=4)
                    remove_btn = gr.Button("Remove", variant="stop", elem_id="qa-remove", scale=1)

        chat_io = dict(inputs=[question, k, mode, lang, conversation], outputs=[chat, sources, conversation, question])
        question.submit(ask, **chat_io, api_name="ask", concurrency_limit=4)
        send.click(ask, **chat_io, api_visibility="private", concurrency_limit=4)
        chat.example_select(ask_example, inputs=[k, mode, lang, conversation],
                            outputs=[chat, sources, conversation, question], api_visibility="private")
        chat.clear(clear, outputs=[chat, sources, conversation], api_visibility="private")
        files.upload(upload, inputs=files, outputs=[table, doc, report, files], api_visibility="private",
                     concurrency_limit=1).then(_status, outputs=status, api_visibility="private")
        remove_btn.click(remove, inputs=doc, outputs=[table, doc, report], api_visibility="private",
                         concurrency_limit=1).then(_status, outputs=status, api_visibility="private")
        docs_tab.select(doc_views, outputs=[table, doc, status], api_visibility="private")
        demo.load(doc_views, outputs=[table, doc, status], api_visibility="private")
    return demo
