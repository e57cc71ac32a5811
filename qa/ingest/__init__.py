"""The ingest stage: files → chunks → vectors → one new index generation.

Layout: ``plan`` (what is new, changed or unchanged, from the live snapshot; the commit under the
writer lock), ``encode`` (chunking, the distinct texts to embed, BM25 tokens), ``workers`` (per-core
embedding workers, questions first) and the runners: ``local`` (this process). All changes of one
ingest land in a single new generation, so an interrupted ingest leaves the index as it was.
Out of scope: watching folders, and deleting documents whose files vanished (``Assistant.remove``).
"""

from .encode import Progress, encode, sentence_texts
from .local import ingest
from .plan import IngestReport

__all__ = ["IngestReport", "Progress", "encode", "ingest", "sentence_texts"]
