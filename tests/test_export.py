"""`tbpeek export`: long-form scalars that round-trip exactly against the store."""

from __future__ import annotations

import builtins
import io
import math
from types import SimpleNamespace

import numpy as np
import pytest

from tui.report import export
from tui.report.export import COLUMNS, read_csv, write_csv
from tui.store import Store


def _store() -> Store:
    st = Store()
    rng = np.random.default_rng(1)
    for run in ("ppo,seed1", 'a2c "quoted"', "dqn/run"):
        st.ensure_run(run, f"/exp/{run}")
        for tag in ("train/entropy", "rollout/ep_rew_mean"):
            n = 50
            vals = rng.normal(size=n).astype(np.float32).astype(np.float64)  # float32 as written
            vals[7] = np.nan
            vals[8] = np.inf
            st.append(run, tag, np.arange(n) * 2048, 1.7e9 + rng.random(n).cumsum(), vals)
    return st


def _rows_of_store(st: Store, runs=None, tags=None):
    out = []
    for run, tag in export.selected(st, runs, tags):
        s = st.series(run, tag)
        out += [(run, tag, int(a), float(b), float(c)) for a, b, c in zip(s.steps, s.wall_times, s.values, strict=True)]
    return out


def _same(a, b) -> bool:
    return len(a) == len(b) and all(
        x[:3] == y[:3] and x[3] == y[3] and (x[4] == y[4] or (math.isnan(x[4]) and math.isnan(y[4])))
        for x, y in zip(a, b, strict=True))


def test_csv_round_trips_exactly_against_the_store():
    st = _store()
    buf = io.StringIO()
    n = write_csv(st, buf)
    assert n == 3 * 2 * 50
    text = buf.getvalue()
    assert text.splitlines()[0] == ",".join(COLUMNS)
    back = read_csv(text)
    assert _same(back, _rows_of_store(st))
    assert any(math.isinf(r[4]) for r in back) and any(math.isnan(r[4]) for r in back)


def test_regex_filters_runs_and_tags():
    st = _store()
    buf = io.StringIO()
    write_csv(st, buf, runs=r"^ppo", tags=r"entropy$")
    back = read_csv(buf.getvalue())
    assert {(r[0], r[1]) for r in back} == {("ppo,seed1", "train/entropy")}
    assert _same(back, _rows_of_store(st, r"^ppo", r"entropy$"))
    with pytest.raises(export.ExportError, match="not a valid regular expression"):
        write_csv(st, io.StringIO(), runs="(")


def test_parquet_round_trips_against_the_store(tmp_path):
    pq = pytest.importorskip("pyarrow.parquet")
    st = _store()
    path = tmp_path / "x.parquet"
    assert export.write_parquet(st, str(path)) == 300
    t = pq.read_table(path).to_pydict()
    back = [(str(r), str(g), s, w, v) for r, g, s, w, v in
            zip(t["run"], t["tag"], t["step"], t["wall_time"], t["value"], strict=True)]
    assert _same(back, _rows_of_store(st))


def _args(**kw):
    base = {"logdirs": ["/nonexistent"], "format": None, "output": None, "runs": None, "tags": None}
    return SimpleNamespace(**(base | kw))


def test_parquet_without_pyarrow_exits_2_with_a_clear_message(monkeypatch, capsys, tmp_path):
    real_import = builtins.__import__

    def no_pyarrow(name, *a, **k):
        if name == "pyarrow" or name.startswith("pyarrow."):
            raise ImportError("No module named 'pyarrow'")
        return real_import(name, *a, **k)

    monkeypatch.setattr(builtins, "__import__", no_pyarrow)
    assert export.run(_args(format="parquet", output=str(tmp_path / "x.parquet"))) == 2
    err = capsys.readouterr().err
    assert "needs pyarrow" in err and "pip install pyarrow" in err and "--format csv" in err
    assert not (tmp_path / "x.parquet").exists()


def test_usage_errors_exit_2(capsys):
    assert export.run(_args(format="parquet")) == 2  # no -o
    assert "give it with -o PATH" in capsys.readouterr().err
    assert export.run(_args(tags="[")) == 2
    assert "--tags '[' is not a valid regular expression" in capsys.readouterr().err


def _load():
    ingest = pytest.importorskip("tui.ingest")
    if not hasattr(ingest, "load"):
        pytest.skip("tui.ingest.load not there yet")
    return ingest.load


def test_cli_export_of_real_event_files_matches_the_store(tmp_path, capsys):
    load = _load()
    from eventfiles import Writer

    logdir = tmp_path / "logs"
    for run, style in (("ppo_seed1", "simple"), ("ppo_seed2", "tf2")):
        with Writer(logdir / run, style=style) as w:
            for i in range(40):
                w.scalar("train/entropy", 1.5 - i / 100, i * 10, 1.7e9 + i)
                w.scalar("charts/SPS", 1000.0 + i, i * 10, 1.7e9 + i)
    out = tmp_path / "out.csv"
    assert export.run(_args(logdirs=[str(logdir)], output=str(out), tags="entropy")) == 0
    assert "wrote 80 rows" in capsys.readouterr().err
    store = load([str(logdir)])
    assert _same(read_csv(out.read_text()), _rows_of_store(store, None, "entropy"))
    assert export.run(_args(logdirs=[str(tmp_path / "missing")])) == 2
