"""The ``qa`` command line: a thin click layer over ``Assistant``.

Domain errors become one clean line and exit code 1, a Ctrl-C exit code 130 and one line saying what
was kept (``cli_errors``); ``qa eval`` is in ``cli_eval``. Out of scope: formatting beyond plain text/JSON.
"""

from __future__ import annotations

import json
from pathlib import Path

import click

from .assistant import Assistant
from .chunk import PASSAGE_VECTORS, ChunkSettings
from .cli_errors import DomainErrors, Interrupted, ingest_kept
from .cli_eval import evaluate_cmd
from .cli_options import (
    current_store,
    generator_options,
    index_option,
    load_generator,
    open_assistant,
    print_answer,
    print_hit,
    print_report,
    progress_bar,
    search_options,
)
from .cli_settings import LOG_LEVELS, check_index_settings, index_settings_given, resolve
from .embed import DEFAULT_EMBEDDER
from .ingest import RUNNERS, get_runner
from .records import Answer


@click.group(cls=DomainErrors)
@click.version_option(package_name="qa-bilingual")
@click.option("--config", "config_file", type=click.Path(dir_okay=False, path_type=Path), default=None,
              envvar="QA_CONFIG", help="Settings file (default: qa.toml in the index folder, if any).")
@click.option("--log-level", type=click.Choice(LOG_LEVELS, case_sensitive=False), default=None,
              help="Log to stderr at this level (default: log.level of the settings, warning).")
@click.pass_context
def main(ctx: click.Context, config_file: Path | None, log_level: str | None) -> None:
    """Ask questions about your Arabic and English documents, offline, with cited answers."""
    ctx.obj = {"config_file": config_file, "log_level": log_level}


main.add_command(evaluate_cmd)


@main.command()
@click.argument("paths", nargs=-1, required=True, type=click.Path(path_type=Path))
@index_option
@click.option("--embedder", default=None,
              help=f"New index: {DEFAULT_EMBEDDER} (default), minilm or sentence-transformers:NAME_OR_PATH. "
                   "An existing index keeps its own.")
@click.option("--max-tokens", default=ChunkSettings().max_tokens, show_default=True,
              help="Chunk size in embedder tokens (new index; an existing index refuses another value).")
@click.option("--overlap", default=ChunkSettings().overlap_tokens, show_default=True, help="Chunk overlap (new index).")
@click.option("--passage-vectors", type=click.Choice(PASSAGE_VECTORS), default="embedded", show_default=True,
              help="from-sentences: ingest ~1.45x faster, recall@1 7-9 points lower (new index).")
@click.option("--ann", default="auto", show_default=True, help="FAISS index kind: auto, flat, hnsw, ...")
@click.option("--max-file-mb", default=50.0, show_default=True, help="Skip files larger than this.")
@click.option("--runner", type=click.Choice(sorted(RUNNERS)), default="local", show_default=True,
              help="local: this process, one embedding worker per core; ray: a Ray cluster.")
@click.option("--ray-address", default=None, help="--runner ray: the cluster (default: a local Ray instance).")
@click.option("--workers", type=int, default=None, help="Embedding workers (local: default one per core; "
                                                       "ray: default one per CPU of the cluster).")
def ingest(paths: tuple[Path, ...], index_dir: Path, embedder: str, max_tokens: int, overlap: int,
           passage_vectors: str, ann: str, max_file_mb: float, runner: str, ray_address: str | None,
           workers: int | None) -> None:
    """Add files and folders (.txt .md .html .pdf .docx .json .jsonl) to the index."""
    cfg = resolve(index_dir)
    chunking = ChunkSettings(**cfg.section("chunking"))
    if ray_address and runner != "ray":
        raise ValueError("--ray-address goes with --runner ray; add --runner ray")
    options = {"workers": workers, **({"address": ray_address} if runner == "ray" else {})}
    chosen = get_runner(runner, **options)
    assistant = Assistant.create_or_open(index_dir, cfg.get("index.embedder"), chunking, cfg.get("index.ann"),
                                         store=current_store(), max_bytes=int(cfg.get("limits.max_file_mb") * 1e6))
    check_index_settings(assistant, index_settings_given(cfg))
    before = assistant.index.snapshot.generation
    try:
        report = assistant.add(paths, progress=progress_bar("embedding"), runner=chosen)
    except KeyboardInterrupt as e:
        raise Interrupted(ingest_kept(assistant, before)) from e
    print_report(report)


@main.command()
@click.argument("question")
@index_option
@search_options
@generator_options
def ask(question: str, index_dir: Path, k: int, mode: str, langs: tuple, doc_ids: tuple,
        mmr: float | None, as_json: bool, generator_spec: str | None, context_tokens: int,
        llm_timeout: float, answer_tokens: int) -> None:
    """Answer a question with cited sentences (builds the index from seeds/ if there is none).

    With a generator, the model's draft is printed on stderr as it streams; the verified answer
    (only the sentences its sources support) follows on stdout."""
    cfg = resolve(index_dir)
    generator = load_generator(generator_spec, context_tokens, llm_timeout, answer_tokens)
    assistant = open_assistant(index_dir, build_from_seeds=True, generator=generator, cfg=cfg)
    answer = None
    for item in assistant.ask_stream(question, k=cfg.get("answer.k"), mode=cfg.get("answer.mode"),
                                     langs=tuple(langs) or None,
                                     doc_ids=tuple(doc_ids) or None, mmr=mmr):
        if isinstance(item, Answer):
            answer = item
        elif not as_json:
            click.echo(item, nl=False, err=True)
    if generator is not None and not as_json and "first_token_ms" in answer.timings:
        click.echo("\n", err=True)
    if as_json:
        click.echo(json.dumps(answer.to_dict(), ensure_ascii=False, indent=1))
    else:
        print_answer(answer)


@main.command()
@click.argument("question")
@index_option
@search_options
def search(question: str, index_dir: Path, k: int, mode: str, langs: tuple, doc_ids: tuple,
           mmr: float | None, as_json: bool) -> None:
    """Show the passages that best match a question."""
    cfg = resolve(index_dir)
    hits = open_assistant(index_dir, build_from_seeds=True, cfg=cfg).search(
        question, k=cfg.get("answer.k"), mode=cfg.get("answer.mode"), langs=tuple(langs) or None,
        doc_ids=tuple(doc_ids) or None, mmr=mmr)
    if as_json:
        click.echo(json.dumps([h.to_dict() for h in hits], ensure_ascii=False, indent=1))
    for h in [] if as_json else hits:
        print_hit(h)


@main.command()
@index_option
@click.option("--json", "as_json", is_flag=True, help="Print JSON.")
def docs(index_dir: Path, as_json: bool) -> None:
    """List the indexed documents."""
    documents = Assistant.open(index_dir, store=current_store()).documents()
    if as_json:
        click.echo(json.dumps(documents, ensure_ascii=False, indent=1))
        return
    for d in documents:
        click.echo(f"{d['id']}  {d['lang']:5} {d['chunks']:5} chunks  {d['added'][:10]}  {d['title'][:60]}"
                   f"  ({d['path']})")
    click.echo(f"{len(documents)} documents")


@main.command()
@click.argument("doc")
@index_option
def remove(doc: str, index_dir: Path) -> None:
    """Remove a document by id (see `qa docs`) or by its file path."""
    for d in Assistant.open(index_dir, store=current_store()).remove(doc):
        click.echo(f"removed {d['id']} {d['title'][:60]} ({d['path']})")


@main.command()
@index_option
@click.option("--json", "as_json", is_flag=True, help="Print JSON.")
def info(index_dir: Path, as_json: bool) -> None:
    """Index statistics (model, documents, chunks, size on disk) and the settings in force."""
    cfg = resolve(index_dir)
    stats = Assistant.open(index_dir, store=current_store()).info()
    if as_json:
        stats["settings"] = {k: {"value": v, "source": src} for k, v, src in cfg.rows()}
        click.echo(json.dumps(stats, ensure_ascii=False, indent=1))
        return
    for key, value in stats.items():
        click.echo(f"{key:20} {value}")
    click.echo("\nsettings (value, where it comes from):")
    for key, value, src in cfg.rows():
        click.echo(f"  {key:26} {value!s:12} {src}")


@main.command()
@index_option
@click.option("--host", default="127.0.0.1", show_default=True, help="Address to bind.")
@click.option("--port", default=7860, show_default=True)
@click.option("--max-upload-mb", default=20.0, show_default=True, help="Largest file a user may upload.")
@click.option("--token", envvar="QA_TOKEN", default=None,
              help="Access token (or $QA_TOKEN); required when binding to a non-loopback address.")
@generator_options
def serve(index_dir: Path, host: str, port: int, max_upload_mb: float, token: str | None,
          generator_spec: str | None, context_tokens: int, llm_timeout: float, answer_tokens: int) -> None:
    """Start the web chat and the HTTP API (builds the index from seeds/ if there is none).

    The generator is fixed here: a request can ask for it or for the extractive answer only."""
    from ui.server import serve as run

    cfg = resolve(index_dir)
    generator = load_generator(generator_spec, context_tokens, llm_timeout, answer_tokens)
    assistant = open_assistant(index_dir, build_from_seeds=True, generator=generator, cfg=cfg)
    run(assistant, host=cfg.get("server.host"), port=cfg.get("server.port"),
        max_upload_bytes=int(cfg.get("limits.max_upload_mb") * 1e6), token=token,
        log_questions=cfg.get("log.questions"))


if __name__ == "__main__":
    main()
