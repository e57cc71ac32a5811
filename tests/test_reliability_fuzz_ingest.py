"""Fuzzed files (hypothesis) ingested and asked about with the real embedder: a few examples, each one
file added then removed. Nothing raises except the documented ``ValueError``s (with a message); every
chunk and every citation slices the file's text exactly; the index is as before once it is removed."""

from __future__ import annotations

import os

import pytest
from hypothesis import example, given
from hypothesis import strategies as st

from tests.fuzz_text import LONG_LINE, REAL, mixed

# The same length for ingest and ask, but mostly blanks between a few sentences: the dense LONG_LINE is
# about 340 passages and sentences to embed, minutes of CPU on a small machine (set QA_FUZZ_DENSE=1 for it).
SPARSE_LINE = (" " * 9_000).join(["منتدى مراكش للأمن حضره 150 مشارك من 20 دولة.", "The Marrakech forum met in 2019.",
                                   "\u202eevil\u202c \u200d😀\u064b", "\ufeffzero\u200bwidth", "x" * 500] * 2)
SPARSE_LINE = (SPARSE_LINE + " " * 100_000)[:99_991] + " The end."
assert "\n" not in SPARSE_LINE and len(SPARSE_LINE) == 100_000

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
