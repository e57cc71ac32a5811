"""The index stage: chunks, vectors and BM25 kept in a store, read through snapshots.

Local store layout: ``store`` (the folder's on-disk format: generations, checksums, pruning),
``chunks`` (the chunk store), ``segment`` (an immutable slice of the corpus: chunks, vectors, BM25,
FAISS), ``ann`` (FAISS index kinds), ``generation`` (writing segments and generations), ``merge``
(the tiered merge policy), ``snapshot`` and ``views`` (an opened generation, its segments as one list
of rows), ``dense`` (dense search fanned out over the segments), ``lock`` and ``leases`` (one writer
across processes; generations readers still use), ``live`` (the ``Index``), ``current`` (reading
``CURRENT``: is the view held still the newest), ``changes`` (what a commit or a merge keeps of the
newest generation) and ``staging`` (segments written now, made live by one commit later).
``stores`` is the registry of stores: ``local`` (all of the above) and ``milvus`` (``milvus``,
``milvus_schema``, ``milvus_snapshot``, ``milvus_bm25``). Out of scope: embedding and chunking
(``qa.ingest``), ranking (``qa.retrieve``).
"""

from . import stores
from .generation import Addition
from .live import Index, IndexExists
from .lock import WriterBusy
from .snapshot import Snapshot
from .store import StoreError

__all__ = ["stores", "Addition", "Index", "IndexExists", "Snapshot", "StoreError", "WriterBusy"]
