"""The shipped answer models' file (qa/answer/model.py): versioned, refused with the rebuild command."""

import json

import pytest

from qa.answer.features import FEATURES, QUESTION_FEATURES
from qa.answer.model import FORMAT_VERSION, load, model_path, read


def test_the_shipped_file_reads_with_this_versions_features():
    model = load("e5-small")
    assert model.rankers["same"].names == FEATURES and model.answerability.names == QUESTION_FEATURES
    assert 0.0 < model.threshold(False) < 1.0 and set(model.margins) == {"same", "cross"}
    assert model_path("some-other-embedder") == model_path("e5-small")  # falls back to e5-small's
    assert set(model.background) == {"ar", "en"} and all(v.shape == (384,) for v in model.background.values())
    assert 0.0 < model.background_margin < 0.1  # a cosine margin, chosen on validation


def test_another_format_or_other_features_are_refused_with_the_rebuild_command(tmp_path):
    d = json.loads(model_path("e5-small").read_text("utf-8"))
    old = tmp_path / "old.json"
    old.write_text(json.dumps({**d, "format": FORMAT_VERSION - 1}), "utf-8")
    with pytest.raises(ValueError, match="format 3, this version reads 4; rebuild it with bench/train_answer.py"):
        read(old)
    d["answerability"]["features"] = d["answerability"]["features"][:-1]
    other = tmp_path / "other.json"
    other.write_text(json.dumps(d), "utf-8")
    with pytest.raises(ValueError, match="are not this version's"):
        read(other)
