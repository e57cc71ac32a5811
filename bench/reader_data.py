"""Question-sentence pairs for the cross-encoder reader (bench/train_reader.py), from the answer models' data.

The questions, splits and cached retrieval are bench/answer_data.py's (split by ARCD article; the
test split is never trained or tuned on). A question's candidates are those of the product's
learned ranker: ``qa.answer.features.pool`` over its top ``PASSAGES`` hits (headings and sentences
under four words left out). A pair is labelled positive when the candidate holds the gold answer's
offset (``answer_data.labels``): an answerable question's other candidates, its own paragraph's
other sentences first, teach "shares the words but does not answer"; every candidate of a
near-miss or off-topic question is negative. Training keeps, per question, the positives and the
``negatives`` most similar candidates by cosine (off-topic: ``offtopic_negatives``); validation and
test keep every candidate, as the product would score them.
The text a pair is read as: ``query: {question} passage: {passage}`` (the engine prepends
``query: `` to the product's ``qa.answer.reader.pair_text``), cut to ``MAX_TOKENS`` tokens; the
passage, by context, as the product builds it (``qa.answer.reader.passage_text``): ``none`` the
sentence alone, ``title`` ``{the document's title}: {sentence}`` (a sentence that names its subject
by a pronoun, "It holds 20,000 books", then says whose), ``prev`` the sentence before it too
(``{title}: {previous} | {sentence}``, the previous sentence's last ``reader.PREVIOUS_CHARS`` characters).
Left out: the sentence's whole paragraph as context (~4x the tokens).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import NamedTuple

import numpy as np
from answer_data import Raw, labels

from qa.answer import reader
from qa.answer.features import Candidate, pool

PASSAGES = 5
MAX_TOKENS = 510  # <s>, 508 content ids, </s>: one window of the engine (512 positions), never cut in practice



class Pair(NamedTuple):
    qid: str
    candidate: int  # the candidate's index in the question's pool
    text: str
    positive: bool
    cosine: float


class Question(NamedTuple):
    raw: Raw
    pairs: list[Pair]  # all the question's candidates (every one scored at validation and test)


def pair_text(question: str, passage: str) -> str:
    """The text a pair is read as: the engine's ``query: `` prefix on the product's pair text."""
    return f"query: {question} passage: {passage}"


CONTEXTS: dict[str, Callable[[Candidate], str]] = {
    "none": lambda c: c.text,
    "title": lambda c: reader.passage_text(c.hit.chunk.title, "", c.text),
    "prev": lambda c: reader.passage_text(c.hit.chunk.title, reader.previous_sentence(c), c.text),
}


def question(raw: Raw, context: str = "none") -> Question:
    q = raw.item
    candidates = pool(q.question, q.question, q.lang, raw.hits[:PASSAGES], raw.cosines[:PASSAGES]).candidates
    gold = labels(raw, candidates)
    return Question(raw, [Pair(q.qid, j, pair_text(q.question, CONTEXTS[context](c)), g, c.cosine)
                          for j, (c, g) in enumerate(zip(candidates, gold))])


def training_pairs(questions: list[Question], negatives: int = 10, offtopic_negatives: int = 4) -> list[Pair]:
    """The positives and the hardest negatives (highest cosine) of each training question."""
    out = []
    for qn in questions:
        keep = offtopic_negatives if qn.raw.item.kind == "offtopic" else negatives
        negs = sorted((p for p in qn.pairs if not p.positive), key=lambda p: -p.cosine)[:keep]
        out += [p for p in qn.pairs if p.positive] + negs
    return out


def source(raw: Raw) -> str:
    return "short" if raw.item.qid.startswith(("short:", "mixed:")) else "arcd"


def best(scores: np.ndarray) -> tuple[float, int]:
    """(the answerability score: the highest probability, the cited candidate), (0, -1) for no candidate."""
    return (float(scores.max()), int(scores.argmax())) if len(scores) else (0.0, -1)
