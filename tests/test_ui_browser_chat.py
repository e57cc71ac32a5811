"""The chat of issue 10 in Debian's Chromium, at 1366x900 and 390x844, with every request that
does not go to this machine blocked: plain-text copies, per-sentence direction, the phone layout,
the sources panel, saved conversations, settings and the document viewer (/docs, keyboard and screen
readers, and the queue watcher have their own modules: test_ui_apidocs, test_ui_browser_a11y,
test_ui_browser_queue). One server for the module, over the seed, an English note and a PDF.
With QA_SCREENSHOTS=1 the phone screenshots are saved under docs/screenshots/.
"""

from __future__ import annotations

import re
import shutil
import time

import pytest

import ui  # noqa: F401 - first: sets the environment that keeps Gradio from phoning home
from tests.browsing import DESKTOP, PHONE, ask, chat_page, offline_chat, open_context, read_clipboard, shot
from tests.conftest import SEEDS
from tests.sentence_layout import edges, marker_side
from tests.serving import running_server
from tests.test_pdf import harbour_pdf
from ui import render

pytestmark = [pytest.mark.browser, pytest.mark.filterwarnings("ignore::Warning:gradio.queueing")]
OWL = ("The Blue Owl Library\n\nThe Blue Owl Library opened in 1998 in Tangier. It lends 4,200 books every month "
       "to its readers. The library has a reading room for children. The Blue Owl Library opened a second branch "
       "in Tangier in 2005.\n")
SLOW = "slowly: "


class SlowAssistant:
    """The real assistant; a question starting with ``SLOW`` waits first, so that Stop can be pressed."""

    def __init__(self, assistant):
        self._assistant = assistant

    def __getattr__(self, name):
        return getattr(self._assistant, name)

    def ask(self, question, *args, **kw):
        if question.startswith(SLOW):
            time.sleep(6)
        return self._assistant.ask(question, *args, **kw)

    def ask_stream(self, question, *args, **kw):  # the web chat's way in (ui.chat_answer.answer_stream)
        if question.startswith(SLOW):
            time.sleep(6)
        return self._assistant.ask_stream(question, *args, **kw)


@pytest.fixture(scope="module")
def base(tmp_path_factory):
    from qa import Assistant
    from ui.server import create_app

    folder = tmp_path_factory.mktemp("ui-chat")
    shutil.copytree(SEEDS, folder / "docs")
    (folder / "docs" / "blue_owl.txt").write_text(OWL)
    harbour_pdf(folder / "docs" / "harbour.pdf")
    assistant = SlowAssistant(Assistant.build([folder / "docs"], folder / "index"))
    with running_server(create_app(assistant)) as url:
        yield url


@pytest.fixture
def desktop(browser, base):
    yield from offline_chat(browser, base, DESKTOP)


@pytest.fixture
def phone(browser, base):
    yield from offline_chat(browser, base, PHONE)


def test_copy_gives_plain_text_with_markers_and_sources(desktop):
    from playwright.sync_api import expect

    first = ask(desktop, "How many participants attended the forum?", 1)
    first.locator("button.qa-copy").click()
    expect(first.locator("button.qa-copy")).to_have_text("Copied")
    text = read_clipboard(desktop)
    assert "<" not in text and "150" in text and "[1]" in text
    assert re.search(r"\n\nSources:\n\[1\] .+ — marrakech_security_forum_ar\.txt: \"", text), text
    ask(desktop, "Who won the 2018 World Cup?", 2)
    desktop.locator("button.qa-copy-all").click()
    everything = read_clipboard(desktop)
    assert everything.startswith("Q: How many participants attended the forum?\nA: ") and "<" not in everything
    assert "\n\nQ: Who won the 2018 World Cup?\nA: I could not find this in the documents." in everything
    assert "Closest passages (not sufficient to answer):\n#1 " in everything


def test_each_sentence_keeps_its_direction_alignment_and_order(browser, base, viewport):
    """A real cross-lingual answer in the page, then a made-up English + Arabic answer in the same CSS."""
    context, page = chat_page(browser, base, viewport)
    answer = ask(page, "How many participants attended the forum?", 1)
    intro, arabic = answer.locator(".qa-sent").nth(0), answer.locator(".qa-sent").nth(1)
    assert intro.inner_text().startswith("The documents answer this in Arabic")
    assert edges(intro)["left"] < 2 and edges(arabic)["right"] < 2  # each aligned to its own start
    assert edges(arabic)["lines"] >= 2  # so the right gap above is the last line's: it hugs the right edge
    assert marker_side(arabic) == "left"  # [1] ends the Arabic sentence, on its left
    context.close()

    english, arabic = "The forum was held in Marrakech", "وعرف هذا المنتدى حضور أزيد من 150 مشارك من 40 بلدا."
    cites = [{"n": n, "doc_id": "d", "title": "t", "path": "/d.txt", "chunk_id": f"c{n}", "sentence": s, "start": 0,
              "end": len(s), "passage_start": 0, "score": 0.9} for n, s in ((1, english), (2, arabic))]
    turn = {"question": "q", "settings": {}, "answer": {
        "text": f"{english} [1] {arabic} [2]", "language": "en", "abstained": False, "citations": cites,
        "passages": []}}
    page = browser.new_page(viewport=viewport)
    page.set_content(f"<style>{render.CSS}</style><div style='width: 360px'>{render.chat_html([turn])}</div>")
    first, second = page.locator(".qa-sent").nth(0), page.locator(".qa-sent").nth(1)
    assert first.inner_text().startswith(english[:20]) and edges(first)["top"] < edges(second)["top"]
    assert first.evaluate("e => getComputedStyle(e).direction") == "ltr" and edges(first)["left"] < 2
    assert second.evaluate("e => getComputedStyle(e).direction") == "rtl" and edges(second)["right"] < 2
    assert edges(first)["right"] > 20 and edges(second)["left"] > 20  # short lines: the gap is on the far side
    assert marker_side(first) == "right" and marker_side(second) == "left"
    page.close()


def test_phone_settings_closed_and_sources_open_under_the_message(phone):
    from playwright.sync_api import expect

    assert "open" not in phone.locator("#qa-settings").get_attribute("class")
    expect(phone.locator("#qa-input textarea")).to_be_in_viewport()
    answer = ask(phone, "How many participants attended the forum?", 1)
    expect(phone.locator("#qa-sources")).to_be_hidden()
    cite = answer.locator("a.qa-cite").first
    cite.click()
    inline = answer.locator("details.qa-inline-sources")
    expect(inline).to_have_attribute("open", "")
    mark = inline.locator('mark[data-n="1"]')
    expect(mark).to_be_in_viewport()
    expect(mark).to_contain_text("150")
    expect(answer).to_be_in_viewport()  # the click did not scroll away from the conversation
    shot(phone, "phone-answer-sources.png")
    phone.locator("#qa-settings .toggle-button").click()
    expect(phone.locator("#qa-k")).to_be_in_viewport()
    shot(phone, "phone-settings.png")


def test_sources_panel_one_entry_per_passage_named_numbers_and_older_turns(desktop):
    from playwright.sync_api import expect

    answer = ask(desktop, "When did the Blue Owl Library open in Tangier?", 1)
    expect(answer.locator("a.qa-cite")).to_have_count(2)
    turn = desktop.locator("#qa-turn-1")
    expect(turn.locator(".qa-src")).to_have_count(1)  # two citations of one passage: one entry
    expect(turn.locator("mark")).to_have_count(2)
    expect(turn.locator("mark sup")).to_have_text(["[1]", "[2]"])
    assert "cosine" in turn.locator(".qa-score").get_attribute("title")
    abstained = ask(desktop, "Who won the 2018 World Cup?", 2)
    expect(abstained).to_have_class(re.compile("qa-abstained"))
    second = desktop.locator("#qa-turn-2")
    expect(second.locator(".qa-src").first).to_contain_text("#1 closest")
    expect(second.locator(".qa-score")).to_have_count(0)  # no meaningless number on an abstention
    expect(turn).to_be_hidden()
    desktop.locator('.qa-turn-tab[data-turn="1"]').click()  # the earlier question's sources, one click away
    expect(turn).to_be_visible()
    expect(second).to_be_hidden()


def test_conversations_survive_a_reload_new_chat_and_switching(desktop):
    from playwright.sync_api import expect

    ask(desktop, "How many participants attended the forum?", 1)
    desktop.reload()
    expect(desktop.locator("#qa-answer-1")).to_contain_text("150")
    expect(desktop.locator("#qa-turn-1 mark")).to_contain_text("150")
    desktop.locator("#qa-new").click()
    expect(desktop.locator("#qa-chat .qa-bot")).to_have_count(0)
    ask(desktop, "When did the Blue Owl Library open in Tangier?", 1)
    history = desktop.locator("#qa-history")
    expect(history.get_by_label("How many participants attended the forum?")).to_be_visible()
    history.get_by_label("How many participants attended the forum?").check()
    expect(desktop.locator("#qa-answer-1")).to_contain_text("150")
    desktop.reload()
    expect(desktop.locator("#qa-answer-1")).to_contain_text("150")  # the chosen one stays current


def test_regenerate_stop_and_scope(desktop):
    from playwright.sync_api import expect

    first = ask(desktop, "How many participants attended the forum?", 1)
    before = desktop.locator("#qa-turn-1 .qa-meta").inner_text()
    desktop.locator("#qa-mode").get_by_text("dense").click()
    first.locator("button.qa-regen").click()
    expect(desktop.locator("#qa-turn-1 .qa-meta")).to_contain_text("dense")
    expect(desktop.locator("#qa-chat .qa-bot")).to_have_count(1)
    assert before.startswith("hybrid")

    box = desktop.locator("#qa-input textarea")
    box.fill(SLOW + "How many participants attended the forum?")
    box.press("Enter")
    expect(desktop.locator("#qa-stop")).to_be_visible()
    box.press("Escape")
    expect(desktop.locator("#qa-stop")).to_be_hidden()
    expect(desktop.locator("#qa-send")).to_be_visible()
    desktop.wait_for_timeout(300)
    expect(desktop.locator("#qa-chat .qa-bot")).to_have_count(1)  # stopped: no second answer

    desktop.locator("#qa-scope input").click()
    desktop.get_by_role("option", name=re.compile("The Blue Owl Library")).click()
    desktop.keyboard.press("Escape")
    answer = ask(desktop, "How many participants attended the forum?", 2)
    expect(desktop.locator("#qa-turn-2 .qa-meta")).to_contain_text("1 documents")
    expect(answer).not_to_contain_text("150")  # the forum article is outside this chat's documents


def test_settings_one_bounded_k_and_the_bm25_note(desktop):
    from playwright.sync_api import expect

    note = desktop.locator("#qa-bm25-note")
    expect(note).not_to_contain_text("BM25")
    desktop.locator("#qa-mode").get_by_text("bm25").click()
    expect(note).to_contain_text("in its own language")
    number = desktop.locator("#qa-k input[type=number]")
    number.fill("50")
    number.press("Enter")
    number.blur()
    expect(number).to_have_value("20")
    answer = ask(desktop, "How many participants attended the forum?", 1)
    expect(desktop.locator("#qa-turn-1 .qa-meta")).to_contain_text("k=20")
    expect(answer).to_contain_text("BM25 matches the question's words in its own language")


def test_open_the_source_in_the_viewer_with_the_pdf_page(desktop, browser, base):
    from playwright.sync_api import expect

    answer = ask(desktop, "How many fishing boats did the harbour of Essaouira host in August?", 1)
    expect(answer).to_contain_text("318")
    entry = desktop.locator("#qa-turn-1 .qa-src").first
    expect(entry.locator(".qa-page").first).to_have_text("p. 2")
    expect(entry.locator(".qa-title")).to_have_text("Harbour Survey 2023")
    href = entry.locator("a.qa-open").first.get_attribute("href")
    for viewport in (DESKTOP, PHONE):
        context = open_context(browser, viewport)
        viewer = context.new_page()
        viewer.goto(base + href)
        cited = viewer.locator("mark#qa-cited")
        expect(cited).to_contain_text("318 fishing boats")
        expect(cited).to_be_in_viewport()
        expect(viewer.locator("header")).to_contain_text("page 2")
        assert not context.blocked
        shot(viewer, f"viewer-{viewport['width']}.png")
        context.close()
