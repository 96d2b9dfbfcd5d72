"""Reward, KL and explained-variance checks on synthetic curves with noise."""

from __future__ import annotations

import numpy as np
import pytest
from health_synth import curve, noisy

from tui.health.checks import judge_explained_variance, judge_kl, judge_reward
from tui.health.options import Thresholds
from tui.health.verdict import Severity
from tui.store import Series

TH = Thresholds()


def s(values, dt=10.0) -> Series:
    return Series(*curve(values, dt))


def test_reward_improving():
    v, ctx = judge_reward(s(np.linspace(-21, 15, 500) + noisy(0, 500, 2.5, 1)), TH)
    assert v.kind == "improving" and v.severity == Severity.OK
    assert ctx.improving and not ctx.fell_back


def test_reward_flat_discrete_pong_like():
    # Mostly -21 with the odd -20/-17: the pinned Pong run. A 1-point "gain" is not a gain.
    rng = np.random.default_rng(2)
    x = np.where(rng.random(3000) < 0.85, -21.0, rng.integers(-20, -16, 3000).astype(float))
    x[1500:] = np.where(rng.random(1500) < 0.6, -21.0, -20.0)
    v, ctx = judge_reward(s(x), TH)
    assert v.kind == "flat" and ctx.improving is False


def test_reward_collapsed_after_improving():
    x = np.concatenate([np.linspace(0, 100, 300), np.full(200, 100.0), np.full(200, 10.0)]) + noisy(0, 700, 3, 3)
    v, ctx = judge_reward(s(x), TH)
    assert v.kind == "collapsed" and v.severity == Severity.ALARM
    assert ctx.fell_back
    assert 420 <= v.since_step <= 560  # at the end of the best stretch


def test_reward_nonfinite():
    x = np.linspace(0, 1, 50)
    x[30] = np.inf
    v, _ = judge_reward(s(x), TH)
    assert v.kind == "nonfinite" and v.severity == Severity.ALARM and v.since_step == 31


@pytest.mark.parametrize("values,kind,kw", [
    (np.full(100, 0.005), "ok", {}),
    (np.full(100, -0.003), "negative", {}),
    (np.full(100, -0.003), "ok", {"nonnegative": False}),
    (np.full(100, 0.05), "large", {}),
    (np.full(100, 0.05), "ok", {"reference": True}),
    (np.zeros(100), "zero", {}),
    (np.concatenate([np.full(100, 0.004), np.full(100, 0.03)]), "growing", {"reference": False}),
])
def test_kl(values, kind, kw):
    v = judge_kl(s(values + noisy(0, len(values), 1e-4 if kind != "zero" else 0, 4)), TH, **kw)
    if kind == "growing":  # 0.03 is also "large"; the large check runs first
        assert v.kind in ("growing", "large")
    else:
        assert v.kind == kind


def test_kl_growing_below_large():
    x = np.concatenate([np.full(200, 0.003), np.full(200, 0.015)]) + noisy(0, 400, 1e-4, 5)
    assert judge_kl(s(x), TH).kind == "growing"


def test_explained_variance():
    assert judge_explained_variance(s(np.linspace(0, 0.9, 100)), TH).kind == "ok"
    z = np.concatenate([np.linspace(0.1, 0.5, 50), np.zeros(10)])
    assert judge_explained_variance(s(z), TH).kind == "zero"
    n = np.concatenate([np.linspace(0.1, 0.5, 50), np.full(30, np.nan)])
    assert judge_explained_variance(s(n), TH).kind == "nan"
    neg = np.concatenate([np.linspace(0.1, 0.5, 50), np.full(100, -0.5) + noisy(0, 100, 0.05, 6)])
    v = judge_explained_variance(s(neg), TH)
    assert v.kind == "negative" and v.severity == Severity.WARN
    # Early, noisy negative values of a young run are not flagged.
    assert judge_explained_variance(s(np.full(15, -2.0)), TH).kind == "ok"


def test_reason_numbers_are_plain_words_not_exponents():
    from tui.vocab.fmt import fmt_value as fmt

    assert [fmt(1280.4), fmt(999.6), fmt(45312.7), fmt(-21.0), fmt(0.0123)] == ["1280", "1000", "45300", "-21", "0.0123"]
    assert fmt(2.5e6) == "2.50e+06" and fmt(float("nan")) == "nan"
