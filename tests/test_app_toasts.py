"""Notices never cover the status line or a dialog's keys (issue 14.10)."""

from __future__ import annotations

from app_fixtures import NOW, fixed_store
from testing import sync, wait_for
from textual.widgets._toast import Toast, ToastRack

from tui.app.app import AppOptions, make_app


def toast_regions(app):
    rack = app.screen.query_one(ToastRack)
    return [t.region for t in rack.query(Toast)]


@sync
async def test_notices_leave_the_status_line_and_the_note_keys_visible():
    for size in ((120, 40), (100, 24), (80, 24)):
        app = make_app(store=fixed_store(), options=AppOptions(clock=lambda: NOW))
        async with app.run_test(size=size, notifications=True) as pilot:
            await pilot.pause()
            for i in range(3):
                app.notify(f"notice {i}: a longer text that wraps over more than one line of the toast",
                           title="Problem reading logs")
            await wait_for(pilot, lambda app=app: len(toast_regions(app)) == 3)
            toasts = toast_regions(app)
            status = app.screen.query_one("#status").region
            assert all(not t.overlaps(status) for t in toasts), (size, toasts, status)
            await pilot.press("n")  # the note dialog over the overview
            await wait_for(pilot, lambda app=app: bool(app.screen.query("#note-keys")))
            app.notify("Note saved elsewhere.", title="x")
            await wait_for(pilot, lambda app=app: bool(toast_regions(app)))
            keys = app.screen.query_one("#note-keys").region
            toasts = toast_regions(app)
            assert toasts and all(not t.overlaps(keys) for t in toasts), (size, toasts, keys)
