"""Decoding: every scalar dtype, plugin metadata remembered per tag, texts, ignored plugins."""

from __future__ import annotations

import struct

import numpy as np
import pytest
from eventfiles import Writer, scalar_event, text_event
from hypothesis import given, settings
from hypothesis import strategies as st
from tensorboard.compat.proto import event_pb2, summary_pb2, tensor_pb2, tensor_shape_pb2, types_pb2

from tui.ingest import load
from tui.ingest.events import RunDecoder, Sink, tensor_scalar

T = types_pb2


def _tensor(dtype, content=b"", shape=(), **vals):
    t = tensor_pb2.TensorProto(dtype=dtype, tensor_content=content,
                               tensor_shape=tensor_shape_pb2.TensorShapeProto(
                                   dim=[tensor_shape_pb2.TensorShapeProto.Dim(size=d) for d in shape]))
    for k, v in vals.items():
        getattr(t, k).extend(v)
    return t


@pytest.mark.parametrize("dtype,content,vals,expected", [
    (T.DT_FLOAT, struct.pack("<f", 1.5), {}, 1.5),
    (T.DT_FLOAT, b"", {"float_val": [2.5]}, 2.5),
    (T.DT_DOUBLE, struct.pack("<d", 1 / 3), {}, 1 / 3),
    (T.DT_DOUBLE, b"", {"double_val": [0.1]}, 0.1),
    (T.DT_HALF, np.float16(0.333).tobytes(), {}, float(np.float16(0.333))),
    (T.DT_HALF, b"", {"half_val": [int(np.float16(-2.25).view(np.uint16))]}, -2.25),
    (T.DT_BFLOAT16, struct.pack("<H", 0x3FC0), {}, 1.5),
    (T.DT_BFLOAT16, b"", {"half_val": [0xC040]}, -3.0),
    (T.DT_INT32, struct.pack("<i", -7), {}, -7.0),
    (T.DT_INT32, b"", {"int_val": [42]}, 42.0),
    (T.DT_INT64, struct.pack("<q", 2**40), {}, float(2**40)),
    (T.DT_INT64, b"", {"int64_val": [-5]}, -5.0),
    (T.DT_INT8, b"", {"int_val": [-3]}, -3.0),
    (T.DT_UINT8, bytes([200]), {}, 200.0),
    (T.DT_INT16, struct.pack("<h", -300), {}, -300.0),
    (T.DT_UINT16, b"", {"int_val": [60000]}, 60000.0),
    (T.DT_UINT32, b"", {"uint32_val": [4_000_000_000]}, 4e9),
    (T.DT_UINT64, struct.pack("<Q", 2**50), {}, float(2**50)),
    (T.DT_BOOL, b"", {"bool_val": [True]}, 1.0),
])
def test_tensor_scalar_all_dtypes(dtype, content, vals, expected):
    assert tensor_scalar(_tensor(dtype, content, **vals)) == expected


def test_tensor_scalar_rejects_non_scalars_and_strings():
    assert tensor_scalar(_tensor(T.DT_FLOAT, struct.pack("<ff", 1, 2), shape=(2,))) is None
    assert tensor_scalar(_tensor(T.DT_STRING, string_val=[b"x"])) is None
    assert tensor_scalar(_tensor(T.DT_FLOAT, struct.pack("<f", 4.0), shape=(1, 1))) == 4.0


def _value_event(tag, tensor=None, plugin=None, step=0, wall=1.0, **kw):
    v = summary_pb2.Summary.Value(tag=tag, tensor=tensor, **kw) if tensor is not None else \
        summary_pb2.Summary.Value(tag=tag, **kw)
    if plugin:
        v.metadata.plugin_data.plugin_name = plugin
    return event_pb2.Event(step=step, wall_time=wall, summary=summary_pb2.Summary(value=[v]))


def test_plugin_metadata_is_remembered_per_tag():
    dec = RunDecoder()
    sink = Sink()
    f = lambda x: _tensor(T.DT_FLOAT, struct.pack("<f", x))  # noqa: E731
    # A histogram-like tensor plugin sends metadata first; its later scalar-shaped values are
    # not scalars. A "scalars" tag's later values (without metadata) are.
    dec.add_event(_value_event("h", f(1.0), plugin="histograms"), sink)
    dec.add_event(_value_event("h", f(2.0), step=1), sink)
    dec.add_event(_value_event("s", f(3.0), plugin="scalars"), sink)
    dec.add_event(_value_event("s", f(4.0), step=1), sink)
    assert sink.tags == ["s", "s"] and sink.values == [3.0, 4.0]
    assert dec.plugins == {"h": "histograms", "s": "scalars"}


def test_images_histograms_and_other_events_are_ignored(tmp_path):
    run = tmp_path / "r"
    with Writer(run) as w:
        img = summary_pb2.Summary.Image(height=1, width=1, colorspace=1, encoded_image_string=b"png")
        w.add_event(_value_event("img", image=img))
        w.add_event(_value_event("hist", histo=summary_pb2.HistogramProto(min=0, max=1, num=3)))
        w.add_event(event_pb2.Event(wall_time=2.0, graph_def=b"graph"))
        w.add_event(event_pb2.Event(wall_time=2.0, session_log=event_pb2.SessionLog(status=1)))
        w.add_event(_value_event("pr", _tensor(T.DT_FLOAT, struct.pack("<6f", *range(6)), shape=(6,)),
                                 plugin="pr_curves"))
        w.scalar("loss", 1.0, 3, 5.0)
    store = load([str(tmp_path)])
    assert store.tags("r") == ["loss"]
    assert store.snapshot("r").file_version == "brain.Event:2"


def test_text_summaries_are_kept(tmp_path):
    run = tmp_path / "r"
    with Writer(run) as w:
        w.add_event(text_event("hparams", "lr: 0.1", step=0, wall_time=10.0))
        w.add_event(text_event("hparams", "lr: 0.2", step=5, wall_time=11.0))
        w.scalar("loss", 1.0, 0, 5.0)
    snap = load([str(tmp_path)]).snapshot("r")
    assert snap.texts["hparams"].text == "lr: 0.2" and snap.texts["hparams"].step == 5


def test_several_values_per_event_tf1_style(tmp_path):
    run = tmp_path / "r"
    with Writer(run) as w:
        for step in range(5):
            vals = [summary_pb2.Summary.Value(tag=t, simple_value=step * k) for k, t in enumerate("abc")]
            w.add_event(event_pb2.Event(step=step, wall_time=100.0 + step, summary=summary_pb2.Summary(value=vals)))
    store = load([str(tmp_path)])
    assert store.tags("r") == ["a", "b", "c"]
    assert store.series("r", "c").values.tolist() == [0, 2, 4, 6, 8]


def test_tf2_metadata_in_first_file_applies_to_later_files(tmp_path):
    run = tmp_path / "r"
    with Writer(run, suffix=".1") as w:
        w.add_event(_value_event("hist", _tensor(T.DT_FLOAT, struct.pack("<f", 1)), plugin="histograms"))
        w.add_event(scalar_event("x", 0, 1.0, 1.0, style="tf2", first=True))
    with Writer(run, suffix=".2") as w:
        w.add_event(_value_event("hist", _tensor(T.DT_FLOAT, struct.pack("<f", 1)), step=1))
        w.add_event(scalar_event("x", 1, 2.0, 2.0, style="tf2"))
    store = load([str(tmp_path)])
    assert store.tags("r") == ["x"]
    assert store.series("r", "x").values.tolist() == [1.0, 2.0]


def test_datatype_numbers_are_tensorflows():
    from tensorboard.compat.proto import types_pb2

    from tui.ingest import events

    for name in ("DT_FLOAT", "DT_DOUBLE", "DT_INT32", "DT_UINT8", "DT_INT16", "DT_INT8", "DT_STRING",
                 "DT_INT64", "DT_BOOL", "DT_BFLOAT16", "DT_UINT16", "DT_HALF", "DT_UINT32", "DT_UINT64"):
        assert getattr(events, name) == getattr(types_pb2, name), name


def _protobuf_file_version(b: bytes):
    from google.protobuf.message import DecodeError
    from tensorboard.compat.proto import event_pb2

    try:
        ev = event_pb2.Event.FromString(b)
    except DecodeError:
        return "not an event"
    return ev.file_version if ev.WhichOneof("what") == "file_version" else None


_FV = settings(max_examples=200, deadline=None)


@_FV
@given(st.floats(allow_nan=False), st.integers(-(2**63), 2**63 - 1), st.text(max_size=40))
def test_file_version_read_without_protobuf_agrees(wall, step, text):
    from tensorboard.compat.proto import event_pb2

    from tui.ingest.events import file_version_of

    b = event_pb2.Event(wall_time=wall, step=step, file_version=text).SerializeToString()
    if len(text.encode()) < 128:  # longer ones (a 2-byte length) are left to protobuf
        assert file_version_of(b) == _protobuf_file_version(b) == text


@_FV
@given(st.binary(max_size=60))
def test_file_version_of_random_bytes_is_none_or_protobufs(b):
    from tui.ingest.events import file_version_of

    got = file_version_of(b)
    assert got is None or got == _protobuf_file_version(b)
