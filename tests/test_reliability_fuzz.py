"""Fuzzed text (hypothesis) through normalisation, sentence splitting and chunking.

Properties: nothing raises except the documented ``ValueError``s (with a message); every chunk slices
the original text exactly; sentence spans lie inside their chunk; no visible character is lost by the
splitter or the chunker; ``normalize`` is idempotent. The texts are tests/fuzz_text.py's; ingest and
ask over them are test_reliability_fuzz_ingest.
"""

from __future__ import annotations

import pytest
from hypothesis import example, given
from hypothesis import strategies as st

from qa.chunk import ChunkSettings, chunk_document
from qa.records import Document
from qa.text import normalize, sentence_spans
from tests.fuzz_text import LONG_LINE, PURE, REAL, any_text, mixed


def words(text: str) -> int:
    return len(text.split())


@PURE
@given(any_text)
@example("")
@example("A\u200b\u0300")  # a format character between a letter and its mark (was not idempotent)
@example("ﱞ\u0640\u0301")
@example(LONG_LINE)
def test_normalize_is_idempotent(text):
    once = normalize(text)
    assert isinstance(once, str)
    assert normalize(once) == once


def _check_sentences(text: str, spans, lo: int = 0, hi: int | None = None) -> None:
    hi = len(text) if hi is None else hi
    covered = [False] * len(text)
    previous = lo
    for s in spans:
        assert previous <= s.start < s.end <= hi, (s, previous, hi)
        piece = text[s.start : s.end]
        assert not piece[0].isspace() and not piece[-1].isspace()
        for i in range(s.start, s.end):
            covered[i] = True
        previous = s.end
    lost = [c for i, c in enumerate(text[lo:hi], lo) if not covered[i] and not c.isspace()]
    assert not lost, f"characters outside every sentence: {lost[:10]!r}"


@PURE
@given(any_text, st.data())
@example("", None)
@example(LONG_LINE, None)
@example(" \n\t ", None)
def test_sentence_spans_are_ordered_trimmed_and_lose_nothing(text, data):
    _check_sentences(text, sentence_spans(text))
    if data is not None and text:
        lo = data.draw(st.integers(0, len(text)))
        hi = data.draw(st.integers(lo, len(text)))
        _check_sentences(text, sentence_spans(text, lo, hi), lo, hi)


def _check_chunks(doc: Document, chunks, count, max_tokens: int) -> None:
    text = doc.text
    covered = [False] * len(text)
    previous_start = -1
    for c in chunks:
        assert c.text == text[c.start : c.end] and c.doc_id == doc.id
        assert c.start > previous_start  # in order, and every chunk moves forward
        previous_start = c.start
        assert c.sentences and c.sentences[0].start == c.start and c.sentences[-1].end == c.end
        for a, b in zip(c.sentences, c.sentences[1:]):
            assert a.end <= b.start
        for s in c.sentences:
            assert c.start <= s.start < s.end <= c.end
            assert c.sentence_text(s) == text[s.start : s.end]
            for i in range(s.start, s.end):
                covered[i] = True
        # Only a single word longer than a chunk may exceed the budget (it cannot be cut further).
        assert count(c.text) <= max_tokens or (len(c.sentences) == 1 and words(c.text) == 1), c.text[:200]
    lost = [ch for i, ch in enumerate(text) if not covered[i] and not ch.isspace()]
    assert not lost, f"characters in no chunk: {lost[:10]!r}"
    assert len({c.id for c in chunks}) == len(chunks)


@PURE
@given(any_text, st.integers(16, 64), st.data())
@example("", 16, None)
@example(LONG_LINE, 200, None)
@example("x\n" * 3000, 16, None)
def test_chunks_slice_the_text_exactly_with_a_word_counter(text, max_tokens, data):
    overlap = data.draw(st.integers(0, max_tokens - 1)) if data is not None else max_tokens // 5
    doc = Document(id="d", title="t", path="p.txt", lang="en", text=text)
    _check_chunks(doc, chunk_document(doc, ChunkSettings(max_tokens, overlap), words), words, max_tokens)


def test_chunk_settings_out_of_range_are_value_errors_with_a_message():
    doc = Document(id="d", title="t", path="p.txt", lang="en", text="Some text.")
    for bad in (ChunkSettings(8, 0), ChunkSettings(32, 32), ChunkSettings(32, -1)):
        with pytest.raises(ValueError, match="max_tokens|overlap_tokens"):
            chunk_document(doc, bad, words)


@pytest.fixture(scope="module")
def e5():
    from qa.embed import get_embedder

    return get_embedder("e5-small")


@REAL
@given(mixed, st.sampled_from([16, 40, 200]))
@example("x\n" * 500, 16)  # one-token sentences (were counted as 0 tokens: one 500-token chunk)
@example("ok\x00" + "word " * 400, 40)  # a NUL hid the rest of the text from the counter
@example("أولا، " * 300, 40)
def test_chunks_slice_the_text_exactly_with_the_e5_counter(e5, text, max_tokens):
    doc = Document(id="d", title="t", path="p.txt", lang="ar", text=text)
    settings_ = ChunkSettings(max_tokens, max_tokens // 5)
    _check_chunks(doc, chunk_document(doc, settings_, e5.count_tokens), e5.count_tokens, max_tokens)


def test_a_100000_character_line_with_the_e5_counter(e5):
    doc = Document(id="d", title="t", path="p.txt", lang="ar", text=LONG_LINE)
    settings_ = ChunkSettings()
    chunks = chunk_document(doc, settings_, e5.count_tokens)
    _check_chunks(doc, chunks, e5.count_tokens, settings_.max_tokens)
    assert len(chunks) > 100
