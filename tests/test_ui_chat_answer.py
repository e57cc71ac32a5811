"""ui/chat_answer.py, one function at a time, on the real seed index: the settings a turn is asked
with, a conversation's document scope, the stream of drafts then the public answer (extractive and
with a model served over HTTP by tests/llm_fake.py), and gradio_client's /ask answer."""

from __future__ import annotations

from pathlib import Path

import gradio as gr
import pytest

import ui  # noqa: F401 - first: keeps Gradio from phoning home
from qa import Assistant
from qa.answer.generators import GeneratorSettings, get_generator
from tests.llm_fake import FakeLLM
from ui import chat_answer

REPLY = "More than 150 high-level participants attended the forum [1]."


def settings(**over) -> dict:
    return {**chat_answer.settings_of(5, "hybrid", "all", None), **over}


def test_settings_are_plain_values_with_all_languages_for_an_empty_choice():
    assert chat_answer.settings_of(7.0, "dense", "", ("a", "b")) == {
        "k": 7, "mode": "dense", "lang": "all", "doc_ids": ["a", "b"]}


def test_scope_keeps_the_documents_that_still_exist_and_fails_when_none_is_left(seed_assistant):
    seed = seed_assistant.documents()[0]["id"]
    assert chat_answer.scope(seed_assistant, None) is None and chat_answer.scope(seed_assistant, []) is None
    assert chat_answer.scope(seed_assistant, ["0000000000000000", seed]) == (seed,)
    with pytest.raises(gr.Error, match="gone"):
        chat_answer.scope(seed_assistant, ["0000000000000000"])


def test_the_extractive_stream_is_one_answer_with_public_paths_only(seed_assistant):
    [answer] = chat_answer.answer_stream(seed_assistant, "How many participants attended the forum?",
                                         settings(), [])
    assert "150" in answer["text"] and answer["citations"] and not answer.get("streaming")
    folder = str(Path(seed_assistant.documents()[0]["path"]).parent)
    assert folder not in str(answer)  # no server path reaches the page


def test_a_language_filter_with_no_passage_in_it_abstains(seed_assistant):
    [answer] = chat_answer.answer_stream(seed_assistant, "How many participants attended the forum?",
                                         settings(lang="en"), [])  # the seed article is Arabic only
    assert answer["abstained"] and not answer["citations"]


def test_a_domain_error_becomes_a_message_on_the_page(seed_assistant):
    with pytest.raises(gr.Error, match="2000|long"):
        list(chat_answer.answer_stream(seed_assistant, "x" * 2001, settings(), []))


def test_a_model_answer_streams_drafts_then_the_verified_answer(seed_assistant, monkeypatch):
    monkeypatch.setattr(chat_answer, "DRAFT_EVERY_S", 0.0)  # every piece is drawn
    with FakeLLM(REPLY) as fake:
        generated = Assistant(seed_assistant.index, generator=get_generator(fake.spec(), GeneratorSettings(timeout=60)))
        items = list(chat_answer.answer_stream(generated, "How many participants attended the forum?", settings(), []))
    *drafts, final = items
    assert drafts and all(d["streaming"] and not d["citations"] for d in drafts)
    assert [len(d["text"]) for d in drafts] == sorted(len(d["text"]) for d in drafts)  # each draft grows
    assert REPLY.startswith(drafts[-1]["text"].strip()[:20])
    assert not final.get("streaming") and final["citations"] and "150" in final["text"]


def test_the_draft_is_marked_unchecked_in_the_questions_language():
    draft = chat_answer.draft_answer("كم عدد المشاركين؟", "أكثر من")
    assert draft == {"text": "أكثر من", "language": "ar", "abstained": False, "citations": [], "passages": [],
                     "streaming": True}


def test_ask_api_gives_plain_text_structured_citations_and_the_sources(seed_assistant):
    api = chat_answer.ask_api(seed_assistant, "How many participants attended the forum?")
    assert "[1]" in api["text"] and api["citations"][0]["n"] == 1 and "150" in api["text"]
    assert "[1]" in api["sources_text"]
    with pytest.raises(gr.Error):
        chat_answer.ask_api(seed_assistant, "   ")
