"""Blocks of a text (qa/blocks.py): paragraphs with their soft wraps, list items, table rows, headings."""

from qa.blocks import blocks, item_text_start
from qa.sentences import sentence_blocks


def test_block_kinds_headings_items_rows_paragraphs():
    text = "# Title\n\nIntro line one\ncontinues here.\n- item one\n- item two\n| a | b |\n|---|---|\n\nEnd."
    kinds = [(text[b.span.start : b.span.end], b.kind) for b in blocks(text)]
    assert kinds == [("# Title", "heading"), ("Intro line one\ncontinues here.", "paragraph"),
                     ("- item one", "item"), ("- item two", "item"), ("| a | b |", "row"), ("|---|---|", "row"),
                     ("End.", "paragraph")]
    assert [b.kind for b in sentence_blocks(text)] == ["heading", "paragraph", "item", "item", "row", "paragraph"]


def test_a_wrapped_line_joins_its_paragraph_and_a_short_line_ends_it():
    text = "Name: Sara Haddad\nDate: 2020\n\nThe cooperative's chairwoman is\nAmina Benali."
    spans = [text[b.span.start : b.span.end] for b in blocks(text)]
    assert spans == ["Name: Sara Haddad", "Date: 2020", "The cooperative's chairwoman is\nAmina Benali."]


def test_an_items_sentences_start_after_its_marker():
    text = "1. Open the valve."
    assert text[item_text_start(text, 0):].startswith("Open the valve.")
    assert [text[b.span.start : b.span.end] for b in sentence_blocks(text)] == [text]
