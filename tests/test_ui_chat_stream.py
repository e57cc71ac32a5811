"""The web chat with a language model, in Chromium: the model's text appears in parts as it streams,
then the verified answer replaces it (with the removed sentence named), and its citations are
clickable and highlight their span. The model is a scripted OpenAI-compatible server that streams
one word every 0.25 s (tests/llm_fake.py); the real llama.cpp server is tests/test_llm_real.py's."""

from __future__ import annotations

import pytest

import ui  # noqa: F401 - first: keeps Gradio from phoning home
from qa import Assistant
from qa.answer.generators import GeneratorSettings, get_generator
from tests.browsing import TIMEOUT
from tests.llm_fake import FakeLLM
from tests.serving import running_server, seed_index

pytestmark = [pytest.mark.browser, pytest.mark.filterwarnings("ignore::Warning:gradio.queueing")]
REPLY = "More than 150 high-level participants attended the forum [1]. The forum had 900 guests [1]."


@pytest.fixture(scope="module")
def base(tmp_path_factory):
    from ui.server import create_app

    with FakeLLM(REPLY, piece_seconds=0.25) as fake:
        index = seed_index(tmp_path_factory.mktemp("ui-stream")).index
        assistant = Assistant(index, generator=get_generator(fake.spec(), GeneratorSettings(timeout=60)))
        with running_server(create_app(assistant)) as url:
            yield url


def test_a_streamed_answer_appears_in_parts_then_the_verified_answer_with_clickable_citations(browser, base):
    from playwright.sync_api import expect

    context = browser.new_context(viewport={"width": 1366, "height": 900})
    page = context.new_page()
    page.set_default_timeout(TIMEOUT * 3)
    page.goto(base)
    expect(page.locator("#qa-generator")).to_contain_text("openai:fake@http://127.0.0.1:")
    box = page.locator("#qa-input textarea")
    box.fill("How many participants attended the forum?")
    box.press("Enter")
    draft = page.locator("#qa-chat .qa-bot.qa-streaming")
    expect(draft).to_contain_text("not yet checked against the sources")
    first = draft.locator(".qa-para").inner_text()
    assert first and REPLY.startswith(first.strip()) and len(first.strip()) < len(REPLY)
    page.wait_for_function(  # a longer part of the same text follows: the draft grows as the model writes
        "n => { const p = document.querySelector('#qa-chat .qa-streaming .qa-para'); "
        "return p && p.innerText.trim().length > n; }", arg=len(first.strip()))
    answer = page.locator("#qa-chat .qa-bot.qa-answered")
    expect(answer).to_be_visible()
    expect(page.locator("#qa-chat .qa-streaming")).to_have_count(0)
    expect(answer.locator(".qa-para")).to_have_text("More than 150 high-level participants attended the forum. [1]")
    expect(answer.locator(".qa-removed li")).to_have_text(["The forum had 900 guests."])
    expect(answer.locator(".qa-gen-note")).to_contain_text("1 sentence(s) of the generated answer were removed")
    answer.locator("a.qa-cite", has_text="[1]").click()
    mark = page.locator("#qa-src-1-1 mark")
    expect(mark).to_be_visible()
    expect(mark).to_contain_text("150")
    context.close()
