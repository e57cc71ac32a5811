"""Offline Arabic/English document question answering with cited, grounded answers.

    from qa import Assistant
    assistant = Assistant.build(["seeds"])            # or Assistant.open("embeddings")
    answer = assistant.ask("How many participants attended the forum?")
    print(answer.text, answer.citations[0].start, answer.citations[0].end)
"""

from .answer import AnswerSettings
from .assistant import Assistant
from .chunk import ChunkSettings
from .embed import EMBEDDERS, Embedder, get_embedder
from .ingest import IngestReport
from .load import LoadError, load_paths
from .records import Answer, Chunk, Citation, Document, Hit, Span
from .retrieve import SearchOptions
from .text import normalize

__all__ = [
    "Answer", "AnswerSettings", "Assistant", "Chunk", "ChunkSettings", "Citation", "Document",
    "EMBEDDERS", "Embedder", "Hit", "IngestReport", "LoadError", "SearchOptions", "Span",
    "get_embedder", "load_paths", "normalize",
]
