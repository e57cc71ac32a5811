"""The command line's side of the settings (``qa.config``): which options are settings, resolving them
for a command (flags > environment > qa.toml > defaults), logging, and refusing new-index settings
that an existing index cannot honour. Out of scope: the commands themselves (``cli``).
"""

from __future__ import annotations

import logging
import sys
from collections.abc import Iterable
from pathlib import Path
from typing import Any

import click
from click.core import ParameterSource

from . import config
from .answer import AnswerSettings, answerability, ranking
from .assistant import Assistant

NEW_INDEX_FLAGS = {"max_tokens": "--max-tokens", "overlap": "--overlap", "passage_vectors": "--passage-vectors",
                   "ann": "--ann"}


def given_flags(ctx: click.Context, names: Iterable[str]) -> dict[str, Any]:
    """The options among ``names`` that the user set (command line or environment), not defaults."""
    defaults = (ParameterSource.DEFAULT, ParameterSource.DEFAULT_MAP, None)
    return {n: ctx.params[n] for n in names if n in ctx.params and ctx.get_parameter_source(n) not in defaults}


# Command-line options that are also settings (qa.config): option name -> setting key.
OPTION_KEYS = {"k": "answer.k", "mode": "answer.mode", "max_tokens": "chunking.max_tokens",
               "overlap": "chunking.overlap_tokens", "passage_vectors": "chunking.passage_vectors",
               "ann": "index.ann", "embedder": "index.embedder", "max_file_mb": "limits.max_file_mb",
               "max_upload_mb": "limits.max_upload_mb", "host": "server.host", "port": "server.port"}
LOG_LEVELS = ("debug", "info", "warning", "error")


def resolve(index_dir: Path | None) -> config.Config:
    """The settings in force for this command: its flags over the environment over qa.toml over defaults.

    Also sets up logging (``--log-level``, else ``log.level``): one line per event on stderr."""
    ctx = click.get_current_context()
    root = ctx.find_root().obj or {}
    cfg = config.load(index_dir, root.get("config_file"))
    cfg = cfg.with_flags({OPTION_KEYS[n]: v for n, v in given_flags(ctx, OPTION_KEYS).items()})
    if root.get("log_level"):
        cfg = cfg.with_flags({"log.level": root["log_level"]})
    level = str(cfg.get("log.level")).upper()
    logging.basicConfig(level=getattr(logging, level, logging.WARNING), stream=sys.stderr,
                        format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    logging.getLogger("qa").setLevel(getattr(logging, level, logging.WARNING))
    return cfg


def index_settings_given(cfg: config.Config) -> dict[str, Any]:
    """The new-index settings (chunking, ANN kind) that someone set: flag, environment or qa.toml."""
    return {n: cfg.get(OPTION_KEYS[n]) for n in NEW_INDEX_FLAGS if cfg.source(OPTION_KEYS[n]) != "default"}


def check_index_settings(assistant: Assistant, given: dict[str, Any]) -> None:
    """Refuse new-index flags (chunking, ANN kind) that differ from what an existing index was built with:
    they cannot apply to it, and ignoring them silently would report settings that were never used."""
    chunking = assistant.index.chunking
    built = {"max_tokens": chunking.max_tokens, "overlap": chunking.overlap_tokens,
             "passage_vectors": chunking.passage_vectors,
             "ann": assistant.index.snapshot.manifest.get("ann_request", "auto")}
    differ = {n: v for n, v in given.items() if str(v) != str(built[n])}
    if differ:
        shown = ", ".join(f"{NEW_INDEX_FLAGS[n]} {v} (it has {built[n]})" for n, v in differ.items())
        flags = " ".join(f"{NEW_INDEX_FLAGS[n]} {v}" for n, v in differ.items())
        raise ValueError(f"the index at {assistant.index.folder} was built with other settings: {shown}. These "
                         f"flags only shape a new index: drop them, or rebuild into a new folder with "
                         f"`qa ingest PATH... --index NEW_DIR {flags}`")


def answer_settings(cfg: config.Config | None) -> AnswerSettings:
    """The extractive answer's settings from the ``answer`` section (those AnswerSettings has)."""
    if cfg is None:
        return AnswerSettings()
    known = {k: v for k, v in cfg.section("answer").items() if k in AnswerSettings._fields}
    for key, choices in (("abstention", answerability.ABSTENTIONS), ("ranker", ranking.RANKERS)):
        if key in known and known[key] not in choices:
            raise ValueError(f"answer.{key} {known[key]!r} ({cfg.source('answer.' + key)}) is not one of "
                             f"{sorted(choices)}: set it to one of them")
    return AnswerSettings()._replace(**known)
