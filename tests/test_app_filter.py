"""The `/` filter with patterns that don't compile (issue 12.8): `x{99999999999}` raised
OverflowError and killed the app; the box now says the pattern is invalid and the app works."""

from __future__ import annotations

import pytest
from app_fixtures import NOW, fixed_store
from testing import sync

from tui.app.app import AppOptions, make_app
from tui.live.model import compile_filter

SIZE = (120, 35)


@pytest.mark.parametrize("pattern", ["x{99999999999}", "(", "[", "(" * 2000 + ")" * 2000, "a{2,1}"],
                         ids=["huge-repeat", "open-paren", "open-bracket", "deep-nesting", "bad-range"])
def test_compile_filter_says_why_for_any_failure(pattern):
    with pytest.raises(ValueError, match="bad filter regex"):
        compile_filter(pattern)


@sync
async def test_an_invalid_filter_says_so_in_the_box_and_the_app_keeps_working():
    app = make_app(store=fixed_store(), options=AppOptions(clock=lambda: NOW))
    async with app.run_test(size=SIZE) as pilot:
        await pilot.pause()
        screen = app.screen
        await pilot.press("slash", *"pong")
        await pilot.pause()
        assert sorted(screen.table.row_keys) == ["pong-collapse", "pong-pinned"]
        box = screen.query_one("#filter")
        box.value = "x{99999999999}"  # pasted whole (typed, every prefix is a valid regex)
        await pilot.pause()
        assert app.is_running and "invalid pattern" in str(box.border_title)
        assert box.has_class("-invalid")
        status = str(screen.query_one("#status").render())
        assert "bad filter regex" in status and "repeat count is too large" in status
        assert sorted(screen.table.row_keys) == ["pong-collapse", "pong-pinned"]  # the last good one stays
        await pilot.press("ctrl+a", "ctrl+k", *"[/]")  # markup-looking, valid regex: no MarkupError
        await pilot.pause()
        assert not box.has_class("-invalid") and not box.border_title
        await pilot.press("ctrl+a", "ctrl+k", *"seaquest", "enter")
        await pilot.pause()
        assert list(screen.table.row_keys) == ["seaquest-stalled"]
        assert "filter /seaquest/" in str(screen.query_one("#status").render())
