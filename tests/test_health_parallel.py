"""Judging on two cores (half of the runs in a forked worker, `tui.health.parallel`) gives what
judging in one process gives, in `judge_many` and in `tbpeek check`'s output byte for byte;
a worker that fails costs only time."""

from __future__ import annotations

import json
import os
import signal

import numpy as np
import pytest
from eventfiles import scalar_event
from health_many import T0, varied_runs, verdict_table
from tensorboard.compat.proto import event_pb2
from testing import count_forks

from tui import cli
from tui.health import HealthOptions, judge_many, parallel
from tui.ingest import forked
from tui.ingest.tfrecord import encode_record

pytestmark = pytest.mark.skipif(not hasattr(os, "fork"), reason="no fork on this platform")

# Shuffled: an experiment's seed siblings (and a reward-only sibling) land on both sides of the cut.
_RUNS = varied_runs(300, seed=11)
RUNS = [_RUNS[i] for i in np.random.default_rng(5).permutation(len(_RUNS))]
CASES = [
    (HealthOptions(), T0 + 30000),  # live, stalled and ended runs; siblings across the halves
    (HealthOptions(), T0 + 1e7),  # all ended: abnormal ends against seed siblings' ends
    (HealthOptions(mode="review", actions=6), T0 + 5000),
]


@pytest.fixture
def forks(monkeypatch):
    """Counts the workers forked (so a test knows the split really happened)."""
    made = count_forks(monkeypatch)
    monkeypatch.setenv("TBPEEK_WORKERS", "2")
    monkeypatch.setattr(parallel, "spare_core", lambda: True)  # whatever the machine's load
    return made


@pytest.mark.parametrize("text,spare", [("1.9 2.4 2.6 1/97 3173\n", True),  # busy a minute ago, idle now
                                        ("0.1 0.2 0.3 2/97 3173\n", False),  # another thread runnable now
                                        ("garbled\n", True)])
def test_spare_core_reads_the_runnable_threads_now(tmp_path, monkeypatch, text, spare):
    (tmp_path / "loadavg").write_text(text)
    monkeypatch.setattr(parallel, "LOADAVG", str(tmp_path / "loadavg"))
    monkeypatch.setattr(parallel.os, "cpu_count", lambda: 2)
    assert parallel.spare_core() is spare
    monkeypatch.setattr(parallel, "LOADAVG", str(tmp_path / "absent"))
    assert parallel.spare_core()


def _without_roles(healths):
    return [{k: v for k, v in row.items() if k != "roles"} for row in verdict_table(healths)]


@pytest.mark.parametrize("opts,now", CASES)
def test_split_judging_equals_one_batch(opts, now, forks):
    one = judge_many(RUNS, opts, now)
    two = parallel.judge_many_split(RUNS, opts, now, parallel_runs=2)
    assert len(forks) == 1
    assert [h.roles for h in two] == [{}] * len(RUNS)  # the series stay in the store
    assert _without_roles(two) == _without_roles(one)


def test_what_a_run_is_compared_with_crosses_the_cut():
    """The comparison above means something: judging each half alone (its runs' siblings in the
    other half unseen) would change verdicts: borrowed rewards and abnormal ends."""
    from tui.health.engine import judge_with_kin, kin_of

    opts, now = CASES[1]
    cut = int(len(RUNS) * parallel.PARENT_SHARE)
    apart = [h for part in (RUNS[:cut], RUNS[cut:]) for h in judge_with_kin(part, opts, now, *kin_of(part))]
    assert _without_roles(apart) != _without_roles(judge_many(RUNS, opts, now))


def test_one_process_when_few_runs_or_no_worker(forks, monkeypatch):
    parallel.judge_many_split(RUNS[:10], HealthOptions(), T0 + 30000)
    assert not forks
    monkeypatch.setattr(parallel, "spare_core", lambda: False)  # the other cores busy with other work
    got = parallel.judge_many_split(RUNS, HealthOptions(), T0 + 30000, parallel_runs=2)
    assert not forks
    assert _without_roles(got) == _without_roles(judge_many(RUNS, HealthOptions(), T0 + 30000))
    monkeypatch.setattr(parallel, "spare_core", lambda: True)
    monkeypatch.setenv("TBPEEK_WORKERS", "1")
    got = parallel.judge_many_split(RUNS, HealthOptions(), T0 + 30000, parallel_runs=2)
    assert not forks
    assert _without_roles(got) == _without_roles(judge_many(RUNS, HealthOptions(), T0 + 30000))


@pytest.mark.parametrize("how", ["raise", "kill", "garbage"])
def test_a_failing_worker_costs_only_time(forks, monkeypatch, how):
    real = parallel.judge_with_kin
    me = os.getpid()

    def judge(*args):
        if os.getpid() != me:  # the worker
            if how == "raise":
                raise RuntimeError("worker broke")
            os.kill(os.getpid(), signal.SIGKILL)
        return real(*args)

    if how == "garbage":  # an answer cut short (only the worker pickles)
        monkeypatch.setattr(forked.pickle, "dumps", lambda *a, **k: b"\x80\x05cut short")
    else:
        monkeypatch.setattr(parallel, "judge_with_kin", judge)
    opts, now = CASES[0]
    got = parallel.judge_many_split(RUNS, opts, now, parallel_runs=2)
    assert len(forks) == 1
    assert _without_roles(got) == _without_roles(judge_many(RUNS, opts, now))


def _write_runs(root, snaps) -> None:
    """The runs as event files (one scalar per event, as SB3 writes), a few of them damaged."""
    for k, s in enumerate(snaps):
        d = root / s.path.lstrip("/")
        d.mkdir(parents=True, exist_ok=True)
        recs = [encode_record(event_pb2.Event(wall_time=T0, file_version="brain.Event:2").SerializeToString())]
        for tag, ser in s.series.items():
            recs += [encode_record(scalar_event(tag, int(st), float(v), float(w)).SerializeToString())
                     for st, w, v in zip(ser.steps, ser.wall_times, ser.values, strict=True)]
        data = b"".join(recs)
        if k % 37 == 5:  # a damaged record in the middle (bad CRC), then more records
            mid = len(data) // 2
            data = data[:mid] + bytes([data[mid] ^ 0xFF]) + data[mid + 1:]
        elif k % 37 == 9:  # a record cut short at the end
            data = data[:-7]
        (d / "events.out.tfevents.1700000000.host.1.0").write_bytes(data)


@pytest.mark.parametrize("args", [[], ["--json"], ["--mode", "review"]])
def test_check_on_two_cores_prints_what_one_process_prints(tmp_path, monkeypatch, forks, capsys, args):
    _write_runs(tmp_path, RUNS[:120])
    monkeypatch.setattr(parallel, "PARALLEL_RUNS", 4)
    monkeypatch.setattr("time.time", lambda: T0 + 30000)
    out = {}
    for workers in ("1", "2"):
        monkeypatch.setenv("TBPEEK_WORKERS", workers)
        code = cli.main(["check", *args, str(tmp_path)])
        out[workers] = (code, capsys.readouterr().out)
    assert len(forks) >= 1
    assert out["1"] == out["2"]
    assert out["1"][0] in (1, 3)
    assert len(out["1"][1]) > 120 * 100
    if args == ["--json"]:
        assert any(r["problems"] for r in json.loads(out["1"][1])["runs"])  # the damaged files are reported
