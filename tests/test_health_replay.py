"""Entropy shapes replayed live, prefix by prefix through the HealthTracker: what a user
watching the run would have seen at every point, not only at its end."""

from __future__ import annotations

import numpy as np
import pytest
from health_synth import decay_to, noisy, noisy_collapse, replay_kinds

from tui.health.shapes import zigzag_legs

LN4 = float(np.log(4))
LN6 = float(np.log(6))
WRONG_ON_A_FALL = {"oscillating", "spike", "rising"}


@pytest.mark.parametrize("before, tau, noise, seed", [
    (900, 4.0, 0.02, 0),  # the demo's collapse run: a long history, a fall within ~15 points
    (300, 2.0, 0.03, 1),  # faster, noisier
    (120, 10.0, 0.02, 2),  # a short run (small window)
    (600, 30.0, 0.03, 3),  # a slow fall: the window is wide and spread for a long time
    (60, 4.0, 0.02, 4),  # hardly any history
])
def test_noisy_collapse_is_never_oscillating_or_spike_at_any_prefix(before, tau, noise, seed):
    h = noisy_collapse(before, 150, tau=tau, noise=noise, seed=seed)
    kinds = replay_kinds(h * LN4, dt=1.0, actions=4, start=max(0, before - 20))
    assert not WRONG_ON_A_FALL & set(kinds), _first_wrong(kinds, before - max(0, before - 20))
    assert kinds[-1] == "collapsed"


def test_noisy_collapse_with_the_apps_hold_goes_straight_to_collapsed():
    h = noisy_collapse(900, 120, tau=4.0, noise=0.02, seed=5)
    kinds = replay_kinds(h * LN4, dt=1.0, actions=4, start=880, hold=3)
    assert _changes(kinds) == ["healthy", "collapsed"]


def test_lasting_drop_is_not_a_spike_at_any_prefix():
    # 0.9 -> 0.5 within 2 points, and it stays: a spike only if it came back.
    h = np.concatenate([noisy(0.9, 400, 0.01, 20), noisy(0.5, 60, 0.01, 21)])
    kinds = replay_kinds(h * LN6, actions=6, start=390)
    assert "spike" not in kinds, _first_wrong(kinds, 10)


def test_spike_is_called_once_the_curve_came_back():
    x = np.concatenate([decay_to(0.99, 0.9, 400), noisy(0.9, 200, 0.01, 12)])
    x[-3] = 0.05  # off the curve, then two points back at 0.9
    kinds = replay_kinds(x * LN6, actions=6, start=len(x) - 4)
    assert kinds[0] in ("healthy", "plateau")  # before the outlier
    assert kinds[1] != "spike"  # the outlier is the newest point: it may be a lasting drop
    assert kinds[2] == "spike"  # the curve is back: an isolated spike, not a collapse
    assert "collapsed" not in kinds


def test_small_jump_on_a_mid_level_curve_is_not_a_spike():
    # 0.07 of the maximum above a quiet curve at 0.6: noise, not a tenth of the maximum.
    x = noisy(0.6, 400, 0.008, 22)
    x[-5] = 0.67
    kinds = replay_kinds(x * LN6, actions=6, start=len(x) - 5)
    assert "spike" not in kinds


def test_genuine_oscillation_is_found_live_and_held():
    t = np.arange(600)
    x = LN6 * (0.6 + 0.2 * np.sign(np.sin(t / 6.0))) + noisy(0, 600, 0.02, 10)
    kinds = replay_kinds(x, dt=10.0, actions=6, start=300, hold=3)
    assert kinds[-1] == "oscillating"
    assert kinds.count("oscillating") > 0.8 * len(kinds)


def test_oscillation_on_a_falling_trend_is_still_oscillating():
    # Swings of 0.3 around a trend that falls 0.95 -> 0.55: legs measured from the path.
    t = np.arange(600)
    x = np.linspace(0.95, 0.55, 600) + 0.15 * np.sign(np.sin(t / 6.0)) + noisy(0, 600, 0.01, 23)
    kinds = replay_kinds(np.clip(x, 0, 1) * LN6, dt=10.0, actions=6, start=590)
    assert set(kinds) == {"oscillating"}


def test_noisy_healthy_decline_is_not_oscillating():
    x = np.clip(np.linspace(0.98, 0.6, 600) + noisy(0, 600, 0.05, 24), 0, 1)
    kinds = replay_kinds(x * LN6, dt=10.0, actions=6, start=100)
    assert "oscillating" not in kinds


def test_zigzag_legs():
    assert zigzag_legs(np.linspace(1, 0, 50), 0.2) == 1
    assert zigzag_legs(np.r_[np.linspace(1, 0, 50), np.linspace(0, 1, 50)], 0.2) == 2
    assert zigzag_legs(np.tile(np.r_[np.zeros(10), np.ones(10)], 3), 0.5) == 5
    assert zigzag_legs(np.full(20, 0.5), 0.1) == 0


def _changes(kinds: list[str]) -> list[str]:
    return [k for i, k in enumerate(kinds) if i == 0 or k != kinds[i - 1]]


def _first_wrong(kinds: list[str], offset: int) -> str:
    i = next((i for i, k in enumerate(kinds) if k in WRONG_ON_A_FALL), None)
    return f"{kinds[i]} {i - offset} points after the fall began; kinds {_changes(kinds)}" if i is not None else ""
