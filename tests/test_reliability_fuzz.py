"""Fuzzed text (hypothesis) through normalisation, sentence splitting, chunking, ingest and ask.

Properties: nothing raises except the documented ``ValueError``s (with a message); every chunk and
every citation slices the original text exactly; sentence spans lie inside their chunk; no visible
character is lost by the splitter or the chunker; ``normalize`` is idempotent. Examples are
derandomised (the same ones on every run, so CI is deterministic); ``QA_FUZZ_EXAMPLES=N`` scales
the pure-text properties up for a longer random exploration, e.g. ``QA_FUZZ_EXAMPLES=20000``.
"""

from __future__ import annotations

import os

import pytest
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from qa.chunk import ChunkSettings, chunk_document
from qa.records import Document
from qa.text import normalize, sentence_spans

EXPLORE = int(os.environ.get("QA_FUZZ_EXAMPLES", "0"))
PURE = settings(max_examples=EXPLORE or 300, deadline=None, derandomize=not EXPLORE, database=None,
                suppress_health_check=list(HealthCheck))
REAL = settings(max_examples=12, deadline=None, derandomize=True, database=None,
                suppress_health_check=list(HealthCheck))

# The hard cases the issue names, as building blocks that hypothesis strings together.
ARABIC = ["منتدى", "مُحَمَّدٌ", "إِلَى", "الْمَدْرَسَةِ", "ﻻ", "ﷲ", "ـــ", "١٢٣", "۴۵", "؟", "؛", "،", "ة", "ى", "آ"]
BIDI = ["\u200e", "\u200f", "\u061c", "\u202a", "\u202b", "\u202c", "\u202d", "\u202e", "\u2066", "\u2067",
        "\u2068", "\u2069"]
INVISIBLE = ["\u200b", "\u200c", "\u200d", "\u2060", "\ufeff", "\u00ad", "\u034f"]
EMOJI = ["😀", "👩\u200d👩\u200d👧", "🇲🇦", "👍🏽", "1\ufe0f\u20e3", "\U0001f9d5\u200d\u2640\ufe0f"]
CONTROL = ["\x00", "\x01", "\x07", "\x1b", "\x7f", "\x85", "\u2028", "\u2029", "\r", "\r\n", "\t", "\v", "\f"]
LATIN = ["Forum", "security", "İstanbul", "ß", "ﬁ", "e\u0301", "A\u200b\u0300", "Ⅻ", "Ｆｏｒｕｍ", "3.5", "e.g.",
         "…", "!", "?", ".", "\"", "”", "»", ")", "]", ",", ";", ":", " ", "  ", "\n", "\n\n"]
OTHER = ["中文", "עברית", "русский", "ελληνικά", "\u0915\u094d\u0937", "\U0001d400", "\U000e0001"]
PIECES = ARABIC + BIDI + INVISIBLE + EMOJI + CONTROL + LATIN + OTHER

mixed = st.lists(st.sampled_from(PIECES), max_size=80).map("".join)
any_text = st.one_of(mixed, st.text(max_size=300),  # st.text: any code point but surrogates
                     st.text(st.characters(min_codepoint=0, max_codepoint=0x10FFFF), max_size=60))
LONG_LINE = ("منتدى مراكش للأمن Marrakech forum 😀 \u200d\u064b " * 3000)[:100_000]
# The same length for ingest and ask, but mostly blanks between a few sentences: the dense line above is
# about 340 passages and sentences to embed, minutes of CPU on a small machine (set QA_FUZZ_DENSE=1 for it).
SPARSE_LINE = (" " * 9_000).join(["منتدى مراكش للأمن حضره 150 مشارك من 20 دولة.", "The Marrakech forum met in 2019.",
                                   "\u202eevil\u202c \u200d😀\u064b", "\ufeffzero\u200bwidth", "x" * 500] * 2)
SPARSE_LINE = (SPARSE_LINE + " " * 100_000)[:99_991] + " The end."
assert "\n" not in LONG_LINE + SPARSE_LINE and len(LONG_LINE) == len(SPARSE_LINE) == 100_000


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


# --- ingest and ask with the real embedder: a few examples, each one file added then removed ---

file_text = st.one_of(mixed, st.text(max_size=400))


@pytest.fixture(scope="module")
def fuzz_assistant(tmp_path_factory):
    from qa import Assistant

    folder = tmp_path_factory.mktemp("fuzz-index")
    (folder / "base.txt").write_text("The lighthouse of Essaouira was built in 1890. It is 30 meters tall.\n")
    return Assistant.build([folder / "base.txt"], folder / "index")


def _check_answer(assistant, question: str, texts: dict[str, str]) -> None:
    try:
        answer = assistant.ask(question, k=5)
        hits = assistant.search(question, k=3, mode="bm25")
    except ValueError as e:  # the documented refusals: empty or over-long question
        assert str(e) and ("empty" in str(e) or "characters long" in str(e)), e
        assert not question.strip() or len(question) > 2000
        return
    for h in [*answer.passages, *hits]:
        c = h.chunk
        assert c.text == texts[c.doc_id][c.start : c.end]
    for cit in answer.citations:
        text = texts[cit.doc_id]
        assert cit.passage_start <= cit.start < cit.end <= cit.passage_end
        assert cit.sentence == text[cit.start : cit.end] and cit.sentence in answer.text
    assert answer.abstained == (not answer.citations)


@REAL
@given(file_text, st.one_of(st.text(max_size=200), mixed), st.sampled_from([".txt", ".md", ".json", ".jsonl"]),
       st.booleans())
@example("", "", ".txt", False)
@example("\ufeff" + "منتدى مراكش للأمن.\u200f حضره 150 مشارك.\u202e", "كم عدد المشاركين؟", ".md", False)
@example("\x00binary\x00", "\x00", ".txt", False)
@example('ok"\\ \x00 \U0001f600', "a" * 2001, ".json", True)
@example("Line\u2028separator\x85next\u2029para\x0cfeed.", "separator?", ".jsonl", False)
def test_ingest_and_ask_over_arbitrary_unicode(fuzz_assistant, tmp_path_factory, text, question, suffix, ascii_json):
    import json

    a = fuzz_assistant
    folder = tmp_path_factory.mktemp("fuzz-file")
    path = folder / f"doc{suffix}"
    if suffix in (".json", ".jsonl"):  # one record; a JSONL line ends at "\n" only, whatever the text holds
        line = json.dumps({"title": text[:50], "text": text}, ensure_ascii=ascii_json)
        path.write_text(line + "\n" if suffix == ".jsonl" else line, "utf-8")
    else:
        path.write_bytes(text.encode("utf-8"))
    before = {d["id"] for d in a.documents()}
    report = a.add([path])  # never raises for what a file holds: it is added or skipped with a reason
    assert len(report.added) + len(report.skipped) == 1, report
    assert all(s.reason for s in report.skipped)
    if suffix in (".json", ".jsonl"):  # json.dumps wrote it: valid JSON, whatever the text holds
        assert not any("JSON" in s.reason for s in report.skipped), report.skipped
    texts = {d["id"]: _original(d) for d in a.documents()}
    added = [d for d in a.documents() if d["id"] not in before]
    assert bool(added) == bool(report.added)
    snap = a.index.snapshot
    assert len(snap.vectors) == len(snap)
    for row in range(len(snap)):
        c = snap.chunks[row]
        assert c.text == texts[c.doc_id][c.start : c.end]
    _check_answer(a, question, texts)
    if added:
        _check_answer(a, text[:300] or "?", texts)  # the document's own text as the question
        for d in added:
            a.remove(d["id"])
    assert {d["id"] for d in a.documents()} == before


def _original(d: dict) -> str:
    """The text a document was read from, straight from its file (the reference for every span)."""
    import json
    from pathlib import Path

    data = Path(d["path"]).read_bytes()
    if d["path"].endswith((".json", ".jsonl")):
        return json.loads(data)["text"]
    return data.decode("utf-8-sig")


def test_ingest_and_ask_over_a_100000_character_line(fuzz_assistant, tmp_path):
    dense = os.environ.get("QA_FUZZ_DENSE") == "1"
    path = tmp_path / "long.txt"
    path.write_text(LONG_LINE if dense else SPARSE_LINE, "utf-8")
    report = fuzz_assistant.add([path])
    assert report.added == [str(path.resolve())] and report.chunks >= (100 if dense else 1)
    texts = {d["id"]: _original(d) for d in fuzz_assistant.documents()}
    [doc] = [d for d in fuzz_assistant.documents() if d["path"] == str(path.resolve())]
    snap = fuzz_assistant.index.snapshot
    rows = [r for r in range(len(snap)) if snap.chunks[r].doc_id == doc["id"]]
    assert sorted(snap.chunks[r].end for r in rows)[-1] == 100_000  # the end of the line is indexed
    _check_answer(fuzz_assistant, "كم عدد المشاركين في منتدى مراكش للأمن؟", texts)
    _check_answer(fuzz_assistant, "When did the Marrakech forum meet?", texts)
    fuzz_assistant.remove(str(path.resolve()))
