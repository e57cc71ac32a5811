"""The web chat for keyboards and screen readers in Chromium at desktop and phone sizes: named controls, a
live region, "/" to the question box, Shift+Enter for a new line."""

from __future__ import annotations

import re

import pytest

import ui  # noqa: F401 - first: sets the environment that keeps Gradio from phoning home
from tests.browsing import PHONE, chat_page

pytestmark = [pytest.mark.browser, pytest.mark.filterwarnings("ignore::Warning:gradio.queueing")]


def test_accessibility_names_live_region_label_and_keyboard(browser, seed_base, viewport):
    from playwright.sync_api import expect

    context, page = chat_page(browser, seed_base, viewport)
    box = page.get_by_role("textbox", name="Your question")
    expect(box).to_be_visible()
    if viewport == PHONE:  # the sidebar closes itself on a phone: click the page, not a setting under it
        expect(page.locator("#qa-settings")).not_to_have_class(re.compile(r"\bopen\b"))
        page.locator("body").click(position={"x": 5, "y": 300})
    else:  # a setting just chosen (a focused radio button) still lets "/" jump to the box
        page.locator("#qa-mode").get_by_text("hybrid").click()
    page.keyboard.press("/")
    expect(box).to_be_focused()
    box.type("How many")
    box.press("Shift+Enter")
    box.type("participants attended the forum?")
    assert box.input_value() == "How many\nparticipants attended the forum?"
    expect(page.locator("#qa-chat .qa-bot")).to_have_count(0)  # Shift+Enter did not send
    box.press("Enter")
    live = page.locator("#qa-live[aria-live=polite]")
    expect(live).to_contain_text("150")
    log = page.locator("#qa-chat .qa-log")
    assert log.get_attribute("aria-label") == "Conversation"
    log.evaluate("e => e.scrollTop = e.scrollHeight")
    header, log_box = page.locator("#qa-chat .qa-log-tools").bounding_box(), log.bounding_box()
    assert header["y"] + header["height"] <= log_box["y"] + 1  # the conversation's bar sits above, not over it
    floating = page.locator("#qa-chat-col [data-testid=block-label], #qa-chat-col .label-wrap")
    assert floating.count() == 0
    context.close()
