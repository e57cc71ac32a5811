from qa.records import Answer, Chunk, Citation, Hit, Span, content_id


def test_content_id_is_stable_and_separates_parts():
    assert content_id("a", 1) == content_id("a", 1) and len(content_id("x")) == 16
    assert content_id("ab", "c") != content_id("a", "bc")


def test_chunk_round_trips_and_slices_its_sentences():
    text = "One. Two three."
    c = Chunk(id="c", doc_id="d", path="/p", title="t", lang="en", text=text, start=10, end=10 + len(text),
              sentences=(Span(10, 14), Span(15, 25)))
    assert Chunk.from_dict(c.to_dict()) == c
    assert [c.sentence_text(s) for s in c.sentences] == ["One.", "Two three."]


def test_answer_to_dict_is_plain_json():
    c = Chunk(id="c", doc_id="d", path="/p", title="t", lang="ar", text="نص.", start=0, end=3, sentences=(Span(0, 3),))
    cit = Citation(n=1, doc_id="d", title="t", path="/p", chunk_id="c", lang="ar", sentence="نص.", start=0, end=3,
                   passage_start=0, passage_end=3, score=0.9)
    a = Answer(question="q", text="نص. [1]", language="ar", abstained=False, citations=(cit,),
               passages=(Hit(rank=1, score=1.0, chunk=c),), evidence=0.9)
    d = a.to_dict()
    assert d["citations"][0]["start"] == 0 and d["passages"][0]["chunk"]["sentences"] == [[0, 3]]
    assert d["evidence"] == 0.9 and d["timings"] == {}
