"""Reading TensorBoard event files: discovery, TFRecord framing, event decoding (pure).

Public API::

    from tui.ingest import load, Ingestor, LogdirError, FileState

What is wrong with the data read (damaged records, impossible lengths, unreadable files and
directories) is kept as typed :class:`tui.store.Problem` values: ``Store.problems()``,
``RunSnapshot.problem_items``, ``FileState.problems``.

Inside:

- ``ingestor``: logdirs -> runs -> files, one poll reads what is new (small files in batches);
- ``reader``: one file, incrementally (offsets, chunks, rewrites, damage tallies);
- ``tfrecord``: the plain framer (one record at a time) and the search for the next valid
  record after damage; ``problems``: the words for each kind of problem;
- ``fast``: the vectorised path for a batch of buffers; ``chain``: framing by lengths (one
  buffer, or many small ones at once); ``rows``: payload CRCs and template decoding of many
  records as rows of bytes; ``templates``: the byte layouts of single-scalar events;
  ``crc``: CRC32C with numpy; ``chunk``: a buffer's result, the tag-id table, the plain path;
- ``events``: the protobuf path (any Event); ``discovery``, ``sources``: where files are.
"""

from tui.ingest.ingestor import Ingestor, LogdirError, load, no_cyclic_gc
from tui.ingest.reader import FileState

__all__ = ["FileState", "Ingestor", "LogdirError", "load", "no_cyclic_gc"]
