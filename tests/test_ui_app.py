"""The web chat's pieces without a server: HTML rendering, the chat callback. Upload names and storage:
tests/test_ui_library.py."""

from __future__ import annotations

import io
import json
import re
from pathlib import Path

import pytest

import ui  # noqa: F401 - first: sets the environment that keeps Gradio from phoning home
from tests.serving import seed_index
from ui import documents, plain, render, sources
from ui.library import Library


@pytest.fixture(scope="module")
def library(tmp_path_factory):
    return Library(seed_index(tmp_path_factory.mktemp("ui-app")), max_upload_bytes=10_000)


SENTENCE = "وعرف <b>هذا</b> المنتدى 150 مشارك."
PASSAGE = "قبل " + SENTENCE + " بعد <script>alert(1)</script>"
ANSWER = {
    "question": "q", "text": f"The documents answer this in Arabic:\n{SENTENCE} [1] [7]",
    "language": "en", "abstained": False, "cross_lingual": True, "timings": {"total_ms": 12.5},
    "citations": [{"n": 1, "doc_id": "d", "title": "<i>title</i>", "path": "/x/<y>.txt", "chunk_id": "c",
                   "lang": "ar", "sentence": SENTENCE, "start": 14, "end": 14 + len(SENTENCE),
                   "passage_start": 10, "passage_end": 10 + len(PASSAGE), "score": 0.83}],
    "passages": [{"rank": 1, "score": 0.5, "dense": 0.8, "chunk": {
        "id": "c", "doc_id": "d", "path": "/x/<y>.txt", "title": "<i>title</i>", "lang": "ar", "text": PASSAGE,
        "start": 10, "end": 10 + len(PASSAGE), "sentences": [[14, 14 + len(SENTENCE)]]}}],
}


def test_answer_html_escapes_links_cited_markers_and_isolates_each_sentence():
    out = render.answer_html({"question": "q", "answer": ANSWER, "settings": {}}, 3)
    assert "<b>" not in out and "&lt;b&gt;" in out
    assert out.count('class="qa-cite"') == 1 and 'data-turn="3" data-n="1"' in out and "[7]" in out
    assert out.startswith('<div class="qa-msg qa-bot qa-answered" id="qa-answer-3" data-turn="3" dir="ltr"')
    assert out.count('<span class="qa-sent" dir="auto">') == 2  # the intro line, then the cited sentence
    assert render.question_html("كم <script>x</script>?").startswith('<div class="qa-msg qa-user" dir="rtl">')
    assert "<script>" not in render.question_html("<script>x</script>")
    assert render.sentences("One [1]. Two, with [2][3] and three [4]") == ["One [1].", "Two, with [2][3]",
                                                                           "and three [4]"]


def test_the_short_answer_is_bold_inside_its_sentence_and_only_there():
    short = SENTENCE.index("150 مشارك")
    marked = {**ANSWER["citations"][0], "answer_start": 14 + short, "answer_end": 14 + short + len("150 مشارك")}
    out = render.answer_html({"question": "q", "answer": {**ANSWER, "citations": [marked]}, "settings": {}}, 3)
    assert out.count('<b class="qa-short">') == 1 and '<b class="qa-short">150 مشارك</b>' in out
    assert "&lt;b&gt;هذا&lt;/b&gt;" in out  # the rest of the sentence still escaped
    plain_out = render.answer_html({"question": "q", "answer": ANSWER, "settings": {}}, 3)
    assert "qa-short" not in plain_out  # no offsets, no bold
    # a generated sentence (the model's words, not the cited sentence) is never marked
    generated = {**ANSWER, "text": "The forum had 150 participants. [1]", "citations": [marked]}
    assert "qa-short" not in render.answer_html({"question": "q", "answer": generated, "settings": {}}, 3)


def test_copy_text_is_plain_with_markers_and_sources():
    turn = {"question": "<q>", "answer": ANSWER, "settings": {}}
    text = plain.turn_text(turn)
    assert text.startswith("The documents answer this in Arabic:\n") and "[1] [7]" in text
    assert "\n\nSources:\n[1] <i>title</i> — <y>.txt: \"" in text  # plain text: nothing escaped or tagged
    out = render.chat_html([turn, turn])
    assert f'data-copy="{render.esc(plain.conversation_text([turn, turn]))}"' in out
    assert plain.conversation_text([turn]).startswith("Q: <q>\nA: The documents")
    api = plain.api_answer(ANSWER)
    assert api["citations"][0]["file"] == "<y>.txt" and "path" not in api["citations"][0]


def test_sources_show_each_passage_once_with_every_cited_sentence_and_escape_everything():
    two = {**ANSWER, "citations": [*ANSWER["citations"], {**ANSWER["citations"][0], "n": 2, "start": 10,
                                                          "end": 13, "score": 0.5, "page": 4}]}
    turn = {"question": "<q>", "answer": two, "settings": {"mode": "hybrid", "k": 5, "lang": "all"}}
    out = sources.panel_html([turn, turn])
    assert out.count('<section class="qa-turn') == 2 and out.count("qa-turn qa-active") == 1
    assert out.count('<button type="button" class="qa-turn-tab') == 2
    assert 'id="qa-src-2-1"' in out and 'dir="rtl"' in out
    section = out[out.index('id="qa-turn-2"'):]
    assert section.count("<article") == 1 and section.count("<mark") == 2 and "p. 4" in section
    assert f"{render.esc(SENTENCE)}<sup class=\"qa-hl-n\">[1]</sup></mark> بعد" in section
    assert "<script>" not in out and "&lt;script&gt;alert(1)&lt;/script&gt;" in out
    assert "<i>" not in out and "&lt;y&gt;.txt" in out and "&lt;q&gt;" in out and "12 ms" in out
    assert "/view/d?start=14&amp;end=" in out and "similarity 0.83" in out


def test_abstention_renders_closest_passages_as_insufficient_without_scores():
    abstained = {**ANSWER, "text": "لم أجد الإجابة في الوثائق.", "language": "ar", "abstained": True, "citations": []}
    msg = render.answer_html({"question": "?", "answer": abstained, "settings": {"mode": "bm25"}}, 1)
    assert "qa-abstained" in msg and 'dir="rtl"' in msg and 'class="qa-cite"' not in msg and "BM25" in msg
    out = sources.panel_html([{"question": "?", "answer": abstained, "settings": {}}])
    assert "qa-insufficient-note" in out and out.count('class="qa-src qa-insufficient"') == 1
    assert "qa-score" not in out and "#1 closest" in out
    empty = sources.panel_html([{"question": "?", "answer": {**abstained, "passages": []}, "settings": {}}])
    assert "لم يطابق" in empty


def test_documents_html_escapes():
    out = documents.documents_html([{"id": "1", "title": "<img src=x onerror=alert(1)>", "lang": "en", "chunks": 2,
                                  "added": "2025-01-02T03:04:05+00:00", "path": "/u/<b>.txt"}])
    assert "<img" not in out and "&lt;img" in out and "2025-01-02 03:04" in out and "&lt;b&gt;.txt" in out
    assert "No documents" in documents.documents_html([])


def _last(outputs):
    """The final outputs of a streaming chat callback (a generator of output tuples)."""
    *_, final = outputs
    return final


def test_chat_callbacks_keep_the_conversation_in_the_store(library):
    from ui import chat, conversations

    a = library.assistant
    log, panel, store, cleared, _ = _last(chat.ask(a, "Tell me about the Marrakech Security Forum", 5, "hybrid",
                                                   "all", None, None))
    assert cleared == "" and log.count("qa-bot") == 1 and len(conversations.turns(store)) == 1
    log, panel, store2, _, history = _last(chat.ask(a, "how many participants?", 5, "hybrid", "ar", [], store))
    assert len(conversations.turns(store2)) == 2 and len(conversations.turns(store)) == 1  # copied, not shared
    assert "150" in log and 'id="qa-turn-2"' in panel and conversations.turns(store2)[1]["settings"]["lang"] == "ar"
    assert history["choices"] == [("Tell me about the Marrakech Security Forum", store2["current"])]
    assert conversations.history(conversations.turns(store2))[0]["content"].startswith("Tell me about")
    # No server path reaches the page: every path in the browser's store is public (relative), none in the HTML.
    paths = re.findall(r'"path": "([^"]*)"', json.dumps(store2, ensure_ascii=False))
    assert paths and not [p for p in paths if Path(p).is_absolute()], paths
    assert not re.search(r'="/(tmp|home|root|work)/', log + panel)
    assert _last(chat.ask(a, "   ", 5, "hybrid", "all", None, store2))[2] is not store2  # a skip, not an update
    again = _last(chat.regenerate(a, 3, "dense", "all", None, store2))[2]
    assert len(conversations.turns(again)) == 2 and conversations.turns(again)[1]["settings"]["mode"] == "dense"
    fresh = chat.new_chat(a, again)[2]
    assert conversations.turns(fresh) == [] and len(fresh["conversations"]) == 2
    back = chat.open_conversation(a, again["current"], fresh)[2]
    assert len(conversations.turns(back)) == 2
    assert conversations.valid({"version": 0}) != back and conversations.valid(back) == back
    # A second document with participants: the same follow-up is answered by the conversation's topic
    # (this fails when the history is ignored).
    marathon = library.add([("marathon.txt", io.BytesIO(b"The Rabat Marathon\n\nThe Rabat marathon of 2023 had "
                                                        b"900 participants from twelve countries.\n"))])
    try:
        answers = {}
        for topic in ("Tell me about the Marrakech Security Forum", "Tell me about the Rabat marathon"):
            first = _last(chat.ask(a, topic, 5, "hybrid", "all", None, None))[2]
            then = _last(chat.ask(a, "how many participants?", 5, "hybrid", "all", None, first))[2]
            answers[topic] = conversations.turns(then)[-1]["answer"]["text"]
        assert "150" in answers["Tell me about the Marrakech Security Forum"], answers
        assert "900" in answers["Tell me about the Rabat marathon"], answers
        seeds = str(Path(library.documents()[-1]["path"]).parent)
        assert seeds not in str(conversations.turns(then)[-1]["answer"])  # file names only: no server path
    finally:
        library.remove(marathon.documents[0]["id"])
    import gradio as gr

    with pytest.raises(gr.Error):
        _last(chat.ask(a, "x" * 2001, 5, "hybrid", "all", None, None))
    with pytest.raises(gr.Error, match="gone"):
        _last(chat.ask(a, "forum", 5, "hybrid", "all", ["0000000000000000"], None))
    api = chat.ask_api(a, "How many participants attended the forum?")
    assert "150" in api["text"] and api["citations"][0]["n"] == 1


def test_saved_answers_are_trimmed_to_what_the_chat_shows():
    from ui import conversations

    answer = {**ANSWER, "passages": [*ANSWER["passages"], {**ANSWER["passages"][0], "chunk": {
        **ANSWER["passages"][0]["chunk"], "id": "other"}}]}
    small = conversations.compact(answer)
    assert [h["chunk"]["id"] for h in small["passages"]] == ["c"] and "sentences" not in small["passages"][0]["chunk"]


def test_a_generated_answer_shows_its_draft_state_and_the_removed_sentences_as_text():
    from ui import render

    base = {"question": "q", "settings": {}}
    draft = render.answer_html({**base, "answer": {"text": "More than 150 [1", "language": "en", "abstained": False,
                                                   "citations": [], "passages": [], "streaming": True}}, 1)
    assert "qa-streaming" in draft and "not yet checked against the sources" in draft and "qa-cite" not in draft
    final = render.answer_html({**base, "answer": {**ANSWER, "notice": "1 sentence(s) ... removed",
                                                   "unsupported": ["<script>alert(1)</script> 900 guests."]}}, 1)
    assert "qa-gen-note" in final and "<script>" not in final and "&lt;script&gt;alert(1)&lt;/script&gt; 900" in final
    assert "qa-gen-note" not in render.answer_html({**base, "answer": ANSWER}, 1)
