"""Steps, numbers and durations as people read them; one way each, everywhere.

- `fmt_step`: exact below 100 000 (``99999``), then ``120k``, ``1.5M``, ``15M``, ``2.1G``.
- `fmt_num`: a compact number, 4 significant digits (``0.01235``, ``1235``, ``1.23e+06``);
  whole numbers below 10 million print exactly; ``nan``/``inf``/``-inf``; ``—`` for unknown.
- `fmt_duration`: how long something lasted or since when: ``30s``, ``45m``, ``2h 05m``, ``3d 4h``.
- `fmt_age`: a coarse age for live columns, one unit, in 10-second steps below a minute (a
  per-second age would redraw every live row every second): ``40s``, ``5m``, ``3h``, ``2d``, ``3y``.
- `plural`: ``1 run``, ``2 runs``.
"""

from __future__ import annotations

import math

UNKNOWN = "—"
_UNITS = ((1e3, "k"), (1e6, "M"), (1e9, "G"))


def fmt_step(step: int | float | None) -> str:
    """120000 -> '120k', 1_500_000 -> '1.5M', 12345 -> '12345'; '—' when unknown."""
    if step is None or (isinstance(step, float) and not math.isfinite(step)):
        return UNKNOWN
    a = abs(step)
    if a < 100_000:
        return str(int(step))
    for i, (div, unit) in enumerate(_UNITS):
        if i + 1 < len(_UNITS) and a >= _UNITS[i + 1][0]:
            continue
        q = step / div
        txt = f"{q:.1f}".rstrip("0").rstrip(".") if abs(q) < 9.95 else f"{q:.0f}"
        if abs(float(txt)) >= 1000 and i + 1 < len(_UNITS):  # 999_999 -> '1M', not '1000k'
            q = step / _UNITS[i + 1][0]
            txt, unit = f"{q:.1f}".rstrip("0").rstrip("."), _UNITS[i + 1][1]
        return f"{txt}{unit}"
    raise AssertionError("unreachable")  # pragma: no cover


def fmt_num(x: float | None, digits: int = 4) -> str:
    """A compact number with `digits` significant digits; 'nan' / 'inf' / '-inf' for
    non-finite values, '—' for None. Whole numbers below 10 million print exactly."""
    if x is None:
        return UNKNOWN
    x = float(x)
    a = abs(x)
    if 1e-3 <= a < 1e5:  # the everyday case first (False for NaN and the infinities)
        if x.is_integer():
            return str(int(x))
        return f"{x:.4g}" if digits == 4 else f"{x:.{digits}g}"
    if not math.isfinite(x):
        return "nan" if math.isnan(x) else ("inf" if x > 0 else "-inf")
    if x == 0:
        return "0"
    if x == int(x) and a < 1e7:
        return str(int(x))
    return f"{x:.{max(1, digits - 1)}g}"  # from 1e5 up, or below 1e-3: one digit fewer, for the exponent


def fmt_value(x: float, digits: int = 3) -> str:
    """A number for a verdict's sentence: 3 significant digits, no exponent for everyday sizes
    ('1280', never '1.28e+03'); an exponent only below 0.001 or from a million up."""
    x = float(x)
    ax = abs(x)
    if 1e-3 <= ax < 999.5 and digits == 3:  # the everyday case: rounds below 1000, no exponent
        return f"{x:.3g}"
    if not math.isfinite(x):
        return str(x)
    if ax != 0 and (ax >= 1e6 or ax < 1e-3):
        return f"{x:.{digits - 1}e}"
    text = f"{x:.{digits}g}"
    rounded = float(text)
    if abs(rounded) >= 10 ** digits:
        return f"{rounded:.0f}"
    return text


def fmt_span(seconds: float) -> str:
    """A span of time for a verdict's sentence: '40 s', '12 min', '1.5 h', '3 days'."""
    s = seconds
    if s < 120:
        return f"{s:.0f} s"
    if s < 7200:
        return f"{s / 60:.0f} min"
    if s < 172800:
        return f"{s / 3600:.1f} h"
    return f"{s / 86400:.0f} days"


def fmt_duration(seconds: float | None) -> str:
    """'30s', '45m', '2h 05m', '3d 4h'; '?' when unknown."""
    if seconds is None or not math.isfinite(seconds):
        return "?"
    s = round(max(0.0, seconds))
    d, s = divmod(s, 86400)
    h, s = divmod(s, 3600)
    m, s = divmod(s, 60)
    if d:
        return f"{d}d {h}h"
    if h:
        return f"{h}h {m:02d}m"
    if m:
        return f"{m}m"
    return f"{s}s"


def fmt_age(seconds: float | None) -> str:
    """'0s', '40s', '5m', '3h', '2d', '3y'; '—' when unknown."""
    if seconds is None or not math.isfinite(seconds):
        return UNKNOWN
    s = max(0.0, seconds)
    if s < 60:
        return f"{int(s // 10) * 10}s"
    if s < 3600:
        return f"{int(s // 60)}m"
    if s < 86400:
        return f"{int(s // 3600)}h"
    if s < 365 * 86400:
        return f"{int(s // 86400)}d"
    return f"{int(s // (365 * 86400))}y"


def plural(n: int, word: str, many: str | None = None) -> str:
    """'1 override', '2 overrides'."""
    return f"{n} {word if n == 1 else (many or word + 's')}"
