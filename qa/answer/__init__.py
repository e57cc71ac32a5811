"""The answer stage: retrieved passages → a cited ``Answer`` (or an abstention).

Layout: ``extractive`` (the one entry point ``answer``: the evidence that decides abstention,
citations and the messages in the question's language), ``ranking`` (which candidates an answer
cites: the learned ranker of ``model`` over ``features``, or the evidence's own order), ``cues``
and ``span`` (answer types, the short answer inside a sentence); ``generators``, ``prompt``,
``verify`` and ``generated`` (answers written by a language model and checked against them).
Out of scope: retrieval (``qa.retrieve``) and presentation.
"""

from .extractive import (
    CALIBRATION,
    AnswerSettings,
    Calibration,
    Candidate,
    answer,
    calibration_for,
    candidates,
    compose,
    has_content,
    message,
    score,
)
from .ranking import RANKERS

__all__ = ["CALIBRATION", "AnswerSettings", "Calibration", "Candidate", "answer", "calibration_for", "candidates",
           "compose", "has_content", "message", "RANKERS", "score"]
