"""Options of the health engine: action count, role overrides, mode, thresholds."""

from __future__ import annotations

from dataclasses import dataclass, field, fields, replace
from typing import Any

from tui.config import Config, parse_duration
from tui.health.roles import normalise_role
from tui.vocab.runstate import ENDED_AFTER, STALL_ALARM, STALL_FLOOR, STALL_WARN


@dataclass(frozen=True)
class Thresholds:
    """Every number a check uses; defaults from DIAGNOSTICS.md (*calibrated* where it says so)."""

    # entropy (h = H / H_max, or H / H_initial when the action count is unknown)
    min_points: int = 5  # fewer after warm-up: too early to judge anything
    full_points: int = 20  # fewer: judge only non-finite, spike, collapse
    warmup_frac: float = 0.02  # share of points dropped as warm-up
    pinned_level: float = 0.98
    pinned_sd: float = 0.01  # calibrated: failed runs sd <= 0.0043, successful >= 0.035
    pinned_warn_after: float = 3600.0  # seconds pinned before a warning (healthy Pong: ~40 min)
    pinned_alarm_after: float = 7200.0  # seconds pinned before an alarm (reward not improving)
    pinned_warn_points: int = 500  # or this many evaluations pinned (fast runs)
    pinned_alarm_points: int = 1000
    collapsed_level: float = 0.05
    plateau_high: float = 0.95
    plateau_change: float = 0.02  # |level(W) - level(previous W)| below this: not moving
    plateau_sd: float = 0.01
    oscillating_range: float = 0.2  # (p90 - p10), calibrated: failed Enduro 0.25, healthy <= 0.16
    oscillating_cv: float = 0.1
    oscillating_legs: int = 3  # alternating rises/falls of >= half the range (p90 - p10):
    # down, up, down again. A collapse in progress is 1 leg, a fall and a recovery 2.
    rising_gain: float = 0.2  # lasting rise above the lowest level, in h units
    spike_sigma: float = 6.0
    spike_min: float = 0.1
    # throughput
    min_window: float = 30.0  # seconds per derived-rate interval
    decay_intervals: int = 20
    decay_rho: float = -0.7
    decay_ratio: float = 0.9
    drop_ratio: float = 0.7
    drop_alarm_ratio: float = 0.3
    # stalls: the run-state rule's thresholds (`tui.vocab.runstate`, the defaults' one home)
    stall_warn: float = STALL_WARN  # times the usual gap between writes
    stall_alarm: float = STALL_ALARM
    stall_floor: float = STALL_FLOOR  # seconds (writers may flush every 120 s)
    ended_after: float = ENDED_AFTER  # live mode: silent this long = ended, not stalled
    # reward
    reward_gain_sd: float = 1.0  # a real gain is this many within-block sds
    reward_gain_range: float = 0.2  # and this share of the reward's spread (max - min)
    reward_gain_wander: float = 3.0  # and this many robust sds of the block medians' block-to-block steps
    reward_collapse: float = 0.5  # gave back this share of the gain
    # kl
    kl_target: float | None = None  # None: the run's own logged target, else 0.01 discrete / 0.05 continuous
    kl_zero: float = 1e-8
    # explained variance
    ev_zero_points: int = 5


@dataclass(frozen=True)
class HealthOptions:
    """What the engine needs to know beyond the data.

    Attributes:
        actions: the number of discrete actions (|A|); None: from text summaries or inferred.
        roles: role -> tag, the user's explicit mapping (wins over conventions).
        mode: "live" (a silent run is stalled) or "review" (a silent run has ended).
        thresholds: every number the checks use.
    """

    actions: int | None = None
    roles: dict[str, str] = field(default_factory=dict)
    mode: str = "live"
    thresholds: Thresholds = field(default_factory=Thresholds)

    def __post_init__(self) -> None:
        if self.mode not in ("live", "review"):
            raise ValueError(f"mode must be 'live' or 'review', not {self.mode!r}")
        if self.actions is not None and self.actions < 2:
            raise ValueError(f"--actions must be at least 2, not {self.actions}")
        object.__setattr__(self, "roles", {normalise_role(k): v for k, v in self.roles.items()})

    @classmethod
    def from_config(cls, cfg: Config | dict[str, Any] | None = None, **cli: Any) -> HealthOptions:
        """Options from a loaded config (its ``[roles]`` and ``[health]`` tables) and CLI values.

        CLI values that are None are ignored; ``roles`` from the CLI are merged over the file's.
        ``[health]`` may hold ``actions``, ``mode`` and any `Thresholds` field (durations such
        as ``pinned_alarm_after = "2h"`` are accepted).

        Raises:
            ValueError: a value is of the wrong type or unknown; the message names it.
        """
        if isinstance(cfg, Config):  # the typed config (`tui.config.load_config`)
            cfg = {"health": dict(cfg.health), "roles": dict(cfg.roles)}
        cfg = cfg or {}
        health = dict(cfg.get("health") or {})
        roles_cfg = cfg.get("roles") or {}
        if not isinstance(health, dict) or not isinstance(roles_cfg, dict):
            raise ValueError("config: [health] and [roles] must be tables")
        roles = {str(k): str(v) for k, v in roles_cfg.items()}
        roles.update(cli.pop("roles", None) or {})
        known = {f.name: f for f in fields(Thresholds)}
        th: dict[str, Any] = {}
        kw: dict[str, Any] = {}
        for key, value in health.items():
            if key in ("actions", "mode"):
                kw[key] = value
            elif key in known:
                th[key] = _coerce(key, value, Thresholds.__dataclass_fields__[key].default)
            else:
                raise ValueError(f"config [health]: unknown key {key!r}")
        for key, value in cli.items():
            if value is None:
                continue
            if key in known:
                th[key] = _coerce(key, value, Thresholds.__dataclass_fields__[key].default)
            elif key in ("actions", "mode"):
                kw[key] = value
            else:
                raise TypeError(f"unknown health option {key!r}")
        if "actions" in kw and kw["actions"] is not None and not isinstance(kw["actions"], int):
            raise ValueError(f"config [health]: actions must be a whole number, not {kw['actions']!r}")
        return cls(roles=roles, thresholds=replace(Thresholds(), **th), **kw)


def _coerce(key: str, value: Any, default: Any) -> Any:
    if isinstance(default, int) and not isinstance(default, bool):
        if isinstance(value, bool) or not isinstance(value, int):
            raise ValueError(f"config [health]: {key} must be a whole number, not {value!r}")
        return value
    if isinstance(value, str):
        try:
            return parse_duration(value)
        except ValueError as e:
            raise ValueError(f"config [health]: {key}: {e}") from None
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise ValueError(f"config [health]: {key} must be a number, not {value!r}")
    return float(value)
