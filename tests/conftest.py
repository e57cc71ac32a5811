"""Shared fixtures: the real e5-small embedder and small indexes built once per test session."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
FIXTURES = Path(__file__).resolve().parent / "fixtures"
PARALLEL = FIXTURES / "parallel"
SEEDS = ROOT / "seeds"


@pytest.fixture(scope="session")
def questions() -> list[dict]:
    return [json.loads(line) for line in (PARALLEL / "questions.jsonl").read_text().splitlines()]


@pytest.fixture(scope="session")
def seed_assistant(tmp_path_factory):
    from qa import Assistant

    return Assistant.build([SEEDS], tmp_path_factory.mktemp("seed") / "index")


@pytest.fixture(scope="session")
def mixed_corpus(tmp_path_factory) -> Path:
    """Three topics only in English, three only in Arabic."""
    folder = tmp_path_factory.mktemp("mixed")
    for name in ("library", "bridge", "festival"):
        shutil.copy(PARALLEL / "en" / f"{name}.txt", folder / f"{name}.txt")
    for name in ("hospital", "solar", "football"):
        shutil.copy(PARALLEL / "ar" / f"{name}.txt", folder / f"{name}.txt")
    return folder


@pytest.fixture(scope="session")
def mixed_assistant(tmp_path_factory, mixed_corpus):
    from qa import Assistant

    return Assistant.build([mixed_corpus], tmp_path_factory.mktemp("mixed-index") / "index")
