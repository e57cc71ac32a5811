"""The answer stage: retrieved passages → a cited ``Answer`` (or an abstention).

Layout: ``extractive`` (sentence selection from the passages, citations, abstention and the
messages in the question's language). Out of scope: retrieval (``qa.retrieve``) and presentation.
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
)

__all__ = ["CALIBRATION", "AnswerSettings", "Calibration", "Candidate", "answer", "calibration_for", "candidates",
           "compose", "has_content", "message"]
