"""`fmt_num` checks its everyday range first (it writes a number for every tag of every run
``ls`` lists); its text is the same as the plain rule's for every number and every `digits`."""

from __future__ import annotations

import math
import random
import struct

from hypothesis import given, settings
from hypothesis import strategies as st

from tui.vocab import fmt_num
from tui.vocab.fmt import UNKNOWN


def plain_fmt_num(x: float | None, digits: int = 4) -> str:
    """The rule as it was written before the fast path (the reference)."""
    if x is None:
        return UNKNOWN
    x = float(x)
    if not math.isfinite(x):
        return "nan" if math.isnan(x) else ("inf" if x > 0 else "-inf")
    if x == 0:
        return "0"
    a = abs(x)
    if x == int(x) and a < 1e7:
        return str(int(x))
    if a >= 1e5 or a < 1e-3:
        return f"{x:.{max(1, digits - 1)}g}"
    return f"{x:.{digits}g}"


EDGES = [0.0, -0.0, math.nan, -math.nan, math.inf, -math.inf, 1e-3, -1e-3, math.nextafter(1e-3, 0),
         math.nextafter(1e-3, 1), 1e5, -1e5, math.nextafter(1e5, 0), math.nextafter(1e5, math.inf), 1e7, -1e7,
         math.nextafter(1e7, 0), 99999.5, 99999.99999, 0.00099995, 5e-324, -5e-324, 2.2250738585072014e-308,
         1.7976931348623157e308, -1.7976931348623157e308, 1.0, -1.0, 0.5, 123456789.0, 9999999.0, 2.0 ** 53,
         -(2.0 ** 63), 1 / 3, -2 / 3, 12345.5, 0.012345, 99995.0, 9999.5, 0.0099995]


def test_edges_and_every_digits():
    for x in EDGES:
        for digits in range(9):
            assert fmt_num(x, digits) == plain_fmt_num(x, digits), (x, digits)
    assert fmt_num(None) == plain_fmt_num(None) == UNKNOWN
    assert fmt_num(3) == "3" and fmt_num(-0.0) == "0"


def test_many_random_bit_patterns():
    """Every exponent and sign: random 64-bit patterns (NaNs with payloads, subnormals, all)."""
    rng = random.Random(13)
    for _ in range(200_000):
        x = struct.unpack("<d", rng.getrandbits(64).to_bytes(8, "little"))[0]
        assert fmt_num(x) == plain_fmt_num(x), x
    for _ in range(200_000):  # the everyday range, densely: mantissas near the rounding points
        x = rng.choice((-1, 1)) * rng.uniform(0.0005, 2e5) * rng.choice((1, 1, 10, 0.1))
        x = round(x, rng.randrange(0, 8)) if rng.random() < 0.3 else x
        assert fmt_num(x) == plain_fmt_num(x), x


@settings(max_examples=3000)
@given(st.floats(allow_nan=True, allow_infinity=True), st.integers(min_value=0, max_value=17))
def test_any_float_any_digits(x, digits):
    assert fmt_num(x, digits) == plain_fmt_num(x, digits)


@given(st.integers(min_value=-(10 ** 20), max_value=10 ** 20))
def test_ints_and_numpy_like_inputs(n):
    assert fmt_num(n) == plain_fmt_num(n)
