"""``qa eval``: score retrieval and answers on QA test sets, a thin layer over ``qa.evaluate``.

Out of scope: the metrics (``evaluate``, ``metrics``) and their rendering (``report``).
"""

from __future__ import annotations

import json
import os
import sys
from pathlib import Path

import click

from .assistant import DEFAULT_INDEX, Assistant
from .chunk import PASSAGE_VECTORS, ChunkSettings
from .cli_options import current_store, generator_options, load_generator, progress_bar, store_option
from .cli_settings import check_index_settings, index_settings_given, resolve
from .index import stores
from .retrieve import MODES


@click.command(name="eval")
@click.argument("datasets", nargs=-1, required=True, type=click.Path(exists=True, path_type=Path))
@click.option("--corpus", "corpus", multiple=True, type=click.Path(exists=True, path_type=Path),
              help="SQuAD file(s) whose contexts form the corpus; questions pair up by id.")
@click.option("--index", "index_dir", type=click.Path(file_okay=False, path_type=Path), default=None,
              help="JSONL sets: the index to score (default embeddings). SQuAD/BEIR sets: keep the index "
                   "of their corpus here and reuse it next time (default: a temporary folder).")
@click.option("--k", default=5, show_default=True, help="Passages given to the answer step.")
@click.option("--mode", type=click.Choice(MODES), default="hybrid", show_default=True)
@click.option("--embedder", default=None, help="Embedder for the temporary index (default e5-small).")
@click.option("--max-tokens", default=ChunkSettings().max_tokens, show_default=True, help="Chunk size (new index).")
@click.option("--overlap", default=ChunkSettings().overlap_tokens, show_default=True, help="Chunk overlap (new index).")
@click.option("--passage-vectors", type=click.Choice(PASSAGE_VECTORS), default="embedded", show_default=True)
@click.option("--limit", type=int, default=None, help="Only the first N questions.")
@click.option("--seed", type=int, default=None, help="Shuffle the questions with this seed before --limit.")
@click.option("--out", "out_dir", type=click.Path(file_okay=False, path_type=Path), default=None,
              help="Write metrics.json, per_question.jsonl, report.md and plots here.")
@click.option("--json", "as_json", is_flag=True, help="Print metrics.json only.")
@generator_options
@store_option
def evaluate_cmd(datasets: tuple[Path, ...], corpus: tuple[Path, ...], index_dir: Path | None, k: int, mode: str,
                 embedder: str | None, max_tokens: int, overlap: int, passage_vectors: str, limit: int | None,
                 seed: int | None, out_dir: Path | None, as_json: bool, generator_spec: str | None,
                 context_tokens: int, llm_timeout: float, answer_tokens: int) -> None:
    """Score retrieval and answers on SQuAD JSON, JSONL or BEIR test sets (with --generator, the
    generated answers too, next to the extractive ones)."""
    from . import datasets as ds
    from . import report
    from .evaluate import EvalConfig, evaluate

    dataset = ds.load(list(datasets), list(corpus) or None)
    for qid, why in [] if as_json else dataset.skipped[:20]:
        click.echo(f"skipped {qid}: {why}", err=True)
    if dataset.kind == "jsonl" and index_dir is None:
        index_dir = Path(os.environ.get("QA_INDEX", str(DEFAULT_INDEX)))
    cfg = resolve(index_dir)
    if index_dir is not None and stores.exists(current_store(), index_dir):
        check_index_settings(Assistant.open(index_dir, store=current_store()), index_settings_given(cfg))
    run_config = EvalConfig(cfg.get("answer.k"), cfg.get("answer.mode"), cfg.get("index.embedder"), limit, seed,
                            ChunkSettings(**cfg.section("chunking")), store=current_store())
    generator = load_generator(generator_spec, context_tokens, llm_timeout, answer_tokens)
    result = evaluate(dataset, index_dir, run_config,
                      progress=None if as_json else progress_bar("questions", unit="question"), generator=generator)
    if out_dir:
        report.write(result, out_dir, "qa eval " + " ".join(sys.argv[2:]), dataset.skipped)
    if as_json:
        click.echo(json.dumps(result.metrics, ensure_ascii=False, indent=1))
        return
    click.echo(report.table(result.metrics))
    if generator is not None:
        click.echo("\n" + report.generated_table(result.metrics))
