"""Event protobuf → scalar points, texts and the file version (the general, protobuf path).

What counts as a scalar point:

- ``Summary.Value.simple_value`` (PyTorch, tensorboardX, TF1);
- a one-element numeric ``tensor`` (TF2's ``tf.summary.scalar``: DT_FLOAT, DOUBLE, HALF,
  BFLOAT16, INT8/16/32/64, UINT8/16/32/64, BOOL), from ``tensor_content`` or the typed
  ``*_val`` fields, when the tag's plugin is ``scalars`` or the tag never said which plugin it
  belongs to. Writers send the plugin metadata only with a tag's first value, so the plugin is
  remembered per (run, tag) by :class:`RunDecoder`.

Texts (plugin ``text``, e.g. hyperparameters) are kept, latest per tag. ``file_version`` is
kept. Images, audio, histograms, graphs and other plugins' tensors are ignored without error.
"""

from __future__ import annotations

from typing import Any

import numpy as np

# TensorFlow's DataType numbers (tensorflow/core/framework/types.proto; a test holds them to
# tensorboard's copy, which is imported only when a record needs protobuf: start-up stays fast).
DT_FLOAT, DT_DOUBLE, DT_INT32, DT_UINT8, DT_INT16, DT_INT8, DT_STRING = 1, 2, 3, 4, 5, 6, 7
DT_INT64, DT_BOOL, DT_BFLOAT16, DT_UINT16, DT_HALF, DT_UINT32, DT_UINT64 = 9, 10, 14, 17, 19, 22, 23

# dtype -> (numpy dtype of tensor_content, name of the typed field)
_DTYPES: dict[int, tuple[str, str]] = {
    DT_FLOAT: ("<f4", "float_val"),
    DT_DOUBLE: ("<f8", "double_val"),
    DT_HALF: ("<f2", "half_val"),
    DT_BFLOAT16: ("bf16", "half_val"),
    DT_INT8: ("<i1", "int_val"),
    DT_INT16: ("<i2", "int_val"),
    DT_INT32: ("<i4", "int_val"),
    DT_INT64: ("<i8", "int64_val"),
    DT_UINT8: ("<u1", "int_val"),
    DT_UINT16: ("<u2", "int_val"),
    DT_UINT32: ("<u4", "uint32_val"),
    DT_UINT64: ("<u8", "uint64_val"),
    DT_BOOL: ("?", "bool_val"),
}
_PB: Any = None  # (Event class, DecodeError), once imported


def _protobuf() -> Any:
    global _PB
    if _PB is None:
        from google.protobuf.message import DecodeError
        from tensorboard.compat.proto import event_pb2

        _PB = (event_pb2.Event, DecodeError)
    return _PB


def file_version_of(b: bytes) -> str | None:
    """The ``file_version`` of an Event holding only a wall time, maybe a step, and it (the
    first record of every event file), read without protobuf; else None."""
    n, p = len(b), 0
    if n > 9 and b[0] == 0x09:
        p = 9
    if p < n and b[p] == 0x10:  # a step: skip its varint
        p += 1
        while p < n and b[p] & 0x80:
            p += 1
        p += 1
    if p + 2 > n or b[p] != 0x1A or b[p + 1] & 0x80 or p + 2 + b[p + 1] != n:
        return None
    try:
        return b[p + 2 :].decode("utf-8")
    except UnicodeDecodeError:
        return None

SCALARS, TEXT = "scalars", "text"


def _bf16_to_float(bits: int) -> float:
    return float(np.array([bits << 16], dtype=np.uint32).view(np.float32)[0])


def _half_to_float(bits: int) -> float:
    return float(np.array([bits], dtype=np.uint16).view(np.float16)[0])


def tensor_scalar(t: Any) -> float | None:  # a TensorProto
    """The value of a one-element numeric TensorProto, else None."""
    spec = _DTYPES.get(t.dtype)
    if spec is None:
        return None
    size = 1
    for d in t.tensor_shape.dim:
        size *= d.size
    if size != 1:
        return None
    np_dtype, field_name = spec
    content = t.tensor_content
    if content:
        if np_dtype == "bf16":
            if len(content) != 2:
                return None
            return _bf16_to_float(int.from_bytes(content, "little"))
        dt = np.dtype(np_dtype)
        if len(content) != dt.itemsize:
            return None
        return float(np.frombuffer(content, dtype=dt)[0])
    vals = getattr(t, field_name)
    if not vals:
        return 0.0  # TensorFlow's make_ndarray: no values means zeros
    v = vals[0]
    if t.dtype == DT_HALF:
        return _half_to_float(int(v) & 0xFFFF)
    if t.dtype == DT_BFLOAT16:
        return _bf16_to_float(int(v) & 0xFFFF)
    return float(v)


def tensor_text(t: Any) -> str | None:  # a TensorProto
    if t.dtype != DT_STRING or not t.string_val:
        return None
    return "\n".join(s.decode("utf-8", "replace") for s in t.string_val)


class Sink:
    """Columns of decoded points from one read, plus texts and the file version."""

    def __init__(self) -> None:
        self.tags: list[str] = []
        self.steps: list[int] = []
        self.walls: list[float] = []
        self.values: list[float] = []
        self.order: list[int] = []  # record index, to merge with the fast path
        self.texts: list[tuple[str, int, float, str]] = []
        self.file_version: str | None = None


class RunDecoder:
    """Decodes one run's events; remembers each tag's plugin across records and files."""

    def __init__(self) -> None:
        self.plugins: dict[str, str] = {}
        # (tag, record order, plugin before, plugin after) for each change since the caller
        # last cleared it: the fast path needs to know which of its rows came before a change.
        self.changes: list[tuple[str, int, str | None, str]] = []

    def decode(self, payload: bytes, sink: Sink, order: int = 0) -> bool:
        """Decode one record into ``sink``; False if the payload is not an Event."""
        version = file_version_of(payload)
        if version is not None:
            sink.file_version = version
            return True
        event, decode_error = _protobuf()
        try:
            ev = event.FromString(payload)
        except decode_error:
            return False
        self.add_event(ev, sink, order)
        return True

    def add_event(self, ev: Any, sink: Sink, order: int = 0) -> None:  # an Event
        which = ev.WhichOneof("what")
        if which == "summary":
            step, wall = ev.step, ev.wall_time
            for v in ev.summary.value:
                self._add_value(v, step, wall, sink, order)
        elif which == "file_version":
            sink.file_version = ev.file_version

    def _add_value(self, v: Any, step: int, wall: float, sink: Sink, order: int) -> None:
        tag = v.tag
        if v.HasField("metadata") and v.metadata.plugin_data.plugin_name:
            name = v.metadata.plugin_data.plugin_name
            old = self.plugins.get(tag)
            if name != old:
                self.plugins[tag] = name
                self.changes.append((tag, order, old, name))
        kind = v.WhichOneof("value")
        if kind == "simple_value":
            self._point(sink, tag, step, wall, v.simple_value, order)
        elif kind == "tensor":
            plugin = self.plugins.get(tag)
            if plugin is None or plugin == SCALARS:
                x = tensor_scalar(v.tensor)
                if x is not None:
                    self._point(sink, tag, step, wall, x, order)
            elif plugin == TEXT:
                text = tensor_text(v.tensor)
                if text is not None:
                    sink.texts.append((tag, step, wall, text))

    @staticmethod
    def _point(sink: Sink, tag: str, step: int, wall: float, value: float, order: int) -> None:
        sink.tags.append(tag)
        sink.steps.append(step)
        sink.walls.append(wall)
        sink.values.append(value)
        sink.order.append(order)
