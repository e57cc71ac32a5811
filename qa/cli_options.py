"""The command line's shared parts: options several commands take, opening the assistant, printing.

Scope: ``--index``/``--store`` (the store is kept in the click context, not a parameter of every
command), the search and generator options, the ingest progress bar, and plain-text printing of hits,
answers and ingest reports. The commands themselves are ``cli``; settings files are ``cli_settings``.
"""

from __future__ import annotations

import os
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

import click

from . import config
from .answer.generators import ENV as GENERATOR_ENV
from .answer.generators import Generator, GeneratorSettings, get_generator
from .assistant import DEFAULT_INDEX, Assistant
from .cli_settings import answer_settings
from .index import stores
from .ingest import IngestReport
from .records import Answer, Hit
from .retrieve import MODES

SEEDS = Path("seeds")


def _remember_store(ctx: click.Context, _param: click.Parameter, value: str | None) -> str | None:
    ctx.meta["qa.store"] = value
    return value


# Where the index lives; kept in the click context (not a parameter of every command) and read by
# ``current_store()`` where an Assistant is opened. Milvus needs the [scale] extra.
store_option = click.option(
    "--store", default=None, expose_value=False, callback=_remember_store, is_eager=True,
    help="Where the index lives: local (the index folder, default; or $QA_STORE) or milvus:URI "
         "(a milvus-lite .db file or http://host:19530, optionally #NAME).")


def current_store() -> str | None:
    return click.get_current_context().meta.get("qa.store")


def index_option(f: Callable) -> Callable:
    f = store_option(f)
    return click.option("--index", "index_dir", type=click.Path(file_okay=False, path_type=Path),
                        default=lambda: os.environ.get("QA_INDEX", str(DEFAULT_INDEX)),
                        show_default="embeddings (or $QA_INDEX)", help="Index folder.")(f)


def search_options(f: Callable) -> Callable:
    for opt in reversed([
        click.option("--k", default=5, show_default=True, help="Passages to retrieve."),
        click.option("--mode", type=click.Choice(MODES), default="hybrid", show_default=True),
        click.option("--lang", "langs", multiple=True, type=click.Choice(["ar", "en", "other"]),
                     help="Only passages in this language."),
        click.option("--doc", "doc_ids", multiple=True, help="Only passages of this document id."),
        click.option("--mmr", type=float, default=None, help="Diversify with MMR (0-1, 1 = relevance)."),
        click.option("--json", "as_json", is_flag=True, help="Print JSON."),
    ]):
        f = opt(f)
    return f


def generator_options(f: Callable) -> Callable:
    defaults = GeneratorSettings()
    for opt in reversed([
        click.option("--generator", "generator_spec", default=None, metavar="SPEC",
                     help=f"Who writes the answer: extractive (default, offline), openai:MODEL@BASE_URL (an "
                          f"OpenAI-compatible server: llama.cpp, Ollama, vLLM, a hosted API) or "
                          f"llama-cpp:/path/model.gguf (or ${GENERATOR_ENV})."),
        click.option("--context-tokens", default=defaults.context_tokens, show_default=True,
                     help="The model's context window; passages are trimmed to fit it."),
        click.option("--llm-timeout", default=defaults.timeout, show_default=True,
                     help="Seconds a model may take for one answer before the extractive answer is given."),
        click.option("--answer-tokens", default=defaults.max_answer_tokens, show_default=True,
                     help="Longest generated answer, in tokens (kept free in the context window)."),
    ]):
        f = opt(f)
    return f


def load_generator(spec: str | None, context_tokens: int, timeout: float, answer_tokens: int) -> Generator | None:
    if timeout <= 0 or not 8 <= answer_tokens <= context_tokens // 2:
        raise ValueError(f"--llm-timeout {timeout} / --answer-tokens {answer_tokens}: give a positive number of "
                         f"seconds and 8 to half of --context-tokens ({context_tokens}) answer tokens")
    return get_generator(spec, GeneratorSettings(timeout=timeout, context_tokens=context_tokens,
                                                 max_answer_tokens=answer_tokens))


def progress_bar(label: str, unit: str = "chunk"):
    from tqdm import tqdm

    bar: dict[str, Any] = {}

    def update(done: int, total: int) -> None:
        if "bar" not in bar:
            bar["bar"] = tqdm(total=total, desc=label, unit=unit, file=sys.stderr, dynamic_ncols=True)
        bar["bar"].update(done - bar["bar"].n)
        if done >= total:
            bar["bar"].close()

    return update


def print_report(report: IngestReport) -> None:
    click.echo(report.summary())
    for s in report.skipped:
        click.echo(f"skipped {s.path}: {s.reason}", err=True)


def open_assistant(index_dir: Path, build_from_seeds: bool = False, generator: Generator | None = None,
                   cfg: config.Config | None = None) -> Assistant:
    settings = answer_settings(cfg)
    if not (build_from_seeds and SEEDS.is_dir() and not stores.exists(current_store(), index_dir)):
        return Assistant.open(index_dir, generator=generator, answer_settings=settings, store=current_store())
    click.echo(f"No index at {index_dir} yet: building one from {SEEDS}/ ...", err=True)
    return Assistant.build([SEEDS], index_dir, progress=progress_bar("embedding"), generator=generator,
                           answer_settings=settings, store=current_store())


def print_hit(h: Hit) -> None:
    c = h.chunk
    # The rank score is the mode's (fused reciprocal ranks in hybrid, BM25, or the cosine): named apart
    # from the passage's cosine, which is what a reader can compare across questions.
    cosine = f" cosine={h.dense:.3f}" if h.dense is not None else ""
    click.echo(f"#{h.rank} rank score={h.score:.4f}{cosine} [{c.lang}] {c.title} — {c.path}:{c.start}-{c.end}")
    click.echo("   " + c.text.replace("\n", " ")[:300])


def print_answer(a: Answer) -> None:
    click.echo(a.text)
    if a.notice:
        click.echo(f"\nNote: {a.notice}")
    for sentence in a.unsupported:
        click.echo(f"  removed: {sentence}")
    if a.citations:
        click.echo("\nSources:")
        for c in a.citations:
            click.echo(f"[{c.n}] {c.title} — {c.path} chars {c.start}-{c.end} (sentence cosine {c.score:.3f})")
    elif a.passages:
        click.echo("\nClosest passages (not sufficient to answer):")
        for h in a.passages[:3]:
            print_hit(h)
