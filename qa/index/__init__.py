"""The index stage: chunks, vectors and BM25 kept in an index folder, read through snapshots.

Layout: ``store`` (the folder's on-disk format: generations, checksums, the chunk store),
``ann`` (FAISS index kinds), ``generation`` (writing one generation), ``snapshot`` (an opened,
immutable generation that queries read) and ``live`` (the ``Index``: the live snapshot of a folder
and its atomic swaps). Out of scope: embedding and chunking (``qa.ingest``), ranking (``qa.retrieve``).
"""

from .generation import Addition
from .live import Index, IndexExists
from .lock import WriterBusy
from .snapshot import Snapshot
from .store import StoreError

__all__ = ["Addition", "Index", "IndexExists", "Snapshot", "StoreError", "WriterBusy"]
