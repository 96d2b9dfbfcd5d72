import threading

import numpy as np
import pytest

from tui.store import Store


def make(max_points=100_000):
    s = Store(max_points=max_points)
    s.ensure_run("r", "/tmp/r")
    return s


def test_append_and_read_back():
    s = make()
    s.append("r", "loss", [1, 2, 3], [10.0, 11.0, 12.0], [0.5, 0.4, 0.3])
    s.append("r", "loss", [4], [13.0], [0.2])
    ser = s.series("r", "loss")
    assert ser.steps.tolist() == [1, 2, 3, 4]
    assert ser.values.tolist() == [0.5, 0.4, 0.3, 0.2]
    assert ser.wall_times.dtype == np.float64 and ser.steps.dtype == np.int64


def test_versions_bump_only_for_the_changed_run():
    s = make()
    s.ensure_run("other", "/tmp/o")
    before = s.versions()
    s.append("r", "x", [1], [1.0], [1.0])
    after = s.versions()
    assert after["r"] > before["r"] and after["other"] == before["other"]


def test_restart_purges_points_at_or_after_the_new_step():
    s = make()
    s.append("r", "x", range(10), np.arange(10.0), np.arange(10.0))
    s.append("r", "x", [5, 6], [100.0, 101.0], [-1.0, -2.0])
    ser = s.series("r", "x")
    assert ser.steps.tolist() == [0, 1, 2, 3, 4, 5, 6]
    assert ser.values.tolist()[-2:] == [-1.0, -2.0]
    (restart,) = s.snapshot("r").restarts
    assert (restart.tag, restart.step, restart.wall_time, restart.dropped) == ("x", 5, 100.0, 5)


def test_restart_inside_one_batch_and_repeated_steps_kept():
    s = make()
    s.append("r", "x", [0, 1, 2, 2, 1, 2], np.arange(6.0), np.arange(6.0))
    assert s.series("r", "x").steps.tolist() == [0, 1, 2]
    assert s.series("r", "x").values.tolist() == [0.0, 4.0, 5.0]


def test_views_held_by_readers_never_change():
    s = make()
    s.append("r", "x", range(5), np.arange(5.0), np.arange(5.0))
    view = s.series("r", "x")
    s.append("r", "x", [2], [9.0], [42.0])  # restart purge
    s.append("r", "x", range(3, 200), np.arange(3.0, 200.0), np.zeros(197))
    assert view.values.tolist() == [0.0, 1.0, 2.0, 3.0, 4.0]


def test_memory_bounded_and_spikes_survive_folding():
    s = make(max_points=1000)
    values = np.zeros(50_000)
    values[123] = 1e6  # an old spike
    values[777] = -1e6
    values[2000] = np.nan
    for start in range(0, 50_000, 997):
        end = min(start + 997, 50_000)
        s.append("r", "x", np.arange(start, end), np.arange(start, end, dtype=float), values[start:end])
    ser = s.series("r", "x")
    assert len(ser) <= 1000
    assert np.nanmax(ser.values) == 1e6 and np.nanmin(ser.values) == -1e6
    assert np.isnan(ser.values).any()
    assert np.all(np.diff(ser.steps) > 0)  # still in step order
    assert ser.steps[-1] == 49_999  # recent data at full resolution
    assert np.all(np.diff(ser.steps[-400:]) == 1)


def test_concurrent_reader_sees_consistent_prefixes():
    s = make(max_points=5000)
    errors = []

    def reader():
        for _ in range(2000):
            ser = s.series("r", "x")
            if len(ser) and not np.array_equal(ser.values, ser.steps.astype(float)):
                errors.append("torn")

    t = threading.Thread(target=reader)
    t.start()
    for start in range(0, 20_000, 100):
        steps = np.arange(start, start + 100)
        s.append("r", "x", steps, steps.astype(float), steps.astype(float))
    t.join()
    assert not errors


def test_bad_input_is_refused_clearly():
    s = make()
    with pytest.raises(ValueError):
        s.append("r", "x", [1, 2], [1.0], [1.0])
    with pytest.raises(KeyError):
        s.append("nope", "x", [1], [1.0], [1.0])


def test_points_handed_over_in_order_are_adopted_without_a_copy_or_refused():
    """``append_many(adopt=True, ordered=...)`` (the fast path's first read of a run) keeps the
    arrays as they are; anything but fresh 1-D int64/float64 arrays is a caller's bug."""
    s = Store()
    s.ensure_run("r", "/r")
    steps, walls, values = np.arange(5, dtype=np.int64), np.ones(5), np.linspace(0, 1, 5)
    s.append_many("r", [("loss", steps, walls, values)], adopt=True, ordered=[True])
    got = s.snapshot("r").series["loss"]
    assert np.shares_memory(got.steps, steps) and np.shares_memory(got.values, values)
    assert got.steps.tolist() == [0, 1, 2, 3, 4]
    for bad in ([("acc", [1, 2], [1.0, 2.0], [0.5, 0.6])],  # lists
                [("acc", steps.astype(np.int32), walls, values)],  # another dtype
                [("acc", np.arange(10, dtype=np.int64)[::2], walls, values)]):  # not contiguous
        with pytest.raises(ValueError):
            s.append_many("r", bad, adopt=True, ordered=[True])
    assert "acc" not in s.snapshot("r").series


def test_full_buffers_views_and_snapshot_ends_stay_as_read():
    """A full buffer's view is its arrays themselves (no slice): appends and restarts swap in new
    arrays, so what a reader holds never changes; a snapshot's last step, wall time and points
    (set from its views' loop) are what its cached properties compute from its series."""
    from dataclasses import replace

    s = Store()
    s.ensure_run("r", "/r")
    steps, walls, values = np.arange(4, dtype=np.int64), np.array([5.0, 6.0, 7.0, 8.0]), np.arange(4.0)
    s.append_many("r", [("a", steps, walls, values)], adopt=True, ordered=[True])
    s.append("r", "b", [0, 9], [1.0, 2.0], [0.5, np.nan])
    s.ensure_run("empty", "/e")
    snap = s.snapshot("r")
    full = s.series("r", "a")
    assert full.steps is snap.series["a"].steps is steps  # the adopted arrays, not copies
    s.append("r", "a", [4, 5], [9.0, 10.0], [-1.0, -2.0])  # past the full arrays: new ones swapped in
    s.append("r", "a", [1], [11.0], [42.0])  # a restart: a purge
    assert full.steps.tolist() == snap.series["a"].steps.tolist() == [0, 1, 2, 3]
    assert full.values.tolist() == [0.0, 1.0, 2.0, 3.0] and steps.tolist() == [0, 1, 2, 3]
    assert s.series("r", "a").steps.tolist() == [0, 1]
    for sn in (snap, s.snapshot("r"), s.snapshot("empty")):
        fresh = replace(sn)  # a new snapshot of the same fields: its properties computed from its series
        assert (sn.last_step, sn.last_wall_time, sn.points) == (fresh.last_step, fresh.last_wall_time,
                                                                 sum(len(x) for x in fresh.series.values()))
    assert (snap.last_step, snap.last_wall_time, snap.points) == (9, 8.0, 6)
    assert s.snapshot("empty").last_step is None and s.snapshot("empty").points == 0


def test_series_compares_hashes_and_prints_field_by_field():
    """Series is a slotted class now: equal when its arrays are the same objects (as the frozen
    dataclass it was: field by field), unhashable (its arrays are), printed with its fields."""
    from tui.store import Series

    a, w, v = np.arange(3), np.zeros(3), np.ones(3)
    x = Series(a, w, v)
    assert x == Series(a, w, v) and x != (a, w, v) and len(x) == 3 and not x.empty
    with pytest.raises(TypeError):
        hash(x)
    assert repr(x) == f"Series(steps={a!r}, wall_times={w!r}, values={v!r})"
    assert x.tail(2).steps.tolist() == [1, 2]
