"""`tbpeek check`: summary, exact JSON shape, exit codes, --fail-on, --role, --actions, config."""

from __future__ import annotations

import json

import numpy as np
import pytest
from eventfiles import Writer
from health_synth import T0, noisy

from tui.cli import main

LN6 = float(np.log(6))


def write_run(logdir, name, entropy, dt=60.0, tag="policy_entropy", reward=None):
    with Writer(logdir / name) as w:
        for i, h in enumerate(entropy):
            w.scalar(tag, float(h), i + 1, T0 + dt * i)
            if reward is not None:
                w.scalar("eprewmean", float(reward[i]), i + 1, T0 + dt * i)


@pytest.fixture
def logdir(tmp_path):
    n = 300
    pinned = np.minimum(LN6, noisy(LN6 * 0.999, n, 0.002, 1))
    healthy = np.minimum(LN6, LN6 * (0.85 + 0.14 * np.exp(-np.arange(n) / 60)) + noisy(0, n, 0.04, 2))
    write_run(tmp_path, "pinned", pinned, reward=noisy(-21, n, 0.3, 3))
    write_run(tmp_path, "healthy", healthy, reward=np.linspace(-21, 15, n) + noisy(0, n, 1, 4))
    return tmp_path


def run_check(capsys, *argv):
    code = main(["check", *map(str, argv)])
    out = capsys.readouterr()
    return code, out.out, out.err


def test_summary_and_exit_1_on_alarm(logdir, capsys):
    code, out, _ = run_check(capsys, logdir, "--mode", "review")
    assert code == 1
    lines = out.splitlines()
    assert lines[0].startswith("ALARM") and "pinned" in lines[0] and "entropy pinned_at_max" in lines[0]
    assert any(line.startswith(("OK", "INFO")) for line in lines if "healthy" in line)
    assert lines[-1].startswith("2 runs:")


def test_json_shape_is_exact(logdir, capsys):
    code, out, _ = run_check(capsys, logdir, "--json", "--mode", "review")
    assert code == 1
    data = json.loads(out)
    assert set(data) == {"runs", "problems"} and data["problems"] == []
    by = {r["run"]: r for r in data["runs"]}
    assert set(by) == {"pinned", "healthy"}
    for r in data["runs"]:
        assert set(r) == {"run", "path", "library", "summary", "verdicts", "problems"} and r["problems"] == []
        assert set(r["summary"]) == {"severity", "head", "text", "state"}
        assert r["summary"]["text"].startswith(r["summary"]["head"] + ": ")
        assert r["path"].endswith(r["run"])
        metrics = [v["metric"] for v in r["verdicts"]]
        assert len(metrics) == len(set(metrics))  # one verdict per metric
        for v in r["verdicts"]:
            assert set(v) == {"metric", "kind", "severity", "reason", "since_step", "since_wall_time", "evidence"}
            assert v["severity"] in ("ok", "info", "warn", "alarm")
    assert by["pinned"]["library"] == "openai-baselines"
    ent = {v["metric"]: v for v in by["pinned"]["verdicts"]}["entropy"]
    assert ent["kind"] == "pinned_at_max" and ent["severity"] == "alarm"
    assert {v["metric"]: v for v in by["healthy"]["verdicts"]}["entropy"]["kind"] == "healthy"
    assert by["pinned"]["summary"]["head"] == "learned nothing" and by["pinned"]["summary"]["severity"] == "alarm"
    assert by["healthy"]["summary"]["head"] == "fine" and by["pinned"]["summary"]["state"] == "ended"


def test_fail_on_warn_and_clean_exit(tmp_path, capsys):
    n = 300
    healthy = np.minimum(LN6, LN6 * (0.85 + 0.14 * np.exp(-np.arange(n) / 60)) + noisy(0, n, 0.04, 2))
    write_run(tmp_path, "ok", healthy, reward=np.linspace(-21, 15, n) + noisy(0, n, 1, 4))
    assert run_check(capsys, tmp_path, "--mode", "review")[0] == 0
    # "ended" is info: --fail-on info trips on it, warn doesn't.
    assert run_check(capsys, tmp_path, "--mode", "review", "--fail-on", "warn")[0] == 0
    assert run_check(capsys, tmp_path, "--mode", "review", "--fail-on", "info")[0] == 1


def test_role_flag_maps_a_custom_tag(tmp_path, capsys):
    n = 300
    write_run(tmp_path, "custom", np.minimum(LN6, noisy(LN6 * 0.999, n, 0.002, 5)), tag="weird/h")
    code, out, _ = run_check(capsys, tmp_path, "--json", "--mode", "review")
    assert "entropy" not in [v["metric"] for v in json.loads(out)["runs"][0]["verdicts"]]
    code, out, _ = run_check(capsys, tmp_path, "--json", "--mode", "review", "--role", "entropy=weird/h",
                             "--actions", "6")
    ent = {v["metric"]: v for v in json.loads(out)["runs"][0]["verdicts"]}["entropy"]
    assert ent["kind"] == "pinned_at_max" and ent["evidence"]["scale"] == "actions"
    assert code == 1


def test_config_file_roles_and_health(tmp_path, capsys):
    n = 300
    write_run(tmp_path / "logs", "custom", np.minimum(LN6, noisy(LN6 * 0.999, n, 0.002, 5)), tag="weird/h")
    cfg = tmp_path / "c.toml"
    cfg.write_text('[roles]\nentropy = "weird/h"\n[health]\nactions = 6\npinned_alarm_after = "100h"\n'
                   'pinned_alarm_points = 100000\n')
    code, out, _ = run_check(capsys, tmp_path / "logs", "--json", "--mode", "review", "--config", cfg)
    ent = {v["metric"]: v for v in json.loads(out)["runs"][0]["verdicts"]}["entropy"]
    assert ent["kind"] == "pinned_at_max" and ent["severity"] == "warn"  # alarm threshold raised
    assert code == 0


@pytest.mark.parametrize("argv,message", [
    (["--role", "entropy"], "expected ROLE=TAG"),
    (["--role", "entropie=x"], "unknown role"),
    (["--actions", "1"], "at least 2"),
])
def test_usage_errors_exit_2(logdir, capsys, argv, message):
    code, _, err = run_check(capsys, logdir, *argv)
    assert code == 2 and message in err


def test_missing_logdir_and_bad_config_exit_2(tmp_path, capsys):
    code, _, err = run_check(capsys, tmp_path / "nope")
    assert code == 2 and "nope" in err
    bad = tmp_path / "bad.toml"
    bad.write_text("[health\n")
    code, _, err = run_check(capsys, tmp_path, "--config", bad)
    assert code == 2 and "not valid TOML" in err
    code, _, err = run_check(capsys, tmp_path)  # exists, but holds no runs
    assert code == 2 and "no runs" in err


def test_rahtz_check(rahtz, capsys):
    code, out, _ = run_check(capsys, rahtz, "--json", "--mode", "review")
    assert code == 1
    runs = {r["run"]: {v["metric"]: v for v in r["verdicts"]} for r in json.loads(out)["runs"]}
    assert runs["pong-original_rewards_7417fd8/a2c"]["entropy"]["kind"] == "healthy"
    assert runs["pong-end_to_end-synthetic_prefs-1_81a378f/a2c"]["entropy"]["severity"] == "alarm"
    assert runs["fps1_0c803e5/baselines"]["throughput"]["kind"] == "slow_decay"
    assert runs["moving_dot-end_to_end-synthetic_prefs_bf708da/a2c"]["throughput"]["kind"] == "sudden_drop"


def test_check_shows_hostile_names_literally(tmp_path, capsys):
    n = 300
    write_run(tmp_path, "run\x1b]52;c;ZXZpbA==\x07", np.minimum(LN6, noisy(LN6 * 0.999, n, 0.002, 1)))
    _, out, err = run_check(capsys, tmp_path)
    assert "run\\x1b]52;c;ZXZpbA==\\x07" in out
    assert not any((ord(c) < 0x20 and c != "\n") or 0x7F <= ord(c) < 0xA0 for c in out + err)


def test_safe_terminal_fast_path_changes_nothing():
    """check's output makes every reason safe; printable text skips the work (safe_terminal's
    fast path): the same text as the escaping itself, for every character in the BMP."""
    from tui.vocab.safe import _TERMINAL, _format_chars, safe_terminal

    chars = [chr(c) for c in range(0x10000) if not 0xD800 <= c <= 0xDFFF]
    for ch in chars:  # each character alone, and inside a printable sentence
        for piece in (ch, f"reward {ch} -0.5"):
            assert safe_terminal(piece) == _format_chars(piece.translate(_TERMINAL)), hex(ord(ch))
    assert sum(safe_terminal(ch) != ch for ch in chars) > 60  # the controls and format characters
    assert safe_terminal("-3.2 nats") == "-3.2 nats" and safe_terminal("a\x1b[2Jb") == "a\\x1b[2Jb"


def test_verdict_json_equals_the_verdicts_own_json():
    """check --json writes each verdict without a deep copy first: the same dict as
    `_clean(v.to_json())` for every kind of verdict (NaN / numpy numbers / nested evidence)."""
    from dataclasses import dataclass

    from health_many import T0, varied_runs

    from tui.health import HealthOptions, Severity, Verdict, judge_many
    from tui.report.check import _clean, verdict_json

    verdicts = [v for h in judge_many(varied_runs(150, seed=2), HealthOptions(), T0 + 1e7) for v in h.verdicts]
    assert len({(v.metric, v.kind) for v in verdicts}) > 15

    @dataclass
    class Inner:
        x: float
        y: tuple

    verdicts.append(Verdict("kl", "odd", Severity.WARN, "r", 3, 1.5,
                            {"nested": {"a": [np.float32(1.5), (1, float("nan"))]}, "dc": Inner(np.inf, (np.int64(2),))}))
    for v in verdicts:
        assert verdict_json(v) == _clean(v.to_json())
    assert verdict_json(verdicts[-1])["evidence"]["dc"] == {"x": None, "y": [2]}
