import pytest

from qa.chunk import ChunkSettings, chunk_document
from qa.records import Document


def words(text: str) -> int:
    return len(text.split())


def doc(text: str) -> Document:
    return Document(id="d1", title="t", path="/p.txt", lang="en", text=text)


def test_chunk_text_is_exactly_the_document_slice_and_sentences_inside():
    text = "One two three. Four five six seven. Eight nine.\n\nTen eleven twelve thirteen fourteen."
    chunks = chunk_document(doc(text), ChunkSettings(max_tokens=16, overlap_tokens=0), words)
    for c in chunks:
        assert c.text == text[c.start : c.end]
        for s in c.sentences:
            assert c.start <= s.start < s.end <= c.end
            assert c.sentence_text(s) == text[s.start : s.end]
    assert [c.sentence_text(s) for c in chunks for s in c.sentences] == [
        "One two three.", "Four five six seven.", "Eight nine.", "Ten eleven twelve thirteen fourteen."]


def test_packing_respects_the_budget_and_overlaps_trailing_sentences():
    sentences = [f"S{i} a b c d." for i in range(10)]  # 5 words each
    text = " ".join(sentences)
    chunks = chunk_document(doc(text), ChunkSettings(max_tokens=16, overlap_tokens=5), words)
    assert all(words(c.text) <= 16 for c in chunks)
    for a, b in zip(chunks, chunks[1:]):
        assert b.sentences[0] == a.sentences[-1]  # one 5-word sentence of overlap
    covered = {s for c in chunks for s in c.sentences}
    assert len(covered) == 10


def test_long_sentence_is_cut_at_arabic_commas_then_words():
    clause = "كلمة " * 10
    text = "، ".join([clause.strip()] * 5) + "."
    chunks = chunk_document(doc(text), ChunkSettings(max_tokens=16, overlap_tokens=0), words)
    assert all(words(c.text) <= 16 for c in chunks)
    assert "".join(c.text for c in chunks).replace(" ", "") == text.replace(" ", "")
    one_word_run = "w " * 40
    chunks = chunk_document(doc(one_word_run), ChunkSettings(max_tokens=16, overlap_tokens=0), words)
    assert [words(c.text) for c in chunks] == [16, 16, 8]


def test_ids_are_stable_and_content_derived():
    text = "Alpha beta gamma. Delta epsilon."
    a = chunk_document(doc(text), ChunkSettings(16, 0), words)
    b = chunk_document(doc(text), ChunkSettings(16, 0), words)
    assert [c.id for c in a] == [c.id for c in b]


def test_chunk_language_follows_its_own_text():
    text = "An English opening sentence with several words here.\n\n" + "هذه فقرة عربية طويلة نسبيا عن المكتبة. " * 3
    chunks = chunk_document(doc(text), ChunkSettings(max_tokens=16, overlap_tokens=0), words)
    assert chunks[0].lang == "en" and chunks[-1].lang == "ar"


@pytest.mark.parametrize("settings", [ChunkSettings(8, 0), ChunkSettings(100, 100), ChunkSettings(100, -1)])
def test_bad_settings_are_refused_with_the_fix(settings):
    with pytest.raises(ValueError, match="max_tokens|overlap"):
        chunk_document(doc("a b c."), settings, words)


def test_seed_article_chunks_fit_e5_budget():
    from qa.embed import get_embedder
    from tests.conftest import SEEDS

    e5 = get_embedder("e5-small")
    text = next(SEEDS.glob("*.txt")).read_text()
    chunks = chunk_document(doc(text), ChunkSettings(), e5.count_tokens)
    assert len(chunks) >= 3
    assert all(e5.count_tokens(c.text) <= 270 for c in chunks)


def test_markdown_and_plain_title_headings_are_marked_as_context():
    text = "Zephyr report\n\n# The Zephyr Lake Observatory\n\nThe observatory was founded in 1998. It has two domes."
    [c] = chunk_document(doc(text), ChunkSettings(), words)
    assert [c.sentence_text(c.sentences[i]) for i in c.headings] == ["Zephyr report", "# The Zephyr Lake Observatory"]


def test_a_document_of_headings_only_has_none():
    # issue 9: a one-line document is its own title; its only sentence must stay answerable
    for text in ("The bridge is 850 meters long", "# Just a heading\n\n"):
        [c] = chunk_document(Document(id="d", title=text.strip(), path="/p.txt", lang="en", text=text),
                             ChunkSettings(), words)
        assert c.headings == ()


def test_an_index_from_before_splitter_versions_keeps_the_original_splitter():
    recorded = {"max_tokens": 100, "overlap_tokens": 10, "passage_vectors": "embedded"}
    old = ChunkSettings.from_manifest(recorded)
    assert old.splitter == 1 and ChunkSettings.from_manifest(ChunkSettings()._asdict()).splitter == 2
    text = "Dr. Smith came home. It rained."
    assert [c.sentence_text(s) for c in chunk_document(doc(text), old, words) for s in c.sentences] == [
        "Dr.", "Smith came home.", "It rained."]
    with pytest.raises(ValueError, match="splitter"):
        chunk_document(doc(text), ChunkSettings(splitter=9), words)


def test_an_opening_name_line_is_a_heading_even_with_a_full_stop():
    # issue 13: "The Harbour Football Club." (a txt file's first line, its title) was cited as the answer to
    # unrelated questions across languages: a short name matches any question as well as it matches none
    def first_is_heading(text: str) -> bool:
        title = text.splitlines()[0]
        [c] = chunk_document(Document(id="d", title=title, path="/p.txt", lang="en", text=text), ChunkSettings(), words)
        return 0 in c.headings
    assert first_is_heading("The Harbour Football Club.\nThe club was founded in 1952. It won the league twice.")
    assert first_is_heading("نادي الميناء لكرة القدم.\nتأسس النادي عام 1952.")
    # a sentence on the first line (also the file's title), a name with a number, or a name run on: answers
    assert not first_is_heading("The bridge opened in 1990.\nIt cost four million dollars to build.")
    assert not first_is_heading("Route 12 Bus Timetable.\nThe bus leaves every ten minutes.")
    assert not first_is_heading("The Harbour Football Club. It was founded in 1952.\nIt won the league twice.")
