"""The fitted answer models, shipped as a small versioned JSON file per embedder, run in numpy.

``models/<embedder>.json`` (written by ``bench/train_answer.py``) holds logistic regressions: two
sentence rankers (candidate ``FEATURES`` → a score that orders the sentences of one question: one
for sentences in the question's language, one for the other language, where no word is shared and
cosines run ~0.07 lower) and answerability (``QUESTION_FEATURES`` → the probability that the
passages answer the question), each with the standardisation it was fitted with, plus the
abstention thresholds and the margins within which runner-up sentences join the answer (within a
language and across), all chosen on validation data. The rankers and margins order the cited
sentences (``ranking.learned``); answerability with the ``same`` threshold vetoes an answer from the
question's own language (``answerability``; the ``cross`` threshold is fitted and reported only:
across languages it abstained on right answers over short documents, docs/eval/answerability.md).
``background`` holds, per language, the mean sentence vector of the training passages in it: a
question's cosine with it is how close the question comes to any text of that language, and a
language whose best sentence stands less than ``background_margin`` above it does not answer.
Inference needs nothing but numpy: the
training library (scikit-learn, the ``train`` extra) is not a runtime need. An embedder without
its own file uses e5-small's (cosine scales differ: retrain for a new one).
Out of scope: training (``bench/train_answer.py``) and the features (``features``).
"""

from __future__ import annotations

import json
from functools import lru_cache
from pathlib import Path
from typing import NamedTuple

import numpy as np

from .features import FEATURES, QUESTION_FEATURES

FORMAT_VERSION = 4  # 4: the languages' background vectors and margin; 3: no pool size or spread features
MODELS = Path(__file__).resolve().parent / "models"
DEFAULT = "e5-small"


class Linear(NamedTuple):
    """A logistic regression on standardised inputs: ``((x - mean) / scale) @ coef + intercept``."""

    names: tuple[str, ...]
    mean: np.ndarray
    scale: np.ndarray
    coef: np.ndarray
    intercept: float

    def logits(self, x: np.ndarray) -> np.ndarray:
        x = np.asarray(x, np.float64).reshape(-1, len(self.names))
        return ((x - self.mean) / self.scale) @ self.coef + self.intercept

    def probability(self, x: np.ndarray) -> np.ndarray:
        return 1.0 / (1.0 + np.exp(-self.logits(x)))

    def to_dict(self) -> dict:
        return {"features": list(self.names), "mean": self.mean.tolist(), "scale": self.scale.tolist(),
                "coef": self.coef.tolist(), "intercept": float(self.intercept)}

    @classmethod
    def from_dict(cls, d: dict, expected: tuple[str, ...], path: Path) -> Linear:
        names = tuple(d["features"])
        if names != expected:
            raise ValueError(f"{path}: its features {names} are not this version's {expected}; "
                             "rebuild it with bench/train_answer.py")
        return cls(names, np.asarray(d["mean"], np.float64), np.asarray(d["scale"], np.float64),
                   np.asarray(d["coef"], np.float64), float(d["intercept"]))


_CROSS = FEATURES.index("cross")


def group(cross_lingual: bool) -> str:
    return "cross" if cross_lingual else "same"


class AnswerModel(NamedTuple):
    rankers: dict[str, Linear]  # "same" / "cross": by the sentence's language against the question's
    answerability: Linear
    thresholds: dict[str, float]  # by the best sentence's group: abstain below this probability
    margins: dict[str, float]  # runner-up sentences within this many ranker units of the best join it
    meta: dict
    background: dict[str, np.ndarray] | None = None  # per language: the training sentences' mean vector
    background_margin: float = 0.0  # how far a language's best cosine must stand above the question's with it

    def scores(self, matrix: np.ndarray) -> np.ndarray:
        """Each candidate's ranker score, by the ranker of its group."""
        if not len(matrix):
            return np.zeros(0)
        same, cross = self.rankers["same"].logits(matrix), self.rankers["cross"].logits(matrix)
        return np.where(matrix[:, _CROSS] > 0, cross, same)

    def threshold(self, cross_lingual: bool) -> float:
        return self.thresholds[group(cross_lingual)]

    def margin(self, cross_lingual: bool) -> float:
        return self.margins[group(cross_lingual)]

    def to_dict(self) -> dict:
        return {"format": FORMAT_VERSION, "rankers": {k: v.to_dict() for k, v in self.rankers.items()},
                "answerability": self.answerability.to_dict(), "thresholds": self.thresholds,
                "margins": self.margins, "meta": self.meta,
                "background": {k: v.tolist() for k, v in (self.background or {}).items()},
                "background_margin": self.background_margin}


def model_path(embedder: str) -> Path:
    own = MODELS / f"{embedder}.json"
    return own if own.exists() else MODELS / f"{DEFAULT}.json"


def read(path: Path) -> AnswerModel:
    d = json.loads(path.read_text("utf-8"))
    if d.get("format") != FORMAT_VERSION:
        raise ValueError(f"{path}: answer model format {d.get('format')!r}, this version reads {FORMAT_VERSION}; "
                         "rebuild it with bench/train_answer.py")
    return AnswerModel({k: Linear.from_dict(v, FEATURES, path) for k, v in d["rankers"].items()},
                       Linear.from_dict(d["answerability"], QUESTION_FEATURES, path),
                       {k: float(v) for k, v in d["thresholds"].items()},
                       {k: float(v) for k, v in d["margins"].items()}, dict(d.get("meta", {})),
                       {k: np.asarray(v, np.float32) for k, v in d["background"].items()},
                       float(d["background_margin"]))


@lru_cache(maxsize=4)
def load(embedder: str) -> AnswerModel:
    """The shipped model for ``embedder`` (read once per process)."""
    return read(model_path(embedder))
