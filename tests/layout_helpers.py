"""Helpers for the layout tests: the screen's text (read from Textual's own SVG screenshot),
a gate with alarms in a tiny host app, and runs with long names built like app_fixtures'."""

from __future__ import annotations

import html
import math
import re
from datetime import datetime, timezone

import numpy as np
from app_fixtures import NOW, N, _add, fixed_store
from textual.app import App, ComposeResult
from textual.widgets import Static

from tui.app.screens.gate import GateScreen
from tui.health.verdict import Severity
from tui.looks.policy import Alarm, GateInfo
from tui.store import Store

UTC = timezone.utc
T0 = datetime(2026, 3, 2, 14, 0, tzinfo=UTC).timestamp()
CELL = 12.2  # the SVG's width of one terminal cell
_TEXT = re.compile(r'<text class="[^"]*" x="([\d.]+)" y="[\d.]+" textLength="[\d.]+" '
                   r'clip-path="url\(#[\w-]*?line-(\d+)\)">([^<]*)</text>')

LONG_NAMES = ("sub/seaquest_ppo_pinned", "sub/seaquest_a2c_pinned", "sub/spaceinvaders_ppo_fps_leak",
              "sub/breakout_a2c_collapse")


def screen_lines(app: App) -> list[str]:
    """The terminal's lines as text (what a person reads), from `export_screenshot`."""
    rows: dict[int, dict[int, str]] = {}
    for m in _TEXT.finditer(app.export_screenshot()):
        col, line = round(float(m[1]) / CELL), int(m[2])
        text = html.unescape(m[3]).replace("\xa0", " ")
        row = rows.setdefault(line, {})
        for i, ch in enumerate(text):
            row[col + i] = ch
    width, height = app.size
    return ["".join(rows.get(y, {}).get(x, " ") for x in range(width)).rstrip() for y in range(height)]


def long_store() -> Store:
    """`fixed_store` plus four runs under `sub/` whose names differ only in the middle or end."""
    store = fixed_store()
    i = np.arange(N)
    h_max = math.log(6)
    noise = np.random.default_rng(11).normal(0, 0.01, N)
    _add(store, LONG_NAMES[0], h_max - np.abs(noise) * 0.05, np.full(N, -21.0) + noise, np.full(N, 2048.0))
    _add(store, LONG_NAMES[1], h_max * (0.6 + 0.4 * np.exp(-i / 50)) + noise, i / 10.0, np.full(N, 2048.0))
    _add(store, LONG_NAMES[2], h_max * (0.6 + 0.4 * np.exp(-i / 50)) + noise, i / 10.0, 2048.0 / (1 + i / 40))
    _add(store, LONG_NAMES[3], h_max * np.maximum(0.01, np.exp(-i / 25)) + noise * 0.1,
         -21 + 5 * np.sin(i / 30), np.full(N, 2048.0))
    return store


def gate_info(alarms: int = 4, due: bool = False) -> GateInfo:
    runs = [f"sub/run_{k}_ppo" for k in range(alarms)]
    return GateInfo(now=T0, next_look=T0 + 1500, countdown=0 if due else 1500, due=due,
                    waiting_for="" if due else "gap", runs_watched=9, allowance=None, looks_today=2,
                    last_look=T0 - 3000, last_found_new=True,
                    alarms=tuple(Alarm(r, "entropy collapsed to 0.011 of max 1.39", "entropy", "collapsed",
                                       Severity.ALARM, T0 - 60 * k) for k, r in enumerate(runs)))


class GateApp(App[None]):
    """The gate over a 'charts' screen, as the app shows it."""

    def __init__(self, info: GateInfo) -> None:
        super().__init__()
        self.info = info

    def compose(self) -> ComposeResult:
        yield Static("charts", id="charts")

    def on_mount(self) -> None:
        self.push_screen(GateScreen(self.info, on_look=lambda: None, on_override=lambda _r: None, tz=UTC))


__all__ = ["NOW", "GateApp", "gate_info", "long_store", "screen_lines"]
