"""The web chat in Debian's Chromium (Playwright, sync API) against a real server on a seed index.

Skipped when Chromium is missing, unless QA_REQUIRE_BROWSER=1 (CI), which makes that a failure.
With QA_SCREENSHOTS=1 the main states are saved under docs/screenshots/ for the README.
"""

from __future__ import annotations

import re
from pathlib import Path
from urllib.parse import urlparse

import pytest

import ui  # noqa: F401 - first: sets the environment that keeps Gradio from phoning home
from tests.browsing import TIMEOUT, shot
from tests.serving import running_server, seed_index

# Gradio's queue calls a pandas API that pandas deprecates; not ours to fix.
pytestmark = [pytest.mark.browser, pytest.mark.filterwarnings("ignore::Warning:gradio.queueing")]
@pytest.fixture(scope="module")
def base(tmp_path_factory):
    from ui.server import create_app

    with running_server(create_app(seed_index(tmp_path_factory.mktemp("ui-browser")),
                                   max_upload_bytes=200_000)) as url:
        yield url


@pytest.fixture
def page(browser, base):
    """A fresh browser session on the chat page; fails the test if it talked to any other host."""
    context = browser.new_context(viewport={"width": 1366, "height": 900})
    pg = context.new_page()
    pg.set_default_timeout(TIMEOUT)
    hosts: set[str] = set()
    pg.on("request", lambda r: hosts.add(urlparse(r.url).hostname or r.url.split(":")[0]))
    pg.goto(base)
    pg.locator("#qa-input textarea:not([disabled])").wait_for()  # enabled once the saved chat is restored
    yield pg
    context.close()
    assert hosts <= {"127.0.0.1", "data", "blob"}, f"the page contacted other hosts: {hosts}"


def ask(page, question: str, turn: int):
    """Type and send ``question``; returns the locator of answer number ``turn``."""
    box = page.locator("#qa-input textarea")
    box.fill(question)
    box.press("Enter")
    answer = page.locator("#qa-chat .qa-bot").nth(turn - 1)
    answer.wait_for()
    page.locator(f"#qa-turn-{turn}").wait_for(state="attached")
    return answer


def direction(locator) -> str:
    return locator.evaluate("e => getComputedStyle(e).direction")


def test_english_answer_cites_and_the_citation_shows_the_highlighted_source(page):
    from playwright.sync_api import expect

    for example in ("How many participants attended the forum?", "كم عدد المشاركين في المنتدى؟"):
        expect(page.locator("#qa-chat").get_by_text(example)).to_be_visible()  # examples on the empty chat
    answer = ask(page, "How many participants attended the forum?", 1)
    expect(answer).to_contain_text("150")
    cite = answer.locator("a.qa-cite", has_text="[1]")
    expect(cite).to_be_visible()
    entry = page.locator("#qa-src-1-1")
    expect(entry.locator(".qa-title")).to_contain_text("الدعوة")
    expect(entry.locator(".qa-file")).to_have_text("marrakech_security_forum_ar.txt")
    expect(entry.locator(".qa-score")).to_contain_text("similarity 0.")
    page.locator("#qa-sources").evaluate("e => e.scrollTop = e.scrollHeight")
    cite.click()
    mark = entry.locator("mark")
    expect(mark).to_be_visible()
    expect(mark).to_contain_text("150")
    expect(entry).to_be_in_viewport()
    expect(entry).to_have_class(re.compile("qa-flash"))
    assert direction(answer.locator(".qa-sent").first) == "ltr"
    shot(page, "english-answer.png")


def test_arabic_is_right_to_left_and_follow_ups_keep_their_own_sources(page):
    from playwright.sync_api import expect

    box = page.locator("#qa-input textarea")
    box.fill("كم عدد")
    assert direction(box) == "rtl"
    box.fill("How many")
    assert direction(box) == "ltr"
    page.locator("#qa-chat").get_by_text("كم عدد المشاركين في المنتدى؟").click()  # an example question
    answer = page.locator("#qa-chat .qa-bot").first
    expect(answer).to_contain_text("150")
    user = page.locator("#qa-chat .qa-user").first
    assert direction(user) == "rtl" and direction(user.locator("p")) == "rtl"
    assert direction(answer) == "rtl" and direction(answer.locator(".qa-sent").first) == "rtl"
    entry = page.locator("#qa-src-1-1")
    assert direction(entry) == "rtl" and direction(entry.locator("blockquote")) == "rtl"
    expect(entry.locator("mark")).to_contain_text("150")
    shot(page, "arabic-answer-rtl.png")

    second = ask(page, "Who organised the forum?", 2)
    expect(second.locator("a.qa-cite").first).to_be_visible()
    expect(page.locator("#qa-turn-1")).to_be_hidden()  # the sources panel shows the newest turn
    answer.locator("a.qa-cite").first.click()  # an older citation brings back its own turn's source
    expect(page.locator("#qa-turn-1")).to_be_visible()
    expect(page.locator("#qa-src-1-1 mark")).to_contain_text("150")
    expect(page.locator("#qa-turn-2")).to_be_hidden()


def test_abstention_shows_the_closest_passages_as_not_sufficient(page):
    from playwright.sync_api import expect

    answer = ask(page, "Who won the 2018 World Cup?", 1)
    expect(answer).to_have_class(re.compile("qa-abstained"))
    expect(answer).to_contain_text("I could not find this in the documents.")
    turn = page.locator("#qa-turn-1")
    expect(turn.locator(".qa-insufficient-note")).to_contain_text("Not sufficient")
    expect(turn.locator(".qa-src.qa-insufficient").first).to_be_visible()
    shot(page, "abstention.png")


def test_sessions_have_their_own_conversations(browser, base, page):
    from playwright.sync_api import expect

    other = browser.new_page(viewport={"width": 1366, "height": 900})
    other.goto(base)
    other.locator("#qa-input textarea:not([disabled])").wait_for()
    other.locator("#qa-mode").get_by_text("bm25").click()  # settings are per session too
    ask(page, "How many participants attended the forum?", 1)
    ask(other, "ما هو شعار المنتدى؟", 1)
    expect(other.locator("#qa-turn-1 .qa-meta")).to_contain_text("bm25")
    expect(page.locator("#qa-turn-1 .qa-meta")).to_contain_text("hybrid")
    expect(page.locator("#qa-chat .qa-user")).to_have_count(1)
    expect(page.locator("#qa-chat .qa-user")).to_contain_text("How many participants")
    expect(other.locator("#qa-chat .qa-user")).to_have_count(1)
    expect(other.locator("#qa-chat .qa-user")).to_contain_text("شعار")
    other.close()


def upload(page, *paths: Path):
    from playwright.sync_api import expect

    page.get_by_role("tab", name="Documents").click()
    page.locator("#qa-upload input[type=file]").set_input_files([str(p) for p in paths])
    expect(page.locator("#qa-report .qa-report-added")).to_contain_text(paths[-1].name)


def test_upload_ask_and_remove_a_document(page, tmp_path):
    from playwright.sync_api import expect

    doc = tmp_path / "blue_owl.txt"
    doc.write_text("The Blue Owl Library\n\nThe Blue Owl Library opened in 1998 in Tangier. "
                   "It lends 4,200 books every month to its readers.\n")
    upload(page, doc)
    table = page.locator("#qa-docs")
    expect(table).to_contain_text("The Blue Owl Library")
    expect(table).to_contain_text("blue_owl.txt")
    expect(page.locator("#qa-status")).to_contain_text("2 documents")
    shot(page, "documents.png")

    big = tmp_path / "too_big.txt"
    big.write_text("word " * 50_000)
    page.locator("#qa-upload input[type=file]").set_input_files(str(big))
    expect(page.get_by_text(re.compile(r"exceed.*too_big\.txt"))).to_be_visible()

    page.get_by_role("tab", name="Chat").click()
    answer = ask(page, "How many books does the Blue Owl Library lend every month?", 1)
    expect(answer).to_contain_text("4,200")
    expect(page.locator("#qa-src-1-1 .qa-file")).to_have_text("blue_owl.txt")

    page.get_by_role("tab", name="Documents").click()
    page.locator("#qa-doc-select input").click()
    page.get_by_role("option", name=re.compile("Blue Owl")).click()
    page.locator("#qa-remove").click()
    expect(page.locator("#qa-confirm-text")).to_contain_text("The Blue Owl Library — blue_owl.txt")
    page.locator("#qa-confirm-remove").click()
    expect(page.locator("#qa-removed")).to_contain_text("Removed: The Blue Owl Library")
    expect(table).not_to_contain_text("blue_owl.txt")
    expect(table).to_contain_text("marrakech_security_forum_ar.txt")


def test_script_in_a_document_is_shown_as_text_and_never_runs(page, tmp_path):
    from playwright.sync_api import expect

    evil = tmp_path / "evil.md"
    evil.write_text('<img src=x onerror="window.__pwned=1"> Lighthouse log\n\n'
                    "The lighthouse keeper counted 77 ships in one night. <script>window.__pwned=1</script> "
                    '<img src=x onerror="window.__pwned=1"> ${window.__pwned=1} {{constructor.constructor}}\n')
    upload(page, evil)
    expect(page.locator("#qa-docs")).to_contain_text("onerror")  # the title, as text
    page.get_by_role("tab", name="Chat").click()
    answer = ask(page, 'How many ships did the lighthouse keeper count? <img src=x onerror="window.__pwned=1">', 1)
    expect(answer).to_contain_text("77")
    passage = page.locator("#qa-src-1-1 blockquote")
    expect(passage).to_contain_text("<script>window.__pwned=1</script>")
    expect(page.locator("#qa-chat .qa-user")).to_contain_text("<img src=x")
    assert page.locator("#qa-sources script, #qa-sources img, #qa-chat img[src=x], #qa-docs img").count() == 0
    assert page.evaluate("() => typeof window.__pwned") == "undefined"
