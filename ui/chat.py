"""The Chat tab: the conversation, the question box, the sources panel, and their callbacks.

The conversations live in the browser (``gr.BrowserState``: local storage, so they survive a
reload and a server restart) as a ``conversations`` store; every callback takes the store and
returns a new one, and the HTML is rendered from it by ``render`` and ``sources``. Callbacks are
module-level functions of the ``Assistant`` (bound with ``functools.partial``), each testable on
its own; ``ask`` and ``regenerate`` yield ``respond(...)`` for each draft and answer that
``chat_answer.answer_stream`` yields. ``gradio_client`` gets ``/ask`` (``chat_answer.ask_api``).
Out of scope: asking (``chat_answer``), the page and the settings (``app``), documents (``documents``).
"""

from __future__ import annotations

from functools import partial
from pathlib import Path
from typing import Any, NamedTuple

import gradio as gr

from qa import Assistant
from qa.assistant import MAX_QUESTION_CHARS

from . import conversations as convs
from . import render, sources
from .chat_answer import answer_stream, ask_api, settings_of

# Encrypts nothing worth hiding (the browser's own data): fixed, so saved chats survive a restart.
STORE_SECRET = "qa-local-conversations"
STORE_KEY = "qa-conversations"
IDLE_JS = "() => document.getElementById('qa-chat-col').classList.remove('qa-busy')"


class ChatView(NamedTuple):
    store: Any
    log: Any
    panel: Any
    question: Any
    send: Any
    stop: Any
    regenerate: Any
    new: Any
    history: Any
    scope: Any
    resume: Any


def respond(store: dict[str, Any], asked: bool = True) -> tuple:
    """The outputs of every chat callback: log, panel, store, question box (emptied once asked, else
    left as it is: a page that restores its chat must not wipe what is being typed), history list."""
    turns = convs.turns(store)
    return (render.chat_html(turns), sources.panel_html(turns), store, "" if asked else gr.skip(),
            gr.update(choices=convs.choices(store), value=store["current"] if turns else None))


def ask(assistant: Assistant, question: str, k: float, mode: str, lang: str, doc_ids: list[str] | None,
        store: dict | None):
    """Answer ``question`` in the current conversation (each draft, then the answer)."""
    if not (question or "").strip():
        yield (gr.skip(),) * 5
        return
    store = convs.valid(store)
    settings = settings_of(k, mode, lang, doc_ids)
    for answer in answer_stream(assistant, question, settings, convs.turns(store)):
        yield respond(convs.add_turn(store, question, settings, answer))


def regenerate(assistant: Assistant, k: float, mode: str, lang: str, doc_ids: list[str] | None,
               store: dict | None):
    """Ask the last question again (with the current settings), replacing its answer."""
    store, last = convs.drop_last(convs.valid(store))
    if last is None:
        yield respond(store, asked=False)
        return
    settings = settings_of(k, mode, lang, doc_ids)
    for answer in answer_stream(assistant, last["question"], settings, convs.turns(store)):
        yield respond(convs.add_turn(store, last["question"], settings, answer))


def resume_stream() -> None:
    """A queued no-op that the page sends while an answer is overdue (``static/chat.js``).

    Gradio's client loses the reply to an event sent just as the event stream of an earlier event
    closes: it sees the stream still open, so it opens none, and the reply waits on the server.
    Any new queued event makes it open a stream, which delivers what was waiting.
    """


def scope_choices(assistant: Assistant) -> list[tuple[str, str]]:
    docs = sorted(assistant.documents(), key=lambda d: d.get("added", ""), reverse=True)
    return [(f"{d['title'][:60]} · {Path(d['path']).name}", d["id"]) for d in docs]


def restore(assistant: Assistant, store: dict | None):
    """On page load: the saved current conversation, the history list, the document choices, and
    then only the question box (a question asked before would be overwritten by the restored chat)."""
    store = convs.valid(store)
    doc_ids = convs.current(store).get("doc_ids") or []
    log, panel, store, _, history = respond(store, asked=False)
    return log, panel, store, gr.update(interactive=True), history, gr.update(choices=scope_choices(assistant),
                                                                             value=doc_ids)


def new_chat(assistant: Assistant, store: dict | None):
    store = convs.start_new(convs.valid(store))
    return (*respond(store, asked=False), gr.update(choices=scope_choices(assistant), value=[]))


def open_conversation(assistant: Assistant, conversation_id: str | None, store: dict | None):
    store = convs.valid(store)
    if conversation_id:
        store = convs.switch(store, conversation_id)
    doc_ids = convs.current(store).get("doc_ids") or []
    return (*respond(store, asked=False), gr.update(choices=scope_choices(assistant), value=doc_ids))


def change_scope(doc_ids: list[str] | None, store: dict | None) -> dict:
    return convs.set_scope(convs.valid(store), doc_ids)


def saved_conversations() -> Any:
    """The browser's store of conversations (create it outside ``gr.Tabs``)."""
    return gr.BrowserState(convs.new_store(), storage_key=STORE_KEY, secret=STORE_SECRET)


def layout(store: Any, history: Any) -> ChatView:
    """The tab's components; call inside ``gr.Tabs``. The settings and the ``history`` list of past
    conversations are the sidebar's (``app``)."""
    with gr.Tab("Chat", id="chat"), gr.Row(equal_height=False, elem_id="qa-chat-row"):
        with gr.Column(scale=3, elem_id="qa-chat-col"):
            with gr.Row(elem_id="qa-chat-bar"):
                new = gr.Button("New chat", elem_id="qa-new", size="sm", scale=0, min_width=90)
                scope = gr.Dropdown([], value=[], multiselect=True, label="Only these documents (this chat; "
                                    "empty: all)", elem_id="qa-scope", scale=4)
            log = gr.HTML(render.chat_html([]), elem_id="qa-chat", js_on_load=None)
            with gr.Row(elem_id="qa-input-row"):
                question = gr.Textbox(label="Your question · سؤالك", show_label=False, elem_id="qa-input",
                                      placeholder="Your question · سؤالك   (Enter: send · Shift+Enter: new line)",
                                      lines=1, max_lines=6, scale=5, max_length=MAX_QUESTION_CHARS, autofocus=True,
                                      interactive=False)
                send = gr.Button("Ask", variant="primary", elem_id="qa-send", scale=0, min_width=70)
                stop = gr.Button("Stop", variant="stop", elem_id="qa-stop", scale=0, min_width=70)
                regenerate_btn = gr.Button("Regenerate", elem_id="qa-regenerate", scale=0, min_width=70,
                                           elem_classes=["qa-hidden-control"])
                resume = gr.Button("Resume", elem_id="qa-resume", elem_classes=["qa-hidden-control"])
        with gr.Column(scale=2, min_width=320, elem_id="qa-sources-col"):
            gr.HTML('<h3 class="qa-panel-title">Sources · المصادر</h3>', js_on_load=None)
            panel = gr.HTML(sources.panel_html([]), elem_id="qa-sources", js_on_load=None)
    return ChatView(store, log, panel, question, send, stop, regenerate_btn, new, history, scope, resume)


def wire(assistant: Assistant, view: ChatView, k: Any, mode: Any, lang: Any, demo: gr.Blocks) -> None:
    """Connect the chat's events (``k``, ``mode``, ``lang``: the sidebar's settings)."""
    outputs = [view.log, view.panel, view.store, view.question, view.history]
    settings = [k, mode, lang, view.scope]
    # The column's qa-busy class shows Stop instead of Ask while an answer is on its way (static/chat.css).
    busy = dict(js="(...a) => { document.getElementById('qa-chat-col').classList.add('qa-busy'); return a; }")
    idle = dict(fn=None, js=IDLE_JS, api_visibility="private")
    asks = []
    for trigger in (view.question.submit, view.send.click):
        event = trigger(partial(ask, assistant), inputs=[view.question, *settings, view.store], outputs=outputs,
                        api_visibility="private", concurrency_limit=4, **busy)
        event.then(**idle)
        asks.append(event)
    again = view.regenerate.click(partial(regenerate, assistant), inputs=[*settings, view.store], outputs=outputs,
                                  api_visibility="private", concurrency_limit=4, **busy)
    again.then(**idle)
    view.stop.click(None, cancels=[*asks, again], js=IDLE_JS, api_visibility="private")
    view.resume.click(resume_stream, api_visibility="private", show_progress="hidden", concurrency_limit=None)
    view.new.click(partial(new_chat, assistant), inputs=view.store, outputs=[*outputs, view.scope],
                   api_visibility="private", queue=False)
    view.history.input(partial(open_conversation, assistant), inputs=[view.history, view.store],
                       outputs=[*outputs, view.scope], api_visibility="private", queue=False)
    view.scope.input(change_scope, inputs=[view.scope, view.store], outputs=view.store, api_visibility="private",
                     queue=False)
    demo.load(partial(restore, assistant), inputs=view.store, outputs=[*outputs, view.scope],
              api_visibility="private", queue=False)

    def api(question: str, k: int = 5, mode: str = "hybrid", lang: str = "all",
            doc_ids: list[str] | None = None, history: list[dict] | None = None) -> dict:
        return ask_api(assistant, question, k, mode, lang, doc_ids, history)

    api.__doc__ = ask_api.__doc__
    gr.api(api, api_name="ask", concurrency_limit=4)
