"""Answers to the seed questions do not move when fifty unrelated documents (both languages) join the corpus."""

import pytest

from tests.conftest import FIXTURES, SEEDS
from ui.render import EXAMPLES

UNRELATED = FIXTURES / "unrelated"


@pytest.fixture(scope="module")
def crowded(tmp_path_factory):
    from qa import Assistant

    return Assistant.build([SEEDS, UNRELATED / "en", UNRELATED / "ar"], tmp_path_factory.mktemp("crowded") / "index")


def test_fifty_unrelated_documents_in_both_languages(crowded):
    docs = crowded.documents()
    assert len(docs) == 51 and {d["lang"] for d in docs} == {"ar", "en"}


@pytest.mark.parametrize("question", EXAMPLES)
def test_seed_answers_are_unchanged_by_unrelated_documents(seed_assistant, crowded, question):
    alone, among = seed_assistant.ask(question), crowded.ask(question)
    assert not among.abstained, (question, among.text)
    assert [(c.start, c.end) for c in among.citations] == [(c.start, c.end) for c in alone.citations]
    assert all(c.path.endswith("marrakech_security_forum_ar.txt") for c in among.citations)
    # the note about the documents' language only when every cited sentence is in the other language
    assert among.cross_lingual == (among.language == "en")


@pytest.mark.parametrize("question", ["What time does the museum open?", "What is the price of a hive?"])
def test_a_near_miss_is_not_answered_from_another_topic_in_the_other_language(crowded, question):
    # The English note (the museum's, the hive's) comes first and lacks the detail; the veto was right, and the
    # answer then came from an Arabic note ranked below it: the marathon's start time, the bakery's bread price
    a = crowded.ask(question)
    assert a.abstained and not a.citations, [c.sentence for c in a.citations]
    assert a.passages[0].chunk.lang == "en"
