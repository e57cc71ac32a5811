"""The answer stage: retrieved passages → a cited ``Answer`` (or an abstention).

Layout: ``extractive`` (sentence selection from the passages, citations, abstention and the
messages in the question's language). Out of scope: retrieval (``qa.retrieve``) and presentation.
"""

from .extractive import (
    CALIBRATION,
    AnswerSettings,
    Calibration,
    Candidate,
    calibration_for,
    candidates,
    compose,
    message,
)

__all__ = ["CALIBRATION", "AnswerSettings", "Calibration", "Candidate", "calibration_for", "candidates",
           "compose", "message"]
