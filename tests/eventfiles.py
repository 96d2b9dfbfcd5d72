"""Write real TensorBoard event files for tests, the way real writers do.

Three styles, all with tensorboard's own record writer (no TensorFlow needed):
- ``"simple"``: ``Summary.Value.simple_value`` (PyTorch SummaryWriter, tensorboardX, TF1);
- ``"tf2"``: a scalar ``tensor`` (DT_FLOAT, ``tensor_content`` or ``float_val``) with the
  ``scalars`` plugin metadata on the tag's first value only, as TF2's ``tf.summary.scalar``;
- ``"tbx"``: tensorboardX's own SummaryWriter.
"""

from __future__ import annotations

import os
import struct
import time
from collections.abc import Iterable
from pathlib import Path

from tensorboard.compat.proto import event_pb2, summary_pb2, tensor_pb2, tensor_shape_pb2, types_pb2
from tensorboard.summary.writer.event_file_writer import EventFileWriter


def scalar_event(tag: str, step: int, value: float, wall_time: float, style: str = "simple",
                 first: bool = False, dtype: int = types_pb2.DT_FLOAT, packed: bool = True) -> event_pb2.Event:
    """One Event holding one scalar, in the given style."""
    if style == "simple":
        v = summary_pb2.Summary.Value(tag=tag, simple_value=value)
    elif style == "tf2":
        t = tensor_pb2.TensorProto(dtype=dtype, tensor_shape=tensor_shape_pb2.TensorShapeProto())
        fmt = {types_pb2.DT_FLOAT: "<f", types_pb2.DT_DOUBLE: "<d"}.get(dtype)
        if packed and fmt:
            t.tensor_content = struct.pack(fmt, value)
        elif dtype == types_pb2.DT_FLOAT:
            t.float_val.append(value)
        elif dtype == types_pb2.DT_DOUBLE:
            t.double_val.append(value)
        elif dtype in (types_pb2.DT_INT32,):
            t.int_val.append(int(value))
        elif dtype == types_pb2.DT_INT64:
            t.int64_val.append(int(value))
        else:
            raise ValueError(f"unsupported dtype {dtype}")
        v = summary_pb2.Summary.Value(tag=tag, tensor=t)
        if first:
            v.metadata.plugin_data.plugin_name = "scalars"
            v.metadata.data_class = summary_pb2.DATA_CLASS_SCALAR
    else:
        raise ValueError(f"unknown style {style!r}")
    return event_pb2.Event(wall_time=wall_time, step=step, summary=summary_pb2.Summary(value=[v]))


def text_event(tag: str, text: str, step: int = 0, wall_time: float | None = None) -> event_pb2.Event:
    t = tensor_pb2.TensorProto(dtype=types_pb2.DT_STRING, string_val=[text.encode()],
                               tensor_shape=tensor_shape_pb2.TensorShapeProto(
                                   dim=[tensor_shape_pb2.TensorShapeProto.Dim(size=1)]))
    v = summary_pb2.Summary.Value(tag=tag, tensor=t)
    v.metadata.plugin_data.plugin_name = "text"
    return event_pb2.Event(wall_time=wall_time or time.time(), step=step, summary=summary_pb2.Summary(value=[v]))


class Writer:
    """A thin wrapper over tensorboard's EventFileWriter (writes ``file_version`` first)."""

    def __init__(self, logdir: str | os.PathLike, style: str = "simple", suffix: str = "") -> None:
        Path(logdir).mkdir(parents=True, exist_ok=True)
        self.style = style
        self._w = EventFileWriter(str(logdir), max_queue_size=1_000_000, flush_secs=3600, filename_suffix=suffix)
        self._seen: set[str] = set()

    def add_event(self, event: event_pb2.Event) -> None:
        self._w.add_event(event)

    def scalar(self, tag: str, value: float, step: int, wall_time: float | None = None) -> None:
        first = tag not in self._seen
        self._seen.add(tag)
        self._w.add_event(scalar_event(tag, step, value, wall_time if wall_time is not None else time.time(),
                                       self.style, first=first))

    def scalars(self, tag: str, points: Iterable[tuple[int, float, float]]) -> None:
        """points: (step, value, wall_time)."""
        for step, value, wall in points:
            self.scalar(tag, value, step, wall)

    def text(self, tag: str, text: str, step: int = 0) -> None:
        self._w.add_event(text_event(tag, text, step))

    def flush(self) -> None:
        self._w.flush()

    def close(self) -> None:
        self._w.close()

    def __enter__(self) -> Writer:
        return self

    def __exit__(self, *exc) -> None:
        self.close()


def event_files(logdir: str | os.PathLike) -> list[Path]:
    return sorted(Path(logdir).rglob("*tfevents*"))
