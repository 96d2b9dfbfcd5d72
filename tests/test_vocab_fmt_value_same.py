"""`fmt_value` checks its everyday range first (a verdict's sentence has a few numbers, and
`check` writes thousands of verdicts); its text is the same as the plain rule's for every
number and every `digits`."""

from __future__ import annotations

import math
import random
import struct

from hypothesis import given, settings
from hypothesis import strategies as st

from tui.vocab.fmt import fmt_value


def plain_fmt_value(x: float, digits: int = 3) -> str:
    """The rule as it was written before the fast path (the reference)."""
    x = float(x)
    if not math.isfinite(x):
        return str(x)
    ax = abs(x)
    if ax != 0 and (ax >= 1e6 or ax < 1e-3):
        return f"{x:.{digits - 1}e}"
    text = f"{x:.{digits}g}"
    rounded = float(text)
    if abs(rounded) >= 10 ** digits:
        return f"{rounded:.0f}"
    return text


EDGES = [0.0, -0.0, math.nan, math.inf, -math.inf, 1e-3, -1e-3, math.nextafter(1e-3, 0), math.nextafter(1e-3, 1),
         999.5, -999.5, math.nextafter(999.5, 0), math.nextafter(999.5, 1e9), 999.4999999, 999.0, 998.5, 999.45,
         1000.0, 1e6, math.nextafter(1e6, 0), 5e-324, 1.7976931348623157e308, 0.0009995, 0.00099949, 1 / 3,
         -2 / 3, 12.345, 0.012345, 99.95, 9.995, 0.9995]


def test_edges_and_every_digits():
    for x in EDGES:
        for digits in (1, 2, 3, 4, 5):
            assert fmt_value(x, digits) == plain_fmt_value(x, digits), (x, digits)


def test_random_numbers_and_bit_patterns():
    rng = random.Random(7)
    for _ in range(100_000):
        x = rng.choice([rng.uniform(-2000, 2000), rng.lognormvariate(0, 4) * rng.choice((-1, 1)),
                        struct.unpack("<d", rng.getrandbits(64).to_bytes(8, "little"))[0]])
        assert fmt_value(x) == plain_fmt_value(x), x


@settings(max_examples=500, deadline=None)
@given(st.floats(allow_nan=True, allow_infinity=True), st.integers(1, 6))
def test_any_float(x, digits):
    assert fmt_value(x, digits) == plain_fmt_value(x, digits)
