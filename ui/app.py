"""The Gradio page: a Chat tab (conversation, sources panel, settings sidebar) and the Documents tab
(``documents``).

Each browser session keeps its own conversation in a ``gr.State`` (question, answer and settings per
turn); the chatbot and the sources panel are rendered from it by ``render``. Follow-up questions
pass the previous turns to ``Assistant.ask`` as history. The chat is also served to
``gradio_client`` as ``/ask``. Out of scope: the HTTP API, access control and limits (``server``).
"""

from __future__ import annotations

from typing import Any

import gradio as gr

from qa.assistant import MAX_QUESTION_CHARS
from qa.retrieve import MODES

from . import documents, render
from .jobs import JobQueue
from .library import Library

LANGS = [("All languages", "all"), ("العربية (ar)", "ar"), ("English (en)", "en")]
EXAMPLES = ["How many participants attended the forum?", "كم عدد المشاركين في المنتدى؟",
            "ما هو شعار المنتدى؟", "Who organised the forum?"]
HISTORY_TURNS = 3


def _history(conversation: list[dict[str, Any]]) -> list[dict[str, str]]:
    turns = []
    for t in conversation[-HISTORY_TURNS:]:
        turns += [{"role": "user", "content": t["question"]}, {"role": "assistant", "content": t["answer"]["text"]}]
    return turns


def build(library: Library, jobs: JobQueue | None = None) -> gr.Blocks:
    """The page over ``library``; uploads become jobs of ``jobs`` (a queue of its own if None)."""
    assistant = library.assistant
    jobs = jobs or JobQueue(library)

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

    with gr.Blocks(title="qa — ask your documents", analytics_enabled=False, fill_width=True,
                   delete_cache=(3600, 3600)) as demo:
        conversation = gr.State([])
        with gr.Sidebar(label="Settings", open=True, elem_id="qa-settings"):
            gr.Markdown("### Settings")
            k = gr.Slider(1, 20, value=5, step=1, label="Passages to retrieve (k)", elem_id="qa-k")
            mode = gr.Radio(list(MODES), value="hybrid", label="Retrieval mode", elem_id="qa-mode")
            lang = gr.Radio(LANGS, value="all", label="Passage language", elem_id="qa-lang")
            status = gr.Markdown(documents.status(library), elem_id="qa-status")
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
            docs = documents.layout(library)

        chat_io = dict(inputs=[question, k, mode, lang, conversation], outputs=[chat, sources, conversation, question])
        question.submit(ask, **chat_io, api_name="ask", concurrency_limit=4)
        send.click(ask, **chat_io, api_visibility="private", concurrency_limit=4)
        chat.example_select(ask_example, inputs=[k, mode, lang, conversation],
                            outputs=[chat, sources, conversation, question], api_visibility="private")
        chat.clear(clear, outputs=[chat, sources, conversation], api_visibility="private")
        documents.wire(library, jobs, docs, status, demo)
    return demo
