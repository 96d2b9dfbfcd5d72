"""Reading TensorBoard event files: discovery, TFRecord framing, event decoding (pure).

Public API::

    from tui.ingest import load, Ingestor, LogdirError, FileState
"""

from tui.ingest.ingestor import Ingestor, LogdirError, load
from tui.ingest.reader import FileState

__all__ = ["FileState", "Ingestor", "LogdirError", "load"]
