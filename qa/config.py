"""Settings in one place: defaults < ``qa.toml`` < environment variables < command-line flags.

``qa.toml`` is read from the index folder (``<index>/qa.toml``) or from ``--config FILE``; its tables
are the sections of the keys below (``[answer]``, ``[chunking]``, ``[index]``, ``[limits]``,
``[server]``, ``[log]``, and whatever other stages register). Adding a setting is one line:
``setting("generator.url", None, "QA_GENERATOR_URL", "...")``. ``Config.get(key)`` gives the value in
force and ``Config.source(key)`` where it came from, which ``qa info`` prints. Out of scope: writing
the file, and settings of a running server (it reads them once, at start).
"""

from __future__ import annotations

import os
import tomllib
from collections.abc import Mapping
from pathlib import Path
from typing import Any, NamedTuple

FILE_NAME = "qa.toml"


class Setting(NamedTuple):
    key: str  # "section.name"
    default: Any
    env: str | None
    help: str


SETTINGS: dict[str, Setting] = {}


def setting(key: str, default: Any, env: str | None = None, help: str = "") -> None:
    """Register a setting (its type is the default's; None means text)."""
    if "." not in key:
        raise ValueError(f"setting {key!r} needs a section: 'section.name'")
    SETTINGS[key] = Setting(key, default, env, help)


setting("answer.k", 5, "QA_K", "passages given to the answer step")
setting("answer.mode", "hybrid", "QA_MODE", "retrieval mode: hybrid, dense or bm25")
setting("answer.max_sentences", 3, None, "cited sentences at most in an answer")
setting("answer.threshold", None, "QA_THRESHOLD", "evidence below which the assistant abstains (default: calibrated)")
setting("answer.abstention", "learned", "QA_ABSTENTION",
        "what vetoes an answer past the evidence: learned, read (the reader, opt-in) or evidence")
setting("answer.ranker", "learned", "QA_RANKER", "what orders the cited sentences: learned, read (the reader), scorer")
setting("chunking.max_tokens", 250, None, "chunk size in embedder tokens (new index)")
setting("chunking.overlap_tokens", 40, None, "chunk overlap in tokens (new index)")
setting("chunking.passage_vectors", "embedded", None, "embedded or from-sentences (new index)")
setting("index.embedder", None, None, "embedder of a new index (default e5-small)")
setting("index.ann", "auto", None, "FAISS index kind of a new index")
setting("limits.max_file_mb", 50.0, "QA_MAX_FILE_MB", "qa ingest skips larger files")
setting("limits.max_upload_mb", 20.0, "QA_MAX_UPLOAD_MB", "largest file a user may upload to qa serve")
setting("server.host", "127.0.0.1", "QA_HOST", "address qa serve binds to")
setting("server.port", 7860, "QA_PORT", "port of qa serve")
setting("log.level", "warning", "QA_LOG_LEVEL", "debug, info, warning or error")
setting("log.questions", False, "QA_LOG_QUESTIONS", "put question text in the request log")


def _typed(s: Setting, value: Any, where: str) -> Any:
    """``value`` as the setting's type; a ValueError names the key, the bad value and where it came from."""
    kind = type(s.default)
    if s.default is None or value is None:
        return None if value in (None, "") else str(value) if not isinstance(value, (int, float)) else value
    try:
        if kind is bool:
            if isinstance(value, str) and value.lower() in ("1", "true", "yes", "on", "0", "false", "no", "off"):
                return value.lower() in ("1", "true", "yes", "on")
            if isinstance(value, bool):
                return value
            raise ValueError(value)
        return kind(value) if not (kind is int and isinstance(value, float)) else int(value)
    except (TypeError, ValueError) as e:
        raise ValueError(f"{where}: {s.key} = {value!r} is not a {kind.__name__}; fix it or remove it") from e


def read_file(path: Path) -> dict[str, Any]:
    """The settings of a qa.toml file, flattened to ``section.name`` keys (unknown keys are an error)."""
    try:
        data = tomllib.loads(path.read_text("utf-8"))
    except (OSError, UnicodeDecodeError, tomllib.TOMLDecodeError) as e:
        raise ValueError(f"cannot read the settings file {path}: {e}") from e
    flat = {f"{section}.{name}": value for section, table in data.items() if isinstance(table, dict)
            for name, value in table.items()}
    flat.update({k: v for k, v in data.items() if not isinstance(v, dict)})
    unknown = sorted(set(flat) - set(SETTINGS))
    if unknown:
        raise ValueError(f"{path}: unknown setting(s) {', '.join(unknown)}; known: {', '.join(sorted(SETTINGS))}")
    return flat


class Config:
    """The settings in force and where each came from (default, the file, an environment variable, a flag)."""

    def __init__(self, values: dict[str, Any], sources: dict[str, str], file: Path | None):
        self.values, self.sources, self.file = values, sources, file

    def get(self, key: str) -> Any:
        return self.values[key]

    def source(self, key: str) -> str:
        return self.sources[key]

    def section(self, name: str) -> dict[str, Any]:
        """The settings of one section by their short names (``answer`` -> {"k": 5, ...})."""
        return {k.partition(".")[2]: v for k, v in self.values.items() if k.startswith(name + ".")}

    def with_flags(self, flags: Mapping[str, Any]) -> Config:
        """A copy with command-line values (keys by setting) overriding everything else."""
        values, sources = dict(self.values), dict(self.sources)
        for key, value in flags.items():
            values[key], sources[key] = _typed(SETTINGS[key], value, "command line"), "command line"
        return Config(values, sources, self.file)

    def rows(self) -> list[tuple[str, Any, str]]:
        """(key, value, source) of every setting, sorted by key: what ``qa info`` prints."""
        return [(k, self.values[k], self.sources[k]) for k in sorted(self.values)]


def load(index_dir: Path | None = None, config_file: Path | None = None,
         env: Mapping[str, str] | None = None) -> Config:
    """Defaults, then ``config_file`` (or ``<index_dir>/qa.toml`` if it exists), then the environment."""
    env = os.environ if env is None else env
    file = config_file or (index_dir / FILE_NAME if index_dir is not None else None)
    if config_file is not None and not config_file.is_file():
        raise ValueError(f"no settings file at {config_file}; check --config")
    from_file = read_file(file) if file is not None and file.is_file() else {}
    values, sources = {}, {}
    for key, s in SETTINGS.items():
        values[key], sources[key] = s.default, "default"
        if key in from_file:
            values[key], sources[key] = _typed(s, from_file[key], str(file)), str(file)
        if s.env and env.get(s.env) not in (None, ""):
            values[key], sources[key] = _typed(s, env[s.env], f"${s.env}"), f"${s.env}"
    return Config(values, sources, file if from_file else None)
