"""The generated-answer path end to end: the real embedder and index, a scripted model server."""

import logging

import pytest

from qa import Assistant
from qa.answer.generators import GeneratorSettings, get_generator
from tests.conftest import PARALLEL, SEEDS
from tests.llm_fake import CLOSE, ERROR_500, GARBAGE, HANG, FakeLLM

SEED_TEXT = next(SEEDS.glob("*.txt")).read_text()
BRIDGE_EN = (PARALLEL / "en" / "bridge.txt").read_text()
PARTICIPANTS = "How many participants attended the forum?"


def _with(base: Assistant, fake: FakeLLM, timeout: float = 5.0) -> Assistant:
    return Assistant(base.index, generator=get_generator(fake.spec(), GeneratorSettings(timeout=timeout)))


def test_a_supported_english_claim_over_an_arabic_passage_is_kept_with_its_exact_span(seed_assistant):
    with FakeLLM("More than 150 high-level participants attended the forum [1].") as fake:
        answer = _with(seed_assistant, fake).ask(PARTICIPANTS)
        prompt = fake.requests[0]["body"]["messages"][1]["content"]
    assert "\n[1] الدعوة" in prompt and "150 مشارك" in prompt  # the passages are in the request
    assert answer.text == "More than 150 high-level participants attended the forum. [1]"
    assert not answer.fallback and not answer.abstained and answer.unsupported == () and answer.notice is None
    [c] = answer.citations
    assert SEED_TEXT[c.start : c.end] == c.sentence and "150" in c.sentence and answer.cross_lingual
    assert answer.generator == fake.spec() and answer.timings["first_token_ms"] <= answer.timings["generate_ms"]


def test_the_same_claim_with_a_wrong_number_is_dropped_and_the_rest_kept(seed_assistant):
    with FakeLLM("More than 300 high-level participants attended the forum [1]. "
                 "More than 150 high-level participants attended the forum [1].") as fake:
        answer = _with(seed_assistant, fake).ask(PARTICIPANTS)
    assert answer.unsupported == ("More than 300 high-level participants attended the forum.",)
    assert answer.text == "More than 150 high-level participants attended the forum. [1]" and not answer.fallback
    assert "1 sentence(s)" in answer.notice


@pytest.mark.parametrize("reply", ["More than 150 high-level participants attended the forum [9].",
                                   "More than 150 high-level participants attended the forum.",
                                   "More than 300 high-level participants attended the forum [1]."])
def test_unsupported_only_falls_back_to_the_extractive_answer_flagged(seed_assistant, reply):
    extractive = seed_assistant.ask(PARTICIPANTS)
    with FakeLLM(reply) as fake:
        answer = _with(seed_assistant, fake).ask(PARTICIPANTS)
    assert answer.fallback and answer.text == extractive.text and answer.citations == extractive.citations
    assert answer.unsupported == (reply.replace(" [9]", "").replace(" [1]", ""),)
    assert "extracted from the documents" in answer.notice


def test_arabic_claims_over_english_passages(mixed_assistant):
    question = "كم يبلغ طول الجسر الجديد فوق النهر؟"
    n = 1 + [h.chunk.path.endswith("bridge.txt") for h in mixed_assistant.search(question)].index(True)
    reply = f"يبلغ طول الجسر الجديد فوق النهر ٨٥٠ مترا [{n}]. واستغرق بناؤه أربع سنوات وكلف ٩٥ مليون دولار [{n}]."
    with FakeLLM(reply) as fake:
        answer = _with(mixed_assistant, fake).ask(question)
    assert answer.language == "ar" and answer.text == "يبلغ طول الجسر الجديد فوق النهر ٨٥٠ مترا. [1]"
    assert answer.unsupported == ("واستغرق بناؤه أربع سنوات وكلف ٩٥ مليون دولار.",)  # 95: the passage says 90
    [c] = answer.citations
    assert BRIDGE_EN[c.start : c.end] == "The new bridge over the river is 850 meters long." and c.lang == "en"


@pytest.mark.parametrize("question, text", [(PARTICIPANTS, "I could not find this in the documents."),
                                            ("كم عدد المشاركين في المنتدى؟", "لم أجد الإجابة في الوثائق.")])
def test_the_marker_is_an_abstention_in_the_question_language(seed_assistant, question, text):
    with FakeLLM("NOT_IN_DOCUMENTS") as fake:
        answer = _with(seed_assistant, fake).ask(question)
    assert answer.abstained and answer.text == text and not answer.citations and answer.passages
    assert not answer.fallback


def test_evidence_below_the_extractive_threshold_never_calls_the_model(seed_assistant):
    with FakeLLM("The 2018 World Cup was won by France [1].") as fake:
        answer = _with(seed_assistant, fake).ask("Who won the 2018 World Cup?")
        assert fake.requests == []
    assert answer.abstained and answer.text == "I could not find this in the documents."


@pytest.mark.parametrize("step, cause", [(CLOSE, "closed the connection"), (HANG, "did not answer within"),
                                         (ERROR_500, "HTTP 500"), (GARBAGE, "malformed stream"), ("", "empty answer")])
def test_model_failures_give_the_extractive_answer_with_a_notice_and_a_log_line(seed_assistant, caplog, step, cause):
    extractive = seed_assistant.ask(PARTICIPANTS)
    with FakeLLM(step) as fake, caplog.at_level(logging.WARNING, logger="qa.generate"):
        answer = _with(seed_assistant, fake, timeout=0.5).ask(PARTICIPANTS)
    assert answer.fallback and answer.text == extractive.text and cause in answer.notice
    assert any(cause in r.getMessage() for r in caplog.records)


def test_a_request_may_choose_extractive_or_the_configured_model_never_another(seed_assistant):
    with FakeLLM("More than 150 high-level participants attended the forum [1].") as fake:
        assistant = _with(seed_assistant, fake)
        assert assistant.ask(PARTICIPANTS, generator="extractive").generator == "extractive"
        assert fake.requests == []
        assert not assistant.ask(PARTICIPANTS, generator=fake.spec()).fallback
        with pytest.raises(ValueError, match="not available here"):
            assistant.ask(PARTICIPANTS, generator="openai:m@http://127.0.0.1:1/v1")
    with pytest.raises(ValueError, match="not available here"):
        seed_assistant.ask(PARTICIPANTS, generator=fake.spec())


def test_a_follow_up_is_condensed_by_the_model_and_that_question_is_retrieved(seed_assistant):
    history = [{"role": "user", "content": "Who organised the Marrakech Security Forum?"},
               {"role": "assistant", "content": "The Moroccan Centre for Strategic Studies [1]."}]
    with FakeLLM("How many participants attended the Marrakech Security Forum?",
                 "More than 150 high-level participants attended the forum [1].") as fake:
        pieces = list(_with(seed_assistant, fake).ask_stream("and the participants?", history=history))
        condense, ask = (r["body"]["messages"][1]["content"] for r in fake.requests)
    answer = pieces[-1]
    assert "Who organised the Marrakech Security Forum?" in condense and "and the participants?" in condense
    assert "Question: How many participants attended the Marrakech Security Forum?" in ask
    assert "".join(pieces[:-1]) == "More than 150 high-level participants attended the forum [1]."
    assert answer.question == "and the participants?" and not answer.fallback and "condense_ms" in answer.timings
