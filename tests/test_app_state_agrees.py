"""The state column and the verdicts come from one judgement (issue 14.10: a run showed state
`stalled` beside health `ok`). The column used its own clock rule: the file's mtime instead of
the records' wall time, the default thresholds instead of the user's, no writer evidence."""

from __future__ import annotations

import math

import numpy as np
from app_fixtures import NOW, STEP_SECONDS, T0, N, _add
from testing import Clock, sync

from tui.app.app import AppOptions, make_app
from tui.health.options import HealthOptions, Thresholds
from tui.store import Store


def store_with(last_write_offset: float | None = None) -> Store:
    """One healthy live run; its file's mtime `last_write_offset` s from its newest record."""
    store = Store()
    i = np.arange(N)
    noise = np.random.default_rng(3).normal(0, 0.01, N)
    entropy = math.log(6) * (0.55 + 0.45 * np.exp(-i / 60)) + noise
    reward = -21 + 36 * (1 - np.exp(-i / 80))
    if last_write_offset is None:
        _add(store, "ppo", entropy, reward, np.full(N, 2048.0))
        return store
    store.ensure_run("ppo", "/logs/ppo")
    steps = np.arange(1, N + 1, dtype=np.int64) * 2048
    walls = T0 + np.arange(N) * STEP_SECONDS
    store.append("ppo", "losses/entropy", steps, walls, entropy)
    store.append("ppo", "charts/episodic_return", steps, walls, reward)
    store.append("ppo", "charts/SPS", steps, walls, np.full(N, 2048.0 / STEP_SECONDS))
    store.set_last_write("ppo", float(walls[-1]) + last_write_offset)
    return store


def cells(app) -> tuple[str, str]:
    table = app.screen.table
    return table.get_cell("ppo", "state").plain.strip(), table.get_cell("ppo", "health").plain.strip()


@sync
async def test_state_column_agrees_with_the_verdict_when_the_file_time_is_older():
    # The file says it was written 10 min before its newest record's wall time (a copied log,
    # a clock step): the old column said "stalled" while the verdict, from the records, said ok.
    app = make_app(store=store_with(-600.0), options=AppOptions(clock=lambda: NOW))
    async with app.run_test(size=(120, 30)) as pilot:
        await pilot.pause(0.3)
        state, health = cells(app)
        view = app.judge.view("ppo")
        assert not any(v.kind == "stalled" for v in view.verdicts)
        assert state == "live" and "stalled" not in health


@sync
async def test_state_column_uses_the_users_stall_thresholds_like_the_verdict():
    clock = Clock(NOW + 60)  # silent 90 s: stalled for a 30 s floor, live for the default 120 s
    health = HealthOptions(thresholds=Thresholds(stall_floor=30.0))
    app = make_app(store=store_with(), options=AppOptions(clock=clock, health=health))
    async with app.run_test(size=(120, 30)) as pilot:
        await pilot.pause(0.3)
        state, badge = cells(app)
        assert any(v.kind == "stalled" for v in app.judge.view("ppo").verdicts)
        assert state == "stalled" and badge.endswith("stalled")
