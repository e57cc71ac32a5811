"""The ``ray`` runner: a Ray Data pipeline reads and chunks files in tasks, embeds them in an actor pool.

    qa ingest PATH --runner ray [--ray-address ADDR]     # no address: a Ray instance on this machine

Stages: (1) tasks read and chunk each new or changed file (a file that cannot be read comes back as
its error, reported and skipped as locally); (2) this process plans from each document's entry and
chunk count exactly as the local runner does (unchanged, replaced, duplicates): the texts and
chunks stay in the cluster's object store; (3) an actor pool embeds the chosen documents, one actor
per CPU of the cluster with one engine thread each (one GPU each instead for a sentence-transformers
backend when the cluster has GPUs); actors are restarted and their batches retried when a worker
dies; (4) blocks stream back in plan order as they finish and are written one by one as Parquet
shards (``shards``) under the index folder, with ``progress`` after each, never one block holding
the whole dataset; (5) each shard is read back into the documents it completes, which are staged
as a segment (``Index.stage``, invisible) every ``segment_rows`` chunks, so the driver holds about
one segment's additions whatever the archive's size; (6) one commit makes every staged segment live
in one generation, with the ingest's removals; a failed or cancelled job discards them and leaves
the index as it was. Chunks, ids, vectors and row order are those of a local ingest of the same
files. Every node needs this package and its engine installed. Out of scope: streaming the shards
into a remote store (a Milvus store gets them at the commit, from memory; Milvus bulk import would
be the way) and shared storage for shards written by the workers themselves (they come back to this
process instead).
"""

from __future__ import annotations

import json
import shutil
import tempfile
import threading
import time
from collections.abc import Iterable
from dataclasses import asdict
from pathlib import Path

from ..chunk import ChunkSettings
from ..embed import Embedder, get_embedder
from ..index import Addition, Index
from ..index.staging import Staging
from ..load import DEFAULT_MAX_BYTES, LoadError, load_file
from ..records import Chunk, Document
from . import shards
from .encode import Progress, chunk_all, encode_chunked
from .plan import IngestReport, Plan, choose, commit, files

INSTALL = "the ray runner needs Ray: pip install 'qa-bilingual[scale]' (ray[data]==2.60.0)"
DOCS_PER_BATCH = 4
# Chunks of embedded documents the driver gathers before staging them as one segment: what it holds
# at most (~7 KB a chunk with its sentences, so ~140 MB), whatever the archive's size.
SEGMENT_ROWS = 20_000
# Ray Data's threads that go on calling into Ray while its executor stops (see ``_stopped``), and how long
# a job waits for them after it ends.
EXECUTOR_THREADS = ("StreamingExecutor-", "ray-data-metadata-prefetch")
STOP_WAIT_S = 60.0


def _import_ray():
    try:
        import ray
        import ray.data  # noqa: F401
    except ImportError as e:
        raise ValueError(INSTALL) from e
    return ray


def read_and_chunk(row: dict, spec: str, settings: dict, max_bytes: int) -> list[dict]:
    """A Ray task: one row per document of the file (its chunks as JSON), or one row with its error.
    ``head`` is the document without its text and ``n_chunks`` its chunk count: all that planning
    needs, so only those columns come to the driver."""
    base = {"order": row["order"], "path": row["path"], "digest": row["digest"], "doc_id": "", "head": "",
            "n_chunks": 0, "document": "", "chunks": ""}
    try:
        documents = load_file(row["path"], max_bytes)
    except LoadError as e:
        return [{**base, "doc_order": 0, "error": e.reason}]
    if not documents:
        return [{**base, "doc_order": 0, "error": ""}]
    embedder = get_embedder(spec)
    chunked = chunk_all([(d, row["digest"]) for d in documents], embedder, ChunkSettings(**settings))
    return [{**base, "doc_order": i, "error": "", "doc_id": d.id, "n_chunks": len(chunks),
             "head": json.dumps({**asdict(d), "text": ""}, ensure_ascii=False),
             "document": json.dumps(asdict(d), ensure_ascii=False),
             "chunks": json.dumps([c.to_dict() for c in chunks], ensure_ascii=False)}
            for i, (d, _, chunks) in enumerate(chunked)]


class EmbedActor:
    """One engine per actor, on one thread (or one GPU); embeds batches of chunked documents."""

    def __init__(self, spec: str, settings: dict, skip: frozenset[str] = frozenset()):
        import ray

        self.embedder = get_embedder(spec)
        if ray.get_gpu_ids() and hasattr(self.embedder, "to_device"):
            self.embedder.to_device("cuda")
        elif hasattr(self.embedder, "pin_thread"):
            self.embedder.pin_thread()
        self.settings = ChunkSettings(**settings)
        self.skip = skip  # documents the plan does not add (duplicates): usually none

    def __call__(self, batch: dict) -> dict:
        chunked = [(Document(**json.loads(d)), h, [Chunk.from_dict(c) for c in json.loads(cs)])
                   for i, d, h, cs in zip(batch["doc_id"], batch["document"], batch["digest"], batch["chunks"])
                   if i and i not in self.skip]
        additions = encode_chunked(chunked, self.embedder, self.settings, workers=1)
        return shards.to_table(additions).to_pydict()


class RayRunner:
    """Ingest through Ray Data on the cluster at ``address`` (None: a local Ray instance)."""

    def __init__(self, address: str | None = None, workers: int | None = None, segment_rows: int = SEGMENT_ROWS):
        _import_ray()  # without the extra, say so before any file is read
        self.address, self.workers, self.segment_rows = address, workers, segment_rows

    def _connect(self):
        ray = _import_ray()
        if not ray.is_initialized():
            try:
                ray.init(address=self.address, ignore_reinit_error=True, log_to_driver=False,
                         configure_logging=False)
            except (ConnectionError, RuntimeError, ValueError) as e:
                where = self.address or "a local instance"
                raise ValueError(f"cannot start or reach the Ray cluster at {where}: {e} (is it running, "
                                 "and is RAY_AUTH_TOKEN set to the cluster's token?)") from e
        return ray

    def ingest(self, index: Index, embedder: Embedder, paths: Iterable[str | Path],
               max_bytes: int = DEFAULT_MAX_BYTES, progress: Progress | None = None) -> IngestReport:
        started = time.perf_counter()
        todo = files(index, paths)
        spec, settings = index.embedder, index.chunking._asdict()
        if not todo.read:
            plan = choose(index, todo, [])
            commit(index, plan, [])
            return plan.report(0, started)
        ray = self._connect()
        ctx = ray.data.DataContext.get_current()
        ctx.enable_progress_bars = progress is None
        ctx.execution_options.preserve_order = True  # segments in plan order: rows as a local ingest's
        items = [{"order": i, "path": p, "digest": h} for i, (p, h) in enumerate(todo.read)]
        loaded = ray.data.from_items(items).flat_map(
            read_and_chunk, fn_kwargs={"spec": spec, "settings": settings, "max_bytes": max_bytes}).materialize()
        heads = loaded.drop_columns(["document", "chunks"]).take_all()  # no texts: entries and counts
        heads.sort(key=lambda r: (r["order"], r["doc_order"]))
        plan = choose(index, todo, _loaded(heads))
        keep = {d.id for d, _ in plan.documents}
        expected = {r["doc_id"]: r["n_chunks"] for r in heads if r["doc_id"] in keep and r["n_chunks"]}
        skip = frozenset(r["doc_id"] for r in heads if r["doc_id"] and r["doc_id"] not in expected)
        with index.staging() as staging:
            if expected:  # the actors read ``loaded`` in place (a filter task would wait for their CPUs)
                self._embed(ray, loaded, expected, skip, spec, settings, index, staging, plan, progress)
            staging.commit(plan.remove)
        return plan.report(staging.chunks, started)

    def _embed(self, ray, loaded, expected: dict[str, int], skip: frozenset[str], spec: str, settings: dict,
               index: Index, staging: Staging, plan: Plan, progress: Progress | None) -> None:
        """Embed the ``expected`` documents of ``loaded`` on the cluster; each block is written as a
        shard, read back into the documents it completes, and those are staged as a segment once
        ``segment_rows`` chunks wait."""
        cpus = int(ray.cluster_resources().get("CPU", 1))
        gpus = int(ray.cluster_resources().get("GPU", 0)) if spec.startswith("sentence-transformers") else 0
        actors = self.workers or (gpus or cpus)
        # Named parameters only (``ray_remote_args`` and ``concurrency`` are deprecated in Ray 2.60): a
        # fixed pool; Ray Data's actor pools restart dead actors and retry their batches by default
        # (``max_restarts=-1``, ``max_task_retries=-1``), which the killed-worker test relies on.
        embedded = loaded.map_batches(
            EmbedActor, fn_constructor_kwargs={"spec": spec, "settings": settings, "skip": skip},
            batch_size=DOCS_PER_BATCH, compute=ray.data.ActorPoolStrategy(size=min(actors, len(expected))),
            num_cpus=0 if gpus else 1, num_gpus=1 if gpus else 0,
            runtime_env={"env_vars": {"OMP_NUM_THREADS": "1"}})
        total = sum(expected.values())
        documents = shards.Documents(expected, int(index.snapshot.manifest["dim"]))
        folder = Path(tempfile.mkdtemp(prefix=".ray-shards-", dir=index.folder))
        waiting: list[Addition] = []
        running = set(threading.enumerate())
        batches = iter(embedded.iter_batches(batch_size=None, batch_format="pyarrow"))
        try:
            done = 0
            if progress:
                progress(0, total)
            for n, block in enumerate(batches):
                path = shards.write(block, folder, n)
                waiting += plan.prepared(documents.take(path))
                path.unlink()  # consumed: the disk holds one shard at a time, too
                if sum(len(a.chunks) for a in waiting) >= self.segment_rows:
                    staging.write(waiting)
                    waiting = []
                done += block.num_rows
                if progress:
                    progress(done, total)
            documents.finish()
            staging.write(waiting)
        finally:
            # A job left mid-way (a cancel, an error) must stop Ray Data's executor now: the
            # exception's traceback keeps the iterator alive, its threads go on, and one touching
            # Ray after ``ray.shutdown()`` makes Ray end the whole process (seen in the test suite).
            batches.close()
            _stopped(running)
            shutil.rmtree(folder, ignore_errors=True)


def _stopped(running: set[threading.Thread], timeout: float = STOP_WAIT_S) -> None:
    """Wait until the Ray Data executor threads started since ``running`` was taken have ended.

    Closing the iterator stops the executor, which waits only 2 s for its scheduling loop (5 s for its
    metadata thread) and then leaves it running. On a busy machine a step of that loop takes longer,
    and if Ray is shut down before it ends (the process exits, a test tears its cluster down, right
    after a cancel) its next call into Ray ends the whole process: "The core worker has already been
    shutdown ... The process will exit", exit code 1. Ours waits (bounded) until they are done."""
    deadline = time.monotonic() + timeout
    for thread in threading.enumerate():
        if thread not in running and thread.name.startswith(EXECUTOR_THREADS):
            thread.join(max(0.0, deadline - time.monotonic()))


def _loaded(rows: list[dict]):
    """The (path, hash, documents or LoadError) of each read file, in order, from the tasks' rows."""
    by_file: dict[int, list[dict]] = {}
    for r in rows:
        by_file.setdefault(r["order"], []).append(r)
    for _, group in sorted(by_file.items()):
        path, digest = group[0]["path"], group[0]["digest"]
        if group[0]["error"]:
            yield path, digest, LoadError(path, group[0]["error"])
        else:
            yield path, digest, [Document(**json.loads(r["head"])) for r in group if r["head"]]

