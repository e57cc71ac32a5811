import pytest

from qa.answer.generators import GenerationError, estimate_tokens
from qa.answer.prompt import MARKER, answer_messages, condense_messages, is_abstention
from qa.records import Chunk, Hit
from qa.text import sentence_spans


def _hit(n: int, text: str, lang: str = "ar") -> Hit:
    chunk = Chunk(id=f"c{n}", doc_id=f"d{n}", path=f"/{n}.txt", title=f"Title {n}", lang=lang, text=text, start=0,
                  end=len(text), sentences=tuple(sentence_spans(text)))
    return Hit(rank=n, score=1.0 / n, chunk=chunk)


HITS = [_hit(1, "First passage one. It has two sentences."), _hit(2, "Second passage.\nOn two lines."),
        _hit(3, "Third passage " + "word " * 400 + "end.")]


def test_passages_are_numbered_on_their_own_lines_with_title_and_the_language_is_named():
    made = answer_messages("How long is it?", "en", HITS[:2], 4096, 256, estimate_tokens)
    system, user = made.messages[0]["content"], made.messages[1]["content"]
    assert "Answer in English" in system and MARKER in system and "[1]" in system
    lines = user.splitlines()
    assert "[1] Title 1: First passage one. It has two sentences." in lines
    assert "[2] Title 2: Second passage. On two lines." in lines
    assert lines[-2:] == ["Question: How long is it?", "Answer in English:"]
    assert made.hits == tuple(HITS[:2])
    assert "Answer in Arabic" in answer_messages("كم؟", "ar", HITS[:1], 4096, 256, estimate_tokens).messages[0][
        "content"]


def test_passages_are_trimmed_to_the_context_budget_in_rank_order():
    whole = answer_messages("q", "en", HITS, 4096, 256, estimate_tokens)
    assert len(whole.hits) == 3
    tight = answer_messages("q", "en", HITS, 400, 100, estimate_tokens)
    assert tight.hits == tuple(HITS[:2]) and "Third" not in tight.messages[1]["content"]
    # A passage that does not fit whole is cut after its last sentence that does.
    cut = answer_messages("q", "en", [HITS[0]], 250, 10, lambda t: len(t.split()) + (200 if "two sentences" in t
                                                                                       else 0))
    assert "[1] Title 1: First passage one.\n" in cut.messages[1]["content"] + "\n"
    with pytest.raises(GenerationError, match="context-tokens"):
        answer_messages("q", "en", HITS, 200, 150, estimate_tokens)


def test_condense_and_marker():
    messages = condense_messages("and how many countries?", [("user", "Who attended?"), ("assistant", "150 [1]")])
    assert "User: Who attended?" in messages[1]["content"] and "Assistant: 150 [1]" in messages[1]["content"]
    assert is_abstention(MARKER) and is_abstention("not in documents") and not is_abstention("It opened in 2019 [1].")
